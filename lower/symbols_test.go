package lower

import (
	"strings"
	"testing"
)

func TestReservedSymbols(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"fn free(f32 x) -> f32 { return x; }", "1:1: function name free is reserved"},
		{"fn expf(f32 x) -> f32 { return x; }", "function name expf is reserved"},
		{"fn __kmpc_fork_call() {}", "function name __kmpc_fork_call is reserved"},
		{"fn simplang_signatures() {}", "is reserved"},
		{"fn roundf(f32 x) -> f32 { return x; }", "function name roundf is reserved"},
		{"fn __truncsfhf2(f32 x) -> f16 { return x as f16; }", "function name __truncsfhf2 is reserved"},
		{"fn f() {}\nfn _mlir_f() {}", "2:1: function name _mlir_f is the packed entry point of function f"},
		{"fn exp(f64 x) -> f64 { return x; }\nfn g(f64[] a) { a = softmax(a, a, 4); }", "2:21: softmax on f64 calls the C function exp"},
		{"fn sqrt(f64 x) -> f64 { return x; }\nfn g(f64[] a, f64[] w) { a = rmsnorm(a, w, a, 4, 0.1); }", "rmsnorm on f64 calls the C function sqrt"},
	} {
		_, err := lowerSource(t, "names.sl", tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Lower(%q) error = %v, want one containing %q", tc.src, err, tc.want)
		}
	}
	// A file's own exp is fine beside f32 builtins, which call expf.
	ok := "fn exp(f32 x) -> f32 { return x; }\nfn g(f32[] a) { a = softmax(a, a, 4); }"
	if _, err := lowerSource(t, "ok.sl", ok); err != nil {
		t.Errorf("Lower(%q): %v", ok, err)
	}
}
