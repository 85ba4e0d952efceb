package loops

import (
	"strings"
	"testing"

	"github.com/simplang/simplang/frontend"
)

// analyze parses src and returns the facts of its only function's outermost while loop.
func analyze(t *testing.T, src string) *Counted {
	t.Helper()
	f, err := frontend.Parse("t.sl", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	info := Analyze(f.Funcs[0], true)
	for _, s := range f.Funcs[0].Body.Stmts {
		if w, ok := s.(*frontend.While); ok {
			return info.Counted(w)
		}
	}
	t.Fatal("no while loop")
	return nil
}

func TestCounted(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		counted    bool
		step       int64
		inclusive  bool
	}{
		{"plain", "var i = 0; while (i < n) { a[i] = 1.0; i = i + 1; }", true, 1, false},
		{"compound step", "var i = 0; while (i < n) { a[i] = 1.0; i += 2; }", true, 2, false},
		{"inclusive, reversed", "var i = 0; while (n >= i) { a[i] = 1.0; i = 1 + i; }", true, 1, true},
		{"i32 counter", "i32 i = 0; while (i < n) { a[i] = 1.0; i = i + 1; }", true, 1, false},
		{"increment not last", "var i = 0; while (i < n) { i = i + 1; a[i] = 1.0; }", false, 0, false},
		{"assigned elsewhere", "var i = 0; while (i < n) { if (a[i] > 0.0) { i = i + 1; } i = i + 1; }", false, 0, false},
		{"bound changes", "var i = 0; var m = n; while (i < m) { m = m - 1; i = i + 1; }", false, 0, false},
		{"bound loads", "var i = 0; while (i < c[0]) { a[i] = 1.0; i = i + 1; }", false, 0, false},
		{"returns", "var i = 0; while (i < n) { if (a[i] > 0.0) { return; } i = i + 1; }", false, 0, false},
		{"i16 counter, u8 bound", "i16 i = 0; u8 m = 200; while (i < m) { a[i] = 1.0; i = i + 1; }", true, 1, false},
		{"u64 counter", "u64 i = 0; u64 m = 0xFFFFFFFFFFFFFFFA; while (i < m) { a[i] = 1.0; i = i + 1; }", false, 0, false},
		{"u32 counter, i64 bound", "u32 i = 0; while (i < n) { a[i] = 1.0; i += 1; }", false, 0, false},
		{"u8 counter", "u8 i = 0; while (i < 200) { a[i] = 1.0; i += 1; }", false, 0, false},
		{"float counter", "var x = 0.0; while (x < 3.0) { x = x + 1.0; }", false, 0, false},
		{"negative step", "var i = n; while (i > 0) { i = i - 1; }", false, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := analyze(t, "fn f(f32[] a, i64[] c, i64 n) {\n"+tc.body+"\n}")
			if (c != nil) != tc.counted {
				t.Fatalf("counted = %v, want %v", c != nil, tc.counted)
			}
			if c != nil && (c.Step != tc.step || c.Inclusive != tc.inclusive) {
				t.Errorf("step %d inclusive %v, want %d %v", c.Step, c.Inclusive, tc.step, tc.inclusive)
			}
		})
	}
}

