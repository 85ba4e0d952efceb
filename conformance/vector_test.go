package conformance

import (
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/cpu"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/half"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

// vectorKernels are the narrow-integer and half-precision loops of quantized inference.
const vectorKernels = `
fn dot_u8_i8(u8[] a, i8[] b, i64 n) -> i32 {
    i32 acc = 0;
    var j = 0;
    while (j < n) {
        acc += (a[j] as i32) * (b[j] as i32);
        j += 1;
    }
    return acc;
}

fn dot_i8(i8[] a, i8[] b, i64 n) -> i32 {
    i32 acc = 0;
    var j = 0;
    while (j < n) {
        acc += (a[j] as i32) * (b[j] as i32);
        j += 1;
    }
    return acc;
}

fn nibbles(u8[] p, u8[] lo, u8[] hi, i64 n) {
    var i = 0;
    while (i < n) {
        lo[i] = p[i] & 15;
        hi[i] = (p[i] >> 4) & 15;
        i += 1;
    }
}

fn q4dot(u8[] p, i8[] x, i64 n) -> i32 {
    i32 acc = 0;
    var i = 0;
    while (i < n) {
        acc += (((p[i] >> 4) & 15) as i32 - 8) * (x[i] as i32);
        i += 1;
    }
    return acc;
}

fn bf16_dot(bf16[] w, f32[] x, i64 n) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < n) {
        s += w[i] * x[i];
        i += 1;
    }
    return s;
}

fn bf16_rows(f32[] out, bf16[] w, i64 wo, f32[] x, i64 rows, i64 cols) {
    var r = 0;
    while (r < rows) {
        var row = wo + r * cols;
        var s = 0.0;
        var j = 0;
        while (j < cols) {
            s += w[row + j] * x[j];
            j = j + 1;
        }
        out[r] = s;
        r = r + 1;
    }
}

fn f16_dot(f16[] w, f32[] x, i64 n) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < n) {
        s += w[i] * x[i];
        i += 1;
    }
    return s;
}

fn bf16_load(bf16[] w, f32[] out, i64 n) {
    var i = 0;
    while (i < n) {
        out[i] = w[i];
        i += 1;
    }
}

fn f16_load(f16[] w, f32[] out, i64 n) {
    var i = 0;
    while (i < n) {
        out[i] = w[i];
        i += 1;
    }
}

fn f32_to_f16(f32[] x, f16[] out, i64 n) {
    var i = 0;
    while (i < n) {
        out[i] = x[i];
        i += 1;
    }
}

fn f16_axpy(f32[] out, f16[] v, f32 a, i64 n) {
    var i = 0;
    while (i < n) {
        out[i] += a * v[i];
        i += 1;
    }
}

fn f32_to_bf16(f32[] x, bf16[] out, i64 n) {
    var i = 0;
    while (i < n) {
        out[i] = x[i];
        i += 1;
    }
}

fn f32_dot(f32[] w, f32[] x, i64 n) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < n) {
        s += w[i] * x[i];
        i += 1;
    }
    return s;
}

fn f32_dot_at(f32[] w, i64 wo, f32[] x, i64 n) -> f32 {
    var s = 1.0;
    var j = 0;
    while (j < n) {
        s = s + w[wo + j] * x[j];
        j = j + 1;
    }
    return s;
}

fn max_abs(f32[] x, i64 n) -> f32 {
    var m = 0.0;
    var i = 0;
    while (i < n) {
        m = max(m, abs(x[i]));
        i += 1;
    }
    return m;
}

fn min_f64(f64[] x, i64 n, f64 start) -> f64 {
    var m = start;
    var i = 0;
    while (i < n) {
        m = min(x[i], m);
        i += 1;
    }
    return m;
}
`

// packedF16 matches a conversion of several halves at once: from memory, or into a 256- or
// 512-bit register (a single half is widened register to xmm, or by vcvtsh2ss). On CPUs
// with AVX512-FP16 (Sapphire Rapids) the packed conversion is spelled vcvtph2psx.
const packedF16 = `vcvtph2psx?\s+(-?0x[0-9a-f]+)?\(|vcvtph2psx?\s+%[xyz]mm\d+, %[yz]mm`

// vectorized names, for each kernel, the packed instructions (x86-64 with AVX2 or AVX-512)
// that show its loop was vectorized: each pattern must match one instruction of the function.
var vectorized = map[string][]string{
	"dot_u8_i8":   {`vpdpwssd|vpmaddwd|vpmulld|vpdpbusd`},
	"dot_i8":      {`vpdpwssd|vpmaddwd|vpmulld|vpdpbusd`},
	"nibbles":     {`vgf2p8affineqb|vpsrlw|vpsrld|vpshufb`, `vpand`},
	"q4dot":       {`vpdpwssd|vpmaddwd|vpmulld|vpdpbusd`},
	"bf16_dot":    {`vpslld|vpunpck|vcvtneebf162ps|vpmovzxwd`, `vfmadd\d+ps|vmulps|vdpbf16ps`},
	"f16_dot":     {packedF16, `vfmadd\d+ps|vmulps`},
	"bf16_load":   {`vpslld|vpunpck|vpmovzxwd`},
	"f16_load":    {packedF16},
	"f32_to_f16":  {`vcvtps2ph\s+\$(0x)?[0-9a-f]+, %[yz]mm`},
	"f16_axpy":    {packedF16, `vfmadd\d+ps|vmulps`},
	"f32_to_bf16": {`vpsrld|vcvtneps2bf16`},
	"max_abs":     {`vmaxps`},
	"min_f64":     {`vminpd`},
}

// objdump finds llvm-objdump beside the clang the toolchain uses, or on PATH; a missing tool
// fails the test.
func objdump(t *testing.T) string {
	t.Helper()
	tools := kerneltest.Tools(t)
	cands := []string{filepath.Join(filepath.Dir(tools.Clang.Path), "llvm-objdump")}
	if tools.Clang.Major > 0 {
		cands = append(cands, fmt.Sprintf("llvm-objdump-%d", tools.Clang.Major))
	}
	cands = append(cands, "llvm-objdump")
	for _, c := range cands {
		if p, err := exec.LookPath(c); err == nil {
			return p
		}
	}
	t.Fatalf("llvm-objdump not found (looked for %v): install llvm-19 (scripts/install-toolchain.sh)", cands)
	return ""
}

// disassemble returns the instructions of each function of the object at path.
func disassemble(t *testing.T, tool, path string) map[string][]string {
	t.Helper()
	out, err := exec.Command(tool, "-d", "--no-show-raw-insn", path).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
	funcs := map[string][]string{}
	header := regexp.MustCompile(`^[0-9a-f]+ <([\w.]+)>:$`)
	var cur string
	for _, line := range strings.Split(string(out), "\n") {
		if m := header.FindStringSubmatch(line); m != nil {
			cur = m[1]
			continue
		}
		if _, insn, ok := strings.Cut(line, "\t"); ok && cur != "" {
			insn = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(insn), "{vex}"))
			funcs[cur] = append(funcs[cur], insn)
		}
	}
	return funcs
}

