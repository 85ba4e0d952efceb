package loops

import (
	"github.com/simplang/simplang/frontend"
)

// independent reports whether the iterations of counted loop c may run at the same time:
//   - the body gives no new value to any variable declared outside it (other than the
//     induction variable, which the loop itself advances);
//   - it creates no arrays, calls no function that takes arrays and no array builtin;
//   - every array it writes is written at "its own" element: the index is the induction
//     variable plus a loop-invariant offset (for a local grid, the first index is), and
//     every other access to that array (through any variable that may refer to it) uses the
//     very same index expression.
//
// Array parameters never overlap (language §6), so arrays are told apart by the parameter or
// allocation site they come from.
func (in *Info) independent(c *Counted) bool {
	changing := map[*frontend.Var]bool{c.Var: true} // variables that differ between iterations
	var accesses []*frontend.Index
	stores := map[*frontend.Index]bool{}
	ok := true
	for _, s := range c.Body {
		frontend.Inspect(s, func(n frontend.Node) bool {
			switch n := n.(type) {
			case *frontend.VarDecl:
				changing[n.Var] = true
			case *frontend.ArrayAlloc:
				ok = false
			case *frontend.Call:
				if n.Builtin != frontend.NoBuiltin && n.Builtin.Output() >= 0 {
					ok = false
				}
				if n.Func != nil {
					for _, p := range n.Func.Params {
						if p.Type.IsArray() {
							ok = false
						}
					}
				}
			case *frontend.Assign:
				if ix, isIndex := n.Target.(*frontend.Index); isIndex {
					stores[ix] = true
				}
			case *frontend.Index:
				accesses = append(accesses, n)
			}
			return ok
		})
	}
	if !ok {
		return false
	}
	for _, s := range c.Body {
		for _, v := range frontend.Assigned(s) {
			if !changing[v] {
				return false // a variable declared outside the body: a loop-carried value
			}
		}
	}
	for st := range stores {
		if !in.ownElement(st, c, changing) {
			return false
		}
		for _, other := range accesses {
			if other != st && in.mayAlias(st.Array, other.Array) && !sameIndex(st, other) {
				return false
			}
		}
	}
	return true
}

// ownElement reports whether store index ix (its first index, for a multi-dimensional
// local array) addresses an element that no other iteration of loop c addresses: it is
// `iv + invariant terms`, or a row of a row-major block, `iv·S + j + invariant terms` where j
// counts from a non-negative constant up to S in a loop around the store (S a non-zero
// constant when there is no j). Variables the body declares and never reassigns stand for
// their initial values.
func (in *Info) ownElement(ix *frontend.Index, c *Counted, changing map[*frontend.Var]bool) bool {
	if _, isVar := ix.Array.(*frontend.Ident); !isVar {
		return false
	}
	defs := definitions(c.Body)
	var terms []frontend.Expr
	var collect func(e frontend.Expr, negated bool, depth int) bool
	collect = func(e frontend.Expr, negated bool, depth int) bool {
		e = stripConvert(e)
		if id, ok := e.(*frontend.Ident); ok && defs[id.Var] != nil && depth < 8 {
			return collect(defs[id.Var], negated, depth+1)
		}
		if b, ok := e.(*frontend.Binary); ok && (b.Op == frontend.ADD || b.Op == frontend.SUB) {
			return collect(b.X, negated, depth) && collect(b.Y, negated != (b.Op == frontend.SUB), depth)
		}
		if negated && !Invariant(e, changing) {
			return false
		}
		terms = append(terms, e)
		return true
	}
	if !collect(ix.Indices[0], false, 0) {
		return false
	}
	var stride frontend.Expr // nil for a stride of 1
	ivTerms := 0
	var rows []*Counted // inner loops whose counters index the row
	for _, t := range terms {
		if isVar(t, c.Var) {
			ivTerms++
			continue
		}
		if s := scaled(t, c.Var, changing); s != nil {
			ivTerms++
			stride = s
			continue
		}
		if inner := in.enclosingCounter(t, ix, c.Body); inner != nil {
			rows = append(rows, inner)
			continue
		}
		if !Invariant(t, changing) {
			return false
		}
	}
	switch {
	case ivTerms != 1 || len(rows) > 1:
		return false
	case stride == nil:
		return len(rows) == 0
	case len(rows) == 1:
		return !rows[0].Inclusive && sameExpr(stripConvert(rows[0].Bound), stripConvert(stride))
	}
	k, ok := stripConvert(stride).(*frontend.Const)
	return ok && k.Int != 0
}

