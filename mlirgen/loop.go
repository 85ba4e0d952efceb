package mlirgen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/lower"
)

// forLoop emits a counted loop as scf.for carrying the variables its body assigns (as
// annotatedLoop when it has hints for LLVM: not to unroll it, a vector width), or as
// parallelLoop when the lowering made it parallel; the counter then takes its final value.
func (g *gen) forLoop(w *frontend.While, l *lower.Loop) {
	if l.Parallel {
		g.parallelLoop(w, l)
		return
	}
	iv := l.Var
	lb := g.toIndex(g.convert(g.env[iv].v, iv.Type, l.CmpType), l.CmpType)
	ub := g.toIndex(g.expr(l.Limit).v, l.CmpType)
	step := g.constIndex(l.Step)
	before := map[*frontend.Var]value{}
	for _, v := range l.Lanes {
		before[v] = g.env[v]
		g.env[v] = value{v: g.def("arith.constant dense<0.0> : %s", laneType), lanes: true}
	}
	// No loop carries its counter.
	vars := slices.DeleteFunc(g.carried(l.Body...), func(v *frontend.Var) bool { return v == iv })
	sc := g.enter([]*frontend.Var{iv}, l.Body...)
	body := func(ivName string) {
		g.env[iv] = value{v: g.convert(g.fromIndex(ivName, l.CmpType), l.CmpType, iv.Type)}
		g.stmts(l.Body)
		g.pos = w.Pos
	}
	var refs []string
	if annotation := loopAnnotation(l); annotation != "" {
		refs = g.annotatedLoop(vars, lb, ub, step, body, annotation)
	} else {
		refs = g.scfFor(vars, lb, ub, step, body)
	}
	g.restore(sc)
	g.bind(vars, refs)
	g.env[iv] = g.expr(l.Final)
	for _, v := range l.Lanes {
		total := g.def("vector.reduction <add>, %s %s: %s into f32", g.env[v].v, g.fastmath(), laneType)
		g.env[v] = value{v: g.def("arith.addf %s, %s %s: f32", before[v].v, total, g.fastmath())}
	}
}

// scfFor emits scf.for from lb to ub carrying vars, with body emitted for the counter
// (an index) inside, and returns the values vars have after it.
func (g *gen) scfFor(vars []*frontend.Var, lb, ub, step string, body func(iv string)) []string {
	iv := g.fresh()
	var refs []string
	if len(vars) == 0 {
		g.open("scf.for %s = %s to %s step %s {", iv, lb, ub, step)
	} else {
		vals, types := g.parts(vars)
		var def string
		def, refs = g.results(len(vals))
		args, binding := g.regionArgs(vals, " = ")
		g.open("%sscf.for %s = %s to %s step %s iter_args(%s) -> (%s) {", def, iv, lb, ub, step, binding, strings.Join(types, ", "))
		g.bind(vars, args)
	}
	body(iv)
	g.yield(vars)
	g.close()
	return refs
}

// loopAnnotation is the annotation of l's back branch that gives LLVM its hints: not to
// unroll a rolled loop, and the loop's vector width, one vector a trip; "" when it has none.
func loopAnnotation(l *lower.Loop) string {
	var hints []string
	if l.Rolled {
		hints = append(hints, "unroll = <disable = true>")
	}
	if l.VectorWidth > 0 {
		hints = append(hints, fmt.Sprintf("vectorize = <disable = false, width = %d : i32>, interleave = <count = 1 : i32>", l.VectorWidth))
	}
	if len(hints) == 0 {
		return ""
	}
	return "{loop_annotation = #llvm.loop_annotation<" + strings.Join(hints, ", ") + ">}"
}

// annotatedLoop emits what scfFor does as blocks of their own inside scf.execute_region, so
// that the branch back to the loop's head carries annotation: scf-to-cf drops the annotations
// of scf.for.
func (g *gen) annotatedLoop(vars []*frontend.Var, lb, ub, step string, body func(iv string), annotation string) []string {
	vals, types := g.parts(vars)
	var refs []string
	if len(vals) == 0 {
		g.open("scf.execute_region {")
	} else {
		var def string
		def, refs = g.results(len(vals))
		g.open("%sscf.execute_region -> (%s) {", def, strings.Join(types, ", "))
	}
	head, loop, exit := g.block(), g.block(), g.block()
	all := append([]string{"index"}, types...) // the counter's and vars' types
	args, decl := g.regionArgs(all, ": ")
	iv := args[0]
	g.branch(head, append([]string{lb}, vals...), all, "")
	g.mid(fmt.Sprintf("%s(%s):", head, decl))
	g.bind(vars, args[1:])
	g.op("cf.cond_br %s, %s, %s", g.def("arith.cmpi slt, %s, %s : index", iv, ub), loop, exit)
	g.mid(loop + ":")
	body(iv)
	next, _ := g.parts(vars)
	g.branch(head, append([]string{g.def("arith.addi %s, %s : index", iv, step)}, next...), all, " "+annotation)
	g.mid(exit + ":")
	g.bind(vars, args[1:])
	g.yield(vars)
	g.close()
	return refs
}