func TestParallel(t *testing.T) {
	const rowLoop = "var i = 0; while (i < n) { var s = 0.0; var j = 0; while (j < m) { s += w[i * m + j] * x[j]; j = j + 1; } %s i = i + 1; }"
	for _, tc := range []struct {
		name, body string
		parallel   bool
	}{
		{"own element", "out[i] = s;", true},
		{"own element plus offset", "out[off + i] = s;", true},
		{"own element minus offset", "out[i - off] = s;", true},
		{"read back same element", "out[i] = out[i] + s;", true},
		{"shifted by one", "out[i + 1] = s;", true},
		{"reads the neighbour it does not own", "out[i + 1] = out[i] + s;", false},
		{"strided", "out[2 * i] = s;", true},
		{"stride that may be zero", "out[off * i] = s;", false},
		{"row of a block", "var r = i * m; var k = 0; while (k < m) { out[r + k] = s; k = k + 1; }", true},
		{"row longer than the stride", "var k = 0; while (k <= m) { out[i * m + k] = s; k = k + 1; }", false},
		{"row with another stride", "var k = 0; while (k < m) { out[i * n + k] = s; k = k + 1; }", false},
		{"row from a negative start", "var k = 0 - 1; while (k < m) { out[i * m + k] = s; k = k + 1; }", false},
		{"row index after its loop", "var k = 0; while (k < m) { k = k + 1; } out[i * m + k] = s;", false},
		{"reads another element", "out[i] = out[0] + s;", false},
		{"writes an input", "x[i] = s;", false},
		{"alias of out", "var o = out; o[i] = s; out[i] = s + 1.0;", true},
		{"alias of x", "var o = x; o[i] = s;", false},
		{"carried sum", "total = total + s;", false},
		{"local array", "var t = array<f32>([4]); t[0] = s; out[i] = t[0];", false},
		{"array builtin", "out = silu(out, out, n);", false},
		{"call with arrays", "g(out);", false},
		{"scalar call", "out[i] = h(s);", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "fn f(f32[] out, f32[] w, f32[] x, i64 n, i64 m, i64 off) {\nvar total = 0.0;\n" +
				strings.Replace(rowLoop, "%s", tc.body, 1) + "\n}\nfn g(f32[] a) {}\nfn h(f32 v) -> f32 { return v; }"
			c := analyze(t, src)
			if c == nil {
				t.Fatal("not a counted loop")
			}
			if c.Parallel != tc.parallel {
				t.Errorf("parallel = %v, want %v", c.Parallel, tc.parallel)
			}
			if c.Parallel && c.InnerTrips == nil {
				t.Error("the inner loop's trip count was not found")
			}
		})
	}
}

// TestNoInnerLoop: loops without an inner loop stay serial, whatever their independence.
func TestNoInnerLoop(t *testing.T) {
	c := analyze(t, "fn f(f32[] a, i64 n) {\nvar i = 0; while (i < n) { a[i] = 2.0; i = i + 1; }\n}")
	if c == nil || c.Parallel {
		t.Errorf("counted %v, parallel %v; want counted and serial", c != nil, c != nil && c.Parallel)
	}
}

// TestJam checks which parallel loops may run several iterations at once: those whose body
// is scalar set-up, one inner loop with the same trip count every time, then loop-free code.
func TestJam(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		jam        bool
		prefix     int
	}{
		{"mat-vec row", "var row = i * m; var s = 0.0; var j = 0; while (j < m) { s += w[row + j] * x[j]; j = j + 1; } out[i] = s;", true, 3},
		{"two sums and a branch after", "var s = 0.0; var t = 0.0; var j = 0; while (j <= m) { s += w[i * m + j]; t += x[j]; j += 2; } if (s > t) { out[i] = s; } else { out[i] = t + j; }", true, 3},
		{"branch in the inner body", "var s = 0.0; var j = 0; while (j < m) { if (x[j] > 0.0) { s += w[i * m + j]; } j = j + 1; } out[i] = s;", true, 2},
		{"store before the inner loop", "out[i] = 0.0; var j = 0; while (j < m) { out[i] += w[i * m + j]; j = j + 1; }", false, 0},
		{"branch before the inner loop", "var s = 0.0; if (i > 0) { s = 1.0; } var j = 0; while (j < m) { s += w[i * m + j]; j = j + 1; } out[i] = s;", false, 0},
		{"start depends on the row", "var s = 0.0; var j = i; while (j < m) { s += w[j]; j = j + 1; } out[i] = s;", false, 0},
		{"bound depends on the row", "var s = 0.0; var j = 0; while (j < i) { s += w[j]; j = j + 1; } out[i] = s;", false, 0},
		{"nested inner loops", "var s = 0.0; var j = 0; while (j < m) { var k = 0; while (k < 2) { s += w[i * m + j]; k = k + 1; } j = j + 1; } out[i] = s;", false, 0},
		{"loop after the inner loop", "var s = 0.0; var j = 0; while (j < m) { s += w[j]; j = j + 1; } var k = 0; while (k < 2) { s += 1.0; k = k + 1; } out[i] = s;", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := analyze(t, "fn f(f32[] out, f32[] w, f32[] x, i64 n, i64 m) {\nvar i = 0; while (i < n) { "+tc.body+" i = i + 1; }\n}")
			if c == nil || !c.Parallel {
				t.Fatal("not a parallel loop")
			}
			if (c.Jam != nil) != tc.jam {
				t.Fatalf("jam = %v, want %v", c.Jam != nil, tc.jam)
			}
			if c.Jam != nil && (len(c.Jam.Prefix) != tc.prefix || len(c.Jam.Prefix)+1+len(c.Jam.Suffix) != len(c.Body)) {
				t.Errorf("prefix %d, suffix %d of a %d-statement body; want prefix %d", len(c.Jam.Prefix), len(c.Jam.Suffix), len(c.Body), tc.prefix)
			}
		})
	}
}

