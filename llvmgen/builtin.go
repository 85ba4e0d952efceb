package llvmgen

import (
	"math"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
)

// builtin emits a builtin call. The array builtins are loops written inline; they return
// their output array.
func (g *gen) builtin(c *frontend.Call) operand {
	args := make([]operand, len(c.Args))
	for i, a := range c.Args {
		args[i] = g.operand(a)
	}
	arg := func(i int) value.Value { return args[i][0] }
	data := func(i int) value.Value { return args[i][aligned] }
	// offset is argument i, or 0 when the short form omits it.
	offset := func(i int) value.Value {
		if i < len(args) {
			return arg(i)
		}
		return constant.NewInt(i64, 0)
	}
	if c.Builtin.Output() < 0 {
		return operand{g.mathOp(c, arg)}
	}
	k := c.Args[0].Type().Kind
	switch c.Builtin {
	case frontend.Rmsnorm:
		g.rmsnorm(k, data(0), data(1), data(2), arg(3), arg(4), offset(5))
	case frontend.Softmax:
		g.softmax(k, data(0), data(1), arg(2), offset(3), offset(4))
	case frontend.Silu:
		g.silu(k, data(0), data(1), arg(2))
	case frontend.Matmul:
		g.matmul(c, k, [3]value.Value{data(0), data(1), data(2)}, arg(3), arg(4), arg(5), offset(6), offset(7), offset(8))
	}
	return args[c.Builtin.Output()]
}

// mathOp emits a scalar builtin through the LLVM intrinsics.
func (g *gen) mathOp(c *frontend.Call, arg func(int) value.Value) value.Value {
	t := scalarType(c.T.Kind)
	apply := func(name string, n int) value.Value {
		args := make([]value.Value, n)
		for i := range args {
			args[i] = arg(i)
		}
		return g.cur.NewCall(g.intrinsic(name, t, n), args...)
	}
	unary := map[frontend.Builtin]string{
		frontend.Sqrt: "sqrt", frontend.Exp: "exp", frontend.Log: "log", frontend.Sin: "sin", frontend.Cos: "cos",
		frontend.Round: "round", frontend.Floor: "floor", frontend.Ceil: "ceil",
	}
	switch {
	case unary[c.Builtin] != "":
		return apply(unary[c.Builtin], 1)
	case c.Builtin == frontend.Pow:
		return apply("pow", 2)
	case c.Builtin == frontend.Abs && c.T.IsUnsigned():
		return arg(0)
	case c.Builtin == frontend.Abs && c.T.IsFloat():
		return apply("fabs", 1)
	case c.Builtin == frontend.Abs:
		// is_int_min_poison false: abs of the most negative value wraps to itself.
		abs := g.declare("llvm.abs."+suffix(t), t, t, types.I1)
		return g.cur.NewCall(abs, arg(0), constant.False)
	}
	name := map[frontend.Builtin]string{frontend.Min: "smin", frontend.Max: "smax"}[c.Builtin]
	switch {
	case c.T.IsFloat():
		name = map[frontend.Builtin]string{frontend.Min: "minnum", frontend.Max: "maxnum"}[c.Builtin]
	case c.T.IsUnsigned():
		name = map[frontend.Builtin]string{frontend.Min: "umin", frontend.Max: "umax"}[c.Builtin]
	}
	return apply(name, 2)
}

// suffix names type t in an overloaded intrinsic's name (llvm.exp.f32, llvm.smax.i64).
func suffix(t types.Type) string {
	switch t {
	case types.Float:
		return "f32"
	case types.Double:
		return "f64"
	}
	return t.LLString()
}

