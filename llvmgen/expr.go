package llvmgen

import (
	"fmt"
	"math"
	"reflect"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/entry"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/lower"
)

// operand evaluates an expression of any type.
func (g *gen) operand(e frontend.Expr) operand {
	switch e := e.(type) {
	case *frontend.Ident:
		return g.loadVar(e.Var)
	case *frontend.ArrayAlloc:
		a, ok := g.hoisted[e]
		if !ok {
			a = g.allocate(e)
			g.live = append(g.live, a[allocated])
		}
		if !e.Scratch {
			g.fill(a, e.Elem)
		}
		return a
	case *frontend.Call:
		return g.call(e)
	}
	return operand{g.expr(e)}
}

// expr evaluates a scalar expression.
func (g *gen) expr(e frontend.Expr) value.Value {
	switch e := e.(type) {
	case *frontend.Const:
		return constantOf(e)
	case *frontend.Ident:
		return g.loadVar(e.Var)[0]
	case *frontend.Binary:
		return g.binaryOp(e.Op, e.X.Type(), g.expr(e.X), g.expr(e.Y))
	case *frontend.Unary:
		x := g.expr(e.X)
		switch {
		case e.Op == frontend.NOT:
			return g.cur.NewXor(x, constant.True)
		case e.Op == frontend.TILDE:
			return g.cur.NewXor(x, constant.NewInt(x.Type().(*types.IntType), -1))
		case e.X.Type().IsFloat():
			return g.cur.NewFNeg(x)
		}
		return g.cur.NewSub(constant.NewInt(x.Type().(*types.IntType), 0), x)
	case *frontend.Convert:
		return g.convert(g.expr(e.X), e.X.Type(), e.T)
	case *frontend.Call:
		return g.call(e)[0]
	case *frontend.Index:
		return g.cur.NewLoad(entry.Type(e.Type().Kind), g.address(e))
	}
	panic(fmt.Sprintf("unexpected scalar expression %T at %s", e, e.Position()))
}

// fastMath is the flag list for floating-point arithmetic: reassociation and contraction
// (language §4) unless strict.
func (g *gen) fastMath() []enum.FastMathFlag {
	if g.opts.StrictFP {
		return nil
	}
	return []enum.FastMathFlag{enum.FastMathFlagReassoc, enum.FastMathFlagContract}
}

// binaryOps and casts make the instruction of each of lower's operations on two operands and
// of its conversions.
var (
	binaryOps = map[lower.Op]func(x, y value.Value) ir.Instruction{
		lower.Add: binary(ir.NewAdd), lower.Sub: binary(ir.NewSub), lower.Mul: binary(ir.NewMul),
		lower.SDiv: binary(ir.NewSDiv), lower.UDiv: binary(ir.NewUDiv), lower.SRem: binary(ir.NewSRem), lower.URem: binary(ir.NewURem),
		lower.And: binary(ir.NewAnd), lower.Or: binary(ir.NewOr), lower.Xor: binary(ir.NewXor),
		lower.Shl: binary(ir.NewShl), lower.AShr: binary(ir.NewAShr), lower.LShr: binary(ir.NewLShr),
		lower.FAdd: binary(ir.NewFAdd), lower.FSub: binary(ir.NewFSub), lower.FMul: binary(ir.NewFMul),
		lower.FDiv: binary(ir.NewFDiv), lower.FRem: binary(ir.NewFRem),
	}
	casts = map[lower.Op]func(x value.Value, t types.Type) ir.Instruction{
		lower.Trunc: cast(ir.NewTrunc), lower.ZExt: cast(ir.NewZExt), lower.SExt: cast(ir.NewSExt),
		lower.UIToFP: cast(ir.NewUIToFP), lower.SIToFP: cast(ir.NewSIToFP), lower.FPToUI: cast(ir.NewFPToUI),
		lower.FPToSI: cast(ir.NewFPToSI), lower.FPExt: cast(ir.NewFPExt), lower.FPTrunc: cast(ir.NewFPTrunc),
	}
)

