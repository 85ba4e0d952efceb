package lower

import (
	"maps"
	"slices"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// checker writes the checks of language §4.1 into a function: an access out of range is not
// performed (a read gives zero), an integer division by zero gives zero, and either reports
// its site, index and size to the call's report (package entry's run time) and goes on.
//
// Checks cost little where it matters: a counted loop whose accesses (with those of the
// innermost loops in its body) are affine in the counters gets a fast twin, chosen when one
// test before the loop shows that every such access stays in range (versionLoops); only the
// other twin checks each access.
type checker struct {
	fn       *frontend.Func
	sites    *[]abi.Site
	slot     *frontend.VarDecl        // var slot = Slot(), once the function has a check
	proven   map[*frontend.Index]bool // accesses a test before their loop has checked
	parallel map[*frontend.While]bool // loops that run on threads
	file     string
}

// addChecks checks the accesses and divisions of fn, appending their sites to sites.
func addChecks(fn *frontend.Func, file string, sites *[]abi.Site, parallel map[*frontend.While]bool) {
	c := &checker{fn: fn, file: file, sites: sites, proven: map[*frontend.Index]bool{}, parallel: parallel}
	c.versionLoops(fn.Body)
	x := expander{checks: c}
	fn.Body.Stmts = x.stmts(fn.Body.Stmts)
	if c.slot == nil {
		return
	}
	// Parallel loop bodies run on other threads. Their own checks report to this call's slot;
	// functions they call find it through the thread's redirect, set for the body and
	// restored after it. A body without calls needs no redirect (it would cost two calls
	// per iteration).
	frontend.Inspect(fn.Body, func(n frontend.Node) bool {
		if w, ok := n.(*frontend.While); ok && parallel[w] && callsFunction(w.Body) {
			prev := frontend.Declare(w.Pos, "previous_slot", runtimeCall(w.Pos, frontend.SetSlot, abi.SetSlotSymbol, frontend.I64, use(c.slot.Var)))
			restore := &frontend.ExprStmt{X: runtimeCall(w.Pos, frontend.SetSlot, abi.SetSlotSymbol, frontend.I64, use(prev.Var))}
			last := len(w.Body.Stmts) - 1 // the counter's increment stays last
			body := append([]frontend.Stmt{prev}, w.Body.Stmts[:last]...)
			w.Body.Stmts = append(body, restore, w.Body.Stmts[last])
		}
		return true
	})
	fn.Body.Stmts = append([]frontend.Stmt{c.slot}, fn.Body.Stmts...)
}

// callsFunction reports whether b calls a SimpLang function.
func callsFunction(b *frontend.Block) bool {
	found := false
	frontend.Inspect(b, func(n frontend.Node) bool {
		if c, ok := n.(*frontend.Call); ok && c.Func != nil {
			found = true
		}
		return !found
	})
	return found
}

// wants reports whether access ix needs a check (a nil checker checks nothing).
func (c *checker) wants(ix *frontend.Index) bool { return c != nil && !c.proven[ix] }

// divides reports whether b is an integer division that c checks (checkedDivision).
func (c *checker) divides(b *frontend.Binary) bool { return c != nil && checkedDivision(b) }

// checkedDivision reports whether b is an integer division that needs a check: its divisor
// is not a constant other than 0 and (for signed types) −1.
func checkedDivision(b *frontend.Binary) bool {
	if (b.Op != frontend.QUO && b.Op != frontend.REM) || !b.T.IsInt() {
		return false
	}
	k, ok := b.Y.(*frontend.Const)
	return !ok || k.Int == 0 || k.Int == -1 && !b.T.IsUnsigned()
}

// report is the statement that reports a failure at site.
func (c *checker) report(pos frontend.Pos, site int, index, size frontend.Expr) frontend.Stmt {
	if c.slot == nil {
		c.slot = frontend.Declare(c.fn.Pos, "slot", runtimeCall(c.fn.Pos, frontend.Slot, abi.SlotSymbol, frontend.I64))
	}
	args := []frontend.Expr{use(c.slot.Var), frontend.IntConst(pos, frontend.I32, int64(site)), index, size}
	return &frontend.ExprStmt{X: runtimeCall(pos, frontend.Report, abi.ReportSymbol, frontend.Void, args...)}
}

// runtimeCall calls the run-time function name of package entry, as internal builtin b.
func runtimeCall(pos frontend.Pos, b frontend.Builtin, name string, t frontend.Type, args ...frontend.Expr) *frontend.Call {
	c := frontend.NewBuiltin(pos, b, t, args...)
	c.Name = name
	return c
}

func (c *checker) site(s abi.Site) int {
	s.Func = c.fn.Name
	*c.sites = append(*c.sites, s)
	return len(*c.sites) - 1
}

func (c *checker) position(p frontend.Pos) string {
	return c.file + ":" + p.String()
}

func i64(pos frontend.Pos, v int64) frontend.Expr { return frontend.IntConst(pos, frontend.I64, v) }

// within is 0 ≤ i < size.
func within(i, size frontend.Expr) frontend.Expr {
	lo := frontend.NewBinary(frontend.GEQ, i, i64(i.Position(), 0))
	return frontend.NewBinary(frontend.LAND, lo, frontend.NewBinary(frontend.LSS, i, size))
}

// guard is `if (in range) { access } else { report the first index out of range }` for the
// access ix, whose array and indices are variables or constants by now: each index of a
// multi-dimensional local array against its dimension, an array's one index against its
// element count.
func (c *checker) guard(ix *frontend.Index, access frontend.Stmt) frontend.Stmt {
	pos := ix.Position()
	name := ix.Array.(*frontend.Ident).Name
	var tests []frontend.Expr
	var reports []frontend.Stmt
	for k, i := range ix.Indices {
		size := frontend.Expr(frontend.NewBuiltin(pos, frontend.Len, frontend.I64, ix.Array))
		if len(ix.Indices) > 1 {
			size = frontend.NewBuiltin(pos, frontend.Dim, frontend.I64, ix.Array, i64(pos, int64(k)))
		}
		tests = append(tests, within(i, size))
		site := c.site(abi.Site{Pos: c.position(i.Position()), Kind: abi.IndexSite, Array: name, Dim: k})
		reports = append(reports, c.report(pos, site, i, size))
	}
	c.proven[ix] = true
	ok := tests[0]
	for _, t := range tests[1:] {
		ok = frontend.NewBinary(frontend.LAND, ok, t)
	}
	// if (!ok_0) report_0 else if (!ok_1) report_1 … else report_last
	failure := reports[len(reports)-1]
	for k := len(tests) - 2; k >= 0; k-- {
		failure = &frontend.If{Pos: pos, Cond: frontend.Not(tests[k]), Then: block(pos, reports[k]), Else: block(pos, failure)}
	}
	return &frontend.If{Pos: pos, Cond: ok, Then: block(pos, access), Else: block(pos, failure)}
}

// operands saves the array and indices of ix in temporaries, as guard uses them repeatedly.
func (c *checker) operands(x *expander, ix *frontend.Index) {
	ix.Array = x.save(ix.Array)
	for i, e := range ix.Indices {
		ix.Indices[i] = x.save(e)
	}
}

// load checks a read of ix: `var v = 0; if (in range) { v = ix; } else { report }`.
func (c *checker) load(x *expander, ix *frontend.Index) frontend.Expr {
	c.operands(x, ix)
	v := frontend.Declare(ix.Position(), "elem", frontend.Zero(ix.Position(), ix.Type()))
	x.pre = append(x.pre, v, c.guard(ix, frontend.Set(use(v.Var), ix)))
	return use(v.Var)
}

// store checks the assignment s to element ix: its value is evaluated whatever the index.
func (c *checker) store(x *expander, s *frontend.Assign, ix *frontend.Index) frontend.Stmt {
	c.operands(x, ix)
	s.Value = x.save(s.Value)
	return c.guard(ix, s)
}

// divide checks x / y and x % y on integers: a zero divisor reports and gives 0; for signed
// types −1 gives −x and 0 without dividing (the one quotient that overflows, and traps on
// x86).
func (c *checker) divide(x *expander, b *frontend.Binary) frontend.Expr {
	pos := b.OpPos
	b.X, b.Y = x.save(b.X), x.save(b.Y)
	r := frontend.Declare(pos, "quotient", frontend.Zero(pos, b.T))
	zero := frontend.Zero(pos, b.T)
	site := c.site(abi.Site{Pos: c.position(pos), Kind: abi.DivideSite})
	var divided frontend.Stmt = frontend.Set(use(r.Var), b)
	if !b.T.IsUnsigned() {
		overflow := frontend.Expr(zero)
		if b.Op == frontend.QUO {
			overflow = frontend.NewBinary(frontend.SUB, frontend.Zero(pos, b.T), b.X)
		}
		divided = &frontend.If{Pos: pos,
			Cond: frontend.NewBinary(frontend.EQL, b.Y, frontend.IntConst(pos, b.T, -1)),
			Then: block(pos, frontend.Set(use(r.Var), overflow)),
			Else: block(pos, divided)}
	}
	x.pre = append(x.pre, r, &frontend.If{Pos: pos,
		Cond: frontend.NewBinary(frontend.EQL, b.Y, zero),
		Then: block(pos, c.report(pos, site, i64(pos, 0), i64(pos, 0))),
		Else: block(pos, divided)})
	return use(r.Var)
}

// versionLoops gives counted loops under b whose accesses include affine ones a fast twin:
// `if (they stay in range) { the loop, those accesses unchecked } else { the loop, checked }`.
// A loop is tested as a whole, with the counted loops nested in it, where it can be: once
// before a mat-vec's parallel loop over its rows rather than once per row. The loops inside
// both twins are then tried on their own for the accesses left. A parallel loop's twins are
// both parallel.
func (c *checker) versionLoops(b *frontend.Block) {
	var visit func(w *frontend.While) frontend.Stmt
	visit = func(w *frontend.While) frontend.Stmt {
		l := loops.Count(w)
		if l == nil {
			rewriteLoops(w.Body, visit)
			return w
		}
		test := c.rangeTest(w, l)
		if test == nil {
			rewriteLoops(w.Body, visit)
			return w
		}
		slow := twin(w)
		if c.parallel[w] {
			c.parallel[slow] = true
		}
		rewriteLoops(w.Body, visit)
		rewriteLoops(slow.Body, visit)
		return &frontend.If{Pos: w.Pos, Cond: test, Then: block(w.Pos, w), Else: block(w.Pos, slow)}
	}
	rewriteLoops(b, visit)
}

// The numbers a range test computes with stay far from 2^63 when every counter's first value
// and limit, every bound an if puts on a counter, and every access's base lie within
// ±rangeBound and the coefficients and steps within ±smallFactor (coefficients that are not
// constants must be in [0, smallFactor]): the test itself never wraps, so it cannot pass by
// overflow. (Arrays of more than 2^40 elements are not to be had.)
const (
	rangeBound  = 1 << 40
	smallFactor = 1 << 20
)

// counter is the range of a loop counter where the test sees it: values from first to last
// (none when last < first), every step-th of them in a loop's span, fewer under an if that
// bounds the counter.
type counter struct {
	v           *frontend.Var
	first, last frontend.Expr // i64
}

// none is the condition that k takes no value: the accesses under it do not run.
func (k counter) none() frontend.Expr { return frontend.NewBinary(frontend.LSS, k.last, k.first) }

// test collects a range test's conditions.
type test struct {
	pos    frontend.Pos
	guards frontend.Expr
}

func and(x, y frontend.Expr) frontend.Expr {
	if x == nil {
		return y
	}
	if y == nil {
		return x
	}
	return frontend.NewBinary(frontend.LAND, x, y)
}

func (t *test) bounded(e frontend.Expr, lo, hi int64) {
	t.guards = and(t.guards, and(frontend.NewBinary(frontend.GEQ, e, i64(t.pos, lo)), frontend.NewBinary(frontend.LEQ, e, i64(t.pos, hi))))
}

// span is the counter of loop l as the test sees it, the counter starting at first.
func (t *test) span(l *loops.Counted, first frontend.Expr) counter {
	limit := frontend.Conv(l.Limit(), frontend.I64)
	t.bounded(first, -rangeBound, rangeBound)
	t.bounded(limit, -rangeBound, rangeBound)
	distance := frontend.NewBuiltin(t.pos, frontend.Max, frontend.I64, frontend.NewBinary(frontend.SUB, limit, first), i64(t.pos, 0))
	trips := frontend.NewBinary(frontend.QUO, frontend.NewBinary(frontend.ADD, distance, i64(t.pos, l.Step-1)), i64(t.pos, l.Step))
	last := frontend.NewBinary(frontend.ADD, first, frontend.NewBinary(frontend.MUL, frontend.NewBinary(frontend.SUB, trips, i64(t.pos, 1)), i64(t.pos, l.Step)))
	return counter{v: l.Var, first: first, last: last}
}

// rangeTest returns the test that the accesses of loop w with indices affine in the counters
// (its own and those of the counted loops in it) stay in range, `guards && (no trips ||
// ranges && (inner loop: no trips || its ranges) …)`, marking those accesses proven; or nil
// when there are none. Accesses under an if may not run in every iteration: they are
// checked where they run, unless the if bounds a counter (`if (i < rows1)`), which then
// ranges over the values its branches see.
func (c *checker) rangeTest(w *frontend.While, l *loops.Counted) frontend.Expr {
	if l.Step > smallFactor {
		return nil
	}
	t := &test{pos: w.Pos}
	s := scope{changing: changingIn(w.Body, l.Var), defs: definitions(w.Body.Stmts)}
	outer := t.span(l, frontend.Conv(frontend.Conv(use(l.Var), l.CmpType), frontend.I64))
	ranges := c.scan(t, &s, w.Body.Stmts, []counter{outer}, map[*frontend.Var]frontend.Expr{})
	if ranges == nil {
		return nil
	}
	return and(t.guards, frontend.NewBinary(frontend.LOR, outer.none(), ranges))
}

// scope is what a range test knows of the loop it versions: the variables that change
// between its iterations, and the integer variables its body defines once (definitions).
type scope struct {
	changing map[*frontend.Var]bool
	defs     map[*frontend.Var]frontend.Expr
}

// scan returns the range conditions of the accesses in stmts, a loop's body or a branch in
// it, whose counters range over counters; start holds the values variables have wherever
// stmts begin, where a loop inside may start its counter.
func (c *checker) scan(t *test, s *scope, stmts []frontend.Stmt, counters []counter, start map[*frontend.Var]frontend.Expr) frontend.Expr {
	start = maps.Clone(start)
	var ranges frontend.Expr
	for _, st := range stmts {
		ranges = and(ranges, c.prove(t, s, st, counters))
		switch st := st.(type) {
		case *frontend.VarDecl:
			start[st.Var] = st.Init
			continue
		case *frontend.Assign:
			if id, ok := st.Target.(*frontend.Ident); ok {
				start[id.Var] = st.Value
				continue
			}
		case *frontend.While:
			ranges = and(ranges, c.scanLoop(t, s, st, counters, start))
		case *frontend.If:
			ranges = and(ranges, c.scanIf(t, s, st, counters, start))
		}
		for _, v := range frontend.Assigned(st) {
			delete(start, v) // changed by st: no longer a known start below
		}
	}
	return ranges
}

// scanLoop is scan for a counted loop inside the tested one: its counter must start from a
// known value and count to a limit, both the same in every iteration of the tested loop.
func (c *checker) scanLoop(t *test, s *scope, w *frontend.While, counters []counter, start map[*frontend.Var]frontend.Expr) frontend.Expr {
	m := loops.Count(w)
	if m == nil || m.Step > smallFactor {
		return nil
	}
	first, known := start[m.Var]
	if !known || !loops.Invariant(first, s.changing) || !frontend.Harmless(first) ||
		!loops.Invariant(m.Limit(), s.changing) || !frontend.Harmless(m.Limit()) {
		return nil
	}
	sp := t.span(m, frontend.Conv(first, frontend.I64))
	// A value given before the loop holds in its body only while the body never assigns it:
	// after the first iteration it is what the last one left.
	within := maps.Clone(start)
	for _, v := range frontend.Assigned(w.Body) {
		delete(within, v)
	}
	ranges := c.scan(t, s, w.Body.Stmts, append(slices.Clone(counters), sp), within)
	if ranges == nil {
		return nil
	}
	return frontend.NewBinary(frontend.LOR, sp.none(), ranges)
}

// scanIf is scan for the branches of an if that bounds a counter.
func (c *checker) scanIf(t *test, s *scope, st *frontend.If, counters []counter, start map[*frontend.Var]frontend.Expr) frontend.Expr {
	k, then, otherwise := t.narrow(s, st.Cond, counters)
	if k < 0 {
		return nil
	}
	branch := func(stmts []frontend.Stmt, bound counter) frontend.Expr {
		within := append(slices.Clone(counters[:k]), bound)
		ranges := c.scan(t, s, stmts, append(within, counters[k+1:]...), start)
		if ranges == nil {
			return nil
		}
		return frontend.NewBinary(frontend.LOR, bound.none(), ranges)
	}
	ranges := branch(st.Then.Stmts, then)
	if otherwise == nil || st.Else == nil {
		return ranges
	}
	els := []frontend.Stmt{st.Else} // else if
	if b, ok := st.Else.(*frontend.Block); ok {
		els = b.Stmts
	}
	return and(ranges, branch(els, *otherwise))
}

// narrow reads cond as a bound on a counter, `i < e` or `i <= e`, `i > e`, `i >= e` (or
// e on the left) with e the same in every iteration: it returns the counter's index and
// its range where cond holds and, unless cond is a conjunction, where it does not; k < 0
// when cond is no such bound.
func (t *test) narrow(s *scope, cond frontend.Expr, counters []counter) (k int, then counter, otherwise *counter) {
	b, ok := cond.(*frontend.Binary)
	if !ok {
		return -1, counter{}, nil
	}
	if b.Op == frontend.LAND { // both bounds, on one counter
		kx, x, _ := t.narrow(s, b.X, counters)
		if kx < 0 {
			return -1, counter{}, nil
		}
		within := slices.Clone(counters)
		within[kx] = x
		ky, y, _ := t.narrow(s, b.Y, within)
		if ky != kx {
			return -1, counter{}, nil
		}
		return kx, y, nil
	}
	op := b.Op
	x, e := b.X, b.Y
	k = counterIn(x, counters)
	if k < 0 {
		x, e = e, x
		k = counterIn(x, counters)
		op = map[frontend.TokenKind]frontend.TokenKind{frontend.LSS: frontend.GTR, frontend.LEQ: frontend.GEQ, frontend.GTR: frontend.LSS, frontend.GEQ: frontend.LEQ}[op]
	}
	if k < 0 || !x.Type().IsInt() || x.Type().IsUnsigned() || !loops.Invariant(e, s.changing) || !frontend.Harmless(e) {
		return -1, counter{}, nil
	}
	bound := frontend.Conv(e, frontend.I64)
	t.bounded(bound, -rangeBound, rangeBound)
	below := func(v frontend.Expr) counter { // values ≤ v
		c := counters[k]
		c.last = frontend.NewBuiltin(t.pos, frontend.Min, frontend.I64, c.last, v)
		return c
	}
	above := func(v frontend.Expr) counter { // values ≥ v
		c := counters[k]
		c.first = frontend.NewBuiltin(t.pos, frontend.Max, frontend.I64, c.first, v)
		return c
	}
	minus := frontend.NewBinary(frontend.SUB, bound, i64(t.pos, 1))
	plus := frontend.NewBinary(frontend.ADD, bound, i64(t.pos, 1))
	var yes, no counter
	switch op {
	case frontend.LSS:
		yes, no = below(minus), above(bound)
	case frontend.LEQ:
		yes, no = below(bound), above(plus)
	case frontend.GTR:
		yes, no = above(plus), below(bound)
	case frontend.GEQ:
		yes, no = above(bound), below(minus)
	default:
		return -1, counter{}, nil
	}
	return k, yes, &no
}

// counterIn is the index in counters of the counter e reads (through integer widenings), or −1.
func counterIn(e frontend.Expr, counters []counter) int {
	if id, ok := unwiden(e).(*frontend.Ident); ok {
		for i, k := range counters {
			if id.Var == k.v {
				return i
			}
		}
	}
	return -1
}

// unwiden is e without its integer widenings, which change no value.
func unwiden(e frontend.Expr) frontend.Expr {
	for {
		cv, ok := e.(*frontend.Convert)
		if !ok || !cv.T.IsInt() || !cv.X.Type().IsInt() || cv.X.Type().Kind.Size() > cv.T.Kind.Size() {
			return e
		}
		e = cv.X
	}
}

// changingIn is the set of variables that differ between iterations of a loop with this body
// and counters ivs (none: the body assigns the counter).
func changingIn(body *frontend.Block, ivs ...*frontend.Var) map[*frontend.Var]bool {
	changing := map[*frontend.Var]bool{}
	for _, iv := range ivs {
		changing[iv] = true
	}
	for _, v := range frontend.Assigned(body) {
		changing[v] = true
	}
	frontend.Inspect(body, func(n frontend.Node) bool {
		if d, ok := n.(*frontend.VarDecl); ok {
			changing[d.Var] = true
		}
		return true
	})
	return changing
}

// definitions maps the integer variables that stmts (and the branches of their ifs, not
// their loops) declare and never reassign to their values.
func definitions(stmts []frontend.Stmt) map[*frontend.Var]frontend.Expr {
	defs := map[*frontend.Var]frontend.Expr{}
	var declare func(stmts []frontend.Stmt)
	declare = func(stmts []frontend.Stmt) {
		for _, s := range stmts {
			switch s := s.(type) {
			case *frontend.VarDecl:
				if s.Var.Type.IsInt() {
					defs[s.Var] = s.Init
				}
			case *frontend.If:
				declare(s.Then.Stmts)
				if s.Else != nil {
					declare([]frontend.Stmt{s.Else})
				}
			case *frontend.Block:
				declare(s.Stmts)
			}
		}
	}
	declare(stmts)
	for _, s := range stmts {
		for _, v := range frontend.Assigned(s) {
			delete(defs, v)
		}
	}
	return defs
}

// prove adds the range conditions of the accesses of n (not inside its loops or ifs) whose
// one index is affine in the counters, over the counters' ranges, and marks them proven; it
// returns their conjunction, or nil. The arrays and bases must not change in the tested loop.
func (c *checker) prove(t *test, s *scope, n frontend.Node, counters []counter) frontend.Expr {
	var ranges frontend.Expr
	frontend.Inspect(n, func(n frontend.Node) bool {
		switch n.(type) {
		case *frontend.If, *frontend.While:
			return false
		}
		ix, ok := n.(*frontend.Index)
		if !ok || len(ix.Indices) != 1 || c.proven[ix] {
			return true
		}
		a, ok := ix.Array.(*frontend.Ident)
		if !ok || s.changing[a.Var] {
			return true
		}
		form, ok := linearForm(ix.Indices[0], counters, s.changing, s.defs, 0)
		if !ok || len(form.coefs) == 0 {
			return true
		}
		lo, hi := form.base, form.base
		t.bounded(form.base, -rangeBound, rangeBound)
		for _, k := range counters {
			coef, ok := form.coefs[k.v]
			if !ok {
				continue
			}
			down := false
			if kc, isConst := coef.(*frontend.Const); isConst {
				if kc.Int < -smallFactor || kc.Int > smallFactor {
					return true
				}
				down = kc.Int < 0
			} else {
				t.bounded(coef, 0, smallFactor)
			}
			low, high := frontend.NewBinary(frontend.MUL, coef, k.first), frontend.NewBinary(frontend.MUL, coef, k.last)
			if down {
				low, high = high, low
			}
			lo, hi = frontend.NewBinary(frontend.ADD, lo, low), frontend.NewBinary(frontend.ADD, hi, high)
		}
		size := frontend.NewBuiltin(t.pos, frontend.Len, frontend.I64, a)
		ranges = and(ranges, and(frontend.NewBinary(frontend.GEQ, lo, i64(t.pos, 0)), frontend.NewBinary(frontend.LSS, hi, size)))
		c.proven[ix] = true
		return true
	})
	return ranges
}

// linear is an i64 index written as base + Σ coef·counter, with base and the coefficients
// invariant in the loops and harmless (see loops.Invariant).
type linear struct {
	base  frontend.Expr
	coefs map[*frontend.Var]frontend.Expr
}

// linearForm writes e as a linear form of the counters, looking through the variables the
// tested loop's body defines (defs), or reports false. A definition stands outside the
// loops in that body, where of the counters only the tested loop's (counters[0]) keeps the
// value it had there.
func linearForm(e frontend.Expr, counters []counter, changing map[*frontend.Var]bool, defs map[*frontend.Var]frontend.Expr, depth int) (linear, bool) {
	pos := e.Position()
	zero := linear{base: i64(pos, 0), coefs: map[*frontend.Var]frontend.Expr{}}
	if k := counterIn(e, counters); k >= 0 {
		zero.coefs[counters[k].v] = i64(pos, 1)
		return zero, true
	}
	if id, ok := unwiden(e).(*frontend.Ident); ok {
		if def, ok := defs[id.Var]; ok && depth < 8 {
			return linearForm(frontend.Conv(def, frontend.I64), counters[:1], changing, defs, depth+1)
		}
	}
	if b, ok := e.(*frontend.Binary); ok && b.T == frontend.I64 {
		switch b.Op {
		case frontend.ADD, frontend.SUB:
			x, okx := linearForm(b.X, counters, changing, defs, depth)
			y, oky := linearForm(b.Y, counters, changing, defs, depth)
			if okx && oky {
				return x.combine(b.Op, y), true
			}
		case frontend.MUL:
			for _, f := range [][2]frontend.Expr{{b.X, b.Y}, {b.Y, b.X}} {
				if !loops.Invariant(f[1], changing) || !frontend.Harmless(f[1]) {
					continue
				}
				if x, ok := linearForm(f[0], counters, changing, defs, depth); ok {
					return x.scale(f[1]), true
				}
			}
		}
	}
	if e.Type() == frontend.I64 && loops.Invariant(e, changing) && frontend.Harmless(e) {
		zero.base = e
		return zero, true
	}
	return linear{}, false
}

// combine is x op y for op + or −.
func (x linear) combine(op frontend.TokenKind, y linear) linear {
	r := linear{base: fold(op, x.base, y.base), coefs: map[*frontend.Var]frontend.Expr{}}
	for v, c := range x.coefs {
		r.coefs[v] = c
	}
	for v, c := range y.coefs {
		old, ok := r.coefs[v]
		if !ok {
			old = i64(c.Position(), 0)
		}
		r.coefs[v] = fold(op, old, c)
	}
	return r
}

// scale is x·k for an invariant k.
func (x linear) scale(k frontend.Expr) linear {
	r := linear{base: fold(frontend.MUL, x.base, k), coefs: map[*frontend.Var]frontend.Expr{}}
	for v, c := range x.coefs {
		r.coefs[v] = fold(frontend.MUL, c, k)
	}
	return r
}

// fold is x op y (+, − or ·) on i64, computed now when both are constants, so that constant
// coefficients stay constants.
func fold(op frontend.TokenKind, x, y frontend.Expr) frontend.Expr {
	kx, okx := x.(*frontend.Const)
	ky, oky := y.(*frontend.Const)
	if !okx || !oky {
		return frontend.NewBinary(op, x, y)
	}
	switch op {
	case frontend.ADD:
		return i64(kx.Pos, kx.Int+ky.Int)
	case frontend.SUB:
		return i64(kx.Pos, kx.Int-ky.Int)
	}
	return i64(kx.Pos, kx.Int*ky.Int)
}
