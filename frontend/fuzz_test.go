package frontend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the frontend: it must never panic or hang, and every
// rejection must be a positioned diagnostic list.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../shared/corpus/*/*.sl")
	kernels, _ := filepath.Glob("../kernels/*.sl")
	for _, path := range append(files, kernels...) {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("fn f() -> f32 { return -9223372036854775808 as f32; }"))
	f.Add([]byte("fn f(f32[] a) { var g = array<f32>([2, 3]); g[1, 2] = a[0]; a = softmax(a, a, 3, 0, 0); }"))
	f.Fuzz(func(t *testing.T, src []byte) {
		file, err := Parse("fuzz.sl", src)
		if err == nil {
			if file == nil {
				t.Fatal("no file and no error")
			}
			return
		}
		list, ok := err.(*ErrorList)
		if !ok {
			t.Fatalf("error of type %T, want *ErrorList: %v", err, err)
		}
		if list.Len() == 0 || list.Len() > MaxErrors {
			t.Fatalf("%d diagnostics", list.Len())
		}
		for _, e := range list.Errs {
			if e.Pos.Line < 1 || e.Pos.Col < 1 || !strings.HasPrefix(e.Error(), "fuzz.sl:") {
				t.Fatalf("badly positioned diagnostic %q at %v", e.Msg, e.Pos)
			}
		}
	})
}
