package lower

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/simplang/simplang/frontend"
)

// TestByteDotRecognised counts the Dot calls lowering writes: two per byte dot-product loop
// (one chunk, or any number), checked or not, and none for loops that only look like one.
func TestByteDotRecognised(t *testing.T) {
	cases := []struct {
		name, body string
		dots       int
	}{
		{"i8 × i8", `i32 acc = 0; var j = 0; while (j < n) { acc += (a[j] as i32) * (b[j] as i32); j = j + 1; } return acc;`, 2},
		{"offsets, reversed", `i32 acc = 0; var j = 2; while (j < n) { acc = (b[j + k] as i32) * (a[k * 3 + j] as i32) + acc; j += 1; } return acc;`, 2},
		{"u8", `i32 acc = 0; var j = 0; while (j < n) { acc += (c[j] as i32) * (a[j] as i32); j = j + 1; } return acc;`, 2},
		{"i64 sum", `i64 acc = 0; var j = 0; while (j < n) { acc += (a[j] as i64) * (b[j] as i64); j = j + 1; } return acc as i32;`, 0},
		{"stride 2", `i32 acc = 0; var j = 0; while (j < n) { acc += (a[2 * j] as i32) * (b[j] as i32); j = j + 1; } return acc;`, 0},
		{"step 2", `i32 acc = 0; var j = 0; while (j < n) { acc += (a[j] as i32) * (b[j] as i32); j = j + 2; } return acc;`, 0},
		{"index reads memory", `i32 acc = 0; var j = 0; while (j < n) { acc += (a[(c[0] as i64) + j] as i32) * (b[j] as i32); j = j + 1; } return acc;`, 0},
		{"i16 data", `i32 acc = 0; var j = 0; while (j < n) { acc += (d[j] as i32) * (b[j] as i32); j = j + 1; } return acc;`, 0},
		{"more work", `i32 acc = 0; var j = 0; while (j < n) { acc += (a[j] as i32) * (b[j] as i32); b[j] = 0; j = j + 1; } return acc;`, 0},
	}
	for _, c := range cases {
		for _, unchecked := range []bool{false, true} {
			src := "fn f(i8[] a, i8[] b, u8[] c, i16[] d, i64 n, i64 k) -> i32 { " + c.body + " }"
			lf := mustLower(t, "dot.sl", src, Options{Unchecked: unchecked})
			if dots := countCalls(lf.Funcs[0].Body, frontend.Dot); dots != c.dots {
				t.Errorf("%s (unchecked %v): %d Dot calls, want %d", c.name, unchecked, dots, c.dots)
			}
		}
	}
}

