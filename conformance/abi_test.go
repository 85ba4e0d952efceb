package conformance

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/internal/kerneltest"
)

// arrayKernels are kernels with array parameters, called from Go and from C below.
const arrayKernels = `
fn dot(f32[] a, f32[] b, i64 n) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < n) {
        s += a[i] * b[i];
        i = i + 1;
    }
    return s;
}

// scale multiplies a in place.
fn scale(f32[] a, f32 s, i64 n) {
    var i = 0;
    while (i < n) {
        a[i] = a[i] * s;
        i = i + 1;
    }
}

fn pick(bool c, f64 x, f64 y) -> f64 {
    if (c) {
        return x;
    }
    return y;
}

fn any_negative(f32[] a, i64 n) -> bool {
    var i = 0;
    while (i < n) {
        if (a[i] < 0.0) {
            return 1 == 1;
        }
        i = i + 1;
    }
    return 1 == 0;
}

// wide takes eight arrays of every element kind and three scalars: 43 C arguments. It
// writes out[i] = the sum of every array's element i (times s, negated when flag) and
// returns the sum of out.
fn wide(f32[] a, f64[] b, i64[] c, i32[] d, i16[] e, i8[] f, bool[] g, f64[] out,
        f64 s, i32 n, bool flag) -> f64 {
    var total = 0.0 as f64;
    var i = 0;
    while (i < n) {
        f64 x = a[i] + b[i] + c[i] + d[i] + e[i] + f[i];
        if (g[i]) {
            x = x + 1000.0;
        }
        x = x * s;
        if (flag) {
            x = -x;
        }
        out[i] = x;
        total = total + x;
        i = i + 1;
    }
    return total;
}
`

func TestArrayKernelsFromGo(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			lib := kerneltest.Open(t, "kernels.sl", []byte(arrayKernels), v.opts)

			const n = 1000
			a, b := make([]float32, n), make([]float32, n)
			var want float64
			for i := range a {
				a[i], b[i] = float32(i%17)-8, float32(i%5)*0.25
				want += float64(a[i]) * float64(b[i])
			}
			dot := kerneltest.Func(t, lib, "dot")
			got, err := dot.Call(a, b, int64(n))
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(float64(got.(float32))-want) > 1e-4*math.Abs(want) {
				t.Errorf("dot = %v, want %v", got, want)
			}

			scale := kerneltest.Func(t, lib, "scale")
			wantScaled := make([]float32, n)
			for i := range a {
				wantScaled[i] = a[i] * 1.5
			}
			if _, err := scale.Call(a, float32(1.5), n); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantScaled, a); diff != "" {
				t.Errorf("scale in place (-want +got):\n%s", diff)
			}

			const m = 7
			af, bf, cf := make([]float32, m), make([]float64, m), make([]int64, m)
			df, ef, ff, gf := make([]int32, m), make([]int16, m), make([]int8, m), make([]bool, m)
			out, wantOut := make([]float64, m), make([]float64, m)
			var wantTotal float64
			for i := 0; i < m; i++ {
				af[i], bf[i], cf[i] = float32(i)*0.5, float64(i)*0.25, int64(i)*100
				df[i], ef[i], ff[i], gf[i] = int32(-i), int16(i*3), int8(-i*2), i%3 == 0
				x := float64(af[i]) + bf[i] + float64(cf[i]+int64(df[i])+int64(ef[i])+int64(ff[i]))
				if gf[i] {
					x += 1000
				}
				wantOut[i] = -x * 2
				wantTotal += wantOut[i]
			}
			wide := kerneltest.Func(t, lib, "wide")
			if c := wide.Signature().CArgs(); c < 40 {
				t.Fatalf("wide has %d C arguments, want at least 40", c)
			}
			total, err := wide.Call(af, bf, cf, df, ef, ff, gf, out, 2.0, int32(m), true)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantOut, out, cmpopts.EquateApprox(1e-12, 0)); diff != "" {
				t.Errorf("wide out (-want +got):\n%s", diff)
			}
			if math.Abs(total.(float64)-wantTotal) > 1e-9 {
				t.Errorf("wide = %v, want %v", total, wantTotal)
			}

			// Refused without calling: wrong count, wrong kind.
			before := append([]float32(nil), a...)
			if _, err := scale.Call(a, float32(2)); err == nil || !strings.Contains(err.Error(), "3") {
				t.Errorf("scale with 2 arguments: err = %v, want a count error", err)
			}
			if _, err := scale.Call(a, 2.0, n); err == nil || !strings.Contains(err.Error(), "f32") {
				t.Errorf("scale with a float64: err = %v, want a kind error naming f32", err)
			}
			if diff := cmp.Diff(before, a); diff != "" {
				t.Errorf("a refused call changed the array:\n%s", diff)
			}
		})
	}
}

