package lower

import (
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// Float dot products on lanes. LLVM vectorizes a loop
//
//	while (j < n) { s += a[ia + j] * b[ib + j]; j = j + 1; }
//
// (a and b f32 arrays, s an f32 variable they do not read) with four vector sums, and on
// Intel's Sapphire Rapids a mat-vec's rows stream slower that way than with one: measured
// 2026-12-02, 2 threads, the two builds alternated token by token, the 125M f32 decode step
// took 0.954 of its time with the rewrite below (q4 0.992, bf16 0.998), and called from C
// beside llama2.c's forward it went from 0.93 to 0.96–0.975 of llama2.c's speed on huge pages
// and from about 1.00 to 1.04 on 4 KiB pages. Unless StrictFP, such a loop (or several side by
// side, as unroll-and-jam leaves them) becomes
//
//	var dot_end = j + (trips & −16);
//	while (j < dot_end) { s = s + FloatDot(a, ia + j, b, ib + j); j = j + 16; }
//	the loop as written, for the iterations left over
//
// with s held as 16 lanes (Loop.Lanes), which LLVM leaves as it is.

// floatDots rewrites the float dot-product loops (above) in list and the blocks inside it.
func floatDots(list []frontend.Stmt, lanes map[*frontend.While][]*frontend.Var) []frontend.Stmt {
	return beforeLoops(list, func(w *frontend.While) []frontend.Stmt { return floatDotLanes(w, lanes) })
}

// floatDotLanes returns the statements that run w's whole blocks of 16 on lanes when w is made
// of float dot products, leaving w the rest; nil for any other loop.
func floatDotLanes(w *frontend.While, lanes map[*frontend.While][]*frontend.Var) []frontend.Stmt {
	c := loops.Count(w)
	if c == nil || c.Step != 1 || c.Var.Type != frontend.I64 || c.CmpType != frontend.I64 || len(c.Body) == 0 {
		return nil
	}
	pos := w.Pos
	changing := changingIn(w.Body)
	var body []frontend.Stmt
	var sums []*frontend.Var
	products := map[*frontend.Var]*frontend.Binary{} // temporaries holding a product, until used
	for _, s := range c.Body {
		switch s := s.(type) {
		case *frontend.VarDecl:
			p, ok := s.Init.(*frontend.Binary)
			if !ok || p.Op != frontend.MUL || p.Type() != frontend.F32 {
				return nil
			}
			products[s.Var] = p
		case *frontend.Assign:
			sum, ok := s.Target.(*frontend.Ident)
			if !ok || sum.Var.Type != frontend.F32 {
				return nil
			}
			var term frontend.Expr
			switch v, isBin := s.Value.(*frontend.Binary); {
			case s.Op == frontend.ADD_ASSIGN:
				term = s.Value
			case s.Op == frontend.ASSIGN && isBin && v.Op == frontend.ADD && isVar(v.X, sum.Var):
				term = v.Y
			default:
				return nil
			}
			if id, isIdent := term.(*frontend.Ident); isIdent && products[id.Var] != nil {
				term = products[id.Var]
				delete(products, id.Var)
			}
			p, ok := term.(*frontend.Binary)
			if !ok || p.Op != frontend.MUL {
				return nil
			}
			a, ia, okA := f32Stream(p.X, c.Var, changing)
			b, ib, okB := f32Stream(p.Y, c.Var, changing)
			if !okA || !okB || readsVar(p, sum.Var) {
				return nil
			}
			dot := frontend.NewBuiltin(pos, frontend.FloatDot, frontend.F32, cloneExpr(a), ia, cloneExpr(b), ib)
			body = append(body, frontend.Set(frontend.Use(pos, sum.Var), frontend.NewBinary(frontend.ADD, frontend.Use(pos, sum.Var), dot)))
			sums = append(sums, sum.Var)
		default:
			return nil
		}
	}
	if len(sums) == 0 || len(products) != 0 { // a temporary no sum reads
		return nil
	}
	end, blocks := wholeBlocks(c, pos, 16, "dot_end", body)
	lanes[blocks] = sums
	return []frontend.Stmt{end, blocks}
}

// f32Stream matches e = x[base + j] (or x[j + base], or x[j]), x a one-dimensional f32
// array, j the counter and base unchanged in the loop (changing: what the loop changes); it
// returns x and the index as written.
func f32Stream(e frontend.Expr, j *frontend.Var, changing map[*frontend.Var]bool) (frontend.Expr, frontend.Expr, bool) {
	ix, ok := e.(*frontend.Index)
	if !ok || len(ix.Indices) != 1 || ix.Array.Type().Kind != frontend.F32.Kind {
		return nil, nil, false
	}
	if _, isVar := ix.Array.(*frontend.Ident); !isVar {
		return nil, nil, false
	}
	i := unwiden(ix.Indices[0])
	switch b, isBin := i.(*frontend.Binary); {
	case isVar(i, j):
	case isBin && b.Op == frontend.ADD && isVar(b.X, j) && loops.Invariant(b.Y, changing):
	case isBin && b.Op == frontend.ADD && isVar(b.Y, j) && loops.Invariant(b.X, changing):
	default:
		return nil, nil, false
	}
	return ix.Array, cloneExpr(ix.Indices[0]), true
}