// TestWorkNested: the work of a row whose inner loop has a loop inside (the groups of a
// quantized row and their elements) counts the elements: ng × gs.
func TestWorkNested(t *testing.T) {
	c := analyze(t, `fn f(f32[] out, i8[] w, i64 rows, i64 ng, i64 gs) {
var i = 0;
while (i < rows) {
    var s = 0.0;
    var g = 0;
    while (g < ng) {
        var j = 0;
        while (j < gs) {
            s += w[(i * ng + g) * gs + j] as f32;
            j = j + 1;
        }
        g = g + 1;
    }
    out[i] = s;
    i = i + 1;
}
}`)
	if c == nil || !c.Parallel {
		t.Fatal("the row loop is not parallel")
	}
	b, ok := c.Work.(*frontend.Binary)
	if !ok || b.Op != frontend.MUL {
		t.Fatalf("Work = %#v, want groups × elements", c.Work)
	}
}

// TestWorkSums: an attention head's work is its scores, its softmax and its weighted sum
// together, each loop over positions times its loop over the head's elements, not the first
// loop alone: with 12 heads of 64 elements and 30 positions, 12 · (30·64 + 30 + 30·64) =
// 46,440 ≥ ParallelWork runs on threads, where the scores alone (23,040) would not.
func TestWorkSums(t *testing.T) {
	c := analyze(t, `fn f(f32[] out, f32[] att, f32[] q, f32[] kc, i64 n_heads, i64 n, i64 hs) {
var h = 0;
while (h < n_heads) {
    var t = 0;
    while (t < n) {
        var s = 0.0;
        var d = 0;
        while (d < hs) {
            s += q[h * hs + d] * kc[t * hs + d];
            d = d + 1;
        }
        att[h * n + t] = s;
        t = t + 1;
    }
    t = 0;
    while (t < n) {
        att[h * n + t] = exp(att[h * n + t]);
        t = t + 1;
    }
    t = 0;
    while (t < n) {
        var d = 0;
        while (d < hs) {
            out[h * hs + d] += att[h * n + t] * kc[t * hs + d];
            d = d + 1;
        }
        t = t + 1;
    }
    h = h + 1;
}
}`)
	if c == nil || !c.Parallel || c.Work == nil {
		t.Fatal("the head loop is not parallel with a known work")
	}
	worth := func(n int64) bool {
		return evalInt(t, c.WorthThreads(), map[string]int64{"n_heads": 12, "n": n, "hs": 64, "h": 0}) != 0
	}
	if !worth(30) || worth(20) {
		t.Errorf("worth threads at 30 positions %v, at 20 %v; want true, false", worth(30), worth(20))
	}
}

// evalInt evaluates an integer expression of the variables in vars, as a loop's start would.
func evalInt(t *testing.T, e frontend.Expr, vars map[string]int64) int64 {
	t.Helper()
	switch e := e.(type) {
	case *frontend.Const:
		return e.Int
	case *frontend.Ident:
		v, ok := vars[e.Var.Name]
		if !ok {
			t.Fatalf("no value for %s", e.Var.Name)
		}
		return v
	case *frontend.Convert:
		return evalInt(t, e.X, vars)
	case *frontend.Call:
		if e.Builtin == frontend.Max {
			return max(evalInt(t, e.Args[0], vars), evalInt(t, e.Args[1], vars))
		}
	case *frontend.Binary:
		x, y := evalInt(t, e.X, vars), evalInt(t, e.Y, vars)
		switch e.Op {
		case frontend.ADD:
			return x + y
		case frontend.SUB:
			return x - y
		case frontend.MUL:
			return x * y
		case frontend.QUO:
			return x / y
		case frontend.GEQ:
			if x >= y {
				return 1
			}
			return 0
		}
	}
	t.Fatalf("cannot evaluate %#v", e)
	return 0
}