func binary[I ir.Instruction](f func(x, y value.Value) I) func(x, y value.Value) ir.Instruction {
	return func(x, y value.Value) ir.Instruction { return f(x, y) }
}

func cast[I ir.Instruction](f func(x value.Value, t types.Type) I) func(x value.Value, t types.Type) ir.Instruction {
	return func(x value.Value, t types.Type) ir.Instruction { return f(x, t) }
}

// The comparison predicates, by the names lower.Predicate gives them.
var (
	intPreds = map[string]enum.IPred{
		"eq": enum.IPredEQ, "ne": enum.IPredNE, "slt": enum.IPredSLT, "sgt": enum.IPredSGT, "sle": enum.IPredSLE,
		"sge": enum.IPredSGE, "ult": enum.IPredULT, "ugt": enum.IPredUGT, "ule": enum.IPredULE, "uge": enum.IPredUGE,
	}
	floatPreds = map[string]enum.FPred{
		"oeq": enum.FPredOEQ, "une": enum.FPredUNE, "olt": enum.FPredOLT, "ogt": enum.FPredOGT, "ole": enum.FPredOLE, "oge": enum.FPredOGE,
	}
)

// emit appends inst to the current block; a float operation gets the fast-math flags. (Each
// of llir's float instruction types has a FastMathFlags field, but no method sets it.)
func (g *gen) emit(inst ir.Instruction) value.Value {
	if flags := reflect.ValueOf(inst).Elem().FieldByName("FastMathFlags"); flags.IsValid() {
		flags.Set(reflect.ValueOf(g.fastMath()))
	}
	g.cur.Insts = append(g.cur.Insts, inst)
	return inst.(value.Value)
}

// binaryOp emits x op y for operands of type t (comparisons yield i1).
func (g *gen) binaryOp(op frontend.TokenKind, t frontend.Type, x, y value.Value) value.Value {
	switch pred := lower.Predicate(op, t); {
	case pred != "" && t.IsFloat():
		return g.cur.NewFCmp(floatPreds[pred], x, y)
	case pred != "":
		return g.cur.NewICmp(intPreds[pred], x, y)
	case op == frontend.SHL || op == frontend.SHR:
		// A count outside [0, width) gives an unspecified value, never poison: it is masked.
		y = g.cur.NewAnd(y, constant.NewInt(x.Type().(*types.IntType), int64(8*t.Kind.Size()-1)))
	}
	return g.emit(binaryOps[lower.BinaryOp(op, t)](x, y))
}

// convert converts x from type from to type to (numeric scalars), by lower.Conversion. The
// half f16 is its 16 bits here, an i16, converted through LLVM's half.
func (g *gen) convert(x value.Value, from, to frontend.Type) value.Value {
	b := g.cur
	for _, c := range lower.Conversion(from, to) {
		switch c.Op {
		case lower.HalfToF32:
			x = b.NewFPExt(b.NewBitCast(x, types.Half), types.Float)
		case lower.F32ToHalf:
			x = b.NewBitCast(b.NewFPTrunc(x, types.Half), types.I16)
		default:
			x = g.emit(casts[c.Op](x, entry.Type(c.To.Kind)))
		}
	}
	return x
}

func constantOf(k *frontend.Const) constant.Constant {
	if bits, isInt := lower.IntBits(k); isInt {
		return intConst(k.T.Kind, bits) // a bool's 1 prints as true
	}
	return floatConst(k.T.Kind, k.Float)
}

// intConst is the constant with bits v of integer (or half) kind k, written as a signed value of k's
// width.
func intConst(k abi.Kind, v int64) constant.Constant {
	return constant.NewInt(entry.Type(k).(*types.IntType), k.Signed(v))
}

// exactFloat is a float constant written as its exact bits: llir's own float constants print
// -0.0 as 0.0.
type exactFloat struct {
	typ  *types.FloatType
	bits uint64 // the value as a double, as LLVM writes float constants of both widths
}

func floatConst(k abi.Kind, v float64) constant.Constant {
	if k == abi.F32 {
		return exactFloat{types.Float, math.Float64bits(float64(float32(v)))}
	}
	return exactFloat{types.Double, math.Float64bits(v)}
}

