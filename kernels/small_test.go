package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/loader"
)

// compilers are the configurations every kernel is checked under.
var compilers = []struct {
	name string
	opts compiler.Options
}{
	{"mlir", compiler.Options{Backend: compiler.MLIR}},
	{"mlir-strict-fp", compiler.Options{Backend: compiler.MLIR, StrictFP: true}},
	{"llvm", compiler.Options{Backend: compiler.LLVM}},
	{"llvm-strict-fp", compiler.Options{Backend: compiler.LLVM, StrictFP: true}},
}

func source(t *testing.T, name string) []byte {
	t.Helper()
	src, err := Source(name)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func randomVector(rng *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((rng.Float64()*2 - 1) * scale)
	}
	return v
}

// near reports the first element where got and want differ by more than tol relative to
// the largest magnitude in want, or "".
func near(got []float32, want []float64, tol float64) string {
	scale := 1e-30
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*scale || math.IsNaN(float64(got[i])) {
			return fmt.Sprintf("element %d = %v, want %v (tolerance %g of %g)", i, got[i], want[i], tol, scale)
		}
	}
	return ""
}

func TestSmallKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range compilers {
		t.Run(c.name, func(t *testing.T) {
			libs := map[string]*loader.Library{}
			for _, name := range []string{"rmsnorm", "softmax", "silu"} {
				libs[name] = kerneltest.Open(t, name+".sl", source(t, name+".sl"), c.opts)
			}
			for _, n := range []int{1, 7, 64, 1000} {
				x, w := randomVector(rng, n, 3), randomVector(rng, n, 1)

				var ss float64
				for _, v := range x {
					ss += float64(v) * float64(v)
				}
				r := 1 / math.Sqrt(ss/float64(n)+1e-5)
				wantNorm := make([]float64, n)
				for i := range x {
					wantNorm[i] = float64(w[i]) * float64(x[i]) * r
				}

				m := math.Inf(-1)
				for _, v := range x {
					m = math.Max(m, float64(v))
				}
				var sum float64
				wantSoft := make([]float64, n)
				for i, v := range x {
					wantSoft[i] = math.Exp(float64(v) - m)
					sum += wantSoft[i]
				}
				for i := range wantSoft {
					wantSoft[i] /= sum
				}

				wantSilu := make([]float64, n)
				for i, v := range x {
					wantSilu[i] = float64(v) / (1 + math.Exp(-float64(v)))
				}

				for _, k := range []struct {
					lib  string
					fn   string
					args func(out []float32) []any
					want []float64
				}{
					{"rmsnorm", "rmsnorm_loops", func(out []float32) []any { return []any{out, x, w, n, float32(1e-5)} }, wantNorm},
					{"rmsnorm", "rmsnorm_builtin", func(out []float32) []any { return []any{out, x, w, n, float32(1e-5)} }, wantNorm},
					{"softmax", "softmax_loops", func(out []float32) []any { return []any{out, x, n} }, wantSoft},
					{"softmax", "softmax_builtin", func(out []float32) []any { return []any{out, x, n} }, wantSoft},
					{"silu", "silu_loops", func(out []float32) []any { return []any{out, x, n} }, wantSilu},
					{"silu", "silu_builtin", func(out []float32) []any { return []any{out, x, n} }, wantSilu},
				} {
					out := make([]float32, n)
					kerneltest.Call(t, kerneltest.Func(t, libs[k.lib], k.fn), k.args(out)...)
					if msg := near(out, k.want, 1e-5); msg != "" {
						t.Errorf("%s(n=%d): %s", k.fn, n, msg)
					}
				}
			}
		})
	}
}
