package loops

import "github.com/simplang/simplang/frontend"

// The expressions below are evaluated where the loop starts, or after it with the counter
// still holding its value from before the loop (as a generator that gives the loop its own
// counter leaves it): they read the counter as the loop's first value.

// Limit is the loop's exclusive bound, in CmpType.
func (c *Counted) Limit() frontend.Expr {
	if !c.Inclusive {
		return c.Bound
	}
	return frontend.NewBinary(frontend.ADD, c.Bound, frontend.IntConst(c.pos, c.CmpType, 1))
}

// span is max(limit − first, 0) in i64: the distance the counter travels.
func (c *Counted) span() frontend.Expr {
	first := frontend.Conv(frontend.Conv(frontend.Use(c.pos, c.Var), c.CmpType), frontend.I64)
	diff := frontend.NewBinary(frontend.SUB, frontend.Conv(c.Limit(), frontend.I64), first)
	return frontend.NewBuiltin(c.pos, frontend.Max, frontend.I64, diff, frontend.IntConst(c.pos, frontend.I64, 0))
}

// Trips is the number of iterations, an i64: ⌈max(limit − first, 0) / step⌉.
func (c *Counted) Trips() frontend.Expr {
	if c.Step == 1 {
		return c.span()
	}
	rounded := frontend.NewBinary(frontend.ADD, c.span(), frontend.IntConst(c.pos, frontend.I64, c.Step-1))
	return frontend.NewBinary(frontend.QUO, rounded, frontend.IntConst(c.pos, frontend.I64, c.Step))
}

// Final is the counter's value after the loop: first + trips·step, in the counter's type.
func (c *Counted) Final() frontend.Expr {
	moved := c.span()
	if c.Step != 1 {
		moved = frontend.NewBinary(frontend.MUL, c.Trips(), frontend.IntConst(c.pos, frontend.I64, c.Step))
	}
	first := frontend.Conv(frontend.Use(c.pos, c.Var), frontend.I64)
	return frontend.Conv(frontend.NewBinary(frontend.ADD, first, moved), c.Var.Type)
}

// WorthThreads is the test whether a run of parallel loop c does enough work for a parallel
// region: iterations × Work ≥ ParallelWork, with DefaultInnerTrips standing for a Work that
// cannot be known before the loop starts.
func (c *Counted) WorthThreads() frontend.Expr {
	var perIteration frontend.Expr = frontend.IntConst(c.pos, frontend.I64, DefaultInnerTrips)
	if c.Work != nil {
		perIteration = c.Work
	}
	work := frontend.NewBinary(frontend.MUL, c.Trips(), perIteration)
	return frontend.NewBinary(frontend.GEQ, work, frontend.IntConst(c.pos, frontend.I64, ParallelWork))
}

// WorthJamming is the test whether a run of a loop with a Jam is worth jamming: its inner
// loop is long (JamMinInnerTrips) and it has enough iterations to share among threads in
// blocks of JamRows (JamMinTrips).
func (c *Counted) WorthJamming() frontend.Expr {
	long := frontend.NewBinary(frontend.GEQ, frontend.Conv(c.InnerTrips, frontend.I64), frontend.IntConst(c.pos, frontend.I64, JamMinInnerTrips))
	many := frontend.NewBinary(frontend.GEQ, c.Trips(), frontend.IntConst(c.pos, frontend.I64, JamMinTrips))
	return frontend.NewBinary(frontend.LAND, long, many)
}