func (c exactFloat) Type() types.Type { return c.typ }
func (c exactFloat) Ident() string    { return fmt.Sprintf("0x%016X", c.bits) }
func (c exactFloat) String() string   { return c.typ.String() + " " + c.Ident() }
func (exactFloat) IsConstant()        {}

// address evaluates an element access to the element's pointer; a multi-index is flattened
// row-major.
func (g *gen) address(ix *frontend.Index) value.Value {
	a := g.operand(ix.Array)
	idx := g.expr(ix.Indices[0])
	for k, e := range ix.Indices[1:] {
		i := g.expr(e)
		idx = g.cur.NewAdd(g.cur.NewMul(idx, a[dims+k+1]), i)
	}
	return g.elem(a[aligned], ix.Type().Kind, idx)
}

// elem is the pointer to element idx (i64) of the array whose data starts at data.
func (g *gen) elem(data value.Value, k abi.Kind, idx value.Value) value.Value {
	p := g.cur.NewGetElementPtr(entry.Type(k), data, idx)
	p.InBounds = true
	return p
}

// allocate allocates the memory of a local array, 64-byte aligned.
func (g *gen) allocate(site *frontend.ArrayAlloc) operand {
	b := g.cur
	var ds []value.Value
	var total value.Value
	for _, d := range site.Dims {
		n := g.expr(d)
		ds = append(ds, n)
		if total == nil {
			total = n
		} else {
			total = b.NewMul(total, n)
		}
	}
	bytes := b.NewMul(total, constant.NewInt(i64, int64(site.Elem.Size())))
	rounded := b.NewAnd(b.NewAdd(bytes, constant.NewInt(i64, 63)), constant.NewInt(i64, -64)) // aligned_alloc wants a multiple of the alignment
	raw := b.NewCall(g.declare("aligned_alloc", i8Ptr, i64, i64), constant.NewInt(i64, 64), rounded)
	data := b.NewBitCast(raw, types.NewPointer(entry.Type(site.Elem)))
	a := operand{data, data, constant.NewInt(i64, 0), total, constant.NewInt(i64, 1)}
	if len(ds) > 1 {
		a = append(a, ds...)
	}
	return a
}

// fill zeroes a local array (each time its declaration is reached, as a fresh array would be).
func (g *gen) fill(a operand, k abi.Kind) {
	b := g.cur
	memset := g.declare("llvm.memset.p0i8.i64", types.Void, i8Ptr, types.I8, i64, types.I1)
	bytes := b.NewMul(a[size], constant.NewInt(i64, int64(k.Size())))
	b.NewCall(memset, b.NewBitCast(a[allocated], i8Ptr), constant.NewInt(types.I8, 0), bytes, constant.False)
}

// call emits a call of a function of the file or of a scalar builtin (the lowering turned
// the array builtins into loops); array parameters take the five memref fields.
func (g *gen) call(c *frontend.Call) operand {
	switch c.Builtin {
	case frontend.NoBuiltin:
	case frontend.Len:
		return operand{g.operand(c.Args[0])[size]}
	case frontend.Dim:
		return operand{g.operand(c.Args[0])[dims+int(c.Args[1].(*frontend.Const).Int)]}
	case frontend.Dot:
		return operand{g.dot(c)}
	case frontend.Bits, frontend.FromBits:
		x, t := g.expr(c.Args[0]), entry.Type(c.T.Kind)
		if x.Type().Equal(t) {
			return operand{x} // a half's bits are its value here
		}
		return operand{g.cur.NewBitCast(x, t)}
	case frontend.Select:
		return operand{g.cur.NewSelect(g.expr(c.Args[0]), g.expr(c.Args[1]), g.expr(c.Args[2]))}
	case frontend.GroupBias:
		g.groupBias(c)
		return nil
	case frontend.Prefetch:
		// for reading (0), into the second-level cache (locality 1), as data (1); the address
		// is not inbounds, as it may lie past the array
		at := g.cur.NewBitCast(g.cur.NewGetElementPtr(entry.Type(c.Args[0].Type().Kind), g.operand(c.Args[0])[aligned], g.expr(c.Args[1])), i8Ptr)
		prefetch := g.declare("llvm.prefetch.p0i8", types.Void, i8Ptr, types.I32, types.I32, types.I32)
		g.cur.NewCall(prefetch, at, constant.NewInt(types.I32, 0), constant.NewInt(types.I32, 1), constant.NewInt(types.I32, 1))
		return nil
	case frontend.Slot, frontend.SetSlot, frontend.Report:
		// A function of the run time of checked access, named by the lowering and defined
		// beside the module (package entry).
		var args []value.Value
		var params []types.Type
		for _, a := range c.Args {
			args = append(args, g.expr(a))
			params = append(params, entry.Type(a.Type().Kind))
		}
		return operand{g.cur.NewCall(g.declare(c.Name, entry.Type(c.T.Kind), params...), args...)}
	default:
		return operand{g.mathOp(c, func(i int) value.Value { return g.expr(c.Args[i]) })}
	}
	var args []value.Value
	for _, a := range c.Args {
		v := g.operand(a)
		if a.Type().IsArray() {
			v = v[:dims]
		}
		args = append(args, v...)
	}
	return operand{g.cur.NewCall(g.funcs[c.Func], args...)}
}

