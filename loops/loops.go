// Package loops finds the loop facts that fast code needs in plain SimpLang `while` loops:
// which loops are counted loops (`i = a; while (i < n) { …; i = i + 1; }`, which lower to a
// for loop with a loop-invariant trip count), which counted loops have independent
// iterations, so they may run in parallel, and which of those can run several iterations at
// once (Jam). It also writes the expressions that decide, when a loop starts, whether a run
// is worth threads or jamming, and the counter's value after the loop.
//
// Call Analyze once per checked function; then Info.Counted(w) describes a while loop.
// Count describes one loop on its own.
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
	// Parallel is set when the iterations are independent (see Info), the loop is the
	// outermost such loop and it has an inner loop. Whether a run is worth a parallel region
	// is decided when the loop starts: see Work and WorthThreads.
	Parallel bool
	// InnerTrips, when not nil, is the trip count of the body's first inner loop, and Work
	// the iterations of all the body's inner loops, those inside them multiplied in (a row's
	// groups times their elements; an attention head's scores plus its weighted sum):
	// expressions that can be evaluated before the loop starts (they read only variables the
	// loop does not change), Work nil when no inner loop's count is known there.
	InnerTrips, Work frontend.Expr
	// Jam, when not nil, says how a parallel loop's iterations can run JamRows at a time.
	Jam *Jam

	pos frontend.Pos // the loop's, for the expressions it writes
}

// Jam splits the body of a parallel loop that has the shape of a mat-vec row
//
//	prefix: scalar declarations and assignments
//	inner:  one counted loop, with the same trip count in every iteration (InnerTrips)
//	suffix: statements without loops
//
// Such a loop can run JamRows consecutive iterations at once (unroll-and-jam): their
// prefixes, then one inner loop doing the inner bodies of all of them side by side, then
// their suffixes. Iterations are independent, so the interleaving is allowed; what the
// inner loop reads in every iteration (the vector of a mat-vec) is then read once for
// JamRows rows.
type Jam struct {
	Prefix []frontend.Stmt
	Inner  *frontend.While // a counted loop
	Suffix []frontend.Stmt
}

// JamRows is how many iterations a jammed loop runs at once, JamMinInnerTrips the least
// inner trip count for which it does, and JamMinTrips the least number of iterations (so
// that threads share many blocks and few are left over). Measured on this project's mat-vec rows (AMD EPYC,
// 32 KiB L1d, f32): once a row's vector is 12 KiB or more it no longer stays in L1 beside
// the streamed weights, and running 8 rows at once streams 8–30 points of bandwidth faster;
// with vectors of 8–10 KiB or less it is 2–8 points slower, as each row becomes its own
// short stream. On AMD's Zen 5 (48 KiB L1d) single rows stream faster at every length
// measured, and the compiler does not jam there (compiler.Jam).
const (
	JamRows          = 8
	JamMinInnerTrips = 3072
	JamMinTrips      = 16 * JamRows
)

// ParallelWork is the least estimated work, iterations × Work (the inner loops' iterations),
// for which a parallel loop runs in parallel: starting threads costs about a microsecond, as
// much as running some ten thousand multiply-adds on one core, and the other threads wait
// anyway while one runs a loop alone. Smaller runs of the loop run serially. Halved from
// 1 << 16 (2026-12-02, Intel Sapphire Rapids, 2 threads, both builds alternated token by
// token): the 125M decode's residual additions and cache copies (768 elements) then run on
// both threads, and its step took 0.94–0.95 (q4), 0.97 (q8) and 0.99 (f32) of its time; 1 << 13
// and 1 << 10 gained no more, and at 1B, where those loops already ran on threads, 0.99. Work
// counting every inner loop (2026-12-03, AMD Zen 4, as above) put the 125M attention on
// threads from 21 positions instead of 43: the q4 step took 0.963–0.976 of its time at
// positions 24–39; from 6 positions (1 << 12) it took 1.03 at positions 8–15. On AMD's Zen 5
// (2026-12-04) a loop's fork, balancing and join cost 3.3–3.5 µs (compiler's
// BenchmarkParallelLoop; its cores pass a cache line in about 230 ns), yet 1 << 17 took 1.078
// of the 125M q4 step's time at positions 0–63 (1.02–1.03 before attention reaches it), and
// 1 << 12 and 1 << 13 took 1.008 and 1.019: 1 << 15 stays there too.
const ParallelWork = 1 << 15

// DefaultInnerTrips stands for an iteration's Work when it cannot be known before the loop
// starts.
const DefaultInnerTrips = 64

// Info holds the loop facts of one function.
type Info struct {
	counted map[*frontend.While]*Counted
	roots   frontend.Roots
}

// Counted returns the description of w, or nil when w is not a counted loop.
func (in *Info) Counted(w *frontend.While) *Counted { return in.counted[w] }