// TestLanesInQuantizedKernels finds the lane sums in the q8 and q4 kernels' mat-vecs (every
// loop of group sums gets a ScaledDot or ScaledNibbleDot version), and none under strict-fp,
// where they would change the order of the f32 additions.
func TestLanesInQuantizedKernels(t *testing.T) {
	for _, k := range []struct {
		file string
		dot  frontend.Builtin
	}{{"../kernels/llama2_q8.sl", frontend.ScaledDot}, {"../kernels/llama2_q4.sl", frontend.ScaledNibbleDot}} {
		src, err := os.ReadFile(k.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, strict := range []bool{false, true} {
			lf := mustLower(t, k.file, string(src), Options{StrictFP: strict})
			calls, lanes := 0, 0
			for _, fn := range lf.Funcs {
				frontend.Inspect(fn.Body, func(n frontend.Node) bool {
					if c, ok := n.(*frontend.Call); ok && c.Builtin == k.dot {
						calls++
					}
					if w, ok := n.(*frontend.While); ok && fn.Loop(w) != nil && (strict || countCalls(w, k.dot) > 0) {
						lanes += len(fn.Loop(w).Lanes)
					}
					return true
				})
			}
			if strict && (calls != 0 || lanes != 0) {
				t.Errorf("%s, strict-fp: %d %v calls and %d lane sums, want none", k.file, calls, k.dot, lanes)
			}
			if !strict && (calls == 0 || calls != lanes) {
				t.Errorf("%s: %d %v calls for %d lane sums, want one each and some", k.file, calls, k.dot, lanes)
			}
		}
	}
}

// countCalls counts the calls of builtin b in n.
func countCalls(n frontend.Node, b frontend.Builtin) int {
	calls := 0
	frontend.Inspect(n, func(n frontend.Node) bool {
		if c, ok := n.(*frontend.Call); ok && c.Builtin == b {
			calls++
		}
		return true
	})
	return calls
}

// TestLanesNeedPlainScale checks that a group sum whose scale reads the dot loop's counter
// (which the lanes form leaves at its first value) is not rewritten.
func TestLanesNeedPlainScale(t *testing.T) {
	const body = `var s = 0.0; var g = 0;
    while (g < n) { i32 isum = 0; var j = 0;
        while (j < 32) { isum += (a[g * 32 + j] as i32) * (b[g * 32 + j] as i32); j = j + 1; }
        s += (isum as f32) * SCALE; g = g + 1; }
    return s;`
	for _, c := range []struct {
		scale string
		lanes int
	}{{"w[g]", 1}, {"w[g] * (j as f32)", 0}} {
		src := "fn f(i8[] a, i8[] b, f32[] w, i64 n) -> f32 { " + strings.ReplaceAll(body, "SCALE", c.scale) + " }"
		lf := mustLower(t, "lanes.sl", src, Options{Unchecked: true})
		lanes := 0
		frontend.Inspect(lf.Funcs[0].Body, func(n frontend.Node) bool {
			if w, ok := n.(*frontend.While); ok && lf.Funcs[0].Loop(w) != nil {
				lanes += len(lf.Funcs[0].Loop(w).Lanes)
			}
			return true
		})
		if lanes != c.lanes {
			t.Errorf("scale %s: %d lane sums, want %d", c.scale, lanes, c.lanes)
		}
	}
}

// TestPrefetchStreamedWeights counts the Prefetch calls of the grouped loops (AVX-512 VNNI)
// of the q8 and q4 decode steps and prefills: in every mat-vec of the decode steps, whose
// rows stream, and in the prefills only in their decode-style mat-vec (the classifier), not
// in their matrix products, which read each row again for every block of tokens; and none
// without VNNI, where there are no grouped loops. (Float dots prefetch what they stream
// too, attention's keys among them: TestBF16DotLanes.)
func TestPrefetchStreamedWeights(t *testing.T) {
	for _, k := range []struct {
		file  string
		funcs map[string]bool // the functions with prefetches, and (false) some without
	}{
		{"../kernels/llama2_q8.sl", map[string]bool{"matvec_q8": true, "matvec2_q8": true, "qkv_q8": true, "rope": false}},
		{"../kernels/llama2_q4.sl", map[string]bool{"matvec_q4": true, "matvec2_q4": true, "qkv_q4": true, "rope": false}},
		{"../kernels/llama2_prefill_q8.sl", map[string]bool{"matvec_q8": true, "matmul_q8": false}},
		{"../kernels/llama2_prefill_q4.sl", map[string]bool{"matvec_q4": true, "matmul_q4": false}},
	} {
		src, err := os.ReadFile(k.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []struct{ vnni, once bool }{{true, false}, {true, true}, {false, false}} {
			vnni, times := o.vnni, PrefetchTimes
			if o.once {
				times = 1
			}
			lf := mustLower(t, k.file, string(src), Options{AVX512BW: true, AVX512VNNI: vnni, PrefetchOnce: o.once})
			for _, fn := range lf.Funcs {
				want, listed := k.funcs[fn.Name]
				if !listed {
					continue
				}
				if prefetches := countCalls(fn.Body, frontend.Prefetch); (prefetches > 0) != (want && vnni) {
					t.Errorf("%s %s (VNNI %v): %d prefetches", k.file, fn.Name, vnni, prefetches)
				}
				// each grouped loop asks for its weights' lines PrefetchTimes times (once with
				// PrefetchOnce), and once for the group scales that stream beside them (w and
				// w_s, wq and wq_s, …)
				frontend.Inspect(fn.Body, func(n frontend.Node) bool {
					w, ok := n.(*frontend.While)
					if !ok {
						return true
					}
					fetched := prefetchedArrays(w.Body.Stmts)
					for name, got := range fetched {
						switch {
						case strings.HasSuffix(name, "_s") && got != 1:
							t.Errorf("%s %s (VNNI %v): a loop prefetches the scales %s %d times", k.file, fn.Name, vnni, name, got)
						case !strings.HasSuffix(name, "_s") && (got != times || fetched[name+"_s"] != 1):
							t.Errorf("%s %s (VNNI %v, once %v): a loop prefetches %s %d times (want %d) and its scales %d",
								k.file, fn.Name, vnni, o.once, name, got, times, fetched[name+"_s"])
						}
					}
					return true
				})
			}
		}
	}
}

// prefetchedArrays counts the prefetches of each array among stmts (not inside them).
func prefetchedArrays(stmts []frontend.Stmt) map[string]int {
	times := map[string]int{}
	for _, s := range stmts {
		if e, ok := s.(*frontend.ExprStmt); ok && e.X.Builtin == frontend.Prefetch {
			times[e.X.Args[0].(*frontend.Ident).Name]++
		}
	}
	return times
}

// TestFloatDotLanes counts the FloatDot calls lowering writes: one per f32 dot-product sum
// in the blocks-of-16 loop (several for the rows unroll-and-jam puts side by side), none
// for loops that only look like one, and none under strict-fp; the loop on lanes is Rolled.
func TestFloatDotLanes(t *testing.T) {
	cases := []struct {
		name, body string
		dots       int
	}{
		{"dot", `var s = 0.0; var j = 0; while (j < n) { s += a[j] * b[j]; j = j + 1; } return s;`, 1},
		{"offsets", `var s = 0.0; var j = 2; while (j < n) { s = s + a[k + j] * b[j + 3]; j += 1; } return s;`, 1},
		{"two sums", `var s = 0.0; var r = 0.0; var j = 0; while (j < n) { s += a[j] * b[j]; r += a[k + j] * b[j]; j = j + 1; } return s + r;`, 2},
		{"stride 2", `var s = 0.0; var j = 0; while (j < n) { s += a[2 * j] * b[j]; j = j + 1; } return s;`, 0},
		{"reads the sum", `var s = 0.0; var j = 0; while (j < n) { s += a[j] * s; j = j + 1; } return s;`, 0},
		{"more work", `var s = 0.0; var j = 0; while (j < n) { s += a[j] * b[j]; b[j] = 0.0; j = j + 1; } return s;`, 0},
		{"f64 sum", `f64 s = 0.0; var j = 0; while (j < n) { s += (a[j] * b[j]) as f64; j = j + 1; } return s as f32;`, 0},
	}
	for _, c := range cases {
		for _, strict := range []bool{false, true} {
			src := "fn f(f32[] a, f32[] b, i64 n, i64 k) -> f32 { " + c.body + " }"
			lf := mustLower(t, "fdot.sl", src, Options{StrictFP: strict})
			want := c.dots
			if strict {
				want = 0
			}
			if got := countCalls(lf.Funcs[0].Body, frontend.FloatDot); got != want {
				t.Errorf("%s (strict %v): %d FloatDot calls, want %d", c.name, strict, got, want)
			}
			rolled := 0
			frontend.Inspect(lf.Funcs[0].Body, func(n frontend.Node) bool {
				if w, ok := n.(*frontend.While); ok && lf.Funcs[0].Loop(w) != nil && lf.Funcs[0].Loop(w).Rolled {
					rolled++
				}
				return true
			})
			if want = min(want, 1); rolled != want {
				t.Errorf("%s (strict %v): %d rolled loops, want %d (the loop on lanes)", c.name, strict, rolled, want)
			}
		}
	}
}

// TestBF16DotLanes counts the FloatDot and Prefetch calls lowering writes for bf16 weights:
// a mat-vec's streamed rows go on lanes with a prefetch, as f32 rows do; a prefill's rows,
// read again for each token (their start declared beside the loop over tokens), stay as
// written.
func TestBF16DotLanes(t *testing.T) {
	cases := []struct {
		name, src  string
		dots       bool
		prefetches int // per FloatDot
	}{
		{"mat-vec", `fn f(f32[] out, bf16[] w, f32[] x, i64 rows, i64 cols) {
			var i = 0;
			while (i < rows) { var row = i * cols; var s = 0.0; var j = 0;
				while (j < cols) { s += w[row + j] * x[j]; j = j + 1; }
				out[i] = s; i = i + 1; } }`, true, 1},
		{"prefill", `fn f(f32[] yt, bf16[] w, f32[] x, i64 m, i64 rows, i64 cols) {
			var i = 0;
			while (i < rows) { var t = 0;
				while (t < m) { var row = i * cols; var xo = t * cols; var s = 0.0; var j = 0;
					while (j < cols) { s += w[row + j] * x[xo + j]; j = j + 1; }
					yt[i * m + t] = s; t = t + 1; }
				i = i + 1; } }`, false, 0},
		{"f32 mat-vec", `fn f(f32[] out, f32[] w, f32[] x, i64 rows, i64 cols) {
			var i = 0;
			while (i < rows) { var row = i * cols; var s = 0.0; var j = 0;
				while (j < cols) { s += w[row + j] * x[j]; j = j + 1; }
				out[i] = s; i = i + 1; } }`, true, 1},
	}
	for _, c := range cases {
		fn := mustLower(t, "bf16.sl", c.src, Options{}).Funcs[0]
		dots, prefetches := countCalls(fn.Body, frontend.FloatDot), countCalls(fn.Body, frontend.Prefetch)
		if (dots > 0) != c.dots || prefetches != dots*c.prefetches {
			t.Errorf("%s: %d FloatDot and %d Prefetch calls, want FloatDot %v and a Prefetch with each %v", c.name, dots, prefetches, c.dots, c.prefetches == 1)
		}
	}
}

// TestInputBiasTables checks where the grouped loops (AVX-512 VNNI) read their input biases
// from a table (biases.go): in every q8 and q4 mat-vec of the decode steps, with the table
// filled outside the parallel row loops; and not when the row loop writes the inputs or
// starts its group counter from a value of its own, whose dots compute the biases themselves.
func TestInputBiasTables(t *testing.T) {
	for _, k := range []struct {
		file  string
		funcs []string
	}{
		{"../kernels/llama2_q8.sl", []string{"matvec_q8", "matvec2_q8", "qkv_q8"}},
		{"../kernels/llama2_q4.sl", []string{"matvec_q4", "matvec2_q4", "qkv_q4"}},
	} {
		src, err := os.ReadFile(k.file)
		if err != nil {
			t.Fatal(err)
		}
		lf := mustLower(t, k.file, string(src), Options{AVX512BW: true, AVX512VNNI: true})
		for _, fn := range lf.Funcs {
			if !slices.Contains(k.funcs, fn.Name) {
				continue
			}
			fills, dots, tabled := biasCalls(fn.Body)
			if fills == 0 || dots == 0 || tabled != dots {
				t.Errorf("%s %s: %d GroupBias, %d of %d group dots read a table; want all and some", k.file, fn.Name, fills, tabled, dots)
			}
			frontend.Inspect(fn.Body, func(n frontend.Node) bool {
				if w, ok := n.(*frontend.While); ok && fn.Loop(w) != nil && fn.Loop(w).Parallel && countCalls(w, frontend.GroupBias) > 0 {
					t.Errorf("%s %s: GroupBias inside a parallel loop", k.file, fn.Name)
				}
				return true
			})
		}
	}

	const rows = `fn f(f32[] out, i8[] w, f32[] w_s, i8[] x, i64 rows, i64 cols) {
    var ng = cols / 32; var i = 0;
    while (i < rows) {
        PREFIX var s = 0.0; var g = START;
        while (g < ng) {
            i32 isum = 0; var j = 0;
            while (j < 32) { isum += (x[g * 32 + j] as i32) * (w[i * cols + g * 32 + j] as i32); j = j + 1; }
            s += (isum as f32) * w_s[i * ng + g]; g = g + 1;
        }
        out[i] = s; i = i + 1;
    }
}`
	for _, c := range []struct {
		name, prefix, start string
		tables              bool
	}{
		{"plain", "", "0", true},
		{"input written", "x[0] = i as i8;", "0", false},
		{"other array written", "w[0] = i as i8;", "0", true},
		{"start set by the row", "", "i - i", false},
		{"counter set again", "", "0; g = i - i", false},
	} {
		for _, unchecked := range []bool{false, true} {
			src := strings.NewReplacer("PREFIX", c.prefix, "START", c.start).Replace(rows)
			lf := mustLower(t, "rows.sl", src, Options{AVX512BW: true, AVX512VNNI: true, Unchecked: unchecked})
			fills, dots, tabled := biasCalls(lf.Funcs[0].Body)
			if dots == 0 || (fills > 0) != c.tables || tabled != map[bool]int{true: dots}[c.tables] {
				t.Errorf("%s (unchecked %v): %d GroupBias, %d of %d group dots read a table; want tables %v", c.name, unchecked, fills, tabled, dots, c.tables)
			}
		}
	}
}

// biasCalls counts in n the GroupBias calls, the group dots, and the group dots that read a
// bias table.
func biasCalls(n frontend.Node) (fills, dots, tabled int) {
	frontend.Inspect(n, func(n frontend.Node) bool {
		if c, ok := n.(*frontend.Call); ok {
			switch c.Builtin {
			case frontend.GroupBias:
				fills++
			case frontend.ScaledDotPair, frontend.ScaledNibbleDotQuad:
				dots++
				if table, _ := BiasTable(c); table != nil {
					tabled++
				}
			}
		}
		return true
	})
	return fills, dots, tabled
}