// TestNarrowLoopsVectorize compiles integer dot products over i8/u8, nibble unpacking and
// bf16/f16 → f32 loops on both backends and checks, with llvm-objdump, that each loop became
// packed vector instructions; it logs the vector instructions LLVM chose.
func TestNarrowLoopsVectorize(t *testing.T) {
	tool := objdump(t)
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		t.Run(backend.String(), func(t *testing.T) {
			obj := kerneltest.Compile(t, "vector.sl", []byte(vectorKernels), compiler.Options{Backend: backend})
			funcs := disassemble(t, tool, obj.Path)
			var names []string
			for name := range vectorized {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				patterns, insns := vectorized[name], funcs[name]
				if len(insns) == 0 {
					t.Errorf("%s: no instructions found", name)
					continue
				}
				for _, p := range patterns {
					re := regexp.MustCompile(`^(` + p + `)`)
					found := false
					for _, insn := range insns {
						found = found || re.MatchString(insn)
					}
					if !found {
						t.Errorf("%s: no instruction matches %q: the loop was not vectorized", name, p)
					}
				}
				t.Logf("%s: %s", name, vectorMnemonics(insns))
			}
		})
	}
}

// TestHalfLoopsFullWidth checks that loops converting f16 values run as many at once as the
// CPU converts in one instruction, on both backends: 16 on zmm registers with AVX-512, 8 on
// ymm with F16C (lower.Options.HalfVectorWidth), where LLVM's cost model alone picks 4; and
// one vector a trip: f16_dot's vector loop converts one register of halves.
func TestHalfLoopsFullWidth(t *testing.T) {
	reg := "ymm"
	switch {
	case cpu.X86.HasAVX512F:
		reg = "zmm"
	case !cpu.X86.HasF16C:
		t.Skip("the CPU has no F16C: halves convert one at a time")
	}
	tool := objdump(t)
	widen := regexp.MustCompile(`^vcvtph2psx?\s.*%` + reg)
	narrow := regexp.MustCompile(`^vcvtps2phx?\s.*%` + reg)
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		obj := kerneltest.Compile(t, "vector.sl", []byte(vectorKernels), compiler.Options{Backend: backend})
		funcs := disassemble(t, tool, obj.Path)
		for name, conv := range map[string]*regexp.Regexp{"f16_dot": widen, "f16_load": widen, "f16_axpy": widen, "f32_to_f16": narrow} {
			if !slices.ContainsFunc(funcs[name], conv.MatchString) {
				t.Errorf("%v: %s has no %s on %s registers: %s", backend, name, conv, reg, vectorMnemonics(funcs[name]))
			}
		}
		for _, body := range loopBodies(t, tool, obj.Path, "f16_dot") {
			if n := len(slices.DeleteFunc(body, func(insn string) bool { return !widen.MatchString(insn) })); n > 1 {
				t.Errorf("%v: a loop of f16_dot converts %d registers of halves a trip, want 1", backend, n)
			}
		}
	}
}

