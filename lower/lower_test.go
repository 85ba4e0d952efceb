package lower

import (
	"os"
	"slices"
	"testing"

	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// lowerSource parses, checks and lowers src.
func lowerSource(t *testing.T, name, src string) (*File, error) {
	t.Helper()
	return lowerWith(t, name, src, Options{})
}

// lowerWith parses, checks and lowers src with opts.
func lowerWith(t *testing.T, name, src string, opts Options) (*File, error) {
	t.Helper()
	f, err := frontend.Parse(name, []byte(src))
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return Lower(f, opts)
}

// mustLower is lowerWith, failing the test when lowering does.
func mustLower(t *testing.T, name, src string, opts Options) *File {
	t.Helper()
	lf, err := lowerWith(t, name, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	return lf
}

// TestLoweredForm checks the promises the generators rely on: no array builtin and no
// compound assignment is left, and every return is a statement of the function body itself;
// checked and unchecked.
func TestLoweredForm(t *testing.T) {
	for _, path := range []string{"../kernels/llama2.sl", "../conformance/testdata/early_returns.sl", "../conformance/testdata/builtins_inline.sl"} {
		for _, unchecked := range []bool{false, true} {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := frontend.Parse(path, src)
			if err != nil {
				t.Fatal(err)
			}
			lf, err := Lower(f, Options{Unchecked: unchecked})
			if err != nil {
				t.Fatal(err)
			}
			for _, fn := range lf.Funcs {
				frontend.Inspect(fn.Body, func(n frontend.Node) bool {
					if c, ok := n.(*frontend.Call); ok && c.Builtin.Output() >= 0 {
						t.Errorf("%s: %s: %s is still a call", path, fn.Name, c.Name)
					}
					if a, ok := n.(*frontend.Assign); ok && a.Op != frontend.ASSIGN {
						t.Errorf("%s: %s: a compound assignment at %s", path, fn.Name, a.Position())
					}
					return true
				})
				for _, s := range fn.Body.Stmts {
					if _, top := s.(*frontend.Return); !top && frontend.ContainsReturn(s) {
						t.Errorf("%s: %s: a return inside the statement at %s", path, fn.Name, s.Position())
					}
				}
			}
		}
	}
}

// TestParallelChoice counts the loops made parallel: one per parallel loop, plus the jammed
// one where loops.Jam applies (not with NoJam); none with Serial, and none for a matmul whose
// output is an input.
func TestParallelChoice(t *testing.T) {
	groups := "fn g(f32[] h, i64 n, i64 gs) {\nvar G = 0; while (G < n / gs) { var r = 0; while (r < gs) { h[G * gs + r] = 2.0; r = r + 1; } G = G + 1; }\n}"
	matvec := "fn mv(f32[] w, f32[] x, f32[] out, i64 n, i64 d) {\nvar i = 0; while (i < d) { var s = 0.0; var j = 0; while (j < n) { s += w[i * n + j] * x[j]; j = j + 1; } out[i] = s; i = i + 1; }\n}"
	for _, tc := range []struct {
		name, src string
		opts      Options
		parallel  int
	}{
		{"matvec, jammed too", matvec, Options{Unchecked: true}, 2},
		{"matvec, jammed too, each with its checked twin", matvec, Options{}, 4},
		{"matvec, not jammed", matvec, Options{Unchecked: true, NoJam: true}, 1},
		{"matvec, not jammed, with its checked twin", matvec, Options{NoJam: true}, 2},
		{"serial", matvec, Options{Serial: true}, 0},
		{"matmul rows and the packing of b", "fn mm(f32[] a, f32[] b, f32[] c, i64 n) { matmul(a, b, c, n, n, n); }", Options{Unchecked: true}, 2},
		{"matmul, checked twins", "fn mm(f32[] a, f32[] b, f32[] c, i64 n) { matmul(a, b, c, n, n, n); }", Options{}, 4},
		{"matmul in place", "fn mm(f32[] a, i64 n) { matmul(a, a, a, n, n, n); }", Options{}, 0},
		// A checked division in the bound is computed once before the loop, which stays counted.
		{"bound divided, checked", groups, Options{NoJam: true}, 2},
		{"bound divided, unchecked", groups, Options{Unchecked: true, NoJam: true}, 1},
	} {
		f, err := frontend.Parse(tc.name, []byte(tc.src))
		if err != nil {
			t.Fatal(err)
		}
		lf, err := Lower(f, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		frontend.Inspect(lf.Funcs[0].Body, func(n frontend.Node) bool {
			if w, ok := n.(*frontend.While); ok && lf.Funcs[0].Loop(w) != nil && lf.Funcs[0].Loop(w).Parallel {
				got++
			}
			return true
		})
		if got != tc.parallel {
			t.Errorf("%s: %d parallel loops, want %d", tc.name, got, tc.parallel)
		}
	}
}

// TestHalfLoopWidth checks which loops ask LLVM for HalfVectorWidth (Loop.VectorWidth): the
// innermost ones that convert f16 values (loads and stores), not those with a loop or a call
// inside, nor loops without halves, nor any without the option.
func TestHalfLoopWidth(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []int // VectorWidth of the function's loops, outermost first
	}{
		{"dot", "var s = 0.0; var i = 0; while (i < n) { s += h[i] * x[i]; i = i + 1; } x[0] = s;", []int{16}},
		{"store", "var i = 0; while (i < n) { h[i] = x[i] * 2.0; i = i + 1; }", []int{16}},
		{"f32 only", "var i = 0; while (i < n) { x[i] = x[i] * 2.0; i = i + 1; }", []int{0}},
		{"nest", "var r = 0; while (r < n) { var i = 0; while (i < n) { x[i] += h[r * n + i]; i = i + 1; } r = r + 1; }", []int{0, 16}},
		{"a call inside", "var i = 0; while (i < n) { x[i] = exp(h[i]); i = i + 1; }", []int{0}},
	} {
		src := "fn k(f16[] h, f32[] x, i64 n) {\n" + tc.body + "\n}"
		for _, width := range []int{0, 16} {
			lf := mustLower(t, tc.name, src, Options{Unchecked: true, Serial: true, StrictFP: true, HalfVectorWidth: width})
			var got []int
			frontend.Inspect(lf.Funcs[0].Body, func(n frontend.Node) bool {
				if w, ok := n.(*frontend.While); ok && lf.Funcs[0].Loop(w) != nil {
					got = append(got, lf.Funcs[0].Loop(w).VectorWidth)
				}
				return true
			})
			want := tc.want
			if width == 0 {
				want = make([]int, len(tc.want))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s, HalfVectorWidth %d: loops ask for widths %v, want %v", tc.name, width, got, want)
			}
		}
	}
}

// TestHoisted: arrays sized by parameters the function never assigns are allocated at entry.
func TestHoisted(t *testing.T) {
	src := `fn f(i64 n, i64 m) {
    var a = array<f32>([n * 2]);
    var b = array<f32>([n / 2]);
    var k = n;
    var c = array<f32>([k]);
    m = m + 1;
    var d = array<f32>([m]);
}`
	lf, err := lowerSource(t, "h.sl", src)
	if err != nil {
		t.Fatal(err)
	}
	if h := lf.Funcs[0].Hoisted; len(h) != 1 || h[0].Pos.Line != 2 {
		t.Errorf("hoisted %v, want only the array of line 2 (a division could trap; k and m change)", h)
	}
}

// TestRangeTestsCoverLoopNests: one test before a loop covers the accesses under the ifs that
// bound its counter and those of the counted loops nested in it, so the loop's fast twin,
// inner loops and all, checks nothing (a mat-vec's rows no longer test their range one by
// one).
func TestRangeTestsCoverLoopNests(t *testing.T) {
	for name, src := range map[string]string{
		"two matrices' rows": `fn f(f32[] o1, f32[] w1, i64 r1, f32[] o2, f32[] w2, i64 r2, f32[] x, i64 n) {
    var i = 0;
    while (i < r1 + r2) {
        var s = 0.0; var j = 0;
        if (i < r1) { var row = i * n; while (j < n) { s += w1[row + j] * x[j]; j = j + 1; } o1[i] = s; }
        else if (r1 <= i) { while (j < n) { s += w2[(i - r1) * n + j] * x[j]; j = j + 1; } o2[i - r1] = s; }
        i = i + 1;
    }
}`,
		"groups of rows": `fn f(f32[] o, f32[] w, f32[] sc, f32[] x, i64 rows, i64 ng, i64 gs) {
    var i = 0;
    while (i < rows) {
        var s = 0.0; var g = 0;
        while (g < ng) {
            var p = 0.0; var j = 0;
            while (j < gs) { p += w[(i * ng + g) * gs + j] * x[g * gs + j]; j = j + 1; }
            s += p * sc[i * ng + g]; g = g + 1;
        }
        o[i] = s; i = i + 1;
    }
}`,
	} {
		f, err := lowerSource(t, name, src)
		if err != nil {
			t.Fatal(err)
		}
		fast := false
		frontend.Inspect(f.Funcs[0].Body, func(n frontend.Node) bool {
			if w, ok := n.(*frontend.While); ok {
				c := loops.Count(w)
				fast = fast || c != nil && c.Var.Name == "i" && !reports(w)
			}
			return true
		})
		if !fast {
			t.Errorf("%s: every loop over the rows checks accesses", name)
		}
	}
}

// reports reports whether w reports a failed check.
func reports(w *frontend.While) bool {
	found := false
	frontend.Inspect(w, func(n frontend.Node) bool {
		c, ok := n.(*frontend.Call)
		found = found || ok && c.Builtin == frontend.Report
		return !found
	})
	return found
}