// block names a fresh block.
func (g *gen) block() string { return "^bb" + g.fresh()[1:] }

// branch emits cf.br to head passing vals of types, with attrs.
func (g *gen) branch(head string, vals, types []string, attrs string) {
	g.op("cf.br %s(%s : %s)%s", head, strings.Join(vals, ", "), strings.Join(types, ", "), attrs)
}

// parallelLoop emits a parallel loop as an omp.parallel region, as llvmgen forks one: each
// thread of the team runs the chunks of iterations it claims (abi.ClaimSymbol) as scf.for.
// (An scf.parallel over the team, lowered by convert-scf-to-openmp, would add a worksharing
// loop and its closing barrier to every parallel loop.) The chunks follow the threads'
// measured speeds (abi.BalanceSymbol): the caller sets the loop up in its function's buffer
// (g.split), each thread reports its time. A parallel loop carries nothing (its iterations are
// independent); the counter then takes its final value.
func (g *gen) parallelLoop(w *frontend.While, l *lower.Loop) {
	iv := l.Var
	lb := g.toIndex(g.convert(g.env[iv].v, iv.Type, l.CmpType), l.CmpType)
	step := g.constIndex(l.Step)
	trips := g.expr(l.Trips()).v
	for _, f := range []string{"omp_get_max_threads", "omp_get_thread_num"} {
		g.runtime[f] = fmt.Sprintf("  func.func private @%s() -> i32", f)
	}
	g.runtime[abi.BalanceSymbol] = fmt.Sprintf("  func.func private @%s(i64, i64, i64)", abi.BalanceSymbol)
	g.runtime[abi.ChunkSymbol] = fmt.Sprintf("  func.func private @%s(i64) -> i64", abi.ChunkSymbol)
	g.runtime[abi.ClaimSymbol] = fmt.Sprintf("  func.func private @%s(i64, i64) -> i64", abi.ClaimSymbol)
	g.runtime[abi.MeasuredSymbol] = fmt.Sprintf("  func.func private @%s(i64, i64, i64)", abi.MeasuredSymbol)
	g.pos = w.Pos
	sc := g.enter([]*frontend.Var{iv}, l.Body...)
	split := g.split
	ompInt := func(f string) string {
		return g.def("arith.extsi %s : i32 to i64", g.def("func.call @%s() : () -> i32", f))
	}
	g.op("func.call @%s(%s, %s, %s) : (i64, i64, i64) -> ()", abi.BalanceSymbol, split, ompInt("omp_get_max_threads"), trips)
	g.open("omp.parallel {")
	t := ompInt("omp_get_thread_num")
	chunk := g.def("func.call @%s(%s) : (i64) -> i64", abi.ChunkSymbol, split)
	clock := `llvm.call_intrinsic "llvm.readcyclecounter"() : () -> i64`
	began := g.def(clock)
	// while (the thread claims a chunk from first) { its iterations, at most chunk of them }
	g.open("%s = scf.while : () -> i64 {", g.fresh()) // its result, the last claim (-1), goes unused
	first := g.def("func.call @%s(%s, %s) : (i64, i64) -> i64", abi.ClaimSymbol, split, t)
	g.op("scf.condition(%s) %s : i64", g.def("arith.cmpi sge, %s, %s : i64", first, g.def("arith.constant 0 : i64")), first)
	g.mid("} do {")
	from := g.fresh()
	g.mid("^bb0(" + from + ": i64):")
	last := g.def("arith.addi %s, %s : i64", from, g.def("arith.minsi %s, %s : i64", chunk, g.def("arith.subi %s, %s : i64", trips, from)))
	k := g.fresh()
	g.open("scf.for %s = %s to %s step %s {", k, g.toIndex(from, frontend.I64), g.toIndex(last, frontend.I64), g.constIndex(1))
	i := g.def("arith.addi %s, %s : index", lb, g.def("arith.muli %s, %s : index", k, step))
	g.env[iv] = value{v: g.convert(g.fromIndex(i, l.CmpType), l.CmpType, iv.Type)}
	g.stmts(l.Body)
	g.pos = w.Pos
	g.op("scf.yield")
	g.close()
	g.op("scf.yield")
	g.close()
	ticks := g.def("arith.subi %s, %s : i64", g.def(clock), began)
	g.op("func.call @%s(%s, %s, %s) : (i64, i64, i64) -> ()", abi.MeasuredSymbol, split, t, ticks)
	g.op("omp.terminator")
	g.close()
	g.restore(sc)
	g.env[iv] = g.expr(l.Final)
}

// whileLoop emits a general loop as scf.while carrying the variables the body assigns.
func (g *gen) whileLoop(w *frontend.While) {
	vars := g.carried(w.Body)
	vals, types := g.parts(vars)
	def, refs := "", []string(nil)
	if len(vals) > 0 {
		def, refs = g.results(len(vals))
	}
	sc := g.enter(nil, w.Body)
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
	g.restore(sc)
	g.bind(vars, after)
	g.stmts(w.Body.Stmts)
	g.pos = w.Pos
	g.yield(vars)
	g.close()
	g.restore(sc)
	g.bind(vars, refs)
}
