package conformance

import (
	"math"
	"math/rand/v2"
	"regexp"
	"runtime"
	"slices"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

// vecMathKernels are loops of scalar math calls, as the gated activation, softmax and the
// rotary tables write them.
const vecMathKernels = `
fn exp_all(f32[] x, f32[] y, i64 n) {
    var i = 0;
    while (i < n) {
        y[i] = exp(x[i]);
        i += 1;
    }
}

fn silu_all(f32[] x, f32[] y, i64 n) {
    y = silu(x, y, n);
}

fn trig_pow(f64[] x, f64[] s, f64[] c, f64[] p, i64 n) {
    var i = 0;
    while (i < n) {
        s[i] = sin(x[i]);
        c[i] = cos(x[i]);
        p[i] = pow(1.5, x[i]);
        i += 1;
    }
}
`

// TestVectorMath checks that, where the toolchain found a vector math library (glibc's
// libmvec, on x86-64 Linux), loops of exp, sin, cos and pow call its vector functions on all
// three routes, and that their results stay within a few ulps of Go's math package.
func TestVectorMath(t *testing.T) {
	tools := kerneltest.Tools(t)
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" && tools.VecLib == "" {
		t.Fatal("toolchain: no libmvec.so found by the link driver: install libc6-dev (scripts/install-toolchain.sh)")
	}
	tool := objdump(t)
	vectorCall := map[string]*regexp.Regexp{
		"exp_all":  regexp.MustCompile(`^call.*<_ZGV\w+_expf`),
		"silu_all": regexp.MustCompile(`^call.*<_ZGV\w+_expf`),
		"trig_pow": regexp.MustCompile(`^call.*<_ZGV\w+_sin\b`),
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 1000
	x32, x64 := make([]float32, n), make([]float64, n)
	for i := range n {
		x32[i] = float32(rng.Float64()*160 - 80) // inside exp's finite, normal range
		x64[i] = rng.Float64()*200 - 100
	}
	for _, opts := range []compiler.Options{
		{Backend: compiler.MLIR, Route: toolchain.ViaClang},
		{Backend: compiler.LLVM, Route: toolchain.ViaClang},
		{Backend: compiler.LLVM, Route: toolchain.ViaOptLLC},
	} {
		obj := kerneltest.Compile(t, "vecmath.sl", []byte(vecMathKernels), opts)
		if tools.VecLib != "" {
			funcs := disassemble(t, tool, obj.Path)
			for fn, re := range vectorCall {
				if !slices.ContainsFunc(funcs[fn], re.MatchString) {
					t.Errorf("%v, route %v: %s calls no vector function of libmvec (%s)", opts.Backend, opts.Route, fn, re)
				}
			}
		}
		lib, err := loader.Open(obj.Path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { lib.Close() })
		y := make([]float32, n)
		kerneltest.Call(t, kerneltest.Func(t, lib, "exp_all"), x32, y, int64(n))
		for i, v := range x32 {
			if want := float32(math.Exp(float64(v))); ulps32(y[i], want) > 4 {
				t.Errorf("%v, route %v: exp(%v) = %v, want %v", opts.Backend, opts.Route, v, y[i], want)
			}
		}
		kerneltest.Call(t, kerneltest.Func(t, lib, "silu_all"), x32, y, int64(n))
		for i, v := range x32 {
			want := float32(float64(v) / (1 + math.Exp(-float64(v))))
			if math.Abs(float64(y[i]-want)) > 1e-6*math.Max(1, math.Abs(float64(want))) {
				t.Errorf("%v, route %v: silu(%v) = %v, want %v", opts.Backend, opts.Route, v, y[i], want)
			}
		}
		s, c, p := make([]float64, n), make([]float64, n), make([]float64, n)
		kerneltest.Call(t, kerneltest.Func(t, lib, "trig_pow"), x64, s, c, p, int64(n))
		for i, v := range x64 {
			if math.Abs(s[i]-math.Sin(v)) > 1e-15 || math.Abs(c[i]-math.Cos(v)) > 1e-15 {
				t.Errorf("%v, route %v: sin, cos(%v) = %v, %v, want %v, %v", opts.Backend, opts.Route, v, s[i], c[i], math.Sin(v), math.Cos(v))
			}
			if want := math.Pow(1.5, v); math.Abs(p[i]-want) > 1e-15*want {
				t.Errorf("%v, route %v: pow(1.5, %v) = %v, want %v", opts.Backend, opts.Route, v, p[i], want)
			}
		}
	}
}

// ulps32 is how many float32 values lie between a and b (both finite, of one sign).
func ulps32(a, b float32) int64 {
	d := int64(math.Float32bits(a)) - int64(math.Float32bits(b))
	if d < 0 {
		d = -d
	}
	return d
}