// bytes are the two arrays of a Dot or ScaledDot and where they start.
type byteOperands struct {
	data, at [2]value.Value
	unsigned [2]bool
	nibbles  bool        // the second holds q4 nibbles (ScaledNibbleDot)
	high     value.Value // with nibbles, where the first array's inputs of the high nibbles start
}

// byteArgs evaluates the arrays and starts of Dot(a, i, b, j, …) and ScaledDot.
func (g *gen) byteArgs(c *frontend.Call) byteOperands {
	var b byteOperands
	for k, arg := range []int{0, 2} {
		b.data[k], b.at[k] = g.operand(c.Args[arg])[aligned], g.expr(c.Args[arg+1])
		b.unsigned[k] = c.Args[arg].Type().Kind == abi.U8
	}
	if b.nibbles = c.Builtin == frontend.ScaledNibbleDot; b.nibbles {
		b.high = g.expr(c.Args[5])
	}
	return b
}

// sums16 is the type of pairs: 16 lanes of i32.
var sums16 = types.NewVector(frontend.DotChunk/2, types.I32)

// pairs emits the products of the DotChunk bytes of each array from offset off, widened and
// summed in pairs: a <16 x i32>.
func (g *gen) pairs(b byteOperands, off value.Value) value.Value {
	elem := types.I32
	if g.opts.AVX512BW {
		elem = types.I16 // vpmaddwd's operands
	}
	chunk, wide := types.NewVector(frontend.DotChunk, types.I8), types.NewVector(frontend.DotChunk, elem)
	var w [2]value.Value
	for i := range b.data {
		at := g.elem(b.data[i], abi.I8, g.cur.NewAdd(b.at[i], off))
		if b.nibbles {
			if i == 1 {
				w[i] = g.cur.NewSExt(g.nibbles(at), wide)
			} else { // the inputs of the low nibbles, then those of the high ones
				half := types.NewVector(frontend.DotChunk/2, types.I8)
				high := g.elem(b.data[i], abi.I8, g.cur.NewAdd(b.high, off))
				w[i] = g.cur.NewSExt(g.cur.NewShuffleVector(g.loadVector(half, at), g.loadVector(half, high), lanes(0, 1)), wide)
			}
			continue
		}
		v := g.loadVector(chunk, at)
		if b.unsigned[i] {
			w[i] = g.cur.NewZExt(v, wide)
		} else {
			w[i] = g.cur.NewSExt(v, wide)
		}
	}
	if g.opts.AVX512BW {
		return g.cur.NewCall(g.declare("llvm.x86.avx512.pmaddw.d.512", sums16, wide, wide), w[0], w[1])
	}
	prod := g.cur.NewMul(w[0], w[1])
	return g.cur.NewAdd(g.cur.NewShuffleVector(prod, prod, lanes(0, 2)), g.cur.NewShuffleVector(prod, prod, lanes(1, 2)))
}

