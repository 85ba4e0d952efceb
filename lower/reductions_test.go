package lower

import (
	"testing"

	"github.com/simplang/simplang/frontend"
)

// TestMinMaxLanesFoldPairwise checks that the partial results of a max reduction fold into
// the result in log2(lanes) dependent steps: a chain of lanes − 1 steps after the loop took
// most of a 32-value group's time in quantize_split.
func TestMinMaxLanesFoldPairwise(t *testing.T) {
	for _, c := range []struct {
		typ   string
		lanes int
	}{{"f32", 16}, {"f64", 8}} {
		src := "fn amax(" + c.typ + "[] x, i64 n) -> " + c.typ + " {\n" +
			"    var m = x[0];\n    var j = 0;\n" +
			"    while (j < n) { m = max(m, abs(x[j])); j = j + 1; }\n    return m;\n}\n"
		lf := mustLower(t, "amax.sl", src, Options{Unchecked: true})
		// depth[v] is the longest chain of max steps, after the blocks' loop, that v's value
		// went through.
		depth := map[*frontend.Var]int{}
		folds, deepest := 0, 0
		seenLoop := false
		for _, s := range lf.Funcs[0].Body.Stmts {
			if w, ok := s.(*frontend.While); ok && !seenLoop {
				seenLoop = lf.Funcs[0].Loop(w) != nil
				continue
			}
			set, ok := s.(*frontend.Assign)
			if !seenLoop || !ok {
				continue
			}
			call, ok := set.Value.(*frontend.Call)
			target, isVar := set.Target.(*frontend.Ident)
			if !ok || call.Builtin != frontend.Max || !isVar {
				continue
			}
			d := 0
			for _, a := range call.Args {
				if id, ok := a.(*frontend.Ident); ok {
					d = max(d, depth[id.Var])
				}
			}
			depth[target.Var] = d + 1
			folds++
			deepest = max(deepest, d+1)
		}
		want := 0
		for l := c.lanes; l > 1; l /= 2 {
			want++
		}
		if folds != c.lanes-1 || deepest != want {
			t.Errorf("%s: %d folds after the loop, %d deep; want %d folds, %d deep", c.typ, folds, deepest, c.lanes-1, want)
		}
	}
}
