package mlirgen

import (
	"maps"
	"slices"
	"strings"

	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/lower"
)

// forLoop emits a counted loop as scf.for carrying the variables its body assigns, or as
// scf.parallel when the lowering made it parallel; the counter then takes its final value.
func (g *gen) forLoop(w *frontend.While, l *lower.Loop) {
	iv := l.Var
	lb := g.toIndex(g.convert(g.env[iv].v, iv.Type, l.CmpType), l.CmpType)
	ub := g.toIndex(g.expr(l.Limit).v, l.CmpType)
	step := g.constIndex(l.Step)
	before := map[*frontend.Var]value{}
	for _, v := range l.Lanes {
		before[v] = g.env[v]
		g.env[v] = value{v: g.def("arith.constant dense<0.0> : %s", laneType), lanes: true}
	}
	// A parallel loop carries nothing (its iterations are independent), no loop its counter.
	vars := slices.DeleteFunc(g.carried(l.Body...), func(v *frontend.Var) bool { return v == iv || l.Parallel })
	outer := maps.Clone(g.env)
	ivName := g.fresh()
	var refs []string
	switch {
	case l.Parallel:
		g.open("scf.parallel (%s) = (%s) to (%s) step (%s) {", ivName, lb, ub, step)
	case len(vars) == 0:
		g.open("scf.for %s = %s to %s step %s {", ivName, lb, ub, step)
	default:
		vals, types := g.parts(vars)
		var def string
		def, refs = g.results(len(vals))
		args, binding := g.regionArgs(vals, " = ")
		g.open("%sscf.for %s = %s to %s step %s iter_args(%s) -> (%s) {", def, ivName, lb, ub, step, binding, strings.Join(types, ", "))
		g.bind(vars, args)
	}
	g.env[iv] = value{v: g.convert(g.fromIndex(ivName, l.CmpType), l.CmpType, iv.Type)}
	g.stmts(l.Body)
	g.pos = w.Pos
	if l.Parallel {
		g.op("scf.reduce")
	} else {
		g.yield(vars)
	}
	g.close()
	g.env = outer
	g.bind(vars, refs)
	g.env[iv] = g.expr(l.Final)
	for _, v := range l.Lanes {
		total := g.def("vector.reduction <add>, %s %s: %s into f32", g.env[v].v, g.fastmath(), laneType)
		g.env[v] = value{v: g.def("arith.addf %s, %s %s: f32", before[v].v, total, g.fastmath())}
	}
}

// whileLoop emits a general loop as scf.while carrying the variables the body assigns.
func (g *gen) whileLoop(w *frontend.While) {
	vars := g.carried(w.Body)
	vals, types := g.parts(vars)
	def, refs := "", []string(nil)
	if len(vals) > 0 {
		def, refs = g.results(len(vals))
	}
	outer := maps.Clone(g.env)
	before, binding := g.regionArgs(vals, " = ")
	tlist := strings.Join(types, ", ")
	g.open("%sscf.while (%s) : (%s) -> (%s) {", def, binding, tlist, tlist)
	g.bind(vars, before)
	cond := g.expr(w.Cond).v
	g.pos = w.Pos
	if len(vals) > 0 {
		g.op("scf.condition(%s) %s : %s", cond, strings.Join(before, ", "), tlist)
	} else {
		g.op("scf.condition(%s)", cond)
	}
	g.mid("} do {")
	after, decl := g.regionArgs(types, ": ")
	if len(vals) > 0 {
		g.mid("^bb0(" + decl + "):")
	}
	g.env = maps.Clone(outer)
	g.bind(vars, after)
	g.stmts(w.Body.Stmts)
	g.pos = w.Pos
	g.yield(vars)
	g.close()
	g.env = outer
	g.bind(vars, refs)
}
