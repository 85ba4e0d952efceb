package lower

import (
	"fmt"

	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// Matrix products. A loop nest written the plain way,
//
//	i = 0; while (i < M) { var p = 0; while (p < K) { var j = 0; while (j < N) {
//	    C[X] += A[Y] * B[Z]; j = j + 1; } p = p + 1; } i = i + 1; }
//
// (the two inner loops in either order) becomes register-blocked code: a block of gemmMR×gemmNR elements of C
// is summed in as many scalar locals, which LLVM keeps in vector registers, over a stretch of
// p, and then added to C. Which block shape depends on the layout the indices show:
//
//   - "nn" (j counts contiguously in X and Z, p in Y: B is K×N): 6×16 blocks, the 16 columns
//     side by side in vectors; p runs in stretches of gemmKC and columns in panels of gemmNC
//     so that the part of B in use stays in the caches;
//   - "nt" (p counts contiguously in Y and Z: B is N×K, the layout of weights): 4×4 blocks of
//     dot products, vectorized along p, over stretches of gemmKC of p.
//
// The row blocks run in parallel. Rows and columns left over after the last whole block run
// the original statement in the original loops. Only the order of the additions into each
// element of C changes, which language §4 allows and StrictFP does not: under StrictFP,
// nothing is rewritten.
//
// The nest qualifies when its indices X, Y, Z and bounds are harmless expressions (no loads,
// calls or divisions: they cannot read C), nothing in it assigns anything but its counters and
// C, C shares memory with neither A nor B, Y does not depend on j, Z not on i, X not on p.
// Then the rewritten code computes the same sums as the loops, and the counter i ends as
// they leave it.
const (
	gemmMR, gemmNR, gemmKC, gemmNC = 6, 16, 256, 256
	gemmDotMR, gemmDotNR           = 4, 4
	gemmDotRowsInL2                = 512 // rows of A whose stretch of gemmKC fits in L2 (512 KiB of f32)
)

// gemmNest is a recognised nest.
type gemmNest struct {
	outer          *frontend.While
	i, p, j        *loops.Counted
	ipj            bool // the loops nest as i, p, j (else i, j, p)
	stmt           *frontend.Assign
	c              *frontend.Index
	a, b           *frontend.Index
	transposed     bool // the "nt" layout
	counterOutside bool // i is not declared right before the nest (its final value may be read)
}

// tileGEMMs rewrites the matrix-product nests in list and the blocks inside it, and records
// the row-block loops that may run in parallel.
// Nests inside loops are rewritten too, but their row blocks stay serial (no parallel region
// inside another loop, which may itself run on threads).
func tileGEMMs(list []frontend.Stmt, roots frontend.Roots, parallel map[*frontend.While]bool, inLoop bool) []frontend.Stmt {
	var out []frontend.Stmt
	for k, s := range list {
		switch s := s.(type) {
		case *frontend.Block:
			s.Stmts = tileGEMMs(s.Stmts, roots, parallel, inLoop)
		case *frontend.If:
			s.Then.Stmts = tileGEMMs(s.Then.Stmts, roots, parallel, inLoop)
			if s.Else != nil {
				s.Else = tileGEMMs([]frontend.Stmt{s.Else}, roots, parallel, inLoop)[0]
			}
		case *frontend.While:
			if k > 0 {
				if g := matchGEMM(list[k-1], s, roots); g != nil {
					rows := parallel
					if inLoop {
						rows = map[*frontend.While]bool{}
					}
					out = append(out, g.tiled(rows))
					continue
				}
			}
			s.Body.Stmts = tileGEMMs(s.Body.Stmts, roots, parallel, true)
		}
		out = append(out, s)
	}
	return out
}

// zeroStart reports whether s is `var v = 0` or `v = 0` for the counter v.
func zeroStart(s frontend.Stmt, v *frontend.Var) (decl, ok bool) {
	var init frontend.Expr
	switch s := s.(type) {
	case *frontend.VarDecl:
		if s.Var != v {
			return false, false
		}
		init, decl = s.Init, true
	case *frontend.Assign:
		id, isID := s.Target.(*frontend.Ident)
		if !isID || id.Var != v || s.Op != frontend.ASSIGN {
			return false, false
		}
		init = s.Value
	default:
		return false, false
	}
	for {
		cv, isConv := init.(*frontend.Convert)
		if !isConv {
			break
		}
		init = cv.X
	}
	c, isConst := init.(*frontend.Const)
	return decl, isConst && c.T.IsInt() && c.Int == 0
}

// simpleLoop returns the counted loop w when it counts up by one from the zero start, with a
// harmless bound, and its body is `inner; counter = counter + 1`.
func simpleLoop(w *frontend.While) (*loops.Counted, frontend.Stmt) {
	c := loops.Count(w)
	if c == nil || c.Step != 1 || !frontend.Harmless(c.Limit()) || len(w.Body.Stmts) < 2 {
		return nil, nil
	}
	n := len(w.Body.Stmts)
	return c, w.Body.Stmts[n-2]
}

// nestedLoop matches a body `var v = 0; while (…) {…}; i = i + 1`.
func nestedLoop(w *frontend.While) (*loops.Counted, *frontend.While) {
	if len(w.Body.Stmts) != 3 {
		return nil, nil
	}
	inner, ok := w.Body.Stmts[1].(*frontend.While)
	if !ok {
		return nil, nil
	}
	c, _ := simpleLoop(inner)
	if c == nil {
		return nil, nil
	}
	if decl, ok := zeroStart(w.Body.Stmts[0], c.Var); !decl || !ok {
		return nil, nil
	}
	return c, inner
}

// fuseProduct turns a body `var t = e; C[X] = C[X] + t; j = j + 1`, which flatten.go makes of
// `C[X] += e`, back into `C[X] = C[X] + e; j = j + 1`: the same, since e reads no C[X]
// written in between (a load and a product have no effects).
func fuseProduct(body *frontend.Block) {
	if len(body.Stmts) != 3 {
		return
	}
	d, ok := body.Stmts[0].(*frontend.VarDecl)
	set, isSet := body.Stmts[1].(*frontend.Assign)
	if !ok || !isSet || set.Op != frontend.ASSIGN {
		return
	}
	sum, ok := set.Value.(*frontend.Binary)
	if !ok || sum.Op != frontend.ADD || !isVar(sum.Y, d.Var) || readsVar(sum.X, d.Var) || readsVar(set.Target, d.Var) {
		return
	}
	sum.Y = d.Init
	body.Stmts = body.Stmts[1:]
}

func matchGEMM(before frontend.Stmt, w *frontend.While, roots frontend.Roots) *gemmNest {
	g := &gemmNest{outer: w}
	var ok bool
	if g.i, _ = simpleLoop(w); g.i == nil {
		return nil
	}
	if _, ok = zeroStart(before, g.i.Var); !ok {
		return nil
	}
	mid, midLoop := nestedLoop(w)
	if mid == nil || len(w.Body.Stmts) != 3 {
		return nil
	}
	in, inLoop := nestedLoop(midLoop)
	if in == nil {
		return nil
	}
	fuseProduct(inLoop.Body)
	if len(inLoop.Body.Stmts) != 2 {
		return nil
	}
	// The expansion of compound assignments (flatten.go) has made `C[X] += A[Y] * B[Z]` into
	// `C[X] = C[X] + A[Y] * B[Z]`.
	g.stmt, ok = inLoop.Body.Stmts[0].(*frontend.Assign)
	if !ok || g.stmt.Op != frontend.ASSIGN {
		return nil
	}
	g.c, ok = g.stmt.Target.(*frontend.Index)
	if !ok {
		return nil
	}
	sum, ok := g.stmt.Value.(*frontend.Binary)
	if !ok || sum.Op != frontend.ADD || !sameAccess(sum.X, g.c) {
		return nil
	}
	prod, ok := sum.Y.(*frontend.Binary)
	if !ok || prod.Op != frontend.MUL {
		return nil
	}
	g.a, _ = prod.X.(*frontend.Index)
	g.b, _ = prod.Y.(*frontend.Index)
	if g.a == nil || g.b == nil {
		return nil
	}
	elem := g.c.Type()
	if (elem != frontend.F32 && elem != frontend.F64) || g.a.Type() != elem || g.b.Type() != elem || sum.Type() != elem {
		return nil
	}
	arrays := [3]*frontend.Var{}
	for k, ix := range []*frontend.Index{g.c, g.a, g.b} {
		id, isID := ix.Array.(*frontend.Ident)
		if !isID || len(ix.Indices) != 1 || !frontend.Harmless(ix.Indices[0]) {
			return nil
		}
		arrays[k] = id.Var
	}
	if roots.MayAlias(arrays[0], arrays[1]) || roots.MayAlias(arrays[0], arrays[2]) {
		return nil
	}
	// Which counter is p and which j: p indexes A, j does not.
	g.ipj = mentions(g.a.Indices[0], mid.Var) && !mentions(g.a.Indices[0], in.Var)
	if g.ipj {
		g.p, g.j = mid, in
	} else {
		g.j, g.p = mid, in
	}
	x, y, z := g.c.Indices[0], g.a.Indices[0], g.b.Indices[0]
	if mentions(y, g.j.Var) || mentions(z, g.i.Var) || mentions(x, g.p.Var) {
		return nil
	}
	// The bounds must not depend on the counters of the loops around them.
	for _, c := range []*loops.Counted{g.p, g.j} {
		if mentions(c.Limit(), g.i.Var) || mentions(c.Limit(), g.p.Var) || mentions(c.Limit(), g.j.Var) {
			return nil
		}
	}
	switch {
	case unitIn(x, g.j.Var) && unitIn(y, g.p.Var) && unitIn(z, g.j.Var):
	case unitIn(x, g.j.Var) && unitIn(y, g.p.Var) && unitIn(z, g.p.Var):
		g.transposed = true
	default:
		return nil
	}
	return g
}

// mentions reports whether e reads variable v.
func mentions(e frontend.Expr, v *frontend.Var) bool {
	found := false
	frontend.Inspect(e, func(n frontend.Node) bool {
		if id, ok := n.(*frontend.Ident); ok && id.Var == v {
			found = true
		}
		return !found
	})
	return found
}

// unitIn reports whether e is a sum with v itself (maybe widened) as one of its terms, and v
// nowhere else: e moves by one element when v does.
func unitIn(e frontend.Expr, v *frontend.Var) bool {
	var terms []frontend.Expr
	var split func(e frontend.Expr)
	split = func(e frontend.Expr) {
		if b, ok := e.(*frontend.Binary); ok && b.Op == frontend.ADD {
			split(b.X)
			split(b.Y)
			return
		}
		terms = append(terms, e)
	}
	split(e)
	unit := 0
	for _, t := range terms {
		for {
			cv, ok := t.(*frontend.Convert)
			if !ok || !cv.T.IsInt() {
				break
			}
			t = cv.X
		}
		if id, ok := t.(*frontend.Ident); ok && id.Var == v {
			unit++
		} else if mentions(t, v) {
			return false
		}
	}
	return unit == 1
}

// gemmBuilder writes the rewritten nest.
type gemmBuilder struct {
	g   *gemmNest
	pos frontend.Pos
	n   *frontend.Var // the number of columns
}

func (b *gemmBuilder) int(v int64) frontend.Expr { return frontend.IntConst(b.pos, frontend.I64, v) }

func (b *gemmBuilder) decl(name string, init frontend.Expr) (*frontend.VarDecl, *frontend.Var) {
	d := frontend.Declare(b.pos, name, init)
	return d, d.Var
}

// loop is `var v = from; while (v < to) { body(v); v = v + 1; }`, v an i64.
func (b *gemmBuilder) loop(name string, from, to frontend.Expr, body func(v *frontend.Var) []frontend.Stmt) (*frontend.While, []frontend.Stmt) {
	d, v := b.decl(name, from)
	stmts := append(body(v), frontend.Set(use(v), add(use(v), b.int(1))))
	w := &frontend.While{Pos: b.pos, Cond: frontend.NewBinary(frontend.LSS, use(v), to), Body: block(b.pos, stmts...)}
	return w, []frontend.Stmt{d, w}
}

// counter declares a copy of counter c holding value (an i64), for the statement's clones.
func (b *gemmBuilder) counter(c *loops.Counted, value frontend.Expr) (*frontend.VarDecl, *frontend.Var) {
	return b.decl(c.Var.Name, frontend.Conv(value, c.Var.Type))
}

func (b *gemmBuilder) min(x, y frontend.Expr) frontend.Expr {
	return frontend.NewBuiltin(b.pos, frontend.Min, frontend.I64, x, y)
}

// plain runs the original statement for i in [i0, i1), j in [j0, j1), p in [0, K), in the
// loop order of the source.
func (b *gemmBuilder) plain(i0, i1, j0, j1, k frontend.Expr) []frontend.Stmt {
	g := b.g
	_, stmts := b.loop("i", i0, i1, func(iv *frontend.Var) []frontend.Stmt {
		id, ivar := b.counter(g.i, use(iv))
		inner := func(first *loops.Counted, from, to frontend.Expr, then func(rename map[*frontend.Var]*frontend.Var) []frontend.Stmt) []frontend.Stmt {
			_, s := b.loop(first.Var.Name, from, to, func(v *frontend.Var) []frontend.Stmt {
				d, cv := b.counter(first, use(v))
				return append([]frontend.Stmt{d}, then(map[*frontend.Var]*frontend.Var{g.i.Var: ivar, first.Var: cv})...)
			})
			return s
		}
		body := func(outer, last *loops.Counted, oFrom, oTo, lFrom, lTo frontend.Expr) []frontend.Stmt {
			return inner(outer, oFrom, oTo, func(r map[*frontend.Var]*frontend.Var) []frontend.Stmt {
				_, s := b.loop(last.Var.Name, lFrom, lTo, func(v *frontend.Var) []frontend.Stmt {
					d, cv := b.counter(last, use(v))
					rename := map[*frontend.Var]*frontend.Var{last.Var: cv}
					for k, v := range r {
						rename[k] = v
					}
					c := cloner{rename: rename}
					return []frontend.Stmt{d, c.stmt(g.stmt)}
				})
				return s
			})
		}
		if g.ipj {
			return append([]frontend.Stmt{id}, body(g.p, g.j, b.int(0), k, j0, j1)...)
		}
		return append([]frontend.Stmt{id}, body(g.j, g.p, j0, j1, b.int(0), k)...)
	})
	return stmts
}

// tiled returns the block that replaces the nest.
func (g *gemmNest) tiled(parallel map[*frontend.While]bool) frontend.Stmt {
	b := &gemmBuilder{g: g, pos: g.outer.Pos}
	i64 := func(e frontend.Expr) frontend.Expr { return frontend.Conv(e, frontend.I64) }
	zero := b.int(0)
	maxZero := func(e frontend.Expr) frontend.Expr {
		return frontend.NewBuiltin(b.pos, frontend.Max, frontend.I64, i64(e), zero)
	}
	mDecl, m := b.decl("gemm_m", maxZero(g.i.Limit()))
	kDecl, k := b.decl("gemm_k", maxZero(g.p.Limit()))
	nDecl, n := b.decl("gemm_n", maxZero(g.j.Limit()))
	b.n = n
	stmts := []frontend.Stmt{mDecl, kDecl, nDecl}
	mr, nr := int64(gemmMR), int64(gemmNR)
	if g.transposed {
		mr, nr = gemmDotMR, gemmDotNR
	}
	mbDecl, mb := b.decl("gemm_mb", frontend.NewBinary(frontend.QUO, use(m), b.int(mr)))
	nbDecl, nb := b.decl("gemm_nb", frontend.NewBinary(frontend.QUO, use(n), b.int(nr)))
	stmts = append(stmts, mbDecl, nbDecl)
	if g.transposed {
		stmts = append(stmts, b.dotBlocks(parallel, m, mb, nb, k)...)
	} else {
		stmts = append(stmts, b.panels(parallel, mb, nb, k)...)
	}
	mTiled := frontend.NewBinary(frontend.MUL, use(mb), b.int(mr))
	nTiled := frontend.NewBinary(frontend.MUL, use(nb), b.int(nr))
	stmts = append(stmts, b.plain(zero, mTiled, nTiled, use(n), use(k))...)
	stmts = append(stmts, b.plain(mTiled, use(m), zero, use(n), use(k))...)
	{
		// The loops leave i at M when M > 0 (it starts at 0); code after the nest may read it.
		set := frontend.Set(use(g.i.Var), frontend.Conv(use(m), g.i.Var.Type))
		stmts = append(stmts, &frontend.If{Pos: b.pos, Cond: frontend.NewBinary(frontend.GTR, use(m), zero), Then: block(b.pos, set)})
	}
	return block(b.pos, stmts...)
}

// column is index e (which reads j) for column t of the block from column j0, with the
// variables of rename: from (p·n + j0) + t LLVM sees a row's 16 loads side by side; from
// p·n + j_t, or p·n + (j0 + t), it vectorizes the loop over p instead, with gathers. So
// where j is a term of the index, t is added last.
func (b *gemmBuilder) column(e frontend.Expr, j0 *frontend.Var, t int, rename map[*frontend.Var]*frontend.Var) frontend.Expr {
	j := b.g.j.Var
	if unitIn(e, j) {
		c := cloner{rename: rename, subst: map[*frontend.Var]frontend.Expr{j: frontend.Conv(use(j0), j.Type)}}
		return add(c.expr(e), frontend.IntConst(b.pos, e.Type(), int64(t)))
	}
	c := cloner{rename: rename, subst: map[*frontend.Var]frontend.Expr{j: frontend.Conv(add(use(j0), b.int(int64(t))), j.Type)}}
	return c.expr(e)
}

// microKernel sums the block of rows i0 … i0+mr−1 and columns j0 … j0+nr−1 over p in
// [p0, p1) and adds it to C. bAt(pv, p, t) is the element of B in row p and column t of
// the block, pv the row as an i64 and p the copy of the source's counter.
func (b *gemmBuilder) microKernel(i0, j0 *frontend.Var, mr, nr int64, p0, p1 frontend.Expr, bAt func(pv, p *frontend.Var, t int) frontend.Expr) []frontend.Stmt {
	g := b.g
	var stmts []frontend.Stmt
	is := make([]*frontend.Var, mr)
	for r := range is {
		var d *frontend.VarDecl
		d, is[r] = b.counter(g.i, add(use(i0), b.int(int64(r))))
		stmts = append(stmts, d)
	}
	elem := g.c.Type()
	acc := make([][]*frontend.Var, mr)
	for r := range acc {
		acc[r] = make([]*frontend.Var, nr)
		for t := range acc[r] {
			var d *frontend.VarDecl
			d, acc[r][t] = b.decl(fmt.Sprintf("c_%d_%d", r, t), frontend.Zero(b.pos, elem))
			stmts = append(stmts, d)
		}
	}
	_, loop := b.loop("p", p0, p1, func(pv *frontend.Var) []frontend.Stmt {
		pd, p := b.counter(g.p, use(pv))
		body := []frontend.Stmt{pd}
		as := make([]*frontend.Var, mr)
		for r := range as {
			c := cloner{rename: map[*frontend.Var]*frontend.Var{g.i.Var: is[r], g.p.Var: p}}
			var d *frontend.VarDecl
			d, as[r] = b.decl(fmt.Sprintf("a_%d", r), c.expr(g.a))
			body = append(body, d)
		}
		bs := make([]*frontend.Var, nr)
		for t := range bs {
			var d *frontend.VarDecl
			d, bs[t] = b.decl(fmt.Sprintf("b_%d", t), bAt(pv, p, t))
			body = append(body, d)
		}
		for r := range as {
			for t := range bs {
				body = append(body, accumulate(use(acc[r][t]), mul(use(as[r]), use(bs[t]))))
			}
		}
		return body
	})
	stmts = append(stmts, loop...)
	for r := range is {
		for t := 0; t < int(nr); t++ {
			rename := map[*frontend.Var]*frontend.Var{g.i.Var: is[r]}
			cij := func() frontend.Expr {
				return frontend.Elem(cloneExpr(g.c.Array), b.column(g.c.Indices[0], j0, t, rename))
			}
			stmts = append(stmts, frontend.Set(cij(), add(cij(), use(acc[r][t]))))
		}
	}
	return stmts
}

// inPlace reads B where it is, for the block from column j0.
func (b *gemmBuilder) inPlace(j0 *frontend.Var) func(pv, p *frontend.Var, t int) frontend.Expr {
	return func(_, p *frontend.Var, t int) frontend.Expr {
		return frontend.Elem(cloneExpr(b.g.b.Array), b.column(b.g.b.Indices[0], j0, t, map[*frontend.Var]*frontend.Var{b.g.p.Var: p}))
	}
}

// panels is the "nn" layout: for each panel of gemmNC columns, each stretch of gemmKC of p,
// the part of B in use is first copied (packed) so that each column block's rows follow one
// another: pack[(jb·gemmKC + p − p_first)·gemmNR + t]. Then the row blocks, in parallel, each
// run over the column blocks of the panel. Read in place, a column block's successive rows
// of B lie a row of B apart: from 1024 columns on, each is on another 4 KiB page and in the
// same L1 set, and the micro-kernel waits on the TLB and on L2.
func (b *gemmBuilder) panels(parallel map[*frontend.While]bool, mb, nb, k *frontend.Var) []frontend.Stmt {
	g := b.g
	perPanel := int64(gemmNC / gemmNR)
	npDecl, np := b.decl("gemm_panels", frontend.NewBinary(frontend.QUO, add(use(nb), b.int(perPanel-1)), b.int(perPanel)))
	nsDecl, ns := b.decl("gemm_stretches", frontend.NewBinary(frontend.QUO, add(use(k), b.int(gemmKC-1)), b.int(gemmKC)))
	packDecl, pack := b.decl("gemm_pack", &frontend.ArrayAlloc{Pos: b.pos, Elem: g.b.Type().Kind, Dims: []frontend.Expr{b.int(gemmKC * gemmNC)}, Scratch: true})
	// The packed rows are gemmNR apart whenever there is a column block, but the stride is
	// written min(n, gemmNR): with a constant stride LLVM vectorizes the loops over p, with
	// gathers and scatters, instead of a row's gemmNR elements side by side.
	strideDecl, stride := b.decl("gemm_pack_stride", b.min(use(b.n), b.int(gemmNR)))
	packed := func(jb, p, p0 *frontend.Var, t int) frontend.Expr {
		row := add(mul(use(jb), b.int(gemmKC)), frontend.NewBinary(frontend.SUB, use(p), use(p0)))
		return frontend.Elem(use(pack), add(mul(row, use(stride)), b.int(int64(t))))
	}
	_, loop := b.loop("panel", b.int(0), use(np), func(panel *frontend.Var) []frontend.Stmt {
		jbsDecl, jbs := b.decl("jb_first", mul(use(panel), b.int(perPanel)))
		jbeDecl, jbe := b.decl("jb_end", b.min(add(use(jbs), b.int(perPanel)), use(nb)))
		_, stretches := b.loop("stretch", b.int(0), use(ns), func(s *frontend.Var) []frontend.Stmt {
			p0Decl, p0 := b.decl("p_first", mul(use(s), b.int(gemmKC)))
			p1Decl, p1 := b.decl("p_end", b.min(add(use(p0), b.int(gemmKC)), use(k)))
			// jb counts from 0 in both loops, so that loops.Count sees their inner trip counts.
			blocks := frontend.NewBinary(frontend.SUB, use(jbe), use(jbs))
			copies, copyLoop := b.loop("pack_p", use(p0), use(p1), func(pv *frontend.Var) []frontend.Stmt {
				pd, p := b.counter(g.p, use(pv))
				_, cols := b.loop("jb", b.int(0), blocks, func(jb *frontend.Var) []frontend.Stmt {
					j0Decl, j0 := b.decl("j_first", mul(add(use(jbs), use(jb)), b.int(gemmNR)))
					body := []frontend.Stmt{j0Decl}
					for t := 0; t < gemmNR; t++ {
						body = append(body, frontend.Set(packed(jb, pv, p0, t), b.inPlace(j0)(pv, p, t)))
					}
					return body
				})
				return append([]frontend.Stmt{pd}, cols...)
			})
			parallel[copies] = true
			rows, rowLoop := b.loop("ib", b.int(0), use(mb), func(ib *frontend.Var) []frontend.Stmt {
				i0Decl, i0 := b.decl("i_first", mul(use(ib), b.int(gemmMR)))
				_, cols := b.loop("jb", b.int(0), frontend.NewBinary(frontend.SUB, use(jbe), use(jbs)), func(jb *frontend.Var) []frontend.Stmt {
					j0Decl, j0 := b.decl("j_first", mul(add(use(jbs), use(jb)), b.int(gemmNR)))
					bAt := func(pv, _ *frontend.Var, t int) frontend.Expr { return packed(jb, pv, p0, t) }
					return append([]frontend.Stmt{j0Decl}, b.microKernel(i0, j0, gemmMR, gemmNR, use(p0), use(p1), bAt)...)
				})
				return append([]frontend.Stmt{i0Decl}, cols...)
			})
			parallel[rows] = true
			return append(append([]frontend.Stmt{p0Decl, p1Decl}, copyLoop...), rowLoop...)
		})
		return append([]frontend.Stmt{jbsDecl, jbeDecl}, stretches...)
	})
	return append([]frontend.Stmt{npDecl, nsDecl, packDecl, strideDecl}, loop...)
}

// dotBlocks is the "nt" layout: for each stretch of gemmKC of p, blocks of gemmDotMR×gemmDotNR
// dot products over the stretch, in one of two orders. With at most gemmDotRowsInL2 rows
// (the prompt of a prefill against a weight matrix), the column blocks run in parallel,
// each over every row block: the stretch of A stays in L2 and B is read once. With more, the
// row blocks run in parallel, each over every column block, so that a row block's stretch of
// A stays in L1 while the rows of B go by (the other order then reads A from memory for
// every column block: 0.55 of OpenBLAS at 2048², against 0.86).
func (b *gemmBuilder) dotBlocks(parallel map[*frontend.While]bool, m, mb, nb, k *frontend.Var) []frontend.Stmt {
	nsDecl, ns := b.decl("gemm_stretches", frontend.NewBinary(frontend.QUO, add(use(k), b.int(gemmKC-1)), b.int(gemmKC)))
	_, stretches := b.loop("stretch", b.int(0), use(ns), func(s *frontend.Var) []frontend.Stmt {
		p0Decl, p0 := b.decl("p_first", mul(use(s), b.int(gemmKC)))
		p1Decl, p1 := b.decl("p_end", b.min(add(use(p0), b.int(gemmKC)), use(k)))
		dots := func(ib, jb *frontend.Var) []frontend.Stmt {
			i0Decl, i0 := b.decl("i_first", mul(use(ib), b.int(gemmDotMR)))
			j0Decl, j0 := b.decl("j_first", mul(use(jb), b.int(gemmDotNR)))
			return append([]frontend.Stmt{i0Decl, j0Decl}, b.microKernel(i0, j0, gemmDotMR, gemmDotNR, use(p0), use(p1), b.inPlace(j0))...)
		}
		byCols, colsFirst := b.loop("jb", b.int(0), use(nb), func(jb *frontend.Var) []frontend.Stmt {
			_, rows := b.loop("ib", b.int(0), use(mb), func(ib *frontend.Var) []frontend.Stmt { return dots(ib, jb) })
			return rows
		})
		byRows, rowsFirst := b.loop("ib", b.int(0), use(mb), func(ib *frontend.Var) []frontend.Stmt {
			_, cols := b.loop("jb", b.int(0), use(nb), func(jb *frontend.Var) []frontend.Stmt { return dots(ib, jb) })
			return cols
		})
		parallel[byCols], parallel[byRows] = true, true
		few := frontend.NewBinary(frontend.LEQ, use(m), b.int(gemmDotRowsInL2))
		choice := &frontend.If{Pos: b.pos, Cond: few, Then: block(b.pos, colsFirst...), Else: block(b.pos, rowsFirst...)}
		return []frontend.Stmt{p0Decl, p1Decl, choice}
	})
	return append([]frontend.Stmt{nsDecl}, stretches...)
}

// sameAccess reports whether x is an element access to the same array at the same index
// expression as y.
func sameAccess(x frontend.Expr, y *frontend.Index) bool {
	ix, ok := x.(*frontend.Index)
	if !ok || len(ix.Indices) != 1 || len(y.Indices) != 1 || !sameExpr(ix.Array, y.Array) {
		return false
	}
	return sameExpr(ix.Indices[0], y.Indices[0])
}
