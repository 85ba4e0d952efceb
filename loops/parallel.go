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
// Array parameters never overlap (SPEC §6), so arrays are told apart by the parameter or
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
		if !in.ownElement(st, c.Var, changing) {
			return false
		}
		for _, other := range accesses {
			if other != st && in.MayAlias(st.Array, other.Array) && !sameIndex(st, other) {
				return false
			}
		}
	}
	return true
}

// ownElement reports whether store index ix is `iv + invariant terms` (its first index, for
// a multi-dimensional local array).
func (in *Info) ownElement(ix *frontend.Index, iv *frontend.Var, changing map[*frontend.Var]bool) bool {
	if _, isVar := ix.Array.(*frontend.Ident); !isVar {
		return false
	}
	var terms []frontend.Expr
	var collect func(e frontend.Expr, negated bool) bool
	collect = func(e frontend.Expr, negated bool) bool {
		e = stripConvert(e)
		if b, ok := e.(*frontend.Binary); ok && (b.Op == frontend.ADD || b.Op == frontend.SUB) {
			return collect(b.X, negated) && collect(b.Y, negated != (b.Op == frontend.SUB))
		}
		if isVar(e, iv) && negated {
			return false
		}
		terms = append(terms, e)
		return true
	}
	if !collect(ix.Indices[0], false) {
		return false
	}
	ivTerms := 0
	for _, t := range terms {
		switch {
		case isVar(t, iv):
			ivTerms++
		case !invariant(t, changing):
			return false
		}
	}
	return ivTerms == 1
}

// MayAlias reports whether two array expressions may refer to the same memory.
func (in *Info) MayAlias(a, b frontend.Expr) bool {
	ra, rb := in.rootsOf(a), in.rootsOf(b)
	if ra == nil || rb == nil {
		return true
	}
	for r := range ra {
		if rb[r] {
			return true
		}
	}
	return false
}

func (in *Info) rootsOf(e frontend.Expr) map[any]bool {
	if id, ok := e.(*frontend.Ident); ok {
		return in.roots[id.Var]
	}
	return nil
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

// arrayRoots computes, for every array variable of fn, the set of arrays it may refer to: a
// parameter (its own memory; parameters never overlap) or an allocation site. Flow-insensitive
// and so conservative.
func arrayRoots(fn *frontend.Func) map[*frontend.Var]map[any]bool {
	roots := map[*frontend.Var]map[any]bool{}
	for _, p := range fn.Params {
		if p.Type.IsArray() {
			roots[p] = map[any]bool{p: true}
		}
	}
	type flow struct {
		target *frontend.Var
		value  frontend.Expr
	}
	var flows []flow
	frontend.Inspect(fn.Body, func(n frontend.Node) bool {
		switch n := n.(type) {
		case *frontend.VarDecl:
			if n.Var.Type.IsArray() {
				flows = append(flows, flow{n.Var, n.Init})
			}
		case *frontend.Assign:
			if id, ok := n.Target.(*frontend.Ident); ok && id.Var.Type.IsArray() {
				flows = append(flows, flow{id.Var, n.Value})
			}
		}
		return true
	})
	for changed := true; changed; {
		changed = false
		for _, f := range flows {
			set := roots[f.target]
			if set == nil {
				set = map[any]bool{}
				roots[f.target] = set
			}
			var from map[any]bool
			switch v := frontend.OutputOf(f.value).(type) {
			case *frontend.ArrayAlloc:
				from = map[any]bool{v: true}
			case *frontend.Ident:
				from = roots[v.Var]
			}
			for r := range from {
				if !set[r] {
					set[r] = true
					changed = true
				}
			}
		}
	}
	return roots
}
