package llvmgen

import (
	"fmt"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/lower"
)

// whileLoop emits a loop as a condition block, the body and a branch back.
func (g *gen) whileLoop(w *frontend.While) {
	head, body, exit := g.newBlock(), g.newBlock(), g.newBlock()
	g.cur.NewBr(head)
	g.start(head)
	g.cur.NewCondBr(g.expr(w.Cond), body, exit)
	g.start(body)
	g.stmts(w.Body.Stmts)
	g.branch(head)
	g.start(exit)
}

// laneLoop emits a loop whose l.Lanes variables it holds as partial sums (laneType) in slots
// of their own, from zero; after the loop each variable gets their total added.
func (g *gen) laneLoop(w *frontend.While, l *lower.Loop) {
	for _, v := range l.Lanes {
		slot := g.alloca(laneType)
		g.cur.NewStore(constant.NewZeroInitializer(laneType), slot)
		g.lanes[v] = slot
	}
	g.whileLoop(w)
	for _, v := range l.Lanes {
		total := g.cur.NewCall(g.declare("llvm.vector.reduce.fadd.v16f32", types.Float, types.Float, laneType), g.loadVar(v)[0], g.cur.NewLoad(laneType, g.lanes[v]))
		total.FastMathFlags = g.fastMath()
		g.assignVar(v, operand{total})
		delete(g.lanes, v)
	}
}

// parallelLoop runs the iterations of loop l on the threads of an OpenMP team, then sets its
// counter to l.Final. The variables the body reads from outside (l.Captured) are passed to
// the outlined body, which keeps its own copies.
func (g *gen) parallelLoop(w *frontend.While, l *lower.Loop) {
	iv := l.Var
	lb := g.convert(g.convert(g.loadVar(iv)[0], iv.Type, l.CmpType), l.CmpType, frontend.I64)
	var caps []capture
	for _, c := range l.Captured {
		for i, part := range g.loadVar(c.Var) {
			caps = append(caps, capture{v: part, noalias: i == aligned && c.NoAlias})
		}
	}
	g.parallel(w.Pos, lb, g.expr(l.Trips()), l.Step, caps, func(vals []value.Value) func(value.Value) {
		for _, c := range l.Captured {
			parts := len(partTypes(c.Var.Type))
			g.define(c.Var, vals[:parts])
			vals = vals[parts:]
		}
		return func(i value.Value) {
			g.define(iv, operand{g.convert(i, frontend.I64, iv.Type)})
			g.stmts(l.Body)
		}
	})
	g.assignVar(iv, operand{g.expr(l.Final)})
}

// capture is a value that a function passes to a parallel region it starts.
type capture struct {
	v value.Value
	// noalias marks a pointer whose written memory no other captured pointer reaches.
	noalias bool
}

// microtask is the type libomp calls a parallel region's body through:
// void (i32* global_tid, i32* bound_tid, ...).
var microtask = func() *types.FuncType {
	i32Ptr := types.NewPointer(types.I32)
	t := types.NewFunc(types.Void, i32Ptr, i32Ptr)
	t.Variadic = true
	return t
}()