// TestWideVectors checks that on a CPU with AVX-512 an f32 dot product is vectorized on
// 512-bit registers, on both backends through clang and on the llvm backend through opt and
// llc (the corpus's routes): LLVM's tuning for Intel's server cores would keep it at 256
// bits (toolchain: wideVectors).
func TestWideVectors(t *testing.T) {
	if !cpu.X86.HasAVX512F {
		t.Skip("the CPU has no AVX-512: 256-bit vectors are the widest")
	}
	tool := objdump(t)
	fma := regexp.MustCompile(`^vfmadd\d+ps\s.*%zmm`)
	for _, opts := range []compiler.Options{
		{Backend: compiler.MLIR, Route: toolchain.ViaClang},
		{Backend: compiler.LLVM, Route: toolchain.ViaClang},
		{Backend: compiler.LLVM, Route: toolchain.ViaOptLLC},
	} {
		obj := kerneltest.Compile(t, "vector.sl", []byte(vectorKernels), opts)
		if !slices.ContainsFunc(disassemble(t, tool, obj.Path)["f32_dot"], fma.MatchString) {
			t.Errorf("%v, route %v: f32_dot has no vfmadd…ps on zmm registers", opts.Backend, opts.Route)
		}
	}
}

// vectorMnemonics lists, sorted, the mnemonics of the instructions on vector registers.
func vectorMnemonics(insns []string) string {
	seen := map[string]bool{}
	for _, insn := range insns {
		if fields := strings.Fields(insn); len(fields) > 1 && regexp.MustCompile(`%[xyz]mm`).MatchString(insn) {
			seen[fields[0]] = true
		}
	}
	var list []string
	for m := range seen {
		list = append(list, m)
	}
	sort.Strings(list)
	return strings.Join(list, " ")
}

// vectorBuilds opens vectorKernels on both backends, checked, unchecked and strict, and
// yields each build with its options.
func vectorBuilds(t *testing.T) iter.Seq2[compiler.Options, *loader.Library] {
	return func(yield func(compiler.Options, *loader.Library) bool) {
		for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
			for _, opts := range []compiler.Options{{}, {Unchecked: true}, {StrictFP: true}} {
				opts.Backend = backend
				if !yield(opts, kerneltest.Open(t, "vector.sl", []byte(vectorKernels), opts)) {
					return
				}
			}
		}
	}
}

// TestFloatDots checks the f32 dot products that the lowering runs on 16 lanes (FloatDot)
// against Go, on both backends, checked, unchecked and strict, for lengths around the 16
// lanes and offsets into the first array; the values are small integers, so every order of
// the additions gives the same sum.
func TestFloatDots(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for opts, lib := range vectorBuilds(t) {
		dot, dotAt := kerneltest.Func(t, lib, "f32_dot"), kerneltest.Func(t, lib, "f32_dot_at")
		for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 48, 100, 773} {
			w, x := make([]float32, n+5), make([]float32, n)
			for i := range w {
				w[i] = float32(rng.IntN(7) - 3)
			}
			for i := range x {
				x[i] = float32(rng.IntN(7) - 3)
			}
			for _, wo := range []int{0, 5} {
				want := float32(1)
				for j := range n {
					want += w[wo+j] * x[j]
				}
				if got := kerneltest.Call(t, dotAt, w, int64(wo), x, int64(n)).(float32); got != want {
					t.Errorf("%+v: f32_dot_at(n=%d, wo=%d) = %v, want %v", opts, n, wo, got, want)
				}
				if wo == 0 {
					if got := kerneltest.Call(t, dot, w[:n], x, int64(n)).(float32); got != want-1 {
						t.Errorf("%+v: f32_dot(n=%d) = %v, want %v", opts, n, got, want-1)
					}
				}
			}
		}
	}
}

