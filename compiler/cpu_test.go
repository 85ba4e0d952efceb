package compiler

import (
	"os"
	"strings"
	"testing"

	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/lower"
	"golang.org/x/sys/cpu"
)

// TestCPUChoices reads the CPUs of the measurements in jamHurts', repeatedPrefetchHurts' and
// floatPrefetchHurts' comments from their /proc/cpuinfo fields: only AMD's Zen 5 and later
// run rows one at a time and prefetch grouped rows once, and only AMD's Zen 4 streams float
// rows without the prefetch.
func TestCPUChoices(t *testing.T) {
	for _, tc := range []struct {
		name             string
		info             map[string]string
		zen5, noPrefetch bool
	}{
		{"Zen 5", map[string]string{"vendor_id": "AuthenticAMD", "cpu family": "26", "flags": "fpu avx512f"}, true, false},
		{"Zen 4", map[string]string{"vendor_id": "AuthenticAMD", "cpu family": "25", "flags": "fpu sse2 avx2 avx512f avx512bw"}, false, true},
		{"Zen 3", map[string]string{"vendor_id": "AuthenticAMD", "cpu family": "25", "flags": "fpu sse2 avx2"}, false, false},
		{"Sapphire Rapids", map[string]string{"vendor_id": "GenuineIntel", "cpu family": "6", "flags": "fpu avx512f"}, false, false},
		{"no such lines", map[string]string{}, false, false},
	} {
		if got := zen5OrLater(tc.info); got != tc.zen5 {
			t.Errorf("%s: Zen 5 or later %v, want %v", tc.name, got, tc.zen5)
		}
		if got := ownPrefetchersFaster(tc.info); got != tc.noPrefetch {
			t.Errorf("%s: own prefetchers faster %v, want %v", tc.name, got, tc.noPrefetch)
		}
	}
}

// TestJamChoice checks that Options.Jam reaches the lowering: JamAlways jams a mat-vec's rows
// (twice the parallel regions: the jammed loop beside the plain one), JamByCPU does so unless
// this CPU runs single rows faster, and code for another CPU (March) is jammed.
func TestJamChoice(t *testing.T) {
	regions := func(opts Options) int { return strings.Count(matVecMLIR(t, opts), "omp.parallel {") }
	jammed := regions(Options{Jam: JamAlways})
	if jammed != 2 {
		t.Fatalf("JamAlways: %d parallel regions, want 2", jammed)
	}
	want := jammed
	if jamHurts() {
		want = 1
	}
	if got := regions(Options{}); got != want {
		t.Errorf("JamByCPU on this CPU (single rows faster: %v): %d parallel regions, want %d", jamHurts(), got, want)
	}
	if got := regions(Options{March: "x86-64-v3"}); got != jammed {
		t.Errorf("JamByCPU for x86-64-v3: %d parallel regions, want %d", got, jammed)
	}
}

// TestFloatPrefetchChoice checks that the CPU's choice reaches the generated code: an f32
// mat-vec's rows are prefetched unless this CPU streams them faster without, and always in
// code for another CPU (March).
func TestFloatPrefetchChoice(t *testing.T) {
	prefetches := func(opts Options) int {
		opts.Jam = JamAlways
		return strings.Count(matVecMLIR(t, opts), "memref.prefetch")
	}
	other := prefetches(Options{March: "x86-64-v3"})
	if other == 0 {
		t.Fatal("no prefetch in the mat-vec compiled for x86-64-v3")
	}
	want := other
	if floatPrefetchHurts() {
		want = 0
	}
	if got := prefetches(Options{}); got != want {
		t.Errorf("on this CPU (prefetch hurts: %v): %d prefetches, want %d", floatPrefetchHurts(), got, want)
	}
}

// TestGroupPrefetchChoice checks that the CPU's choice reaches the code the generators print:
// the q8 kernel's matvec_q8 (its grouped loop, on CPUs with AVX-512 VNNI) asks for its
// weights' lines lower.PrefetchTimes times, or once where repeated requests cost more, and
// for its group scales once.
func TestGroupPrefetchChoice(t *testing.T) {
	src, err := os.ReadFile("../kernels/llama2_q8.sl")
	if err != nil {
		t.Fatal(err)
	}
	_, lf, err := Generate("llama2_q8.sl", src, Options{Backend: MLIR, Unchecked: true})
	if err != nil {
		t.Fatal(err)
	}
	prefetched := map[string]int{} // matvec_q8's prefetches of each array
	for _, fn := range lf.Funcs {
		if fn.Name != "matvec_q8" {
			continue
		}
		frontend.Inspect(fn.Body, func(n frontend.Node) bool {
			if c, ok := n.(*frontend.Call); ok && c.Builtin == frontend.Prefetch {
				prefetched[c.Args[0].(*frontend.Ident).Name]++
			}
			return true
		})
	}
	weights, scales := prefetched["w"], prefetched["w_s"]
	if !cpu.X86.HasAVX512BW || !cpu.X86.HasAVX512VNNI {
		if weights+scales != 0 { // no grouped loop without VNNI
			t.Errorf("without AVX-512 VNNI: %d prefetches of the weights and %d of the scales, want none", weights, scales)
		}
		return
	}
	times := lower.PrefetchTimes
	if repeatedPrefetchHurts() {
		times = 1
	}
	if scales == 0 || weights != times*scales {
		t.Errorf("on this CPU (repeated prefetch hurts: %v): %d prefetches of the weights for %d of the scales, want %d times as many",
			repeatedPrefetchHurts(), weights, scales, times)
	}
}

// matVecMLIR is the MLIR of an f32 mat-vec, unchecked, compiled with opts.
func matVecMLIR(t *testing.T, opts Options) string {
	t.Helper()
	src := []byte("fn mv(f32[] w, f32[] x, f32[] out, i64 n, i64 d) {\nvar i = 0; while (i < d) { var s = 0.0; var j = 0; while (j < n) { s += w[i * n + j] * x[j]; j = j + 1; } out[i] = s; i = i + 1; }\n}\n")
	opts.Backend, opts.Unchecked = MLIR, true
	text, _, err := Generate("mv.sl", src, opts)
	if err != nil {
		t.Fatal(err)
	}
	return text
}
