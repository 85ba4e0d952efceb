package main

import (
	"fmt"
	"runtime"

	"github.com/ebitengine/purego"
)

// DefaultBLAS is the OpenBLAS of Debian's libopenblas0-pthread (through the alternatives
// system, libopenblas.so.0 is on the library path once it is installed).
const DefaultBLAS = "libopenblas.so.0"

// blas is an OpenBLAS opened at run time: its cblas_sgemm and openblas_set_num_threads.
type blas struct {
	path       string
	sgemm      func(order, transA, transB, m, n, k int32, alpha float32, a *float32, lda int32, b *float32, ldb int32, beta float32, c *float32, ldc int32)
	setThreads func(n int32)
}

// CBLAS enumerations.
const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
)

// openBLAS opens the OpenBLAS at path. An error says what is missing and how to install it;
// the caller reports it and carries on without the comparison.
func openBLAS(path string) (*blas, error) {
	h, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		if path != DefaultBLAS {
			return nil, fmt.Errorf("-blas %s: %v", path, err)
		}
		return nil, fmt.Errorf("OpenBLAS not found (%v); install it with apt-get install libopenblas0-pthread", err)
	}
	b := &blas{path: path}
	for _, s := range []struct {
		name string
		fn   any
	}{{"cblas_sgemm", &b.sgemm}, {"openblas_set_num_threads", &b.setThreads}} {
		addr, err := purego.Dlsym(h, s.name)
		if err != nil {
			purego.Dlclose(h)
			return nil, fmt.Errorf("%s has no %s: not an OpenBLAS (%v)", path, s.name, err)
		}
		purego.RegisterFunc(s.fn, addr)
	}
	return b, nil
}

// gemm computes C (m×n) += A (m×k) · B, row-major, with B k×n, or n×k when transB.
func (b *blas) gemm(transB bool, a, bm, c []float32, m, k, n int) {
	tb, ldb := int32(cblasNoTrans), n
	if transB {
		tb, ldb = cblasTrans, k
	}
	b.sgemm(cblasRowMajor, cblasNoTrans, tb, int32(m), int32(n), int32(k), 1, &a[0], int32(k), &bm[0], int32(ldb), 1, &c[0], int32(n))
	runtime.KeepAlive(a)
	runtime.KeepAlive(bm)
	runtime.KeepAlive(c)
}
