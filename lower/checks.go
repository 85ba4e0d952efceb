package lower

import (
	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// checker writes the checks of language §4.1 into a function: an access out of range is not
// performed (a read gives zero), an integer division by zero gives zero, and either reports
// its site, index and size to the call's report (package entry's run time) and goes on.
//
// Checks cost little where it matters: an innermost counted loop whose accesses are affine in
// its counter gets a fast twin, chosen when one test before the loop shows that every such
// access stays in range (version); only the other twin checks each access.
type checker struct {
	fn     *frontend.Func
	sites  *[]abi.Site
	slot   *frontend.VarDecl        // var slot = Slot(), once the function has a check
	proven map[*frontend.Index]bool // accesses a test before their loop has checked
	loops  map[*frontend.While]bool // parallel loops, whose bodies report to the caller
	file   string
}

// addChecks checks the accesses and divisions of fn, appending their sites to sites.
func addChecks(fn *frontend.Func, file string, sites *[]abi.Site, parallel map[*frontend.While]bool) {
	c := &checker{fn: fn, file: file, sites: sites, proven: map[*frontend.Index]bool{}}
	c.versionLoops(fn.Body)
	x := expander{checks: c}
	fn.Body.Stmts = x.stmts(fn.Body.Stmts)
	if c.slot == nil {
		return
	}
	// Parallel loop bodies run on other threads: their failures go to this call's report,
	// and each thread reports where it did before once the body is done.
	frontend.Inspect(fn.Body, func(n frontend.Node) bool {
		if w, ok := n.(*frontend.While); ok && parallel[w] {
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

// wants reports whether access ix needs a check (a nil checker checks nothing).
func (c *checker) wants(ix *frontend.Index) bool { return c != nil && !c.proven[ix] }

// divides reports whether b is an integer division that needs a check: its divisor is not a
// constant other than 0 and (for signed types) −1.
func (c *checker) divides(b *frontend.Binary) bool {
	if c == nil || (b.Op != frontend.QUO && b.Op != frontend.REM) || !b.T.IsInt() {
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

// versionLoops gives each innermost counted loop under b whose accesses include affine ones
// a fast twin: `if (they stay in range) { the loop, those accesses unchecked } else { the
// loop, checked }`.
func (c *checker) versionLoops(b *frontend.Block) {
	var visit func(w *frontend.While) frontend.Stmt
	visit = func(w *frontend.While) frontend.Stmt {
		if hasLoop(w.Body.Stmts) {
			rewriteLoops(w.Body, visit)
			return w
		}
		if l := loops.Count(w); l != nil {
			if test := c.rangeTest(w, l); test != nil {
				slow := twin(w)
				return &frontend.If{Pos: w.Pos, Cond: test, Then: block(w.Pos, w), Else: block(w.Pos, slow)}
			}
		}
		return w
	}
	rewriteLoops(b, visit)
}

func hasLoop(stmts []frontend.Stmt) bool {
	found := false
	for _, s := range stmts {
		frontend.Inspect(s, func(n frontend.Node) bool {
			_, isLoop := n.(*frontend.While)
			found = found || isLoop
			return !found
		})
	}
	return found
}

// The numbers a range test computes with stay far from 2^63 when the counter's first value,
// the loop's limit and each access's base lie within ±rangeBound and the coefficients and
// the step are at most smallFactor: the test itself never wraps, so it cannot pass by
// overflow. (Arrays of more than 2^40 elements are not to be had.)
const (
	rangeBound  = 1 << 40
	smallFactor = 1 << 20
)

// rangeTest returns the test that every access of loop w that runs in each iteration (not
// under an if) with an index affine in its counter stays in range, `bounded && (trips ≤ 0 ||
// (0 ≤ lo && hi < len(a)) && …)`, marking those accesses proven; or nil when it has none.
func (c *checker) rangeTest(w *frontend.While, l *loops.Counted) frontend.Expr {
	if l.Step > smallFactor {
		return nil
	}
	changing := map[*frontend.Var]bool{l.Var: true}
	for _, v := range frontend.Assigned(w.Body) {
		changing[v] = true
	}
	frontend.Inspect(w.Body, func(n frontend.Node) bool {
		if d, ok := n.(*frontend.VarDecl); ok {
			changing[d.Var] = true
		}
		return true
	})
	pos := w.Pos
	and := func(x, y frontend.Expr) frontend.Expr {
		if x == nil {
			return y
		}
		return frontend.NewBinary(frontend.LAND, x, y)
	}
	bounded := func(e frontend.Expr) frontend.Expr {
		return and(frontend.NewBinary(frontend.GEQ, e, i64(pos, -rangeBound)), frontend.NewBinary(frontend.LEQ, e, i64(pos, rangeBound)))
	}
	trips := l.Trips()
	first := frontend.Conv(frontend.Conv(use(l.Var), l.CmpType), frontend.I64)
	last := frontend.NewBinary(frontend.ADD, first, frontend.NewBinary(frontend.MUL,
		frontend.NewBinary(frontend.SUB, trips, i64(pos, 1)), i64(pos, l.Step)))
	guards := and(bounded(first), bounded(frontend.Conv(l.Limit(), frontend.I64)))
	var ranges frontend.Expr
	frontend.Inspect(w.Body, func(n frontend.Node) bool {
		if _, conditional := n.(*frontend.If); conditional {
			return false // may not run in every iteration: checked where it runs
		}
		ix, ok := n.(*frontend.Index)
		if !ok || len(ix.Indices) != 1 {
			return true
		}
		a, ok := ix.Array.(*frontend.Ident)
		if !ok || changing[a.Var] {
			return true
		}
		coef, base, ok := affine(ix.Indices[0], l.Var, changing)
		if !ok || coef == 0 || coef > smallFactor || coef < -smallFactor {
			return true
		}
		at := func(t frontend.Expr) frontend.Expr {
			return frontend.NewBinary(frontend.ADD, base, frontend.NewBinary(frontend.MUL, i64(pos, coef), t))
		}
		lo, hi := at(first), at(last)
		if coef < 0 {
			lo, hi = hi, lo
		}
		size := frontend.NewBuiltin(pos, frontend.Len, frontend.I64, a)
		guards = and(guards, bounded(base))
		ranges = and(ranges, and(frontend.NewBinary(frontend.GEQ, lo, i64(pos, 0)), frontend.NewBinary(frontend.LSS, hi, size)))
		c.proven[ix] = true
		return true
	})
	if ranges == nil {
		return nil
	}
	return and(guards, frontend.NewBinary(frontend.LOR, frontend.NewBinary(frontend.LEQ, trips, i64(pos, 0)), ranges))
}

// affine writes the i64 index e as coef·iv + base, with base invariant in the loop and
// harmless (see loops.Invariant), or reports false.
func affine(e frontend.Expr, iv *frontend.Var, changing map[*frontend.Var]bool) (int64, frontend.Expr, bool) {
	pos := e.Position()
	inner := e
	for {
		cv, ok := inner.(*frontend.Convert)
		if !ok || !cv.T.IsInt() || !cv.X.Type().IsInt() || cv.X.Type().Kind.Size() > cv.T.Kind.Size() {
			break
		}
		inner = cv.X
	}
	if id, ok := inner.(*frontend.Ident); ok && id.Var == iv {
		return 1, i64(pos, 0), true
	}
	if b, ok := e.(*frontend.Binary); ok && b.T == frontend.I64 {
		switch b.Op {
		case frontend.ADD, frontend.SUB:
			cx, bx, okx := affine(b.X, iv, changing)
			cy, by, oky := affine(b.Y, iv, changing)
			if okx && oky {
				if b.Op == frontend.SUB {
					return cx - cy, frontend.NewBinary(frontend.SUB, bx, by), true
				}
				return cx + cy, frontend.NewBinary(frontend.ADD, bx, by), true
			}
		case frontend.MUL:
			if k, ok := b.Y.(*frontend.Const); ok {
				if cx, bx, okx := affine(b.X, iv, changing); okx {
					return cx * k.Int, frontend.NewBinary(frontend.MUL, bx, k), true
				}
			}
			if k, ok := b.X.(*frontend.Const); ok {
				if cy, by, oky := affine(b.Y, iv, changing); oky {
					return cy * k.Int, frontend.NewBinary(frontend.MUL, k, by), true
				}
			}
		}
	}
	if e.Type() == frontend.I64 && loops.Invariant(e, changing) && frontend.Harmless(e) {
		return 0, e, true
	}
	return 0, nil, false
}
