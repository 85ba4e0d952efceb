package compiler

import (
	"strings"
	"testing"
)

// TestCPUChoices reads the CPUs of the measurements in jamHurts' and floatPrefetchHurts'
// comments from their /proc/cpuinfo fields: only AMD's Zen 5 and later run rows one at a time,
// and only AMD's Zen 4 streams float rows without the prefetch.
func TestCPUChoices(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		info                   map[string]string
		singleRows, noPrefetch bool
	}{
		{"Zen 5", map[string]string{"vendor_id": "AuthenticAMD", "cpu family": "26", "flags": "fpu avx512f"}, true, false},
		{"Zen 4", map[string]string{"vendor_id": "AuthenticAMD", "cpu family": "25", "flags": "fpu sse2 avx2 avx512f avx512bw"}, false, true},
		{"Zen 3", map[string]string{"vendor_id": "AuthenticAMD", "cpu family": "25", "flags": "fpu sse2 avx2"}, false, false},
		{"Sapphire Rapids", map[string]string{"vendor_id": "GenuineIntel", "cpu family": "6", "flags": "fpu avx512f"}, false, false},
		{"no such lines", map[string]string{}, false, false},
	} {
		if got := singleRowsFaster(tc.info); got != tc.singleRows {
			t.Errorf("%s: single rows faster %v, want %v", tc.name, got, tc.singleRows)
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
