package lower

import (
	"testing"

	"github.com/simplang/simplang/frontend"
)

// TestGEMMRecognised counts the loops of lowered matrix products: the plain nest, its
// transposed-B form and the matmul builtin become blocked code (more loops, and the row
// blocks parallel), under fast math only; a nest or a matmul whose C is also an input stays
// as written.
func TestGEMMRecognised(t *testing.T) {
	const nn = `fn f(f32[] A, f32[] B, f32[] C, i64 m, i64 k, i64 n) {
    var i = 0;
    while (i < m) { var p = 0; while (p < k) { var j = 0; while (j < n) {
        C[i * n + j] += A[i * k + p] * B[p * n + j]; j = j + 1; } p = p + 1; } i = i + 1; }
}`
	const nt = `fn f(f32[] A, f32[] B, f32[] C, i64 m, i64 k, i64 n) {
    var i = 0;
    while (i < m) { var j = 0; while (j < n) { var p = 0; while (p < k) {
        C[i * n + j] += A[i * k + p] * B[j * k + p]; p = p + 1; } j = j + 1; } i = i + 1; }
}`
	const aliased = `fn f(f32[] A, f32[] B, i64 m, i64 k, i64 n) {
    var i = 0;
    while (i < m) { var p = 0; while (p < k) { var j = 0; while (j < n) {
        A[i * n + j] += A[i * k + p] * B[p * n + j]; j = j + 1; } p = p + 1; } i = i + 1; }
}`
	const builtin = `fn f(f32[] A, f32[] B, f32[] C, i64 m, i64 k, i64 n) { C = matmul(A, B, C, m, k, n); }`
	const builtinAliased = `fn f(f32[] A, f32[] B, i64 m, i64 k, i64 n) { A = matmul(A, B, A, m, k, n); }`
	count := func(src string, opts Options) int {
		f, err := frontend.Parse("gemm.sl", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		lf, err := Lower(f, opts)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		frontend.Inspect(lf.Funcs[0].Body, func(node frontend.Node) bool {
			if _, ok := node.(*frontend.While); ok {
				n++
			}
			return true
		})
		return n
	}
	for _, c := range []struct {
		name  string
		src   string
		tiled bool
	}{{"nn", nn, true}, {"nt", nt, true}, {"C is an input", aliased, false},
		{"matmul", builtin, true}, {"matmul into an input", builtinAliased, false}} {
		fast, strict := count(c.src, Options{}), count(c.src, Options{StrictFP: true})
		if (fast > strict) != c.tiled {
			t.Errorf("%s: %d loops with fast math, %d strict: tiled %v, want %v", c.name, fast, strict, fast > strict, c.tiled)
		}
	}
}
