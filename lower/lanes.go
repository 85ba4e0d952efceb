package lower

import (
	"slices"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// Scaled group dot products. The row loop of a quantized mat-vec sums, group by group, a
// byte dot product times the group's scales:
//
//	while (g < n) {
//	    i32 isum = 0; var j = 0;
//	    while (j < gs) { isum += (x[g*gs + j] as i32) * (w[row + g*gs + j] as i32); j = j + 1; }
//	    s += (isum as f32) * w_s[srow + g] * x_s[g];
//	    g = g + 1;
//	}
//
// (or several such groups side by side, as unroll-and-jam leaves them). Reducing each group's
// products to one i32 before scaling it costs more than the products. When every group is one
// chunk (gs = DotChunk, tested before the loop), the loop becomes
//
//	while (g < n) { var j = 0; s = s + ScaledDot(x, g*gs + j, w, row + g*gs + j, w_s[…] * x_s[g]); g = g + 1; }
//
// with s listed in the loop's Lanes: the generators keep s as DotChunk/2 partial sums through
// the loop, each adding its pair of products times the scale, and add them up after it. The
// integer sums are exact either way (|isum| < 2^24, exact in f32); only the order of the f32
// additions changes, which fast-math allows and strict-fp does not. Other group sizes run
// the loop as it was (with Dot, dot.go).

// laneUnit is one group sum of such a loop's body.
type laneUnit struct {
	j         *frontend.VarDecl // the dot loop's counter
	dot       *frontend.While
	a, ia     frontend.Expr // the dot's operands, read with j at its first value
	b, ib     frontend.Expr
	ih        frontend.Expr // with nibbles, where the inputs of the high nibbles are read
	scale     frontend.Expr // the factors of the group's sum other than isum, multiplied
	s         *frontend.Var // the f32 sum
	sumAssign *frontend.Assign
	nibbles   bool // b holds q4 nibbles: each of the dot's DotChunk/2 trips does two elements
}

// laneRewrite is the rewriting of one function's loops of scaled group dot products (see
// above): each new loop's lane sums go to lanes; with vnni (the CPU has AVX-512 VNNI), a loop
// whose arrays vpdpbusd takes runs its groups two or four at a time (see groupedLoop), with
// the bias tables computed before its row loop (biases.go) in before.
type laneRewrite struct {
	lanes  map[*frontend.While][]*frontend.Var
	vnni   bool
	times  int64 // how many times a grouped loop asks for each line of its weights
	roots  frontend.Roots
	before map[*frontend.While][]frontend.Stmt
}

// laneDots rewrites the loops of scaled group dot products in list and the blocks inside it
// (see above), recording each new loop's lane sums in lanes. Grouped loops ask for each line
// of the weights they stream PrefetchTimes times, or once with prefetchOnce.
func laneDots(list []frontend.Stmt, lanes map[*frontend.While][]*frontend.Var, vnni, prefetchOnce bool, roots frontend.Roots) []frontend.Stmt {
	r := &laneRewrite{lanes: lanes, vnni: vnni, times: PrefetchTimes, roots: roots, before: map[*frontend.While][]frontend.Stmt{}}
	if prefetchOnce {
		r.times = 1
	}
	return r.dots(list, nil, func() []frontend.Stmt { return nil })
}

// dots rewrites list, in the body of loop outer (nil: none) after the statements preceding
// returns (those of outer's body that run before list). They are gathered only for a loop
// that is rewritten: gathering them for every statement took time quadratic in a list's
// length (a function of 8000 checked accesses, each an if, took 13 s to compile).
func (r *laneRewrite) dots(list []frontend.Stmt, outer *frontend.While, preceding func() []frontend.Stmt) []frontend.Stmt {
	for i, s := range list {
		before := func() []frontend.Stmt { return append(slices.Clip(preceding()), list[:i]...) }
		switch s := s.(type) {
		case *frontend.Block:
			s.Stmts = r.dots(s.Stmts, outer, before)
		case *frontend.If:
			s.Then.Stmts = r.dots(s.Then.Stmts, outer, before)
			if s.Else != nil {
				s.Else = r.dots([]frontend.Stmt{s.Else}, outer, before)[0]
			}
		case *frontend.While:
			if units := laneUnits(s); units != nil {
				list[i] = r.loop(s, units, outer, before())
				continue
			}
			s.Body.Stmts = r.dots(s.Body.Stmts, s, func() []frontend.Stmt { return nil })
			if pre := r.before[s]; pre != nil {
				list[i] = block(s.Pos, append(pre, s)...)
			}
		}
	}
	return list
}

// streamed returns whether weights that dot loop w reads from an index are new in each
// trip of the loop around it (outer; nil: none), as a mat-vec's rows are, rather than read
// again, as a prefill's row is for each block of tokens: only streamed weights are worth
// prefetching (cached ones gain nothing and cost the instructions). The variables that w
// itself sets (its counter, its dots' counters) start alike in every trip of outer.
func streamed(outer, w *frontend.While) func(ib frontend.Expr) bool {
	if outer == nil {
		return func(frontend.Expr) bool { return true }
	}
	changing := changingIn(outer.Body)
	for v := range changingIn(w.Body, loops.Count(w).Var) {
		delete(changing, v)
	}
	// A variable that outer's body sets once, from values alike in every trip, is alike too
	// (a row's start, declared beside the loop over a prefill's tokens).
	defs := definitions(outer.Body.Stmts)
	for settled := false; !settled; {
		settled = true
		for v, e := range defs {
			if changing[v] && loops.Invariant(e, changing) {
				delete(changing, v)
				settled = false
			}
		}
	}
	return func(ib frontend.Expr) bool { return !loops.Invariant(ib, changing) }
}

// loop returns `if (every group is one chunk) { the loop on lanes } else { w }`, or with
// vnni, where groupedLoop applies, `if (every group is one chunk) { groupedLoop }; w`: w then
// runs the groups left over, if any. With bias tables (biases.go) groupedLoop also needs
// them computed.
func (r *laneRewrite) loop(w *frontend.While, units []laneUnit, outer *frontend.While, preceding []frontend.Stmt) frontend.Stmt {
	pos := w.Pos
	chunk := frontend.IntConst(pos, frontend.I64, frontend.DotChunk)
	builtin := frontend.ScaledDot
	if units[0].nibbles {
		chunk.Int, builtin = frontend.DotChunk/2, frontend.ScaledNibbleDot
	}
	// The trip count of the first dot loop, its counter at its first value; the units
	// count alike (checked by laneUnits).
	first := frontend.Declare(pos, "group_first", cloneExpr(units[0].j.Init))
	c := cloner{rename: map[*frontend.Var]*frontend.Var{units[0].j.Var: first.Var}}
	trips := c.expr(loops.Count(units[0].dot).Trips())
	oneChunk := frontend.Expr(frontend.NewBinary(frontend.EQL, trips, chunk))
	if r.vnni && groupable(w, units) {
		k := groupsPerStep(units)
		b := r.biasTables(w, units, outer, preceding, k)
		if b != nil {
			oneChunk = frontend.NewBinary(frontend.LAND, oneChunk, frontend.Use(pos, b.ok))
		}
		return block(pos, first, &frontend.If{Pos: pos, Cond: oneChunk, Then: groupedLoop(w, r.lanes, outer, k, b, r.times)}, w)
	}

	onLanes := twin(w)
	units = laneUnits(onLanes)
	var body []frontend.Stmt
	var sums []*frontend.Var
	for _, u := range units {
		args := []frontend.Expr{cloneExpr(u.a), cloneExpr(u.ia), cloneExpr(u.b), cloneExpr(u.ib), u.scale}
		if u.nibbles {
			args = append(args, cloneExpr(u.ih))
		}
		dot := frontend.NewBuiltin(pos, builtin, frontend.F32, args...)
		add := frontend.Set(frontend.Use(pos, u.s), frontend.NewBinary(frontend.ADD, frontend.Use(pos, u.s), dot))
		body = append(body, u.j, add)
		sums = append(sums, u.s)
	}
	onLanes.Body.Stmts = append(body, onLanes.Body.Stmts[len(onLanes.Body.Stmts)-1]) // and the increment
	r.lanes[onLanes] = sums
	return block(pos, first, &frontend.If{Pos: pos, Cond: oneChunk, Then: block(pos, onLanes), Else: block(pos, w)})
}

// PrefetchAhead is how far past the streamed weights of its group dots (groupedLoop) and
// float dots (floatDotLanes), in bytes, a loop prefetches them, into the second-level cache
// (Prefetch). The weights stream from memory, and with a dot's arithmetic the core's
// out-of-order window reaches only a little way ahead: measured 2026-12-02 (Intel Xeon,
// Sapphire Rapids, 2 threads, 4 KiB pages, the two builds alternated token by token), the q8
// and q4 decode steps took 0.68 and 0.75 of their time with a prefetch 4096 bytes ahead into
// every level (prefetcht0) at 125M, and 0.76 and 0.81 at 1B (2048 bytes: 0.78, 0.76, 0.73,
// 0.81; 1024: 0.82, 0.84). Into the second level and 8192 bytes ahead took 0.887 and 0.977 of
// that time at 125M and 0.911 and 0.944 at 1B (4096 bytes: q8 0.914 and 0.907, q4 1.029 and
// 0.931; q4 16384 bytes: 0.999 and 1.006; prefetcht1 at 4096: q8 0.951 and 0.909). f32 and
// bf16 rows: see floatdot.go (f32 into every level gained nothing). Prefetches do not fault,
// so the last ones, past the array, are harmless.
const PrefetchAhead = 8192

// prefetcher writes the prefetches of one loop's streamed arrays, PrefetchAhead bytes past
// each, once for each array and index.
type prefetcher struct {
	pos     frontend.Pos
	times   int64              // how many times repeated asks for a line
	fetched [][2]frontend.Expr // the arrays and indices prefetched
}

// of returns the statement Prefetch(a, i + PrefetchAhead bytes), or nothing when that is
// prefetched already.
func (p *prefetcher) of(a, i frontend.Expr) []frontend.Stmt {
	return p.ahead(a, i, PrefetchAhead/int64(a.Type().Kind.Size()))
}

// ahead returns the statement Prefetch(a, i + elems), or nothing when a[i + elems] is
// prefetched already.
func (p *prefetcher) ahead(a, i frontend.Expr, elems int64) []frontend.Stmt {
	at := frontend.NewBinary(frontend.ADD, cloneExpr(i), frontend.IntConst(p.pos, i.Type(), elems))
	if slices.ContainsFunc(p.fetched, func(f [2]frontend.Expr) bool { return sameExpr(f[0], a) && sameExpr(f[1], at) }) {
		return nil
	}
	p.fetched = append(p.fetched, [2]frontend.Expr{a, at})
	return []frontend.Stmt{&frontend.ExprStmt{X: frontend.NewBuiltin(p.pos, frontend.Prefetch, frontend.Void, cloneExpr(a), frontend.Conv(cloneExpr(at), frontend.I64))}}
}

// PrefetchTimes is how many times a grouped loop asks for each line of the weights it streams:
// PrefetchAhead, 2·PrefetchAhead, … bytes ahead. A core drops software prefetches when its
// miss buffers are full, and a line asked for again later is then still on its way when the
// loop gets there. Measured 2026-12-03 (AMD Zen 4, 2 threads, builds alternated token by
// token, medians of 128–192 pairs): three times against once took 0.952 / 0.973 of the q8
// decode step's time at 125M (huge / 4 KiB pages) and 0.818 / 0.864 at 1B, q4 0.952 / 1.011
// and 0.941 / 0.970; twice against once q8 0.91–0.98, q4 0.95–1.00; against twice, the third
// 24 KiB ahead 0.971 / 0.985 (q8 at 1B / 125M) and 0.985 / 0.997 (q4), a third 4 KiB ahead
// instead 0.966 / 0.971 and 0.978 / 1.012. Three against two for q4 alone, again from memory:
// 0.98–1.01 (a wash), and 1.02–1.03 on a model that fits in L3 (the instructions cost when the
// lines are near), so q4 and q8 keep one count. On AMD's Zen 5 once is faster (Options.
// PrefetchOnce; package compiler's repeatedPrefetchHurts has the measurements).
const PrefetchTimes = 3

// repeated returns the prefetches of a[i] PrefetchAhead, 2·PrefetchAhead, … bytes ahead
// (p.times of them), those not written already.
func (p *prefetcher) repeated(a, i frontend.Expr) []frontend.Stmt {
	elems := PrefetchAhead / int64(a.Type().Kind.Size())
	var stmts []frontend.Stmt
	for k := int64(1); k <= p.times; k++ {
		stmts = append(stmts, p.ahead(a, i, k*elems)...)
	}
	return stmts
}

// scales returns the prefetches of the streamed arrays that unit u's scale reads by one
// index (a row's group scales, a scale per group): as many groups ahead as the prefetch of
// its weights reaches, PrefetchAhead bytes of them.
func (p *prefetcher) scales(u laneUnit, streams func(frontend.Expr) bool) []frontend.Stmt {
	groupBytes := int64(frontend.DotChunk) // of weights
	if u.nibbles {
		groupBytes /= 2
	}
	var stmts []frontend.Stmt
	frontend.Inspect(u.scale, func(n frontend.Node) bool {
		if ix, ok := n.(*frontend.Index); ok && len(ix.Indices) == 1 && streams(ix.Indices[0]) {
			stmts = append(stmts, p.ahead(ix.Array, ix.Indices[0], PrefetchAhead/groupBytes)...)
		}
		return true
	})
	return stmts
}

// Groups is how many groups a ScaledDotPair (2) or ScaledNibbleDotQuad (4) call takes, or
// the GroupBias of one.
func Groups(c *frontend.Call) int {
	if c.Builtin == frontend.ScaledNibbleDotQuad || (c.Builtin == frontend.GroupBias && len(c.Args) == 11) {
		return 4
	}
	return 2
}

// groupsPerStep is how many groups a step of units' grouped loop takes: two of q8, four of q4.
func groupsPerStep(units []laneUnit) int64 {
	if units[0].nibbles {
		return 4
	}
	return 2
}

// GroupArg is the argument of such a call for its group m: the group's start in the first
// array (k 0), in the second (k 1), its scale (k 2), or, of ScaledNibbleDotQuad, the start
// of the inputs of its high nibbles (k 3). groupedLoop writes them in that order after the
// two arrays, the first group's around the second array.
func GroupArg(c *frontend.Call, k, m int) frontend.Expr {
	if m == 0 {
		return c.Args[[]int{1, 3, 4, 5}[k]]
	}
	per := 3
	if c.Builtin == frontend.ScaledNibbleDotQuad {
		per = 4
	}
	return c.Args[2+per*m+k]
}

// groupable reports whether groupedLoop applies to w: it counts by one up to a bound that can
// be evaluated again, and its dots are of i8 arrays (or of i8 against q4 nibbles), the
// operand types that the builtins of several groups take.
func groupable(w *frontend.While, units []laneUnit) bool {
	c := loops.Count(w)
	if c.Step != 1 || !frontend.Harmless(c.Trips()) {
		return false
	}
	for _, u := range units {
		if u.a.Type().Kind != abi.I8 || (!u.nibbles && u.b.Type().Kind != abi.I8) {
			return false
		}
	}
	return true
}

// groupedLoop is w on lanes taking k groups, g to g + k − 1, per trip: two of q8
// (ScaledDotPair, whose 64 bytes fill one vpdpbusd), four of q4 (ScaledNibbleDotQuad, whose
// 64 bytes of nibbles fill two):
//
//	var groups_end = g + (trips & -k);
//	while (g < groups_end) {
//	    var j = J; Prefetch(b, ib + PrefetchAhead);
//	    s = s + ScaledDotPair(a, ia, b, ib, scale, ia', ib', scale'); g = g + 2;
//	}
//
// with ia', ib' and scale' those of group g + 1 (and so on). It stops before the groups left
// over. The Prefetch is there for streamed weights, once for the sums that read the same.
// With bias tables b, each dot reads its step's input biases from its table.
func groupedLoop(w *frontend.While, lanes map[*frontend.While][]*frontend.Var, outer *frontend.While, k int64, b *biases, times int64) *frontend.Block {
	pos := w.Pos
	c := loops.Count(w)
	units := laneUnits(twin(w))
	step := func(k int64) frontend.Expr {
		return frontend.NewBinary(frontend.ADD, frontend.Use(pos, c.Var), frontend.IntConst(pos, c.Var.Type, k))
	}
	builtin := frontend.ScaledDotPair
	if units[0].nibbles {
		builtin = frontend.ScaledNibbleDotQuad
	}
	var body []frontend.Stmt
	var sums []*frontend.Var
	streams, fetch := streamed(outer, w), prefetcher{pos: pos, times: times}
	for ui, u := range units {
		body = append(body, u.j)
		if streams(u.ib) {
			body = append(body, fetch.repeated(u.b, u.ib)...)
			body = append(body, fetch.scales(u, streams)...)
		}
		args := []frontend.Expr{cloneExpr(u.a), cloneExpr(u.ia), cloneExpr(u.b), cloneExpr(u.ib), u.scale}
		if u.nibbles {
			args = append(args, cloneExpr(u.ih))
		}
		for m := int64(1); m < k; m++ {
			at := cloner{rename: map[*frontend.Var]*frontend.Var{}, subst: map[*frontend.Var]frontend.Expr{c.Var: step(m)}}
			args = append(args, at.expr(u.ia), at.expr(u.ib), at.expr(u.scale))
			if u.nibbles {
				args = append(args, at.expr(u.ih))
			}
		}
		if b != nil {
			// step (g − first)/k's sums, 16 a step
			moved := frontend.NewBinary(frontend.SUB, frontend.Use(pos, c.Var), cloneExpr(b.first))
			args = append(args, frontend.Use(pos, b.tables[ui]), frontend.NewBinary(frontend.MUL, moved, frontend.IntConst(pos, frontend.I64, 16/k)))
		}
		dot := frontend.NewBuiltin(pos, builtin, frontend.F32, args...)
		body = append(body, frontend.Set(frontend.Use(pos, u.s), frontend.NewBinary(frontend.ADD, frontend.Use(pos, u.s), dot)))
		sums = append(sums, u.s)
	}
	end, grouped := wholeBlocks(c, pos, k, "groups_end", body)
	lanes[grouped] = sums
	return block(pos, end, grouped)
}

// wholeBlocks is the loop over the whole blocks of k iterations of the counted loop c, from
// its counter's value on,
//
//	var end = j + (trips & -k);
//	while (j < end) { body; j = j + k; }
//
// which leaves the iterations after the last whole block to c's own loop.
func wholeBlocks(c *loops.Counted, pos frontend.Pos, k int64, end string, body []frontend.Stmt) (*frontend.VarDecl, *frontend.While) {
	whole := frontend.NewBinary(frontend.AND, c.Trips(), frontend.IntConst(pos, frontend.I64, -k)) // trips ≥ 0
	d := frontend.Declare(pos, end, frontend.NewBinary(frontend.ADD, frontend.Use(pos, c.Var), whole))
	next := frontend.Set(frontend.Use(pos, c.Var), frontend.NewBinary(frontend.ADD, frontend.Use(pos, c.Var), frontend.IntConst(pos, c.Var.Type, k)))
	return d, &frontend.While{Pos: pos, Cond: frontend.NewBinary(frontend.LSS, frontend.Use(pos, c.Var), frontend.Use(pos, d.Var)),
		Body: block(pos, append(body, next)...)}
}

// laneUnits matches a loop whose body is made only of group sums (see above), all with the
// same dot-loop trip count that does not change in the loop; nil for any other loop.
func laneUnits(w *frontend.While) []laneUnit {
	c := loops.Count(w)
	if c == nil || len(c.Body) == 0 || len(c.Body)%5 != 0 {
		return nil
	}
	changing := map[*frontend.Var]bool{c.Var: true}
	for _, s := range c.Body {
		for _, v := range frontend.Assigned(s) {
			changing[v] = true
		}
	}
	var units []laneUnit
	for k := 0; k < len(c.Body); k += 5 {
		u, ok := laneUnitOf(c.Body[k:k+5], changing)
		if !ok {
			return nil
		}
		if len(units) > 0 && !sameTrips(units[0], u) {
			return nil
		}
		units = append(units, u)
	}
	// No scale reads a unit's own variables (isum, j, t), which the rewritten loop drops or
	// leaves at their first values.
	for _, u := range units {
		for k := 0; k < len(c.Body); k += 5 {
			for _, st := range c.Body[k : k+4] {
				if d, ok := st.(*frontend.VarDecl); ok && readsVar(u.scale, d.Var) {
					return nil
				}
			}
		}
	}
	// Each sum is the only statement of the body that reads or writes its variable.
	uses := map[*frontend.Var]int{}
	for _, s := range c.Body {
		frontend.Inspect(s, func(n frontend.Node) bool {
			if id, ok := n.(*frontend.Ident); ok {
				uses[id.Var]++
			}
			return true
		})
	}
	for _, u := range units {
		if uses[u.s] != 2 {
			return nil
		}
	}
	return units
}

// laneUnitOf matches `i32 isum = 0; var j = J; while (j < n) { isum += … }; var t = isum as
// f32 · …; s = s + t;` with J and n fixed in the loop.
func laneUnitOf(stmts []frontend.Stmt, changing map[*frontend.Var]bool) (laneUnit, bool) {
	var u laneUnit
	acc, ok := stmts[0].(*frontend.VarDecl)
	if !ok || acc.Var.Type != frontend.I32 || !isZero(acc.Init) {
		return u, false
	}
	if u.j, ok = stmts[1].(*frontend.VarDecl); !ok || !loops.Invariant(u.j.Init, changing) || !frontend.Harmless(u.j.Init) {
		return u, false
	}
	if u.dot, ok = stmts[2].(*frontend.While); !ok {
		return u, false
	}
	d := matchDot(u.dot)
	if d == nil || d.Var != u.j.Var || d.acc != acc.Var || !loops.Invariant(d.Bound, changing) {
		return u, false
	}
	u.a, u.ia, u.b, u.ib, u.ih, u.nibbles = d.a, d.ia, d.b, d.ib, d.ih, d.nibbles
	t, ok := stmts[3].(*frontend.VarDecl)
	if !ok || t.Var.Type != frontend.F32 {
		return u, false
	}
	if u.scale = withoutFactor(t.Init, acc.Var); u.scale == nil {
		return u, false
	}
	if u.sumAssign, ok = stmts[4].(*frontend.Assign); !ok || u.sumAssign.Op != frontend.ASSIGN {
		return u, false
	}
	target, ok := u.sumAssign.Target.(*frontend.Ident)
	add, isAdd := u.sumAssign.Value.(*frontend.Binary)
	if !ok || target.Var.Type != frontend.F32 || !isAdd || add.Op != frontend.ADD ||
		!isVar(add.X, target.Var) || !isVar(add.Y, t.Var) {
		return u, false
	}
	u.s = target.Var
	return u, true
}

// sameTrips reports whether two units' dot loops start and end alike.
func sameTrips(x, y laneUnit) bool {
	cx, cy := loops.Count(x.dot), loops.Count(y.dot)
	return x.nibbles == y.nibbles && sameExpr(x.j.Init, y.j.Init) && sameExpr(cx.Limit(), cy.Limit())
}

// withoutFactor returns the product e of f32 factors with the factor `acc as f32` taken out
// (1 when it was the only one), or nil when e is not such a product or reads acc elsewhere.
func withoutFactor(e frontend.Expr, acc *frontend.Var) frontend.Expr {
	var factors []frontend.Expr
	var collect func(e frontend.Expr)
	collect = func(e frontend.Expr) {
		if b, ok := e.(*frontend.Binary); ok && b.Op == frontend.MUL && b.T == frontend.F32 {
			collect(b.X)
			collect(b.Y)
			return
		}
		factors = append(factors, e)
	}
	collect(e)
	var rest frontend.Expr
	found := 0
	for _, f := range factors {
		if conv, ok := f.(*frontend.Convert); ok && isVar(conv.X, acc) {
			found++
			continue
		}
		if readsVar(f, acc) {
			return nil
		}
		if rest == nil {
			rest = f
		} else {
			rest = frontend.NewBinary(frontend.MUL, rest, f)
		}
	}
	if found != 1 {
		return nil
	}
	if rest == nil {
		rest = frontend.FloatConst(e.Position(), frontend.F32, 1)
	}
	return rest
}

// readsVar reports whether e uses v.
func readsVar(e frontend.Expr, v *frontend.Var) bool {
	found := false
	frontend.Inspect(e, func(n frontend.Node) bool {
		found = found || isVar(asExpr(n), v)
		return !found
	})
	return found
}

func asExpr(n frontend.Node) frontend.Expr {
	e, _ := n.(frontend.Expr)
	return e
}

func isZero(e frontend.Expr) bool {
	k, ok := e.(*frontend.Const)
	return ok && k.T.IsInt() && k.Int == 0
}

// sameExpr reports whether x and y are the same expression of constants, variables and
// operators.
func sameExpr(x, y frontend.Expr) bool {
	switch x := x.(type) {
	case *frontend.Const:
		k, ok := y.(*frontend.Const)
		return ok && k.T == x.T && k.Int == x.Int && k.Float == x.Float
	case *frontend.Ident:
		return isVar(y, x.Var)
	case *frontend.Convert:
		c, ok := y.(*frontend.Convert)
		return ok && c.T == x.T && sameExpr(x.X, c.X)
	case *frontend.Binary:
		b, ok := y.(*frontend.Binary)
		return ok && b.Op == x.Op && b.T == x.T && sameExpr(x.X, b.X) && sameExpr(x.Y, b.Y)
	}
	return false
}
