package conformance

import (
	"errors"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/loader"
)

const gemmNests = `
fn gemm_nn(f32[] a, f32[] b, f32[] c, i64 m, i64 k, i64 n) {
    var i = 0;
    while (i < m) {
        var p = 0;
        while (p < k) {
            var j = 0;
            while (j < n) {
                c[i * n + j] += a[i * k + p] * b[p * n + j];
                j = j + 1;
            }
            p = p + 1;
        }
        i = i + 1;
    }
}

fn from_row(f32[] a, f32[] b, f32[] c, i64 m, i64 k, i64 n, i64 first) {
    var i = first;
    while (i < m) {
        var p = 0;
        while (p < k) {
            var j = 0;
            while (j < n) {
                c[i * n + j] = c[i * n + j] + a[i * k + p] * b[p * n + j];
                j = j + 1;
            }
            p = p + 1;
        }
        i = i + 1;
    }
}

fn gemm_nt(f32[] a, f32[] b, f32[] c, i64 m, i64 k, i64 n) {
    var i = 0;
    while (i < m) {
        var j = 0;
        while (j < n) {
            var p = 0;
            while (p < k) {
                c[i * n + j] += a[i * k + p] * b[j * k + p];
                p = p + 1;
            }
            j = j + 1;
        }
        i = i + 1;
    }
}
`

// TestGEMMChecked calls the tiled matrix-product nests with each array one element short,
// at sizes with whole blocks and leftovers: every call must fail with a check report.
// from_row is the same nest from a row given at run time, which is not tiled: when the
// range test before its p loop fails, the j loop's own test proves c and b but not a, whose
// index does not move with j; a must still be checked in the same expression as c and b
// (it once was not: the checks' rewriting skipped an expression whose last access was proven).
func TestGEMMChecked(t *testing.T) {
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		lib := kerneltest.Open(t, "gemm.sl", []byte(gemmNests), compiler.Options{Backend: backend})
		for _, name := range []string{"gemm_nn", "gemm_nt"} {
			fn := kerneltest.Func(t, lib, name)
			for _, size := range [][3]int{{12, 40, 32}, {13, 37, 35}, {64, 300, 48}} {
				m, k, n := size[0], size[1], size[2]
				for short := range 3 {
					lens := []int{m * k, k * n, m * n}
					lens[short]--
					a, b, c := make([]float32, lens[0]), make([]float32, lens[1]), make([]float32, lens[2])
					_, err := fn.Call(a, b, c, int64(m), int64(k), int64(n))
					var ce *loader.CheckError
					if !errors.As(err, &ce) {
						t.Errorf("%v %s %v, array %d short: err = %v, want a check report", backend, name, size, short, err)
					}
				}
			}
		}
		for short := range 3 {
			m, k, n := 13, 37, 35
			lens := []int{m * k, k * n, m * n}
			lens[short]--
			a, b, c := make([]float32, lens[0]), make([]float32, lens[1]), make([]float32, lens[2])
			_, err := kerneltest.Func(t, lib, "from_row").Call(a, b, c, int64(m), int64(k), int64(n), int64(12))
			var ce *loader.CheckError
			if !errors.As(err, &ce) {
				t.Errorf("%v from_row, array %d short: err = %v, want a check report", backend, short, err)
			}
		}
	}
}