// cHarness calls the kernels from C as the report's harness did: directly with the expanded
// arguments of language §6 (five memref fields per array, scalars by value), and through the
// packed entries; it also prints the signature table.
const cHarness = `#include <stdint.h>
#include <stdio.h>
float dot(float *, float *, int64_t, int64_t, int64_t, float *, float *, int64_t, int64_t, int64_t, int64_t);
void scale(float *, float *, int64_t, int64_t, int64_t, float, int64_t);
double pick(_Bool, double, double);
_Bool any_negative(float *, float *, int64_t, int64_t, int64_t, int64_t);
void _mlir_dot(void **);
void _mlir_pick(void **);
extern const char simplang_signatures[];

int main(void) {
	float a[5] = {1, 2, 3, 4, 5}, b[5] = {1, 1, 1, 1, 2};
	printf("dot %g\n", dot(a, a, 0, 5, 1, b, b, 0, 5, 1, 5));
	float *pa = a, *pb = b, r = 0;
	int64_t zero = 0, five = 5, one = 1;
	void *args[] = {&pa, &pa, &zero, &five, &one, &pb, &pb, &zero, &five, &one, &five, &r};
	_mlir_dot(args);
	printf("packed dot %g\n", r);
	scale(a, a, 0, 5, 1, -2, 5);
	printf("scaled %g %g\n", a[0], a[4]);
	printf("any_negative %d %d\n", any_negative(a, a, 0, 5, 1, 5), any_negative(b, b, 0, 5, 1, 5));
	_Bool c = 0;
	double x = 1.5, y = 2.5, p = 0;
	void *pargs[] = {&c, &x, &y, &p};
	_mlir_pick(pargs);
	printf("pick %g %g\n", pick(1, x, y), p);
	printf("%s", simplang_signatures);
	return 0;
}
`

func TestKernelFromC(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			obj := kerneltest.Compile(t, "kernels.sl", []byte(arrayKernels), v.opts)
			out := runC(t, obj.Path, "kernels", cHarness)
			want := "dot 20\npacked dot 20\nscaled -2 -10\nany_negative 1 0\npick 1.5 2.5\n" + abi.Encode(obj.Funcs)
			if out != want {
				t.Errorf("C harness printed\n%s\nwant\n%s", out, want)
			}
		})
	}
}

// runC builds the C program main (source) against the object at path, as lib<name>.so, runs
// it and returns what it printed.
func runC(t *testing.T, path, name, main string) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Fatalf("no C compiler (cc) on PATH: %v", err)
	}
	dir := t.TempDir()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lib"+name+".so"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.c"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	build := exec.Command(cc, "main.c", "-o", "main", "-L.", "-l"+name, "-Wl,-rpath,"+dir)
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "main")).CombinedOutput()
	if err != nil {
		t.Fatalf("harness: %v\n%s", err, out)
	}
	return string(out)
}

// newKinds are kernels with unsigned and half-precision parameters and results (language §6),
// called from C below.
const newKinds = `
// qdot dots 4-bit values packed two per byte (low nibble first, stored +8) with bf16 weights.
fn qdot(u8[] p, bf16[] w, f16 scale, i64 n) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < n) {
        var lo = (p[i] & 15) as i32 - 8;
        var hi = (p[i] >> 4) as i32 - 8;
        s += lo * w[2 * i] + hi * w[2 * i + 1];
        i += 1;
    }
    return s * scale;
}

fn mix(u8 a, u16 b, u32 c, u64 d, i8 e) -> u64 {
    return a + b + c + d + e as u64;
}

fn to_f16(f32 x) -> f16 {
    return x as f16;
}

fn to_bf16(f64 x) -> bf16 {
    return x as bf16;
}

fn widen(f16 h, bf16 b) -> f64 {
    f64 r = h;
    return r + b;
}
`

// cNewKinds calls newKinds with C's types: uint8_t…uint64_t, and uint16_t for f16 and bf16.
const cNewKinds = `#include <stdint.h>
#include <stdio.h>
float qdot(uint8_t *, uint8_t *, int64_t, int64_t, int64_t, uint16_t *, uint16_t *, int64_t, int64_t, int64_t, uint16_t, int64_t);
uint64_t mix(uint8_t, uint16_t, uint32_t, uint64_t, int8_t);
uint16_t to_f16(float);
uint16_t to_bf16(double);
double widen(uint16_t, uint16_t);
void _mlir_to_f16(void **);

int main(void) {
	uint8_t p[2] = {0x9A, 0x18};
	uint16_t w[4] = {0x3F80, 0x4000, 0x4040, 0x3F00}; /* 1, 2, 3, 0.5 */
	printf("qdot %g\n", qdot(p, p, 0, 2, 1, w, w, 0, 4, 1, 0x4400 /* 4 */, 2));
	printf("mix %llu\n", (unsigned long long)mix(255, 65535, 4294967295u, 1ull << 40, -1));
	printf("to_f16 %04x\n", to_f16(2049.0f));
	printf("to_bf16 %04x\n", to_bf16(1.0 / 3.0));
	printf("widen %g\n", widen(0x3E00, 0xC000));
	float x = 2051.0f;
	uint16_t r = 0;
	void *args[] = {&x, &r};
	_mlir_to_f16(args);
	printf("packed to_f16 %04x\n", r);
	return 0;
}
`

// TestNewKindsFromC calls kernels taking and returning unsigned and half-precision values
// from C, through the expanded and the packed ABI. Expected: qdot = (2·1 + 1·2 + 0·3 − 7·0.5)·4
// (nibbles 0xA, 0x9, 0x8, 0x1 minus 8); mix wraps in each operation's type: u8 + u16 is a
// u16 (255 + 65535 = 254), + u32 gives 253, + u64 2^40 + 253, + (−1 as u64) 2^40 + 252;
// 2049 rounds to the f16 2048 (0x6800) and 2051 to 2052 (0x6802); 1/3 to the bf16 0x3EAB;
// widen is 1.5 + (−2).
func TestNewKindsFromC(t *testing.T) {
	want := "qdot 2\nmix 1099511628028\nto_f16 6800\nto_bf16 3eab\nwiden -0.5\npacked to_f16 6802\n"
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			obj := kerneltest.Compile(t, "newkinds.sl", []byte(newKinds), v.opts)
			if out := runC(t, obj.Path, "newkinds", cNewKinds); out != want {
				t.Errorf("C harness printed\n%s\nwant\n%s", out, want)
			}
		})
	}
}
