package mlirgen

import (
	"fmt"
	"maps"
	"strings"

	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// parallelLoop emits parallel loop c from lb to ub. A loop with a loops.Jam runs jammed
// when its inner loop is long enough for that to pay (loops.JamMinInnerTrips) and it has
// enough iterations to share among threads in blocks of loops.JamRows.
func (g *gen) parallelLoop(w *frontend.While, c *loops.Counted, lb, ub, step string) {
	if c.Jam == nil {
		g.counted(w, c, lb, ub, step, nil, true)
		return
	}
	trips := g.trips(lb, ub, c.Step)
	inner := g.toIndex(g.expr(c.InnerTrips).v, c.InnerTrips.Type())
	longInner, manyRows, worth := g.fresh(), g.fresh(), g.fresh()
	g.op("%s = arith.cmpi sge, %s, %s : index", longInner, inner, g.constIndex(loops.JamMinInnerTrips))
	g.op("%s = arith.cmpi sge, %s, %s : index", manyRows, trips, g.constIndex(loops.JamMinTrips))
	g.op("%s = arith.andi %s, %s : i1", worth, longInner, manyRows)
	g.branches(worth, nil,
		func() { g.jammed(w, c, lb, ub, step, trips) },
		func() { g.counted(w, c, lb, ub, step, nil, true) })
}

// jammed emits parallel loop c (trips iterations from lb to ub, trips ≥ loops.JamMinTrips)
// as a parallel loop over blocks of loops.JamRows iterations, each running the prefixes of
// its iterations, one inner loop doing all their inner bodies, then their suffixes (see
// loops.Jam); the iterations left over after the last whole block follow serially.
func (g *gen) jammed(w *frontend.While, c *loops.Counted, lb, ub, step string, trips string) {
	jam := c.Jam
	rows := g.constIndex(loops.JamRows)
	blocks := g.fresh()
	g.op("%s = arith.divsi %s, %s : index", blocks, trips, rows)
	outer := maps.Clone(g.env)
	block := g.fresh()
	g.open("scf.parallel (%s) = (%s) to (%s) step (%s) {", block, g.constIndex(0), blocks, g.constIndex(1))
	g.regions++
	first := g.fresh()
	g.op("%s = arith.muli %s, %s : index", first, block, rows)
	envs := make([]map[*frontend.Var]value, loops.JamRows)
	for k := range envs {
		g.env = maps.Clone(outer)
		n, iv := g.fresh(), g.fresh()
		g.op("%s = arith.addi %s, %s : index", n, first, g.constIndex(int64(k)))
		g.op("%s = arith.muli %s, %s : index", iv, n, step)
		g.env[c.Var] = value{v: g.convert(g.fromIndex(g.addIndex(lb, iv), c.CmpType), c.CmpType, c.Var.Type)}
		g.stmts(jam.Prefix)
		envs[k] = g.env
	}
	g.jamInner(g.loops.Counted(jam.Inner), envs)
	for _, env := range envs {
		g.env = env
		g.stmts(jam.Suffix)
	}
	g.pos = w.Pos
	g.op("scf.reduce")
	g.regions--
	g.close("")
	g.env = outer

	done, rest := g.fresh(), g.fresh()
	g.op("%s = arith.muli %s, %s : index", done, blocks, rows)
	g.op("%s = arith.muli %s, %s : index", rest, done, step)
	g.counted(w, c, g.addIndex(lb, rest), ub, step, nil, false)
}

// jamInner emits inner loop in once for all the iterations whose variables are envs: one
// scf.for carrying the variables each of them assigns, whose body runs the inner body for
// each in turn. The inner loop starts and ends at the same values in all of them (its start
// is a constant and its bound does not change in the outer loop), so the first gives them.
func (g *gen) jamInner(in *loops.Counted, envs []map[*frontend.Var]value) {
	g.env = envs[0]
	lb := g.toIndex(g.convert(g.env[in.Var].v, in.Var.Type, in.CmpType), in.CmpType)
	bound := g.expr(in.Bound).v
	if in.Inclusive {
		bound = g.binaryOp(frontend.ADD, in.CmpType, bound, g.constInt(1, in.CmpType))
	}
	ub := g.toIndex(bound, in.CmpType)
	var vars []*frontend.Var
	for _, v := range g.carried(in.Body...) {
		if v != in.Var {
			vars = append(vars, v)
		}
	}
	var inits, types []string
	for _, env := range envs {
		g.env = env
		vals, ts := g.parts(vars)
		inits, types = append(inits, vals...), append(types, ts...)
	}
	per := len(inits) / len(envs)
	iv := g.fresh()
	args, binding := g.regionArgs(inits)
	def, refs := "", []string(nil)
	loop := fmt.Sprintf("scf.for %s = %s to %s step %s", iv, lb, ub, g.constIndex(in.Step))
	if len(inits) > 0 {
		def, refs = g.results(len(inits))
		loop += fmt.Sprintf(" iter_args(%s) -> (%s)", binding, strings.Join(types, ", "))
	}
	g.open("%s%s {", def, loop)
	g.regions++
	var next []string
	for k, env := range envs {
		g.env = maps.Clone(env)
		g.bind(vars, args[k*per:(k+1)*per])
		g.env[in.Var] = value{v: g.convert(g.fromIndex(iv, in.CmpType), in.CmpType, in.Var.Type)}
		g.stmts(in.Body)
		vals, _ := g.parts(vars)
		next = append(next, vals...)
	}
	if len(next) > 0 {
		g.op("scf.yield %s : %s", strings.Join(next, ", "), strings.Join(types, ", "))
	} else {
		g.op("scf.yield")
	}
	g.regions--
	g.close("")
	final := g.convert(g.fromIndex(g.finalIndex(lb, ub, in.Step), in.CmpType), in.CmpType, in.Var.Type)
	for k, env := range envs {
		g.env = env
		g.bind(vars, refs[k*per:(k+1)*per])
		g.env[in.Var] = value{v: final}
	}
}
