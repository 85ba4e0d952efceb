// Package loops gives the code generators the loop facts they need to emit fast code from
// plain SimpLang `while` loops: which loops are counted loops (`i = a; while (i < n) { …;
// i = i + 1; }`, which lower to a for loop with a loop-invariant trip count), and which
// counted loops have independent iterations, so they may run in parallel.
//
// Call Analyze once per checked function; then Info.Counted(w) describes a while loop.
package loops

import (
	"github.com/simplang/simplang/frontend"
)

// Counted describes a counted loop: Var runs from its value before the loop up to Bound
// (exclusive, or inclusive when Inclusive) in steps of Step. Body is the loop body without
// the final increment. The comparison is done in type CmpType.
type Counted struct {
	Var       *frontend.Var
	CmpType   frontend.Type
	Bound     frontend.Expr
	Inclusive bool
	Step      int64
	Body      []frontend.Stmt
	// Parallel is set when the iterations are independent (see Info) and the loop is the
	// outermost such loop and does enough work per iteration to pay for a parallel region.
	Parallel bool
}

// Info holds the loop facts of one function.
type Info struct {
	counted map[*frontend.While]*Counted
	roots   map[*frontend.Var]map[any]bool // the arrays (parameters or allocation sites) each variable may refer to
}

// Counted returns the description of w, or nil when w is not a counted loop.
func (in *Info) Counted(w *frontend.While) *Counted { return in.counted[w] }

// Analyze finds the counted loops of fn and, when parallel is true, marks the ones whose
// iterations may run in parallel.
func Analyze(fn *frontend.Func, parallel bool) *Info {
	in := &Info{counted: map[*frontend.While]*Counted{}, roots: arrayRoots(fn)}
	frontend.Inspect(fn.Body, func(n frontend.Node) bool {
		if w, ok := n.(*frontend.While); ok {
			if c := count(w); c != nil {
				in.counted[w] = c
			}
		}
		return true
	})
	if parallel {
		in.markParallel(fn.Body)
	}
	return in
}

// markParallel marks the outermost parallelizable loops under n.
func (in *Info) markParallel(n frontend.Node) {
	frontend.Inspect(n, func(n frontend.Node) bool {
		w, ok := n.(*frontend.While)
		if !ok {
			return true
		}
		if c := in.counted[w]; c != nil && hasInnerLoop(c.Body) && in.independent(c) {
			c.Parallel = true
			return false // no parallel loops inside a parallel loop
		}
		return true
	})
}

// count recognises `while (i < n) { …; i = i + step; }` (also <=, n > i, n >= i, i += step)
// where the body assigns i nowhere else, has no return, and n does not change in the loop.
func count(w *frontend.While) *Counted {
	cond, ok := w.Cond.(*frontend.Binary)
	if !ok || len(w.Body.Stmts) == 0 {
		return nil
	}
	c := &Counted{CmpType: cond.X.Type()}
	var iv, bound frontend.Expr
	switch cond.Op {
	case frontend.LSS, frontend.LEQ:
		iv, bound, c.Inclusive = cond.X, cond.Y, cond.Op == frontend.LEQ
	case frontend.GTR, frontend.GEQ:
		iv, bound, c.Inclusive = cond.Y, cond.X, cond.Op == frontend.GEQ
	default:
		return nil
	}
	id, ok := stripConvert(iv).(*frontend.Ident)
	if !ok || !id.Var.Type.IsInt() || !c.CmpType.IsInt() || id.Var.Type.Kind > c.CmpType.Kind {
		return nil
	}
	c.Var, c.Bound = id.Var, bound
	last := len(w.Body.Stmts) - 1
	if c.Step = increment(w.Body.Stmts[last], c.Var); c.Step <= 0 {
		return nil
	}
	c.Body = w.Body.Stmts[:last]
	changing := map[*frontend.Var]bool{}
	for _, s := range c.Body {
		if frontend.ContainsReturn(s) {
			return nil
		}
		for _, v := range frontend.Assigned(s) {
			changing[v] = true
		}
	}
	if changing[c.Var] || !invariant(bound, changing) {
		return nil
	}
	return c
}

// increment returns step when s is `v = v + step`, `v = step + v` or `v += step` with a
// constant step, and 0 otherwise.
func increment(s frontend.Stmt, v *frontend.Var) int64 {
	a, ok := s.(*frontend.Assign)
	if !ok {
		return 0
	}
	if id, ok := a.Target.(*frontend.Ident); !ok || id.Var != v {
		return 0
	}
	switch a.Op {
	case frontend.ADD_ASSIGN:
		return constInt(a.Value)
	case frontend.ASSIGN:
		b, ok := a.Value.(*frontend.Binary)
		if !ok || b.Op != frontend.ADD || b.T != v.Type {
			return 0
		}
		if isVar(b.X, v) {
			return constInt(b.Y)
		}
		if isVar(b.Y, v) {
			return constInt(b.X)
		}
	}
	return 0
}

func constInt(e frontend.Expr) int64 {
	if k, ok := stripConvert(e).(*frontend.Const); ok && k.T.IsInt() {
		return k.Int
	}
	return 0
}

func isVar(e frontend.Expr, v *frontend.Var) bool {
	id, ok := stripConvert(e).(*frontend.Ident)
	return ok && id.Var == v
}

// stripConvert removes implicit integer widenings around e.
func stripConvert(e frontend.Expr) frontend.Expr {
	for {
		c, ok := e.(*frontend.Convert)
		if !ok || c.Explicit || !c.T.IsInt() || !c.X.Type().IsInt() {
			return e
		}
		e = c.X
	}
}

// invariant reports whether e reads only constants and variables outside changing, with no
// loads or calls (which could see the loop's own writes).
func invariant(e frontend.Expr, changing map[*frontend.Var]bool) bool {
	ok := true
	frontend.Inspect(e, func(n frontend.Node) bool {
		switch n := n.(type) {
		case *frontend.Const, *frontend.Binary, *frontend.Unary, *frontend.Convert:
		case *frontend.Ident:
			ok = ok && !changing[n.Var]
		default:
			ok = false
		}
		return ok
	})
	return ok
}

// hasInnerLoop reports whether stmts contain a loop: a parallel region costs microseconds,
// so only loops with an inner loop per iteration are worth running in parallel.
func hasInnerLoop(stmts []frontend.Stmt) bool {
	found := false
	for _, s := range stmts {
		frontend.Inspect(s, func(n frontend.Node) bool {
			if _, ok := n.(*frontend.While); ok {
				found = true
			}
			return !found
		})
	}
	return found
}
