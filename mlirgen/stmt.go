package mlirgen

import (
	"fmt"
	"maps"
	"strings"

	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// stmts emits a statement list. After a statement that may return (inside structured code),
// the rest of the list runs under scf.if on the "returned" flag. Arrays allocated by the list
// are freed at its end, which is the end of their block.
func (g *gen) stmts(list []frontend.Stmt) {
	mark := len(g.live)
	for i, s := range list {
		g.stmt(s)
		if g.terminated {
			return
		}
		if rest := list[i+1:]; len(rest) > 0 && g.returned != nil && mayReturn(s) {
			g.guard(rest)
			break
		}
	}
	g.free(g.live[mark:])
	g.live = g.live[:mark]
}

// mayReturn reports whether s contains a return that sets the flag rather than leaving at once.
func mayReturn(s frontend.Stmt) bool {
	_, isReturn := s.(*frontend.Return)
	return !isReturn && frontend.ContainsReturn(s)
}

func (g *gen) stmt(s frontend.Stmt) {
	g.pos = s.Position()
	switch s := s.(type) {
	case *frontend.VarDecl:
		g.env[s.Var] = g.expr(s.Init)
	case *frontend.Assign:
		g.assign(s)
	case *frontend.ExprStmt:
		g.call(s.X)
	case *frontend.Block:
		g.stmts(s.Stmts)
	case *frontend.If:
		g.ifStmt(s)
	case *frontend.While:
		if c := g.loops.Counted(s); c != nil {
			g.forLoop(s, c)
		} else {
			g.whileLoop(s)
		}
	case *frontend.Return:
		g.ret(s)
	}
}

func (g *gen) assign(s *frontend.Assign) {
	switch t := s.Target.(type) {
	case *frontend.Ident:
		switch {
		case !s.Rebinds():
			g.expr(s.Value) // a builtin writing into the variable's own array
		case s.Op == frontend.ASSIGN:
			g.env[t.Var] = g.expr(s.Value)
		default:
			v := g.expr(s.Value)
			g.env[t.Var] = value{v: g.binaryOp(s.BinaryOp(), s.OpType, g.env[t.Var].v, v.v)}
		}
	case *frontend.Index:
		m, idx := g.address(t)
		elem := t.Type()
		v := g.expr(s.Value).v
		if s.Op != frontend.ASSIGN {
			old := g.fresh()
			g.op("%s = memref.load %s[%s] : %s", old, m, idx, typ(t.Array.Type()))
			r := g.binaryOp(s.BinaryOp(), s.OpType, g.convert(old, elem, s.OpType), v)
			v = g.convert(r, s.OpType, elem)
		}
		g.op("memref.store %s, %s[%s] : %s", v, m, idx, typ(t.Array.Type()))
	}
}

func (g *gen) ret(s *frontend.Return) {
	var v string
	if s.Value != nil {
		v = g.expr(s.Value).v
	}
	if g.regions > 0 {
		g.env[g.returned] = value{v: g.constBool(true)}
		if g.result != nil {
			g.env[g.result] = value{v: v}
		}
		return
	}
	g.freeAll()
	if s.Value != nil {
		g.op("func.return %s : %s", v, typ(g.fn.Result))
	} else {
		g.op("func.return")
	}
	g.terminated = true
}

// carried lists the variables, already defined here, that stmts give new values to; with the
// returned flag and result when they may return.
func (g *gen) carried(stmts ...frontend.Stmt) []*frontend.Var {
	var vars []*frontend.Var
	seen := map[*frontend.Var]bool{}
	ret := false
	for _, s := range stmts {
		if s == nil {
			continue
		}
		for _, v := range frontend.Assigned(s) {
			if _, defined := g.env[v]; defined && !seen[v] {
				seen[v] = true
				vars = append(vars, v)
			}
		}
		ret = ret || frontend.ContainsReturn(s)
	}
	if ret && g.returned != nil {
		vars = append(vars, g.returned)
		if g.result != nil {
			vars = append(vars, g.result)
		}
	}
	return vars
}

// parts flattens the current values of vars (arrays of rank > 1 carry their dimensions).
func (g *gen) parts(vars []*frontend.Var) (vals, types []string) {
	for _, v := range vars {
		val := g.env[v]
		vals = append(vals, val.v)
		types = append(types, typ(v.Type))
		for _, d := range val.dims {
			vals = append(vals, d)
			types = append(types, "index")
		}
	}
	return vals, types
}

// bind gives vars the flattened values vals (in the order of parts).
func (g *gen) bind(vars []*frontend.Var, vals []string) {
	i := 0
	for _, v := range vars {
		val := value{v: vals[i]}
		i++
		if v.Type.Rank > 1 {
			val.dims = vals[i : i+v.Type.Rank-1]
			i += v.Type.Rank - 1
		}
		g.env[v] = val
	}
}

// regionArgs names a fresh block argument for each of inits and returns them with the
// "%a = init, …" list that binds them in scf.for iter_args or scf.while.
func (g *gen) regionArgs(inits []string) (args []string, binding string) {
	pairs := make([]string, len(inits))
	for i, v := range inits {
		args = append(args, g.fresh())
		pairs[i] = args[i] + " = " + v
	}
	return args, strings.Join(pairs, ", ")
}

// results names the n results of an op: "%r:n" for the definition and %r#i for each.
func (g *gen) results(n int) (def string, refs []string) {
	r := g.fresh()
	for i := 0; i < n; i++ {
		refs = append(refs, fmt.Sprintf("%s#%d", r, i))
	}
	return fmt.Sprintf("%s:%d = ", r, n), refs
}

func (g *gen) yield(vars []*frontend.Var) {
	vals, types := g.parts(vars)
	if len(vals) == 0 {
		g.op("scf.yield")
		return
	}
	g.op("scf.yield %s : %s", strings.Join(vals, ", "), strings.Join(types, ", "))
}

// branches emits `scf.if cond` whose regions run then and otherwise, yielding vars.
func (g *gen) branches(cond string, vars []*frontend.Var, then, otherwise func()) {
	outer := maps.Clone(g.env)
	_, types := g.parts(vars)
	def, refs := "", []string(nil)
	if len(types) > 0 {
		def, refs = g.results(len(types))
		g.open("%sscf.if %s -> (%s) {", def, cond, strings.Join(types, ", "))
	} else {
		g.open("scf.if %s {", cond)
	}
	g.regions++
	then()
	g.yield(vars)
	g.env = maps.Clone(outer)
	if otherwise != nil || len(types) > 0 {
		g.mid("} else {")
		if otherwise != nil {
			otherwise()
		}
		g.yield(vars)
	}
	g.regions--
	g.close("")
	g.env = outer
	g.bind(vars, refs)
}

func (g *gen) ifStmt(s *frontend.If) {
	cond := g.expr(s.Cond).v
	vars := g.carried(s.Then, s.Else)
	var otherwise func()
	if s.Else != nil {
		otherwise = func() { g.stmts([]frontend.Stmt{s.Else}) }
	}
	g.branches(cond, vars, func() { g.stmts(s.Then.Stmts) }, otherwise)
}

// guard runs rest only while the function has not returned.
func (g *gen) guard(rest []frontend.Stmt) {
	notReturned := g.not(g.env[g.returned].v)
	g.branches(notReturned, g.carried(rest...), func() { g.stmts(rest) }, nil)
}

// forLoop emits a counted loop as scf.for. A loop whose iterations are independent runs as
// scf.parallel when its estimated work (iterations × inner iterations) reaches
// loops.ParallelWork, and as scf.for otherwise: both are emitted, under an scf.if.
func (g *gen) forLoop(w *frontend.While, c *loops.Counted) {
	iv := c.Var
	lb := g.toIndex(g.convert(g.env[iv].v, iv.Type, c.CmpType), c.CmpType)
	bound := g.expr(c.Bound).v
	if c.Inclusive {
		bound = g.binaryOp(frontend.ADD, c.CmpType, bound, g.constInt(1, c.CmpType))
	}
	ub := g.toIndex(bound, c.CmpType)
	step := g.constIndex(c.Step)
	vars := g.carried(c.Body...)
	for i, v := range vars {
		if v == iv {
			vars = append(vars[:i], vars[i+1:]...)
			break
		}
	}
	if c.Parallel {
		g.branches(g.worthParallel(c, lb, ub), nil,
			func() { g.parallelLoop(w, c, lb, ub, step) },
			func() { g.counted(w, c, lb, ub, step, nil, false) })
	} else {
		g.bind(vars, g.counted(w, c, lb, ub, step, vars, false))
	}
	g.env[iv] = value{v: g.convert(g.fromIndex(g.finalIndex(lb, ub, c.Step), c.CmpType), c.CmpType, iv.Type)}
}

// worthParallel emits the test whether a run of parallel loop c from lb to ub does enough
// work for a parallel region.
func (g *gen) worthParallel(c *loops.Counted, lb, ub string) string {
	trips := g.trips(lb, ub, c.Step)
	inner := g.constIndex(loops.DefaultInnerTrips)
	if c.InnerTrips != nil {
		inner = g.toIndex(g.expr(c.InnerTrips).v, c.InnerTrips.Type())
	}
	work, big := g.fresh(), g.fresh()
	g.op("%s = arith.muli %s, %s : index", work, trips, inner)
	g.op("%s = arith.cmpi sge, %s, %s : index", big, work, g.constIndex(loops.ParallelWork))
	return big
}

// counted emits the loop op of c from lb to ub: scf.parallel when parallel, else scf.for
// carrying vars, whose final values it returns.
func (g *gen) counted(w *frontend.While, c *loops.Counted, lb, ub, step string, vars []*frontend.Var, parallel bool) []string {
	outer := maps.Clone(g.env)
	ivName := g.fresh()
	var refs []string
	switch {
	case parallel:
		g.open("scf.parallel (%s) = (%s) to (%s) step (%s) {", ivName, lb, ub, step)
	case len(vars) == 0:
		g.open("scf.for %s = %s to %s step %s {", ivName, lb, ub, step)
	default:
		vals, types := g.parts(vars)
		var def string
		def, refs = g.results(len(vals))
		args, binding := g.regionArgs(vals)
		g.open("%sscf.for %s = %s to %s step %s iter_args(%s) -> (%s) {", def, ivName, lb, ub, step, binding, strings.Join(types, ", "))
		g.bind(vars, args)
	}
	g.regions++
	g.env[c.Var] = value{v: g.convert(g.fromIndex(ivName, c.CmpType), c.CmpType, c.Var.Type)}
	g.stmts(c.Body)
	g.pos = w.Pos
	if parallel {
		g.op("scf.reduce")
	} else {
		g.yield(vars)
	}
	g.regions--
	g.close("")
	g.env = outer
	return refs
}

// trips is the number of iterations of a loop from lb to ub in steps of step: ⌈(ub−lb)/step⌉.
func (g *gen) trips(lb, ub string, step int64) string {
	span, trips := g.fresh(), g.fresh()
	g.op("%s = arith.subi %s, %s : index", span, ub, lb)
	g.op("%s = arith.ceildivsi %s, %s : index", trips, span, g.constIndex(step))
	return trips
}

// finalIndex is the induction variable's value after the loop: lb + ⌈max(ub-lb, 0)/step⌉·step.
func (g *gen) finalIndex(lb, ub string, step int64) string {
	hi := g.fresh()
	g.op("%s = arith.maxsi %s, %s : index", hi, lb, ub)
	if step == 1 {
		return hi
	}
	trips := g.trips(lb, hi, step)
	last, final := g.fresh(), g.fresh()
	g.op("%s = arith.muli %s, %s : index", last, trips, g.constIndex(step))
	g.op("%s = arith.addi %s, %s : index", final, lb, last)
	return final
}

// whileLoop emits a general loop as scf.while carrying the variables the body assigns; a loop
// whose body may return also stops once the returned flag is set.
func (g *gen) whileLoop(w *frontend.While) {
	vars := g.carried(w.Body)
	vals, types := g.parts(vars)
	def, refs := "", []string(nil)
	if len(vals) > 0 {
		def, refs = g.results(len(vals))
	}
	outer := maps.Clone(g.env)
	before, binding := g.regionArgs(vals)
	tlist := strings.Join(types, ", ")
	g.open("%sscf.while (%s) : (%s) -> (%s) {", def, binding, tlist, tlist)
	g.regions++
	g.bind(vars, before)
	var cond string
	if frontend.ContainsReturn(w.Body) && g.returned != nil {
		cond = g.shortCircuit(g.not(g.env[g.returned].v), w.Cond, false)
	} else {
		cond = g.expr(w.Cond).v
	}
	g.pos = w.Pos
	if len(vals) > 0 {
		g.op("scf.condition(%s) %s : %s", cond, strings.Join(before, ", "), tlist)
	} else {
		g.op("scf.condition(%s)", cond)
	}
	g.mid("} do {")
	after := make([]string, len(vals))
	decl := make([]string, len(vals))
	for i := range vals {
		after[i] = g.fresh()
		decl[i] = after[i] + ": " + types[i]
	}
	if len(vals) > 0 {
		g.mid("^bb0(" + strings.Join(decl, ", ") + "):")
	}
	g.env = maps.Clone(outer)
	g.bind(vars, after)
	g.stmts(w.Body.Stmts)
	g.pos = w.Pos
	g.yield(vars)
	g.regions--
	g.close("")
	g.env = outer
	g.bind(vars, refs)
}
