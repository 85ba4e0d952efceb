package lower

import (
	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// Interleaved q4 blocks. vpdpbusd sums four byte products into each of 16 lanes, so when a
// q4 group's 16 bytes lie in order (q4_0), a group fills four lanes, and each step must spread
// its groups' scales over them and add them up (ScaledNibbleDotQuad). Weights can instead be
// stored a block of NibbleBlockGroups (8) groups at a time, four bytes of each group in turn:
// byte 4r + k of the block's group l at 32r + 4l + k (r, k < 4), with the inputs in the same
// order. Two 64-byte loads then hold the whole block, lane l and lane 8 + l take group l's
// bytes, and one vector of eight scales serves it. A kernel writes the block as the loops
//
//	while (b < n) {
//	    var l = 0;
//	    while (l < 8) {
//	        i32 isum = 0;
//	        var r = 0;
//	        while (r < 4) {
//	            var k = 0;
//	            while (k < 4) {
//	                var v = w[J + 32·r + 4·l + k];
//	                isum += (x[I + 32·r + 4·l + k] as i32) * ((v & 15) as i32) +
//	                        (x[H + 32·r + 4·l + k] as i32) * ((v >> 4) as i32);
//	                k = k + 1;
//	            }
//	            r = r + 1;
//	        }
//	        s += ((isum - y[Y + l]) as f32) * f1[K1 + l] * …;
//	        l = l + 1;
//	    }
//	    b = b + 1;
//	}
//
// (the bounds 4 may be any expressions fixed in the loop, tested before it; I, H, J, Y and
// the K's may read b; the nibbles count unbiased, the kernel takes 8·Σx out as y; several
// such sums may share the lane loop), and with AVX-512 VNNI that loop becomes
//
//	if (both bounds are 4) { while (b < n) { prefetches; s = s + NibbleBlockDot(…); b = b + 1; } }
//	else { the loop as written }
//
// with s on lanes. The integer sums are exact either way; only the order of the f32
// additions changes, as with ScaledDot.

// blockRun is the bytes of one of a block's four runs, four bytes of each group.
const blockRun = 4 * frontend.NibbleBlockGroups

// blockSum is one sum of a lane loop: its dot's operands (the indices at the block's first
// byte) and factors, and its f32 sum.
type blockSum struct {
	x, ix, ih, w, iw frontend.Expr
	y, iy            frontend.Expr   // the inputs' biases y[iy + l]
	factors          []frontend.Expr // array, index at l = 0, array, index, …
	s                *frontend.Var
}

// blockLoop returns loop w rewritten as above, inside loop outer (nil: none), or nil when w
// is not such a loop.
func (r *laneRewrite) blockLoop(w, outer *frontend.While) frontend.Stmt {
	c := loops.Count(w)
	if !r.vnni || c == nil || len(c.Body) != 2 {
		return nil
	}
	lDecl, ok := c.Body[0].(*frontend.VarDecl)
	lane, isLoop := c.Body[1].(*frontend.While)
	if !ok || !isLoop {
		return nil
	}
	lc := loops.Count(lane)
	if lc == nil {
		return nil
	}
	l0, isConst := lDecl.Init.(*frontend.Const)
	bound, constBound := lc.Bound.(*frontend.Const)
	if lc.Var != lDecl.Var || lc.Step != 1 || !isConst || !constBound || !l0.T.IsInt() ||
		bound.Int-l0.Int+b2i(lc.Inclusive) != frontend.NibbleBlockGroups || len(lc.Body) == 0 || len(lc.Body)%5 != 0 {
		return nil
	}
	// Every variable the loop sets, or declares inside, changes in it.
	changing := changingIn(w.Body, c.Var)
	frontend.Inspect(w.Body, func(n frontend.Node) bool {
		if d, ok := n.(*frontend.VarDecl); ok {
			changing[d.Var] = true
		}
		return true
	})
	var sums []blockSum
	var guard frontend.Expr
	for k := 0; k < len(lc.Body); k += 5 {
		sum, trips := blockSumOf(lc.Body[k:k+5], lc.Var, l0, changing)
		if trips == nil {
			return nil
		}
		sums = append(sums, sum)
		guard = and(guard, trips)
	}
	// Each sum is the only statement of the loop that reads or writes its variable.
	uses := map[*frontend.Var]int{}
	frontend.Inspect(w.Body, func(n frontend.Node) bool {
		if id, ok := n.(*frontend.Ident); ok {
			uses[id.Var]++
		}
		return true
	})
	for _, s := range sums {
		if uses[s.s] != 2 {
			return nil
		}
	}

	pos := w.Pos
	cl := cloner{rename: map[*frontend.Var]*frontend.Var{}}
	incr := cl.stmt(w.Body.Stmts[len(w.Body.Stmts)-1])
	onLanes := &frontend.While{Pos: pos, Cond: cloneExpr(w.Cond), Body: block(pos, append(blockBody(sums, streamed(outer, w), pos), incr)...)}
	for _, s := range sums {
		r.lanes[onLanes] = append(r.lanes[onLanes], s.s)
	}
	return &frontend.If{Pos: pos, Cond: guard, Then: block(pos, onLanes), Else: block(pos, w)}
}

// blockBody is the body of the loop over blocks on lanes, without the counter's increment:
// each sum's NibbleBlockDot, after the prefetches of its weights and factors where they
// stream.
func blockBody(sums []blockSum, streams func(frontend.Expr) bool, pos frontend.Pos) []frontend.Stmt {
	var body []frontend.Stmt
	fetch := prefetcher{pos: pos}
	for _, s := range sums {
		if streams(s.iw) {
			// the block's two lines, and its groups' factors as far ahead (a group has 16 bytes)
			for line := range int64(2) {
				at := frontend.NewBinary(frontend.ADD, cloneExpr(s.iw), frontend.IntConst(pos, frontend.I64, line*2*blockRun))
				body = append(body, fetch.repeated(s.w, at)...)
			}
			for f := 1; f < len(s.factors); f += 2 {
				if streams(s.factors[f]) {
					body = append(body, fetch.ahead(s.factors[f-1], s.factors[f], PrefetchAhead/16)...)
				}
			}
		}
		args := append([]frontend.Expr{s.x, s.ix, s.ih, s.w, s.iw, s.y, s.iy}, s.factors...)
		for k := range args {
			args[k] = cloneExpr(args[k])
		}
		dot := frontend.NewBuiltin(pos, frontend.NibbleBlockDot, frontend.F32, args...)
		body = append(body, frontend.Set(frontend.Use(pos, s.s), frontend.NewBinary(frontend.ADD, frontend.Use(pos, s.s), dot)))
	}
	return body
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// blockSumOf matches one sum of a lane loop over l from l0 (see above): `i32 isum = 0; var r
// = R; while (r < …) { var k = K; while (k < …) { the dot } r = r + 1; } var t = ((isum −
// y[…]) as f32) · …; s = s + t;`. It returns the sum and the test that both inner loops
// run four times, to be evaluated before the loop (it reads none of the variables changing);
// a nil test when stmts are not such a sum.
func blockSumOf(stmts []frontend.Stmt, l *frontend.Var, l0 *frontend.Const, changing map[*frontend.Var]bool) (blockSum, frontend.Expr) {
	var s blockSum
	acc, ok := stmts[0].(*frontend.VarDecl)
	if !ok || acc.Var.Type != frontend.I32 || !isZero(acc.Init) {
		return s, nil
	}
	rDecl, ok1 := stmts[1].(*frontend.VarDecl)
	runs, ok2 := stmts[2].(*frontend.While)
	if !ok1 || !ok2 {
		return s, nil
	}
	rc := loops.Count(runs)
	if rc == nil || rc.Var != rDecl.Var || rc.Step != 1 || len(rc.Body) != 2 {
		return s, nil
	}
	kDecl, ok1 := rc.Body[0].(*frontend.VarDecl)
	dot, ok2 := rc.Body[1].(*frontend.While)
	if !ok1 || !ok2 {
		return s, nil
	}
	d := matchDot(dot)
	if d == nil || !d.nibbles || !d.unbiased || d.Var != kDecl.Var || d.acc != acc.Var || d.a.Type().Kind != abi.I8 {
		return s, nil
	}
	// The trip counts, with r and k at their first values, fixed in the loop.
	first := map[*frontend.Var]frontend.Expr{rDecl.Var: rDecl.Init, kDecl.Var: kDecl.Init}
	at := func(e frontend.Expr) frontend.Expr {
		c := cloner{rename: map[*frontend.Var]*frontend.Var{}, subst: first}
		return frontend.Conv(c.expr(e), frontend.I64)
	}
	four := func(trips frontend.Expr) frontend.Expr {
		return frontend.NewBinary(frontend.EQL, at(trips), frontend.IntConst(trips.Position(), frontend.I64, 4))
	}
	test := frontend.NewBinary(frontend.LAND, four(rc.Trips()), four(d.Trips()))
	if !settled(test, changing) {
		return s, nil
	}
	// The bytes: 1 apart in k, a run apart in r, four apart in l; read at l0, r and k first.
	first[l] = l0
	for _, idx := range []frontend.Expr{d.ia, d.ih, d.ib} {
		kk, ok1 := linearIn(idx, kDecl.Var)
		kr, ok2 := linearIn(idx, rDecl.Var)
		kl, ok3 := linearIn(idx, l)
		if !ok1 || !ok2 || !ok3 || kk != 1 || kr != blockRun || kl != 4 {
			return s, nil
		}
	}
	s.x, s.ix, s.ih, s.w, s.iw = cloneExpr(d.a), at(d.ia), at(d.ih), cloneExpr(d.b), at(d.ib)

	t, ok := stmts[3].(*frontend.VarDecl)
	set, isAssign := stmts[4].(*frontend.Assign)
	if !ok || t.Var.Type != frontend.F32 || !isAssign || set.Op != frontend.ASSIGN {
		return s, nil
	}
	target, ok := set.Target.(*frontend.Ident)
	add, isAdd := set.Value.(*frontend.Binary)
	if !ok || target.Var.Type != frontend.F32 || !isAdd || add.Op != frontend.ADD || !isVar(add.X, target.Var) || !isVar(add.Y, t.Var) {
		return s, nil
	}
	s.s = target.Var
	// t's factors: ((isum − y[Y + l]) as f32) once, and loads of f16 or f32 elements at K + l.
	own := []*frontend.Var{acc.Var, rDecl.Var, kDecl.Var, t.Var, s.s}
	perLane := func(e frontend.Expr) (frontend.Expr, frontend.Expr, bool) {
		ix, ok := e.(*frontend.Index)
		if !ok || len(ix.Indices) != 1 || !frontend.Harmless(ix.Indices[0]) {
			return nil, nil, false
		}
		for _, v := range own {
			if readsVar(ix.Indices[0], v) {
				return nil, nil, false
			}
		}
		if k, ok := linearIn(ix.Indices[0], l); !ok || k != 1 {
			return nil, nil, false
		}
		return cloneExpr(ix.Array), at(ix.Indices[0]), true
	}
	biased := false
	for _, f := range productFactors(t.Init) {
		conv, isConv := f.(*frontend.Convert)
		if isConv && conv.T == frontend.F32 {
			if sub, ok := conv.X.(*frontend.Binary); ok && sub.Op == frontend.SUB && isVar(sub.X, acc.Var) && !biased {
				y, iy, ok := perLane(sub.Y)
				if !ok || y.Type().Kind != abi.I32 {
					return s, nil
				}
				s.y, s.iy, biased = y, iy, true
				continue
			}
			if conv.X.Type().Kind == abi.F16 {
				f = conv.X
			}
		}
		a, i, ok := perLane(f)
		if !ok || (a.Type().Kind != abi.F32 && a.Type().Kind != abi.F16) || len(s.factors) == 6 {
			return s, nil
		}
		s.factors = append(s.factors, a, i)
	}
	if !biased {
		return s, nil
	}
	return s, test
}

// productFactors lists the factors of a product of f32 values.
func productFactors(e frontend.Expr) []frontend.Expr {
	if b, ok := e.(*frontend.Binary); ok && b.Op == frontend.MUL && b.T == frontend.F32 {
		return append(productFactors(b.X), productFactors(b.Y)...)
	}
	return []frontend.Expr{e}
}

// linearIn returns k when e is k·v plus terms that do not read v, built by +, −, products by
// integer constants and conversions between i64; false when v appears otherwise.
func linearIn(e frontend.Expr, v *frontend.Var) (int64, bool) {
	if !readsVar(e, v) {
		return 0, true
	}
	switch e := e.(type) {
	case *frontend.Ident:
		return 1, true
	case *frontend.Convert:
		if e.T == frontend.I64 && e.X.Type() == frontend.I64 {
			return linearIn(e.X, v)
		}
	case *frontend.Binary:
		x, okx := linearIn(e.X, v)
		y, oky := linearIn(e.Y, v)
		switch {
		case !okx || !oky:
		case e.Op == frontend.ADD:
			return x + y, true
		case e.Op == frontend.SUB:
			return x - y, true
		case e.Op == frontend.MUL:
			if k, ok := e.X.(*frontend.Const); ok && k.T.IsInt() {
				return k.Int * y, true
			}
			if k, ok := e.Y.(*frontend.Const); ok && k.T.IsInt() {
				return k.Int * x, true
			}
		}
	}
	return 0, false
}