// definitions maps the variables that stmts declare and never reassign to their initial values.
func definitions(stmts []frontend.Stmt) map[*frontend.Var]frontend.Expr {
	defs := map[*frontend.Var]frontend.Expr{}
	for _, s := range stmts {
		frontend.Inspect(s, func(n frontend.Node) bool {
			if d, ok := n.(*frontend.VarDecl); ok && d.Var.Type.IsInt() {
				defs[d.Var] = d.Init
			}
			return true
		})
	}
	for _, s := range stmts {
		for _, v := range frontend.Assigned(s) {
			delete(defs, v)
		}
	}
	return defs
}

// scaled returns S when t is iv·S or S·iv with S invariant, and nil otherwise.
func scaled(t frontend.Expr, iv *frontend.Var, changing map[*frontend.Var]bool) frontend.Expr {
	b, ok := t.(*frontend.Binary)
	if !ok || b.Op != frontend.MUL {
		return nil
	}
	switch {
	case isVar(b.X, iv) && Invariant(b.Y, changing):
		return b.Y
	case isVar(b.Y, iv) && Invariant(b.X, changing):
		return b.X
	}
	return nil
}

// enclosingCounter returns the counted loop in body whose counter t is, when that loop
// contains the access ix and every other value the body gives its counter is a non-negative
// constant: at ix the counter then lies in [0, bound).
func (in *Info) enclosingCounter(t frontend.Expr, ix *frontend.Index, body []frontend.Stmt) *Counted {
	id, ok := t.(*frontend.Ident)
	if !ok {
		return nil
	}
	var loop *Counted
	starts := true
	for _, s := range body {
		frontend.Inspect(s, func(n frontend.Node) bool {
			switch n := n.(type) {
			case *frontend.While:
				if c := in.counted[n]; c != nil && c.Var == id.Var && contains(n.Body, ix) {
					loop = c
				}
			case *frontend.VarDecl:
				if n.Var == id.Var {
					starts = starts && nonNegative(n.Init)
				}
			case *frontend.Assign:
				if target, ok := n.Target.(*frontend.Ident); ok && target.Var == id.Var && !isIncrement(n, in.counted, id.Var) {
					starts = starts && n.Op == frontend.ASSIGN && nonNegative(n.Value)
				}
			}
			return true
		})
	}
	if loop == nil || !starts {
		return nil
	}
	return loop
}

func nonNegative(e frontend.Expr) bool {
	k, ok := stripConvert(e).(*frontend.Const)
	return ok && k.T.IsInt() && k.Int >= 0
}

// isIncrement reports whether a is the final increment of v's counted loop.
func isIncrement(a *frontend.Assign, counted map[*frontend.While]*Counted, v *frontend.Var) bool {
	for w, c := range counted {
		if c.Var == v && len(w.Body.Stmts) > 0 && w.Body.Stmts[len(w.Body.Stmts)-1] == frontend.Stmt(a) {
			return true
		}
	}
	return false
}

func contains(n frontend.Node, target frontend.Node) bool {
	found := false
	frontend.Inspect(n, func(n frontend.Node) bool {
		found = found || n == target
		return !found
	})
	return found
}

// mayAlias reports whether two array expressions may refer to the same memory.
func (in *Info) mayAlias(a, b frontend.Expr) bool {
	ia, okA := a.(*frontend.Ident)
	ib, okB := b.(*frontend.Ident)
	return !okA || !okB || in.roots.MayAlias(ia.Var, ib.Var)
}

// sameIndex reports whether two accesses use structurally identical index expressions.
func sameIndex(a, b *frontend.Index) bool {
	if len(a.Indices) != len(b.Indices) {
		return false
	}
	for i := range a.Indices {
		if !sameExpr(a.Indices[i], b.Indices[i]) {
			return false
		}
	}
	return true
}

func sameExpr(a, b frontend.Expr) bool {
	switch a := a.(type) {
	case *frontend.Ident:
		b, ok := b.(*frontend.Ident)
		return ok && a.Var == b.Var
	case *frontend.Const:
		b, ok := b.(*frontend.Const)
		return ok && a.T == b.T && a.Int == b.Int && a.Float == b.Float
	case *frontend.Binary:
		b, ok := b.(*frontend.Binary)
		return ok && a.Op == b.Op && sameExpr(a.X, b.X) && sameExpr(a.Y, b.Y)
	case *frontend.Unary:
		b, ok := b.(*frontend.Unary)
		return ok && a.Op == b.Op && sameExpr(a.X, b.X)
	case *frontend.Convert:
		b, ok := b.(*frontend.Convert)
		return ok && a.T == b.T && sameExpr(a.X, b.X)
	}
	return false
}