// loadVector loads a vector of type t from the bytes at p, which need not be aligned.
func (g *gen) loadVector(t types.Type, p value.Value) value.Value {
	v := g.cur.NewLoad(t, g.cur.NewBitCast(p, types.NewPointer(t)))
	v.Align = 1
	return v
}

// nibbles loads the DotChunk/2 bytes at p and gives their DotChunk q4 values: the low
// nibbles, then the high ones, each less 8.
func (g *gen) nibbles(p value.Value) value.Value {
	v := g.loadVector(types.NewVector(frontend.DotChunk/2, types.I8), p)
	lo := g.cur.NewAnd(v, splat(types.I8, frontend.DotChunk/2, 15))
	hi := g.cur.NewLShr(v, splat(types.I8, frontend.DotChunk/2, 4))
	cat := g.cur.NewShuffleVector(lo, hi, lanes(0, 1))
	return g.cur.NewSub(cat, splat(types.I8, frontend.DotChunk, 8))
}

// dot evaluates Dot(a, i, b, j, n) (see package lower): a loop over the chunks, adding
// their pairs into 16 sums, then the sum of those.
func (g *gen) dot(c *frontend.Call) value.Value {
	b := g.byteArgs(c)
	chunks := g.cur.NewLShr(g.expr(c.Args[4]), constant.NewInt(i64, 5))
	acc := g.entry.NewAlloca(sums16)
	g.cur.NewStore(constant.NewZeroInitializer(sums16), acc)
	g.loop(constant.NewInt(i64, 0), chunks, func(k value.Value) {
		pairs := g.pairs(b, g.cur.NewMul(k, constant.NewInt(i64, frontend.DotChunk)))
		g.cur.NewStore(g.cur.NewAdd(g.cur.NewLoad(sums16, acc), pairs), acc)
	})
	return g.cur.NewCall(g.declare("llvm.vector.reduce.add.v16i32", types.I32, sums16), g.cur.NewLoad(sums16, acc))
}

// laneType is the type of a variable of lower.Loop.Lanes inside its loop.
var laneType = types.NewVector(frontend.DotChunk/2, types.Float)

// scaledDot adds ScaledDot(a, i, b, j, scale) to the lanes sums: each pair of products, as
// f32, times the scale.
func (g *gen) scaledDot(c *frontend.Call, sums value.Value) value.Value {
	switch c.Builtin {
	case frontend.ScaledDotPair, frontend.ScaledNibbleDotQuad:
		return g.groupDot(c, sums)
	case frontend.FloatDot:
		// the sum of n pairs of vectors; n = 1: added to the lanes sums directly
		n := c.Args[4].(*frontend.Const).Int
		var prods value.Value
		for h := range n {
			p := g.emit(ir.NewFMul(g.floatVector(c.Args[0], c.Args[1], 16*h), g.floatVector(c.Args[2], c.Args[3], 16*h)))
			if h > 0 {
				p = g.emit(ir.NewFAdd(prods, p))
			}
			prods = p
		}
		if n == 1 {
			return g.emit(ir.NewFAdd(sums, prods))
		}
		// not reassoc, which let LLVM chain both FMAs on the sums (see lower/floatdot.go)
		add := ir.NewFAdd(sums, prods)
		g.emit(add)
		add.FastMathFlags = []enum.FastMathFlag{enum.FastMathFlagContract}
		return add
	}
	pairs := g.pairs(g.byteArgs(c), constant.NewInt(i64, 0))
	scale := g.expr(c.Args[4])
	f := g.cur.NewSIToFP(pairs, laneType)
	one := g.cur.NewInsertElement(constant.NewUndef(laneType), scale, constant.NewInt(types.I32, 0))
	splat := g.cur.NewShuffleVector(one, constant.NewUndef(laneType), constant.NewZeroInitializer(sums16))
	return g.emit(ir.NewFAdd(sums, g.emit(ir.NewFMul(f, splat))))
}