// parallel runs a loop over iv = lb, lb+step, … (trips iterations, i64) on every thread of
// an OpenMP team. The loop is outlined into an internal function F.par.N that receives the
// captured values (pointers, or scalars carried in an i64 word, as __kmpc_fork_call passes
// its variadic arguments); each thread runs one contiguous share of the iterations, as
// OpenMP's static schedule does. In the outlined function, enter(vals) is called once with
// the captured values and returns the body, called per iteration.
func (g *gen) parallel(pos frontend.Pos, lb, trips value.Value, step int64, caps []capture, enter func(vals []value.Value) (body func(iv value.Value))) {
	g.outlined++
	name := fmt.Sprintf("%s.par.%d", g.fn.Name, g.outlined)
	i32Ptr := types.NewPointer(types.I32)
	params := []*ir.Param{ir.NewParam("gtid", i32Ptr), ir.NewParam("btid", i32Ptr), ir.NewParam("lb", i64), ir.NewParam("trips", i64)}
	args := []value.Value{lb, trips}
	for i, c := range caps {
		w := g.toWord(c.v)
		p := ir.NewParam(fmt.Sprintf("cap%d", i), w.Type())
		if c.noalias {
			p.Attrs = append(p.Attrs, enum.ParamAttrNoAlias)
		}
		params = append(params, p)
		args = append(args, w)
	}
	f := g.mod.NewFunc(name, types.Void, params...)
	f.Linkage = enum.LinkageInternal
	f.FuncAttrs = append(f.FuncAttrs, enum.FuncAttrNoUnwind)

	i32 := types.I32
	fork := g.declare("__kmpc_fork_call", types.Void, types.NewPointer(g.ident()), i32, types.NewPointer(microtask))
	fork.Sig.Variadic = true
	head := []value.Value{g.location(pos, name), constant.NewInt(i32, int64(len(args))), constant.NewBitCast(f, types.NewPointer(microtask))}
	g.cur.NewCall(fork, append(head, args...)...)

	outer := g.frame
	g.begin(f, pos)
	b := g.cur
	tid := b.NewSExt(b.NewCall(g.declare("omp_get_thread_num", i32)), i64)
	threads := b.NewSExt(b.NewCall(g.declare("omp_get_num_threads", i32)), i64)
	// Thread t takes trips/threads iterations, one more when t < trips%threads.
	base := b.NewSDiv(params[3], threads)
	extra := b.NewSRem(params[3], threads)
	before := b.NewSelect(b.NewICmp(enum.IPredSLT, tid, extra), tid, extra)
	first := b.NewAdd(b.NewMul(tid, base), before)
	last := b.NewAdd(b.NewAdd(first, base), b.NewZExt(b.NewICmp(enum.IPredSLT, tid, extra), i64))
	vals := make([]value.Value, len(caps))
	for i, c := range caps {
		vals[i] = g.fromWord(params[4+i], c.v.Type())
	}
	body := enter(vals)
	g.loop(first, last, func(k value.Value) {
		body(g.cur.NewAdd(params[2], g.cur.NewMul(k, constant.NewInt(i64, step))))
	})
	g.cur.NewRet(nil)
	g.frame = outer
}

// toWord turns a captured value into a pointer or an i64, the argument classes that
// __kmpc_fork_call forwards unchanged; fromWord turns it back into a value of type t.
func (g *gen) toWord(v value.Value) value.Value {
	b := g.cur
	switch t := v.Type(); {
	case t == types.Float:
		return b.NewZExt(b.NewBitCast(v, types.I32), i64)
	case t == types.Double:
		return b.NewBitCast(v, i64)
	case t.Equal(i64):
		return v
	default:
		if _, isInt := t.(*types.IntType); isInt {
			return b.NewZExt(v, i64)
		}
		return v // a pointer
	}
}

func (g *gen) fromWord(w value.Value, t types.Type) value.Value {
	b := g.cur
	switch {
	case t == types.Float:
		return b.NewBitCast(b.NewTrunc(w, types.I32), t)
	case t == types.Double:
		return b.NewBitCast(w, t)
	case t.Equal(i64):
		return w
	default:
		if _, isInt := t.(*types.IntType); isInt {
			return b.NewTrunc(w, t)
		}
		return w
	}
}

// ident is libomp's source location type ident_t: reserved_1, flags, reserved_2,
// reserved_3 (clang stores the psource length there), psource.
func (g *gen) ident() types.Type {
	if g.identT == nil {
		g.identT = g.mod.NewTypeDef("struct.ident_t", types.NewStruct(types.I32, types.I32, types.I32, types.I32, i8Ptr))
	}
	return g.identT
}

// kmpIdentKMPC is ident_t's flag for locations of the kmpc interface.
const kmpIdentKMPC = 2

// location defines the ident_t of parallel region name at pos, with psource
// ";file;function;line;column;;".
func (g *gen) location(pos frontend.Pos, name string) value.Value {
	src := fmt.Sprintf(";%s;%s;%d;%d;;", g.file, g.fn.Name, pos.Line, pos.Col)
	str := g.mod.NewGlobalDef(name+".psource", constant.NewCharArrayFromString(src+"\x00"))
	str.Immutable, str.Linkage, str.UnnamedAddr = true, enum.LinkagePrivate, enum.UnnamedAddrUnnamedAddr
	i32 := func(v int) constant.Constant { return constant.NewInt(types.I32, int64(v)) }
	zero := constant.NewInt(i64, 0)
	psource := constant.NewGetElementPtr(str.ContentType, str, zero, zero)
	psource.InBounds = true
	loc := g.mod.NewGlobalDef(name+".loc", constant.NewStruct(g.ident().(*types.StructType), i32(0), i32(kmpIdentKMPC), i32(0), i32(len(src)), psource))
	loc.Immutable, loc.Linkage, loc.UnnamedAddr = true, enum.LinkagePrivate, enum.UnnamedAddrUnnamedAddr
	return loc
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