// intrinsic declares the overloaded LLVM intrinsic llvm.NAME.T taking n values of type t.
func (g *gen) intrinsic(name string, t types.Type, n int) *ir.Func {
	params := make([]types.Type, n)
	for i := range params {
		params[i] = t
	}
	return g.declare("llvm."+name+"."+suffix(t), t, params...)
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

// reduce emits a loop over [0, n) that folds step into an accumulator starting at init and
// returns the final value.
func (g *gen) reduce(n, init value.Value, step func(i, acc value.Value) value.Value) value.Value {
	slot := g.alloca(init.Type())
	g.cur.NewStore(init, slot)
	g.loop(constant.NewInt(i64, 0), n, func(i value.Value) {
		g.cur.NewStore(step(i, g.cur.NewLoad(slot.ElemType, slot)), slot)
	})
	return g.cur.NewLoad(slot.ElemType, slot)
}

// load and store access element i + off of the array data of kind k.
func (g *gen) load(data value.Value, k abi.Kind, i, off value.Value) value.Value {
	return g.cur.NewLoad(scalarType(k), g.elem(data, k, g.cur.NewAdd(i, off)))
}

func (g *gen) store(v, data value.Value, k abi.Kind, i, off value.Value) {
	g.cur.NewStore(v, g.elem(data, k, g.cur.NewAdd(i, off)))
}

var zero64 = constant.NewInt(i64, 0)

// rmsnorm: ss = Σ in[i]²; r = 1/sqrt(ss/n + eps); out[i] = w[w_off+i]·(in[i]·r).
func (g *gen) rmsnorm(k abi.Kind, in, w, out, n, eps, wOff value.Value) {
	et := frontend.Type{Kind: k}
	ss := g.reduce(n, floatConst(k, 0), func(i, acc value.Value) value.Value {
		x := g.load(in, k, i, zero64)
		return g.binaryOp(frontend.ADD, et, acc, g.binaryOp(frontend.MUL, et, x, x))
	})
	mean := g.binaryOp(frontend.QUO, et, ss, g.convert(n, frontend.I64, et))
	t := scalarType(k)
	root := g.cur.NewCall(g.intrinsic("sqrt", t, 1), g.binaryOp(frontend.ADD, et, mean, eps))
	r := g.binaryOp(frontend.QUO, et, floatConst(k, 1), root)
	g.loop(zero64, n, func(i value.Value) {
		x := g.load(in, k, i, zero64)
		wi := g.load(w, k, i, wOff)
		g.store(g.binaryOp(frontend.MUL, et, wi, g.binaryOp(frontend.MUL, et, x, r)), out, k, i, zero64)
	})
}

// softmax: m = max in[k+i]; out[o+i] = exp(in[k+i]−m) / Σ exp(in[k+j]−m). It works in place
// (in and out the same array at the same offset).
func (g *gen) softmax(k abi.Kind, in, out, n, inOff, outOff value.Value) {
	et := frontend.Type{Kind: k}
	t := scalarType(k)
	maxnum := g.intrinsic("maxnum", t, 2)
	exp := g.intrinsic("exp", t, 1)
	m := g.reduce(n, floatConst(k, math.Inf(-1)), func(i, acc value.Value) value.Value {
		return g.cur.NewCall(maxnum, acc, g.load(in, k, i, inOff))
	})
	sum := g.reduce(n, floatConst(k, 0), func(i, acc value.Value) value.Value {
		e := g.cur.NewCall(exp, g.binaryOp(frontend.SUB, et, g.load(in, k, i, inOff), m))
		g.store(e, out, k, i, outOff)
		return g.binaryOp(frontend.ADD, et, acc, e)
	})
	g.loop(zero64, n, func(i value.Value) {
		g.store(g.binaryOp(frontend.QUO, et, g.load(out, k, i, outOff), sum), out, k, i, outOff)
	})
}

// silu: out[i] = in[i] / (1 + exp(−in[i])).
func (g *gen) silu(k abi.Kind, in, out, n value.Value) {
	et := frontend.Type{Kind: k}
	t := scalarType(k)
	exp := g.intrinsic("exp", t, 1)
	g.loop(zero64, n, func(i value.Value) {
		x := g.load(in, k, i, zero64)
		e := g.cur.NewCall(exp, g.cur.NewFNeg(x))
		den := g.binaryOp(frontend.ADD, et, floatConst(k, 1), e)
		g.store(g.binaryOp(frontend.QUO, et, x, den), out, k, i, zero64)
	})
}

// matmul: C[c_off + i·n + j] += Σ_p A[a_off + i·k + p] · B[b_off + p·n + j], row-major. The
// rows of C are independent, so they run in parallel when C shares no memory with A or B.
// The sum is formed first and then added to C, as the definition reads.
func (g *gen) matmul(c *frontend.Call, kind abi.Kind, abc [3]value.Value, m, k, n, aOff, bOff, cOff value.Value) {
	row := func(i value.Value, abc []value.Value, k, n, aOff, bOff, cOff value.Value) {
		et := frontend.Type{Kind: kind}
		a, b, cm := abc[0], abc[1], abc[2]
		aRow := g.cur.NewAdd(aOff, g.cur.NewMul(i, k))
		cRow := g.cur.NewAdd(cOff, g.cur.NewMul(i, n))
		g.loop(zero64, n, func(j value.Value) {
			sum := g.reduce(k, floatConst(kind, 0), func(p, acc value.Value) value.Value {
				x := g.load(a, kind, p, aRow)
				y := g.load(b, kind, j, g.cur.NewAdd(bOff, g.cur.NewMul(p, n)))
				return g.binaryOp(frontend.ADD, et, acc, g.binaryOp(frontend.MUL, et, x, y))
			})
			old := g.load(cm, kind, j, cRow)
			g.store(g.binaryOp(frontend.ADD, et, old, sum), cm, kind, j, cRow)
		})
	}
	parallel := !g.opts.Serial &&
		!g.loops.MayAlias(c.Args[2], c.Args[0]) && !g.loops.MayAlias(c.Args[2], c.Args[1])
	if !parallel {
		g.loop(zero64, m, func(i value.Value) { row(i, abc[:], k, n, aOff, bOff, cOff) })
		return
	}
	// A and B are only read and C overlaps neither: all three may be noalias.
	caps := []capture{{abc[0], true}, {abc[1], true}, {abc[2], true}, {k, false}, {n, false}, {aOff, false}, {bOff, false}, {cOff, false}}
	g.parallel(c.Pos, zero64, g.trips(zero64, m, 1), 1, caps, func(v []value.Value) func(value.Value) {
		return func(i value.Value) { row(i, v[:3], v[3], v[4], v[5], v[6], v[7]) }
	})
}