// floatVector loads the 16 elements of array a from index i + off as f32, widening bf16 ones
// (the high half of the f32 they widen to).
func (g *gen) floatVector(a, i frontend.Expr, off int64) value.Value {
	idx := g.expr(i)
	if off != 0 {
		idx = g.cur.NewAdd(idx, constant.NewInt(i64, off))
	}
	at := g.elem(g.operand(a)[aligned], a.Type().Kind, idx)
	if a.Type().Kind != abi.BF16 {
		return g.loadVector(laneType, at)
	}
	bits := g.cur.NewZExt(g.loadVector(types.NewVector(16, types.I16), at), sums16)
	return g.cur.NewBitCast(g.cur.NewShl(bits, splat(types.I32, 16, 16)), laneType)
}

// lanes is the shuffle mask lower.Lanes(first, step).
func lanes(first, step int) constant.Constant { return mask(lower.Lanes(first, step)) }

// mask is a shuffle mask.
func mask(lanes []int) constant.Constant {
	var m []constant.Constant
	for _, l := range lanes {
		m = append(m, constant.NewInt(types.I32, int64(l)))
	}
	return constant.NewVector(types.NewVector(uint64(len(m)), types.I32), m...)
}

// splat is a vector of n integers k of type t.
func splat(t *types.IntType, n int, k int64) constant.Constant {
	elems := make([]constant.Constant, n)
	for i := range elems {
		elems[i] = constant.NewInt(t, k)
	}
	return constant.NewVector(types.NewVector(uint64(n), t), elems...)
}

// groupDot adds ScaledDotPair(a, i0, b, j0, scale0, i1, j1, scale1) or ScaledNibbleDotQuad
// to the lanes sums. vpdpbusd sums the products of four unsigned bytes by four signed ones
// into each of 16 lanes, so a pair's 64 bytes of q8 fill one, lanes 0–7 for the first group
// and 8–15 for the second; four groups' 64 bytes of q4 fill two, the low nibbles against the
// inputs of the low nibbles and the high ones against those of the high nibbles, four lanes
// a group. The inputs' bias then comes out (inputBias): the q8 weights go in shifted into
// the unsigned range, w + 128 = w xor 128, so (w + 128)·x − 128·x = w·x; q4's nibbles n are
// unsigned, n·x − 8·x = (n − 8)·x. The bias depends on the inputs alone: when the dot has a
// table of them (package lower, biases.go), which holds them negated, its byte sums start
// from its step's entry; otherwise it computes the bias, once for every row of a jammed loop.
func (g *gen) groupDot(c *frontend.Call, sums value.Value) value.Value {
	groups, chunk := lower.Groups(c), frontend.DotChunk
	arg := func(k, m int) frontend.Expr { return lower.GroupArg(c, k, m) }
	var weights []frontend.Expr
	for m := range groups {
		weights = append(weights, arg(1, m))
	}
	x := g.groupInputs(c)
	var start value.Value = constant.NewZeroInitializer(sums16)
	table, at := lower.BiasTable(c)
	if table != nil {
		start = g.loadVector(sums16, g.elem(g.operand(table)[aligned], abi.I32, g.expr(at)))
	}
	var d value.Value
	if groups == 4 {
		w := g.joined(c.Args[2], weights, chunk/2)
		lo, hi := g.cur.NewAnd(w, splat(types.I8, 2*chunk, 15)), g.cur.NewLShr(w, splat(types.I8, 2*chunk, 4))
		d = g.byteDot(g.byteDot(start, lo, x[0]), hi, x[1])
	} else {
		d = g.byteDot(start, g.cur.NewXor(g.joined(c.Args[2], weights, chunk), splat(types.I8, 2*chunk, -128)), x[0])
	}
	if table == nil {
		d = g.cur.NewSub(d, g.inputBias(x))
	}
	f := g.cur.NewSIToFP(d, laneType)
	var scales value.Value = constant.NewUndef(laneType)
	for m := range groups {
		scales = g.cur.NewInsertElement(scales, g.expr(arg(2, m)), constant.NewInt(types.I32, int64(m)))
	}
	scales = g.cur.NewShuffleVector(scales, constant.NewUndef(laneType), mask(lower.GroupScales(groups)))
	return g.emit(ir.NewFAdd(sums, g.emit(ir.NewFMul(f, scales))))
}

