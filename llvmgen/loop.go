package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/metadata"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/lower"
	"github.com/simplang/simplang/omp"
)

// whileLoop emits a loop as a condition block, the body and a branch back, which carries the
// hints of l (nil for a loop that is not counted) for LLVM: not to unroll the loop when it is
// rolled (lower.Loop.Rolled), and its vector width, one vector a trip (lower.Loop.VectorWidth).
func (g *gen) whileLoop(w *frontend.While, l *lower.Loop) {
	head, body, exit := g.newBlock(), g.newBlock(), g.newBlock()
	g.cur.NewBr(head)
	g.start(head)
	g.cur.NewCondBr(g.expr(w.Cond), body, exit)
	g.start(body)
	g.stmts(w.Body.Stmts)
	back := g.cur.NewBr(head)
	if l != nil && (l.Rolled || l.VectorWidth > 0) {
		back.Metadata = append(back.Metadata, &metadata.Attachment{Name: "llvm.loop", Node: g.loopID(l)})
	}
	g.start(exit)
}

// loopID returns a new loop ID with the hints of l (each loop needs its own: a distinct node
// that lists itself, then its hints, which the loops share).
func (g *gen) loopID(l *lower.Loop) *metadata.Tuple {
	id := &metadata.Tuple{MetadataID: -1, Distinct: true}
	id.Fields = []metadata.Field{id}
	if l.Rolled {
		if g.noUnroll == nil {
			g.noUnroll = g.hint("llvm.loop.unroll.disable")
		}
		id.Fields = append(id.Fields, g.noUnroll)
	}
	if l.VectorWidth > 0 {
		hints, ok := g.widthHints[l.VectorWidth]
		if !ok {
			hints = []metadata.Field{g.hint("llvm.loop.vectorize.enable", constant.True),
				g.hint("llvm.loop.vectorize.width", constant.NewInt(types.I32, int64(l.VectorWidth))),
				g.hint("llvm.loop.interleave.count", constant.NewInt(types.I32, 1))}
			if g.widthHints == nil {
				g.widthHints = map[int][]metadata.Field{}
			}
			g.widthHints[l.VectorWidth] = hints
		}
		id.Fields = append(id.Fields, hints...)
	}
	g.mod.MetadataDefs = append(g.mod.MetadataDefs, id)
	return id
}

// hint is a new node !{!"name", values…}.
func (g *gen) hint(name string, values ...metadata.Field) *metadata.Tuple {
	t := &metadata.Tuple{MetadataID: -1, Fields: append([]metadata.Field{&metadata.String{Value: name}}, values...)}
	g.mod.MetadataDefs = append(g.mod.MetadataDefs, t)
	return t
}

// laneLoop emits a loop whose l.Lanes variables it holds as partial sums (laneType) in slots
// of their own, from zero; after the loop each variable gets their total added.
func (g *gen) laneLoop(w *frontend.While, l *lower.Loop) {
	for _, v := range l.Lanes {
		slot := g.entry.NewAlloca(laneType)
		g.cur.NewStore(constant.NewZeroInitializer(laneType), slot)
		g.lanes[v] = slot
	}
	g.whileLoop(w, l)
	for _, v := range l.Lanes {
		reduce := g.declare("llvm.vector.reduce.fadd.v16f32", types.Float, types.Float, laneType)
		g.assignVar(v, operand{g.emit(ir.NewCall(reduce, g.loadVar(v)[0], g.cur.NewLoad(laneType, g.lanes[v])))})
		delete(g.lanes, v)
	}
}