// Analyze finds the counted loops of fn and, when parallel is true, marks the ones whose
// iterations may run in parallel.
func Analyze(fn *frontend.Func, parallel bool) *Info {
	in := &Info{counted: map[*frontend.While]*Counted{}, roots: frontend.ArrayRoots(fn)}
	frontend.Inspect(fn.Body, func(n frontend.Node) bool {
		if w, ok := n.(*frontend.While); ok {
			if c := Count(w); c != nil {
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
			var inner int
			c.InnerTrips, c.Work, inner = in.innerLoops(c)
			c.Jam = in.jam(c, inner)
			return false // no parallel loops inside a parallel loop
		}
		return true
	})
}

// Count recognises `while (i < n) { …; i = i + step; }` (also <=, n > i, n >= i, i += step)
// where the body assigns i nowhere else, has no return, and n does not change in the loop
// (nor reads memory); it returns nil for any other loop.
func Count(w *frontend.While) *Counted {
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
	// The generators count in signed index arithmetic: loops with an unsigned counter or
	// comparison (which may run beyond the signed range, or wrap) stay general while loops.
	id, ok := stripConvert(iv).(*frontend.Ident)
	if !ok || !signedInt(id.Var.Type) || !signedInt(c.CmpType) || id.Var.Type.Kind.Size() > c.CmpType.Kind.Size() {
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
	if changing[c.Var] || !Invariant(bound, changing) {
		return nil
	}
	c.pos = w.Pos
	return c
}

func signedInt(t frontend.Type) bool { return t.IsInt() && !t.IsUnsigned() }

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

// Invariant reports whether e reads only constants and variables outside changing, with no
// loads or calls (which could see a loop's own writes). Evaluating such an expression ahead
// of the code it stands in gives the same value; when it is also frontend.Harmless, doing so
// cannot trap either.
func Invariant(e frontend.Expr, changing map[*frontend.Var]bool) bool {
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

// innerLoops looks at the counted loops directly in c's body whose induction variable
// starts from a constant set in the body and whose bound does not change in c (and cannot
// trap). It returns the first one's trip count (bound − start, +1 when inclusive, ÷ step) and
// its index in the body, and the sum over all of them of their trips times their own Work
// (when that, too, can be evaluated before c), as expressions that can be evaluated before c.
func (in *Info) innerLoops(c *Counted) (first, work frontend.Expr, index int) {
	changing := map[*frontend.Var]bool{c.Var: true}
	start := map[*frontend.Var]*frontend.Const{}
	for _, s := range c.Body {
		frontend.Inspect(s, func(n frontend.Node) bool {
			if d, ok := n.(*frontend.VarDecl); ok {
				changing[d.Var] = true
			}
			return true
		})
		for _, v := range frontend.Assigned(s) {
			changing[v] = true
		}
	}
	index = -1
	for i, s := range c.Body {
		switch s := s.(type) {
		case *frontend.VarDecl:
			if k, ok := stripConvert(s.Init).(*frontend.Const); ok && k.T.IsInt() {
				start[s.Var] = k
			}
		case *frontend.Assign:
			if id, ok := s.Target.(*frontend.Ident); ok && s.Op == frontend.ASSIGN {
				if k, ok := stripConvert(s.Value).(*frontend.Const); ok && k.T.IsInt() {
					start[id.Var] = k
				} else {
					delete(start, id.Var)
				}
			}
		case *frontend.While:
			inner := in.counted[s]
			if inner == nil || start[inner.Var] == nil || !Invariant(inner.Bound, changing) || !frontend.Harmless(inner.Bound) {
				continue
			}
			t := inner.CmpType
			trips := &frontend.Binary{Op: frontend.SUB, X: inner.Bound, Y: &frontend.Const{T: t, Int: start[inner.Var].Int}, T: t}
			if inner.Inclusive {
				trips = &frontend.Binary{Op: frontend.ADD, X: trips, Y: &frontend.Const{T: t, Int: 1}, T: t}
			}
			if inner.Step > 1 {
				trips = &frontend.Binary{Op: frontend.QUO, X: trips, Y: &frontend.Const{T: t, Int: inner.Step}, T: t}
			}
			if first == nil {
				first, index = trips, i
			}
			loopWork := frontend.Conv(trips, frontend.I64)
			// A loop inside that one multiplies the work (the elements of a row's groups).
			if _, deeper, _ := in.innerLoops(inner); deeper != nil && Invariant(deeper, changing) {
				loopWork = frontend.NewBinary(frontend.MUL, loopWork, deeper)
			}
			if work == nil {
				work = loopWork
			} else {
				work = frontend.NewBinary(frontend.ADD, work, loopWork)
			}
		}
	}
	return first, work, index
}

// jam returns the Jam of parallel loop c whose body's inner loop with a known trip count is
// statement inner (see innerLoops), or nil when c's body does not have that shape. The
// prefix may only declare and assign scalars, so that the inner loop starts from the same
// constant in every iteration.
func (in *Info) jam(c *Counted, inner int) *Jam {
	if inner < 0 {
		return nil
	}
	for _, s := range c.Body[:inner] {
		switch s := s.(type) {
		case *frontend.VarDecl:
		case *frontend.Assign:
			if _, scalar := s.Target.(*frontend.Ident); !scalar || !s.Rebinds() {
				return nil
			}
		default:
			return nil
		}
	}
	w := c.Body[inner].(*frontend.While)
	suffix := c.Body[inner+1:]
	if hasInnerLoop(w.Body.Stmts) || hasInnerLoop(suffix) {
		return nil
	}
	return &Jam{Prefix: c.Body[:inner], Inner: w, Suffix: suffix}
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