// TestRolledDotLoops checks that the f32 dot loop on lanes stays rolled (lower.Loop.Rolled):
// on both backends the LLVM IR handed to clang marks a loop llvm.loop.unroll.disable (on the
// MLIR route the mark must survive mlir-opt, whose scf-to-cf drops scf.for's), and the object
// runs that loop with one zmm FMA per turn, where LLVM unrolled it to 8, and no straight-line
// loop of f32_dot runs more than the 4 of LLVM's own vectorized loop (the part as written);
// bf16_rows' loop on lanes runs one FMA and one addition to the sums a line.
func TestRolledDotLoops(t *testing.T) {
	if !cpu.X86.HasAVX512F {
		t.Skip("the CPU has no AVX-512: the dot loop runs on ymm registers")
	}
	tool := objdump(t)
	fma := regexp.MustCompile(`^vfmadd\d+ps\s.*%zmm`)
	add := regexp.MustCompile(`^vaddps\s.*%zmm`)
	rolled := regexp.MustCompile(`(?m)^!(\d+) = !\{!"llvm\.loop\.unroll\.disable"\}$`)
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		work := t.TempDir()
		obj := kerneltest.Compile(t, "vector.sl", []byte(vectorKernels), compiler.Options{Backend: backend, Route: toolchain.ViaClang, WorkDir: work})
		ir, err := os.ReadFile(filepath.Join(work, "kernel.ll"))
		if err != nil {
			t.Fatal(err)
		}
		if m := rolled.FindSubmatch(ir); m == nil || !regexp.MustCompile(`(?m)^!\d+ = distinct !\{!\d+, !`+string(m[1])+`\}$`).Match(ir) {
			t.Errorf("%v: the LLVM IR has no loop marked llvm.loop.unroll.disable", backend)
		}
		var counts []int
		for _, body := range loopBodies(t, tool, obj.Path, "f32_dot") {
			if n := len(slices.DeleteFunc(body, func(insn string) bool { return !fma.MatchString(insn) })); n > 0 {
				counts = append(counts, n)
			}
		}
		if !slices.Contains(counts, 1) || slices.Max(append(counts, 0)) > 4 {
			t.Errorf("%v: f32_dot's loops run %v zmm FMAs per turn, want one loop of 1 and none above 4", backend, counts)
		}
		// bf16 rows take a line a turn: its two vectors of products, one FMA, then one
		// addition to the sums. The loop on lanes is the one that prefetches its rows or,
		// where the compiler leaves that prefetch out (compiler.floatPrefetchHurts: Zen 4),
		// the one with a zmm addition (LLVM's own loops fold every product into its sums).
		var line, adding []string
		for _, body := range loopBodies(t, tool, obj.Path, "bf16_rows") {
			if slices.ContainsFunc(body, func(insn string) bool { return strings.HasPrefix(insn, "prefetcht2") }) {
				line = body
			}
			if slices.ContainsFunc(body, add.MatchString) {
				adding = body
			}
		}
		if line == nil {
			line = adding
		}
		fmas := slices.DeleteFunc(slices.Clone(line), func(insn string) bool { return !fma.MatchString(insn) })
		adds := slices.DeleteFunc(slices.Clone(line), func(insn string) bool { return !add.MatchString(insn) })
		if len(fmas) != 1 || len(adds) != 1 {
			t.Errorf("%v: bf16_rows' loop on lanes runs %d zmm FMAs and %d additions, want 1 and 1:\n%s", backend, len(fmas), len(adds), strings.Join(line, "\n"))
		}
	}
}