// parallelLoop runs the iterations of loop l on the threads of an OpenMP team (package omp),
// then sets its counter to l.Final. The variables the body reads from outside (l.Captured)
// are passed to the outlined body, F.par.N, which keeps its own copies. Each thread runs the
// chunks of iterations it claims (abi.ClaimSymbol), which follow the threads' measured speeds
// (abi.BalanceSymbol): the caller sets the loop up in its function's buffer, each thread
// reports its time.
func (g *gen) parallelLoop(w *frontend.While, l *lower.Loop) {
	iv := l.Var
	lb := g.convert(g.convert(g.loadVar(iv)[0], iv.Type, l.CmpType), l.CmpType, frontend.I64)
	var caps []omp.Capture
	for _, c := range l.Captured {
		for i, part := range g.loadVar(c.Var) {
			caps = append(caps, omp.Capture{V: part, NoAlias: i == aligned && c.NoAlias})
		}
	}
	if g.frame.split == nil {
		g.frame.split = g.entry.NewAlloca(types.NewArray(abi.SplitWords, i64))
		g.frame.split.Align = abi.SplitAlign
	}
	split := g.cur.NewPtrToInt(g.frame.split, i64)
	team := g.cur.NewSExt(g.cur.NewCall(g.declare("omp_get_max_threads", types.I32)), i64)
	all := g.expr(l.Trips())
	g.cur.NewCall(g.declare(abi.BalanceSymbol, types.Void, i64, i64, i64), split, team, all)
	caps = append(caps, omp.Capture{V: split})
	g.outlined++
	name := fmt.Sprintf("%s.par.%d", g.fn.Name, g.outlined)
	region := omp.Fork(g.mod, g.cur, name, omp.Source{File: g.file, Func: g.fn.Name, Pos: w.Pos}, lb, all, caps)

	outer := g.frame
	g.begin(region.Func, w.Pos)
	start, trips, t, vals := region.Share(g.cur)
	for _, c := range l.Captured {
		parts := len(partTypes(c.Var.Type))
		g.define(c.Var, vals[:parts])
		vals = vals[parts:]
	}
	buf := vals[0]
	chunk := g.cur.NewCall(g.declare(abi.ChunkSymbol, i64, i64), buf)
	clock := g.declare("llvm.readcyclecounter", i64)
	began := g.cur.NewCall(clock)
	// while (the thread claims a chunk from first) { its iterations, at most chunk of them }
	claim, run, done := g.newBlock(), g.newBlock(), g.newBlock()
	g.cur.NewBr(claim)
	g.start(claim)
	first := g.cur.NewCall(g.declare(abi.ClaimSymbol, i64, i64, i64), buf, t)
	g.cur.NewCondBr(g.cur.NewICmp(enum.IPredSGE, first, constant.NewInt(i64, 0)), run, done)
	g.start(run)
	left := g.cur.NewSub(trips, first)
	last := g.cur.NewAdd(first, g.cur.NewSelect(g.cur.NewICmp(enum.IPredSLT, chunk, left), chunk, left))
	g.loop(first, last, func(k value.Value) {
		i := g.cur.NewAdd(start, g.cur.NewMul(k, constant.NewInt(i64, l.Step)))
		g.define(iv, operand{g.convert(i, frontend.I64, iv.Type)})
		g.stmts(l.Body)
	})
	g.cur.NewBr(claim)
	g.start(done)
	g.cur.NewCall(g.declare(abi.MeasuredSymbol, types.Void, i64, i64, i64), buf, t, g.cur.NewSub(g.cur.NewCall(clock), began))
	g.cur.NewRet(nil)
	g.frame = outer
	g.assignVar(iv, operand{g.expr(l.Final)})
}

// loop emits `for i := from; i < to; i++ { body(i) }` over i64.
func (g *gen) loop(from, to value.Value, body func(i value.Value)) {
	pre := g.cur
	head, bodyB, exit := g.newBlock(), g.newBlock(), g.newBlock()
	pre.NewBr(head)
	g.start(head)
	i := head.NewPhi(ir.NewIncoming(from, pre))
	head.NewCondBr(head.NewICmp(enum.IPredSLT, i, to), bodyB, exit)
	g.start(bodyB)
	body(i)
	next := g.cur.NewAdd(i, constant.NewInt(i64, 1))
	i.Incs = append(i.Incs, ir.NewIncoming(next, g.cur))
	g.cur.NewBr(head)
	g.start(exit)
}