// groupBias stores GroupBias(table, at, x, …): the input biases of a group dot, negated.
func (g *gen) groupBias(c *frontend.Call) {
	at := g.elem(g.operand(c.Args[0])[aligned], abi.I32, g.expr(c.Args[1]))
	off := g.cur.NewSub(constant.NewZeroInitializer(sums16), g.inputBias(g.groupInputs(c)))
	g.cur.NewStore(off, g.cur.NewBitCast(at, types.NewPointer(sums16))).Align = 1
}

// groupInputs loads the inputs of a group dot or GroupBias as vectors of 64 bytes: of q8
// groups one, of q4 groups the inputs of the low nibbles and those of the high ones.
func (g *gen) groupInputs(c *frontend.Call) []value.Value {
	x, starts, highs := lower.GroupInputs(c)
	if highs == nil {
		return []value.Value{g.joined(x, starts, frontend.DotChunk)}
	}
	return []value.Value{g.joined(x, starts, frontend.DotChunk/2), g.joined(x, highs, frontend.DotChunk/2)}
}

// inputBias is what the shifted operand of a group dot adds to its byte sums, from its inputs
// x alone (groupInputs): 128·x of q8, 8·x of q4, each lane summing four bytes.
func (g *gen) inputBias(x []value.Value) value.Value {
	zero := constant.NewZeroInitializer(sums16)
	if len(x) == 1 {
		return g.byteDot(zero, splat(types.I8, 2*frontend.DotChunk, -128), x[0])
	}
	eight := splat(types.I8, 2*frontend.DotChunk, 8)
	return g.byteDot(g.byteDot(zero, eight, x[0]), eight, x[1])
}

// joined loads n bytes of array a from each start, in order, as one vector.
func (g *gen) joined(a frontend.Expr, starts []frontend.Expr, n int) value.Value {
	var vs []value.Value
	for _, at := range starts {
		vs = append(vs, g.loadVector(types.NewVector(uint64(n), types.I8), g.elem(g.operand(a)[aligned], abi.I8, g.expr(at))))
	}
	for w := n; len(vs) > 1; w *= 2 {
		var next []value.Value
		for i := 0; i < len(vs); i += 2 {
			next = append(next, g.cur.NewShuffleVector(vs[i], vs[i+1], mask(lower.Joined(w))))
		}
		vs = next
	}
	return vs[0]
}

// byteDot is vpdpbusd: acc plus, in each of 16 lanes, the products of four unsigned bytes of
// u by four signed ones of s.
func (g *gen) byteDot(acc, u, s value.Value) value.Value {
	dp := g.declare("llvm.x86.avx512.vpdpbusd.512", sums16, sums16, sums16, sums16)
	words := func(v value.Value) value.Value { return g.cur.NewBitCast(v, sums16) }
	return g.cur.NewCall(dp, acc, words(u), words(s))
}

// mathOp emits a scalar builtin as the overloaded LLVM intrinsic llvm.OP.T, with OP its
// lower.MathOp and T the lower.TypeName of its result (llvm.exp.f32, llvm.smax.i64).
func (g *gen) mathOp(c *frontend.Call, arg func(int) value.Value) value.Value {
	op := lower.MathOp(c.Builtin, c.T)
	if op == "" {
		return arg(0)
	}
	t, name := entry.Type(c.T.Kind), "llvm."+string(op)+"."+lower.TypeName(c.T.Kind)
	if op == lower.Abs {
		// is_int_min_poison false: abs of the most negative value wraps to itself.
		return g.cur.NewCall(g.declare(name, t, t, types.I1), arg(0), constant.False)
	}
	args, params := make([]value.Value, len(c.Args)), make([]types.Type, len(c.Args))
	for i := range args {
		args[i], params[i] = arg(i), t
	}
	return g.cur.NewCall(g.declare(name, t, params...), args...)
}