// loopBodies returns the instructions of each innermost straight-line loop of function fn in
// the object at path: from the target of a backward jump to the jump, with no jump between.
func loopBodies(t *testing.T, tool, path, fn string) [][]string {
	t.Helper()
	out, err := exec.Command(tool, "-d", "--no-show-raw-insn", "--disassemble-symbols="+fn, path).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", tool, err, out)
	}
	line := regexp.MustCompile(`^\s*([0-9a-f]+):\s+(.*)$`)
	jump := regexp.MustCompile(`^j\w+\s+0x([0-9a-f]+)\b`)
	var addrs []uint64
	var insns []string
	var loops [][]string
	for _, l := range strings.Split(string(out), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		addr, _ := strconv.ParseUint(m[1], 16, 64)
		addrs, insns = append(addrs, addr), append(insns, strings.TrimSpace(m[2]))
		if j := jump.FindStringSubmatch(insns[len(insns)-1]); j != nil {
			target, _ := strconv.ParseUint(j[1], 16, 64)
			from, _ := slices.BinarySearch(addrs, target)
			if body := insns[from:]; target <= addr && !slices.ContainsFunc(body[:len(body)-1], jump.MatchString) {
				loops = append(loops, slices.Clone(body))
			}
		}
	}
	if len(insns) == 0 {
		t.Fatalf("%s: no instructions of %s in %s", tool, fn, path)
	}
	return loops
}

// TestBF16Rows checks a mat-vec of bf16 rows, which the lowering runs on 16 lanes, 32 weights
// a trip (FloatDot widening each), with the rows prefetched ahead, past the array's end for
// the last ones, against Go on both backends, checked, unchecked and strict, for row lengths
// around 16 and 32 and an offset into the weights; small integers, so every order of the
// additions gives the same sums.
func TestBF16Rows(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for opts, lib := range vectorBuilds(t) {
		rows := kerneltest.Func(t, lib, "bf16_rows")
		for _, cols := range []int{0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100} {
			for _, wo := range []int{0, 5} {
				const n = 3
				w, x := make([]half.BF16, wo+n*cols), make([]float32, cols)
				for i := range w {
					w[i] = half.BF16FromFloat64(float64(rng.IntN(7) - 3))
				}
				for i := range x {
					x[i] = float32(rng.IntN(7) - 3)
				}
				out := make([]float32, n)
				kerneltest.Call(t, rows, out, w, int64(wo), x, int64(n), int64(cols))
				for r := range n {
					want := float32(0)
					for j := range cols {
						want += float32(w[wo+r*cols+j].Float64()) * x[j]
					}
					if out[r] != want {
						t.Errorf("%+v: bf16_rows(cols=%d, wo=%d) row %d = %v, want %v", opts, cols, wo, r, out[r], want)
					}
				}
			}
		}
	}
}

// TestMinMaxReductions runs max_abs and min_f64, whose loops package lower splits into a
// vector's worth of partial results, against Go on lengths around those lanes, with NaNs
// (which min and max ignore) at the start, inside and at the end, on both backends, checked,
// unchecked and strict (which keeps the loop as written).
func TestMinMaxReductions(t *testing.T) {
	maxAbs := func(x []float32) float32 {
		m := float32(0)
		for _, v := range x {
			if a := float32(math.Abs(float64(v))); a > m {
				m = a
			}
		}
		return m
	}
	minOf := func(x []float64, start float64) float64 {
		m := start
		for _, v := range x {
			if !math.IsNaN(v) && (math.IsNaN(m) || v < m) {
				m = v
			}
		}
		return m
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for opts, lib := range vectorBuilds(t) {
		maxFn, minFn := kerneltest.Func(t, lib, "max_abs"), kerneltest.Func(t, lib, "min_f64")
		for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 100} {
			x32, x64 := make([]float32, n), make([]float64, n)
			for i := range n {
				x32[i], x64[i] = float32(rng.NormFloat64()), rng.NormFloat64()
			}
			for _, nan := range []int{-1, 0, n / 2, n - 1} {
				if nan >= 0 && nan < n {
					x32[nan], x64[nan] = float32(math.NaN()), math.NaN()
				}
				if got, want := kerneltest.Call(t, maxFn, x32, int64(n)).(float32), maxAbs(x32); got != want {
					t.Errorf("%+v: max_abs of %d with a NaN at %d = %v, want %v", opts, n, nan, got, want)
				}
				for _, start := range []float64{math.Inf(1), math.NaN()} {
					got, want := kerneltest.Call(t, minFn, x64, int64(n), start).(float64), minOf(x64, start)
					if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
						t.Errorf("%+v: min_f64 of %d from %v with a NaN at %d = %v, want %v", opts, n, start, nan, got, want)
					}
				}
			}
		}
	}
}
