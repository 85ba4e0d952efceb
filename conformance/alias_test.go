package conformance

import (
	"strings"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
)

// TestOverlapRefused: the signature table marks the arrays a kernel writes (here dst, also
// through a helper it calls), and Call refuses slices that share memory with a written one
// (language §6), naming both parameters; read-only arrays may overlap.
func TestOverlapRefused(t *testing.T) {
	const src = `fn put(f32[] out, f32 v, i64 i) {
    out[i] = v;
}

fn copy(f32[] dst, f32[] src, i64 n) {
    var i = 0;
    while (i < n) {
        put(dst, src[i], i);
        i = i + 1;
    }
}

fn sum2(f32[] a, f32[] b, i64 n) -> f32 {
    var s = 0.0;
    var i = 0;
    while (i < n) {
        s += a[i] + b[i];
        i = i + 1;
    }
    return s;
}
`
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		lib := kerneltest.Open(t, "overlap.sl", []byte(src), compiler.Options{Backend: backend})
		cp := kerneltest.Func(t, lib, "copy")
		if sig := cp.Signature().String(); sig != "fn copy(f32[]! dst, f32[] src, i64 n)" {
			t.Errorf("%v: copy's signature %q does not mark dst alone as written", backend, sig)
		}
		buf := []float32{1, 2, 3, 4, 5, 6}
		_, err := cp.Call(buf[1:4], buf[0:3], 3)
		if err == nil || !strings.Contains(err.Error(), "arguments dst and src share memory and copy writes dst") {
			t.Errorf("%v: copy of overlapping slices: %v", backend, err)
		}
		if buf[1] != 2 {
			t.Errorf("%v: the refused call ran: %v", backend, buf)
		}
		kerneltest.Call(t, cp, buf[3:6], buf[0:3], 3) // adjacent, not overlapping
		if buf[3] != 1 || buf[5] != 3 {
			t.Errorf("%v: copy gave %v", backend, buf)
		}
		if got := kerneltest.Call(t, kerneltest.Func(t, lib, "sum2"), buf[0:3], buf[1:4], 3); got != float32(1+2+3+2+3+1) {
			t.Errorf("%v: sum2 of overlapping read-only slices = %v", backend, got)
		}
	}
}
