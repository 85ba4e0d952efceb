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
	var files []string
	for _, pattern := range []string{"../../shared/corpus/*/*.sl", "../../shared/corpus2/*/*.sl", "../kernels/*.sl", "../conformance/testdata/*.sl", "../conformance/testdata/errors/*.sl"} {
		found, _ := filepath.Glob(pattern)
		files = append(files, found...)
	}
	for _, path := range files {
		if src, err := os.ReadFile(path); err == nil {
			f.Add(src)
		}
	}
	f.Add([]byte("fn f() -> f32 { return -9223372036854775808 as f32; }"))
	f.Add([]byte("fn f(f32[] a) { var g = array<f32>([2, 3]); g[1, 2] = a[0]; a = softmax(a, a, 3, 0, 0); }"))
	f.Add([]byte("fn f(u8[] p, bf16[] w, f16 h, u64 n) -> u32 { var x = (p[0] >> 4) & 0x0F | ~p[1] ^ 3 << 2; x <<= 1; x %= 7; w[0] = h * 2.0; return (x as u32) + (n >> 60) as u32 + round(w[1]) as u32; }"))
	f.Add([]byte("fn f() -> u64 { u64 a = 0xFFFFFFFFFFFFFFFF; i64 b = -1; return a ^ b as u64 >> 63 << 1 & ~0 as u64; }"))
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
