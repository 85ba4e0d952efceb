package main

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
)

// naive is C (m×n) += A (m×k) · B in float64, with B k×n or n×k; bound is Σ|a·b| per element,
// for the tolerance of a reassociated f32 sum.
func naive(a, b, c []float32, m, k, n int, transB bool) (want, bound []float64) {
	want, bound = make([]float64, m*n), make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s, abs := float64(c[i*n+j]), math.Abs(float64(c[i*n+j]))
			for p := 0; p < k; p++ {
				bv := b[p*n+j]
				if transB {
					bv = b[j*k+p]
				}
				s += float64(a[i*k+p]) * float64(bv)
				abs += math.Abs(float64(a[i*k+p]) * float64(bv))
			}
			want[i*n+j], bound[i*n+j] = s, abs
		}
	}
	return want, bound
}

// TestKernelsMatchGo runs every kernel of gemm.sl on odd sizes, square and not, and on one
// that spans several of the tiles' stretches and panels, on both
// backends, fast and strict floating point, at 1 and 2 threads, against a naive product.
func TestKernelsMatchGo(t *testing.T) {
	sizes := []int{1, 7, 33, 127}
	var shapes [][3]int
	for _, s := range sizes {
		shapes = append(shapes, [3]int{s, s, s})
	}
	shapes = append(shapes, [3]int{7, 33, 127}, [3]int{127, 1, 33}, [3]int{33, 127, 7}, [3]int{1, 127, 7})
	// More than one stretch of p (256) and panel of columns (256), the last ones partial; and
	// more rows than the transposed product takes column blocks first for (512).
	shapes = append(shapes, [3]int{37, 300, 530}, [3]int{515, 40, 37})
	for _, opts := range []compiler.Options{{Backend: compiler.MLIR}, {Backend: compiler.LLVM}, {Backend: compiler.MLIR, StrictFP: true}, {Backend: compiler.LLVM, Unchecked: true}} {
		lib := kerneltest.Open(t, "gemm.sl", source, opts)
		for _, threads := range []int{1, 2} {
			if err := lib.SetThreads(threads); err != nil {
				t.Fatal(err)
			}
			for _, k := range kernels {
				fn := kerneltest.Func(t, lib, k.fn)
				for _, sh := range shapes {
					m, kk, n := sh[0], sh[1], sh[2]
					rng := rand.New(rand.NewPCG(uint64(m), uint64(kk*n)))
					a, b, c := random(rng, m*kk), random(rng, kk*n), random(rng, m*n)
					want, bound := naive(a, b, c, m, kk, n, k.transB)
					kerneltest.Call(t, fn, a, b, c, int64(m), int64(kk), int64(n))
					for i := range c {
						if d := math.Abs(float64(c[i]) - want[i]); d > 1.2e-7*bound[i]*float64(kk+2) {
							t.Fatalf("%+v, %d threads, %s %d×%d×%d: C[%d] = %g, want %g (bound %g)", opts, threads, k.name, m, kk, n, i, c[i], want[i], bound[i])
						}
					}
				}
			}
		}
	}
}

// TestMissingBLAS: a missing OpenBLAS is reported in its column and on stderr; the SimpLang
// side still runs.
func TestMissingBLAS(t *testing.T) {
	if _, err := openBLAS("/nonexistent/libopenblas.so.0"); err == nil || !strings.Contains(err.Error(), "-blas /nonexistent/libopenblas.so.0: ") {
		t.Fatalf("openBLAS of a missing file: %v, want an error that names the -blas given", err)
	}
	sh, err := parseShape("33")
	if err != nil {
		t.Fatal(err)
	}
	var out, progress bytes.Buffer
	err = run(&out, &progress, options{shapes: []shape{sh}, threads: []int{1}, kernels: kernels, rounds: 1, minTime: time.Millisecond, blas: "/nonexistent/libopenblas.so.0", source: source, sourceName: "gemm.sl"})
	if err != nil {
		t.Fatalf("run without OpenBLAS: %v", err)
	}
	if got := strings.Count(out.String(), "missing"); got != len(kernels) {
		t.Errorf("run without OpenBLAS: %d rows say missing, want %d:\n%s", got, len(kernels), out.String())
	}
	if !strings.Contains(progress.String(), "gemm: -blas /nonexistent/libopenblas.so.0: ") {
		t.Errorf("run without OpenBLAS printed no reason:\n%s", progress.String())
	}
}

// TestShapes: LLaMA presets give 128 tokens × dim × hidden_dim.
func TestShapes(t *testing.T) {
	s, err := parseShape("125M")
	if err != nil || s.m != 128 || s.k != 768 || s.n != 3072 {
		t.Errorf("parseShape(125M) = %+v, %v; want 128×768×3072", s, err)
	}
	if _, err := parseShape("0"); err == nil {
		t.Error("parseShape(0) gave no error")
	}
}

// TestParseFlags: stray arguments and shapes whose matrices do not fit in memory, or whose
// element counts overflow an int, are usage errors; shapes that fit are accepted.
func TestParseFlags(t *testing.T) {
	const gb = 1e9
	available := func() (uint64, error) { return 8 * gb, nil }
	for _, tt := range []struct {
		name string
		args []string
		want string // in the error; "" for none
	}{
		{"defaults", nil, ""},
		{"fits", []string{"-shapes", "20000"}, ""}, // 4 × 4 × 20000² bytes: 6.4 GB of 8, within 90%
		{"stray argument", []string{"extra"}, `unexpected argument "extra"`},
		{"stray after flags", []string{"-shapes", "512", "1024"}, `unexpected argument "1024"`},
		{"too big", []string{"-shapes", "512,40000"}, "shape 40000 needs 25600000000 bytes (25.6 GB) for its matrices, but 8000000000 bytes (8.0 GB) of memory is available"},
		{"over the margin", []string{"-shapes", "22000"}, "shape 22000 needs"}, // 7.7 GB: over 90% of 8
		{"int overflow", []string{"-shapes", "3037000500"}, "shape 3037000500 needs"},
		{"zero", []string{"-shapes", "0"}, "size 0 is not positive"},
		{"negative", []string{"-shapes", "-5"}, "size -5 is not positive"},
		{"out of range", []string{"-shapes", "99999999999999999999"}, "size 99999999999999999999 is too large"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args, &bytes.Buffer{}, available)
			if tt.want == "" && err != nil {
				t.Fatalf("parseFlags(%q): %v", tt.args, err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("parseFlags(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
	if _, err := parseFlags(nil, &bytes.Buffer{}, func() (uint64, error) { return 0, errors.New("no /proc/meminfo") }); err == nil {
		t.Error("parseFlags without the available memory gave no error")
	}
}
