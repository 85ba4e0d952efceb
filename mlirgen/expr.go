package mlirgen

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/lower"
)

func (g *gen) expr(e frontend.Expr) value {
	switch e := e.(type) {
	case *frontend.Const:
		return value{v: g.constant(e)}
	case *frontend.Ident:
		return g.env[e.Var]
	case *frontend.Binary:
		return value{v: g.binaryOp(e.Op, e.X.Type(), g.expr(e.X).v, g.expr(e.Y).v)}
	case *frontend.Unary:
		x := g.expr(e.X).v
		if e.Op == frontend.NOT {
			return value{v: g.not(x)}
		}
		r := g.fresh()
		switch t := e.X.Type(); {
		case e.Op == frontend.TILDE:
			g.op("%s = arith.xori %s, %s : %s", r, x, g.constInt(-1, t), typ(t))
		case t.IsFloat():
			g.op("%s = arith.negf %s : %s", r, x, typ(t))
		default:
			g.op("%s = arith.subi %s, %s : %s", r, g.constInt(0, t), x, typ(t))
		}
		return value{v: r}
	case *frontend.Convert:
		return value{v: g.convert(g.expr(e.X).v, e.X.Type(), e.T)}
	case *frontend.Call:
		return g.call(e)
	case *frontend.Index:
		m, idx := g.address(e)
		return value{v: g.def("memref.load %s[%s] : %s", m, idx, typ(e.Array.Type()))}
	case *frontend.ArrayAlloc:
		a, ok := g.hoisted[e]
		if !ok {
			a = g.allocate(e)
			g.live = append(g.live, allocation{a.v, lower.TypeName(e.Elem)})
		}
		if !e.Scratch {
			g.fill(a.v, e)
		}
		return a
	}
	panic(fmt.Sprintf("mlirgen: unexpected expression %T", e))
}

// fastmath is the flag list for floating-point arithmetic: reassociation and contraction
// (language §4) unless strict.
func (g *gen) fastmath() string {
	if g.opts.StrictFP {
		return ""
	}
	return " fastmath<reassoc,contract>"
}

// ops names the MLIR operation of each of lower's operations.
var ops = map[lower.Op]string{
	lower.Add: "arith.addi", lower.Sub: "arith.subi", lower.Mul: "arith.muli", lower.SDiv: "arith.divsi", lower.UDiv: "arith.divui",
	lower.SRem: "arith.remsi", lower.URem: "arith.remui", lower.And: "arith.andi", lower.Or: "arith.ori", lower.Xor: "arith.xori",
	lower.Shl: "arith.shli", lower.AShr: "arith.shrsi", lower.LShr: "arith.shrui",
	lower.FAdd: "arith.addf", lower.FSub: "arith.subf", lower.FMul: "arith.mulf", lower.FDiv: "arith.divf", lower.FRem: "arith.remf",

	lower.Trunc: "arith.trunci", lower.ZExt: "arith.extui", lower.SExt: "arith.extsi", lower.UIToFP: "arith.uitofp",
	lower.SIToFP: "arith.sitofp", lower.FPToUI: "arith.fptoui", lower.FPToSI: "arith.fptosi", lower.FPExt: "arith.extf",
	lower.FPTrunc: "arith.truncf",

	lower.Sqrt: "math.sqrt", lower.Exp: "math.exp", lower.Log: "math.log", lower.Sin: "math.sin", lower.Cos: "math.cos",
	lower.Round: "math.round", lower.Floor: "math.floor", lower.Ceil: "math.ceil", lower.Pow: "math.powf",
	lower.FAbs: "math.absf", lower.Abs: "math.absi", lower.SMin: "arith.minsi", lower.SMax: "arith.maxsi",
	lower.UMin: "arith.minui", lower.UMax: "arith.maxui",
}

// binaryOp emits x op y for operands of type t (comparisons yield i1).
func (g *gen) binaryOp(op frontend.TokenKind, t frontend.Type, x, y string) string {
	r := g.fresh()
	ty := typ(t)
	if pred := lower.Predicate(op, t); pred != "" {
		cmp := "arith.cmpi"
		if t.IsFloat() {
			cmp = "arith.cmpf"
		}
		g.op("%s = %s %s, %s, %s : %s", r, cmp, pred, x, y, ty)
		return r
	}
	if op == frontend.SHL || op == frontend.SHR {
		// A count outside [0, width) gives an unspecified value, never poison: it is masked.
		masked := g.fresh()
		g.op("%s = arith.andi %s, %s : %s", masked, y, g.constInt(int64(8*t.Kind.Size()-1), t), ty)
		y = masked
	}
	flags := ""
	if t.IsFloat() {
		flags = g.fastmath()
	}
	g.op("%s = %s %s, %s%s : %s", r, ops[lower.BinaryOp(op, t)], x, y, flags, ty)
	return r
}

func (g *gen) not(x string) string {
	r := g.fresh()
	g.op("%s = arith.xori %s, %s : i1", r, x, g.constBool(true))
	return r
}

// convert converts x from type from to type to (numeric scalars), by lower.Conversion. The
// half f16 is its 16 bits here, an i16, converted through MLIR's f16.
func (g *gen) convert(x string, from, to frontend.Type) string {
	for _, c := range lower.Conversion(from, to) {
		switch c.Op {
		case lower.HalfToF32:
			x = g.cast("arith.extf", g.cast("arith.bitcast", x, "i16", "f16"), "f16", "f32")
		case lower.F32ToHalf:
			x = g.cast("arith.bitcast", g.cast("arith.truncf", x, "f32", "f16"), "f16", "i16")
		default:
			x = g.cast(ops[c.Op], x, typ(from), typ(c.To))
		}
		from = c.To
	}
	return x
}

// cast emits the conversion op of x from type from to type to.
func (g *gen) cast(op, x, from, to string) string {
	return g.def("%s %s : %s to %s", op, x, from, to)
}

func (g *gen) constant(k *frontend.Const) string {
	bits, isInt := lower.IntBits(k)
	switch {
	case k.T == frontend.Bool:
		return g.constBool(bits != 0)
	case isInt:
		return g.constInt(bits, k.T)
	}
	return g.constFloat(k.Float, k.T)
}

// constInt emits the integer constant with bits v of integer (or half) type t; MLIR writes
// it as a signed value of t's width.
func (g *gen) constInt(v int64, t frontend.Type) string {
	v = t.Kind.Signed(v)
	return g.def("arith.constant %d : %s", v, typ(t))
}

// constFloat writes the exact bits of v as a hexadecimal float literal.
func (g *gen) constFloat(v float64, t frontend.Type) string {
	if t.Kind == abi.F32 {
		return g.def("arith.constant 0x%08X : f32", math.Float32bits(float32(v)))
	}
	return g.def("arith.constant 0x%016X : f64", math.Float64bits(v))
}

func (g *gen) constBool(b bool) string {
	return g.def("arith.constant %t", b)
}

func (g *gen) constIndex(v int64) string {
	return g.def("arith.constant %d : index", v)
}

func (g *gen) toIndex(x string, t frontend.Type) string {
	return g.cast("arith.index_cast", x, typ(t), "index")
}

func (g *gen) fromIndex(x string, t frontend.Type) string {
	return g.cast("arith.index_cast", x, "index", typ(t))
}

// address evaluates an element access to its memref and flat (row-major) index.
func (g *gen) address(ix *frontend.Index) (memref, index string) {
	a := g.expr(ix.Array)
	idx := g.toIndex(g.expr(ix.Indices[0]).v, frontend.I64)
	for k, e := range ix.Indices[1:] {
		i := g.toIndex(g.expr(e).v, frontend.I64)
		scaled, sum := g.fresh(), g.fresh()
		g.op("%s = arith.muli %s, %s : index", scaled, idx, a.dims[k+1])
		g.op("%s = arith.addi %s, %s : index", sum, scaled, i)
		idx = sum
	}
	return a.v, idx
}

// allocate allocates the memory of a local array.
func (g *gen) allocate(site *frontend.ArrayAlloc) value {
	var dims []string
	total := ""
	for _, d := range site.Dims {
		n := g.toIndex(g.expr(d).v, frontend.I64)
		dims = append(dims, n)
		if total == "" {
			total = n
		} else {
			total = g.def("arith.muli %s, %s : index", total, n)
		}
	}
	m := g.def("memref.alloc(%s) {alignment = 64 : i64} : memref<?x%s>", total, lower.TypeName(site.Elem))
	if len(dims) == 1 {
		dims = nil // a one-dimensional array's size is its memref's
	}
	return value{v: m, dims: dims}
}

// fill zeroes a local array (each time its declaration is reached, as a fresh array would be).
func (g *gen) fill(m string, site *frontend.ArrayAlloc) {
	g.pos = site.Pos
	n := g.fresh()
	g.op("%s = memref.dim %s, %s : memref<?x%s>", n, m, g.constIndex(0), lower.TypeName(site.Elem))
	zero := g.constant(frontend.Zero(site.Pos, frontend.Type{Kind: site.Elem}))
	i := g.fresh()
	g.open("scf.for %s = %s to %s step %s {", i, g.constIndex(0), n, g.constIndex(1))
	g.op("memref.store %s, %s[%s] : memref<?x%s>", zero, m, i, lower.TypeName(site.Elem))
	g.close()
}

// call emits a call of a function of the file or of a scalar builtin (the lowering turned the
// array builtins into loops).
func (g *gen) call(c *frontend.Call) value {
	switch c.Builtin {
	case frontend.Len, frontend.Dim:
		return value{v: g.size(c)}
	case frontend.Dot:
		return value{v: g.dot(c)}
	case frontend.Bits, frontend.FromBits:
		x, from, to := g.expr(c.Args[0]).v, lower.TypeName(c.Args[0].Type().Kind), lower.TypeName(c.T.Kind)
		if from == to {
			return value{v: x} // a half's bits are its value here
		}
		return value{v: g.cast("arith.bitcast", x, from, to)}
	case frontend.Select:
		cond, x, y := g.expr(c.Args[0]).v, g.expr(c.Args[1]).v, g.expr(c.Args[2]).v
		return value{v: g.def("arith.select %s, %s, %s : %s", cond, x, y, typ(c.T))}
	case frontend.GroupBias:
		g.groupBias(c)
		return value{}
	case frontend.Prefetch:
		a, at := g.expr(c.Args[0]).v, g.toIndex(g.expr(c.Args[1]).v, frontend.I64)
		g.op("memref.prefetch %s[%s], read, locality<1>, data : %s", a, at, typ(c.Args[0].Type()))
		return value{}
	}
	var args, types []string
	for _, a := range c.Args {
		args = append(args, g.expr(a).v)
		types = append(types, typ(a.Type()))
	}
	g.pos = c.Pos
	name := c.Name
	switch c.Builtin {
	case frontend.NoBuiltin:
	case frontend.Slot, frontend.SetSlot, frontend.Report:
		// A function of the run time of checked access, named by the lowering and defined
		// beside the module (package entry).
		result := ""
		if c.T != frontend.Void {
			result = " -> " + typ(c.T)
		}
		g.runtime[name] = fmt.Sprintf("  func.func private @%s(%s)%s", name, strings.Join(types, ", "), result)
	default:
		return value{v: g.mathOp(c, args)}
	}
	callee := fmt.Sprintf("@%s(%s) : (%s)", name, strings.Join(args, ", "), strings.Join(types, ", "))
	if c.T == frontend.Void {
		g.op("func.call %s -> ()", callee)
		return value{}
	}
	return value{v: g.def("func.call %s -> %s", callee, typ(c.T))}
}

// bytes are the two arrays of a Dot or ScaledDot and where they start.
type byteOperands struct {
	mem, at  [2]string
	unsigned [2]bool
	nibbles  bool   // the second holds q4 nibbles (ScaledNibbleDot)
	high     string // with nibbles, where the first array's inputs of the high nibbles start
}

// byteArgs evaluates the arrays and starts of Dot(a, i, b, j, …) and ScaledDot.
func (g *gen) byteArgs(c *frontend.Call) byteOperands {
	var b byteOperands
	for k, arg := range []int{0, 2} {
		b.mem[k] = g.expr(c.Args[arg]).v
		b.at[k] = g.toIndex(g.expr(c.Args[arg+1]).v, frontend.I64)
		b.unsigned[k] = c.Args[arg].Type().Kind == abi.U8
	}
	if b.nibbles = c.Builtin == frontend.ScaledNibbleDot; b.nibbles {
		b.high = g.toIndex(g.expr(c.Args[5]).v, frontend.I64)
	}
	g.pos = c.Pos
	return b
}

// pairs emits the products of the DotChunk bytes of each array from offset k (an index),
// widened and summed in pairs: a vector<16xi32>.
func (g *gen) pairs(b byteOperands, k string) string {
	elem := "i32"
	if g.opts.AVX512BW {
		elem = "i16" // vpmaddwd's operands
	}
	var wide [2]string
	for i := range b.mem {
		p, v := g.fresh(), g.fresh()
		wide[i] = g.fresh()
		ext := "arith.extsi"
		if b.unsigned[i] {
			ext = "arith.extui"
		}
		g.op("%s = arith.addi %s, %s : index", p, b.at[i], k)
		switch {
		case i == 1 && b.nibbles:
			v, ext = g.nibbles(b.mem[i], p), "arith.extsi"
		case b.nibbles: // the inputs of the low nibbles, then those of the high ones
			half := func(at string) string {
				return g.def("vector.load %s[%s] : memref<?xi8>, vector<16xi8>", b.mem[i], at)
			}
			high := g.def("arith.addi %s, %s : index", b.high, k)
			g.op("%s = vector.shuffle %s, %s %s : vector<16xi8>, vector<16xi8>", v, half(p), half(high), lanes(0, 1))
		default:
			g.op("%s = vector.load %s[%s] : memref<?xi8>, vector<32xi8>", v, b.mem[i], p)
		}
		g.op("%s = %s %s : vector<32xi8> to vector<32x%s>", wide[i], ext, v, elem)
	}
	r := g.fresh()
	if g.opts.AVX512BW {
		g.op("%s = llvm.call_intrinsic \"llvm.x86.avx512.pmaddw.d.512\"(%s, %s) : (vector<32xi16>, vector<32xi16>) -> vector<16xi32>", r, wide[0], wide[1])
		return r
	}
	prod, even, odd := g.fresh(), g.fresh(), g.fresh()
	g.op("%s = arith.muli %s, %s : vector<32xi32>", prod, wide[0], wide[1])
	g.op("%s = vector.shuffle %s, %s %s : vector<32xi32>, vector<32xi32>", even, prod, prod, lanes(0, 2))
	g.op("%s = vector.shuffle %s, %s %s : vector<32xi32>, vector<32xi32>", odd, prod, prod, lanes(1, 2))
	g.op("%s = arith.addi %s, %s : vector<16xi32>", r, even, odd)
	return r
}

// nibbles loads the DotChunk/2 bytes of m from p and gives their DotChunk q4 values: the low
// nibbles, then the high ones, each less 8.
func (g *gen) nibbles(m, p string) string {
	v := g.def("vector.load %s[%s] : memref<?xi8>, vector<16xi8>", m, p)
	c15 := g.def("arith.constant dense<15> : vector<16xi8>")
	c4 := g.def("arith.constant dense<4> : vector<16xi8>")
	c8 := g.def("arith.constant dense<8> : vector<32xi8>")
	lo := g.def("arith.andi %s, %s : vector<16xi8>", v, c15)
	hi := g.def("arith.shrui %s, %s : vector<16xi8>", v, c4)
	cat := g.def("vector.shuffle %s, %s %s : vector<16xi8>, vector<16xi8>", lo, hi, lanes(0, 1))
	return g.def("arith.subi %s, %s : vector<32xi8>", cat, c8)
}

// dot evaluates Dot(a, i, b, j, n) (see package lower): a loop over the chunks, adding
// their pairs into 16 sums, then the sum of those.
func (g *gen) dot(c *frontend.Call) string {
	b := g.byteArgs(c)
	n := g.toIndex(g.expr(c.Args[4]).v, frontend.I64)
	zero, sums, acc, k, next := g.fresh(), g.fresh(), g.fresh(), g.fresh(), g.fresh()
	g.op("%s = arith.constant dense<0> : vector<16xi32>", zero)
	g.open("%s = scf.for %s = %s to %s step %s iter_args(%s = %s) -> (vector<16xi32>) {", sums, k, g.constIndex(0), n, g.constIndex(frontend.DotChunk), acc, zero)
	g.op("%s = arith.addi %s, %s : vector<16xi32>", next, acc, g.pairs(b, k))
	g.op("scf.yield %s : vector<16xi32>", next)
	g.close()
	return g.def("vector.reduction <add>, %s : vector<16xi32> into i32", sums)
}

// laneType is the type of a variable of lower.Loop.Lanes inside its loop.
const laneType = "vector<16xf32>"

// scaledDot adds ScaledDot(a, i, b, j, scale) to the lanes sums: each pair of products, as
// f32, times the scale.
func (g *gen) scaledDot(c *frontend.Call, sums string) string {
	switch c.Builtin {
	case frontend.ScaledDotPair, frontend.ScaledNibbleDotQuad:
		return g.groupDot(c, sums)
	case frontend.FloatDot:
		// the sum of n pairs of vectors; n = 1: fused into the lanes sums
		n := c.Args[4].(*frontend.Const).Int
		var prods string
		for h := range n {
			x, y := g.floatVector(c.Args[0], c.Args[1], 16*h), g.floatVector(c.Args[2], c.Args[3], 16*h)
			switch {
			case n == 1:
				return g.def("vector.fma %s, %s, %s : %s", x, y, sums, laneType)
			case h == 0:
				prods = g.def("arith.mulf %s, %s %s: %s", x, y, g.fastmath(), laneType)
			default:
				prods = g.def("vector.fma %s, %s, %s : %s", x, y, prods, laneType)
			}
		}
		// not reassoc, which let LLVM chain both FMAs on the sums (see lower/floatdot.go)
		return g.def("arith.addf %s, %s fastmath<contract> : %s", sums, prods, laneType)
	}
	b := g.byteArgs(c)
	scale := g.expr(c.Args[4]).v
	f, splat, r := g.fresh(), g.fresh(), g.fresh()
	g.op("%s = arith.sitofp %s : vector<16xi32> to %s", f, g.pairs(b, g.constIndex(0)), laneType)
	g.op("%s = vector.broadcast %s : f32 to %s", splat, scale, laneType)
	g.op("%s = vector.fma %s, %s, %s : %s", r, f, splat, sums, laneType)
	return r
}

// floatVector loads the 16 elements of array a from index i + off as f32, widening bf16 ones
// (the high half of the f32 they widen to).
func (g *gen) floatVector(a, i frontend.Expr, off int64) string {
	mem, at := g.expr(a).v, g.toIndex(g.expr(i).v, frontend.I64)
	if off != 0 {
		at = g.def("arith.addi %s, %s : index", at, g.constIndex(off))
	}
	if a.Type().Kind != abi.BF16 {
		return g.def("vector.load %s[%s] : memref<?xf32>, %s", mem, at, laneType)
	}
	bits := g.cast("arith.extui", g.def("vector.load %s[%s] : memref<?xi16>, vector<16xi16>", mem, at), "vector<16xi16>", "vector<16xi32>")
	high := g.def("arith.shli %s, %s : vector<16xi32>", bits, g.def("arith.constant dense<16> : vector<16xi32>"))
	return g.cast("arith.bitcast", high, "vector<16xi32>", laneType)
}

// lanes writes the shuffle mask lower.Lanes(first, step).
func lanes(first, step int) string { return mask(lower.Lanes(first, step)) }

// mask writes a shuffle mask.
func mask(lanes []int) string {
	var m []string
	for _, l := range lanes {
		m = append(m, strconv.Itoa(l))
	}
	return "[" + strings.Join(m, ", ") + "]"
}

// groupDot adds ScaledDotPair(a, i0, b, j0, scale0, i1, j1, scale1) or ScaledNibbleDotQuad
// to the lanes sums, with vpdpbusd, as llvmgen's groupDot (which says how).
func (g *gen) groupDot(c *frontend.Call, sums string) string {
	groups, chunk := lower.Groups(c), frontend.DotChunk
	arg := func(k, m int) frontend.Expr { return lower.GroupArg(c, k, m) }
	var weights []frontend.Expr
	for m := range groups {
		weights = append(weights, arg(1, m))
	}
	x := g.groupInputs(c)
	start := g.zero16()
	table, at := lower.BiasTable(c)
	if table != nil {
		start = g.def("vector.load %s[%s] : memref<?xi32>, vector<16xi32>", g.expr(table).v, g.toIndex(g.expr(at).v, frontend.I64))
	}
	var d string
	if groups == 4 {
		w := g.joined(c.Args[2], weights, chunk/2)
		lo := g.def("arith.andi %s, %s : vector<64xi8>", w, g.splat8(15))
		hi := g.def("arith.shrui %s, %s : vector<64xi8>", w, g.splat8(4))
		d = g.byteDot(g.byteDot(start, lo, x[0]), hi, x[1])
	} else {
		w := g.def("arith.xori %s, %s : vector<64xi8>", g.joined(c.Args[2], weights, chunk), g.splat8(-128))
		d = g.byteDot(start, w, x[0])
	}
	if table == nil {
		d = g.def("arith.subi %s, %s : vector<16xi32>", d, g.inputBias(x))
	}
	f := g.def("arith.sitofp %s : vector<16xi32> to %s", d, laneType)
	scales := g.def("arith.constant dense<0.0> : %s", laneType)
	for m := range groups {
		scales = g.def("vector.insertelement %s, %s[%s : i32] : %s", g.expr(arg(2, m)).v, scales, g.def("arith.constant %d : i32", m), laneType)
	}
	scales = g.def("vector.shuffle %s, %s %s : %s, %s", scales, scales, mask(lower.GroupScales(groups)), laneType, laneType)
	return g.def("vector.fma %s, %s, %s : %s", f, scales, sums, laneType)
}

// groupBias stores GroupBias(table, at, x, …): the input biases of a group dot, negated.
func (g *gen) groupBias(c *frontend.Call) {
	off := g.def("arith.subi %s, %s : vector<16xi32>", g.zero16(), g.inputBias(g.groupInputs(c)))
	g.op("vector.store %s, %s[%s] : memref<?xi32>, vector<16xi32>", off, g.expr(c.Args[0]).v, g.toIndex(g.expr(c.Args[1]).v, frontend.I64))
}

// groupInputs loads the inputs of a group dot or GroupBias as vectors of 64 bytes: of q8
// groups one, of q4 groups the inputs of the low nibbles and those of the high ones.
func (g *gen) groupInputs(c *frontend.Call) []string {
	x, starts, highs := lower.GroupInputs(c)
	if highs == nil {
		return []string{g.joined(x, starts, frontend.DotChunk)}
	}
	return []string{g.joined(x, starts, frontend.DotChunk/2), g.joined(x, highs, frontend.DotChunk/2)}
}

// inputBias is what the shifted operand of a group dot adds to its byte sums, from its inputs
// x alone (groupInputs): 128·x of q8, 8·x of q4, each lane summing four bytes.
func (g *gen) inputBias(x []string) string {
	if len(x) == 1 {
		return g.byteDot(g.zero16(), g.splat8(-128), x[0])
	}
	eight := g.splat8(8)
	return g.byteDot(g.byteDot(g.zero16(), eight, x[0]), eight, x[1])
}

// joined loads n bytes of array a from each start, in order, as one vector.
func (g *gen) joined(a frontend.Expr, starts []frontend.Expr, n int) string {
	var vs []string
	for _, at := range starts {
		mem, i := g.expr(a).v, g.toIndex(g.expr(at).v, frontend.I64)
		vs = append(vs, g.def("vector.load %s[%s] : memref<?xi8>, vector<%dxi8>", mem, i, n))
	}
	for w := n; len(vs) > 1; w *= 2 {
		var next []string
		for i := 0; i < len(vs); i += 2 {
			next = append(next, g.def("vector.shuffle %s, %s %s : vector<%dxi8>, vector<%dxi8>", vs[i], vs[i+1], mask(lower.Joined(w)), w, w))
		}
		vs = next
	}
	return vs[0]
}

// byteDot is vpdpbusd: acc plus, in each of 16 lanes, the products of four unsigned bytes of
// u by four signed ones of s.
func (g *gen) byteDot(acc, u, s string) string {
	words := func(v string) string { return g.def("vector.bitcast %s : vector<64xi8> to vector<16xi32>", v) }
	return g.def("llvm.call_intrinsic \"llvm.x86.avx512.vpdpbusd.512\"(%s, %s, %s) : (vector<16xi32>, vector<16xi32>, vector<16xi32>) -> vector<16xi32>",
		acc, words(u), words(s))
}

func (g *gen) splat8(k int) string { return g.def("arith.constant dense<%d> : vector<64xi8>", k) }

func (g *gen) zero16() string { return g.def("arith.constant dense<0> : vector<16xi32>") }

// size evaluates Len(a), a's element count, or Dim(g, k), the size of dimension k of a local
// array of rank 2 or more, as i64.
func (g *gen) size(c *frontend.Call) string {
	a := g.expr(c.Args[0])
	g.pos = c.Pos
	n := ""
	if c.Builtin == frontend.Dim {
		n = a.dims[c.Args[1].(*frontend.Const).Int]
	} else {
		n = g.fresh()
		g.op("%s = memref.dim %s, %s : %s", n, a.v, g.constIndex(0), typ(c.Args[0].Type()))
	}
	return g.fromIndex(n, frontend.I64)
}

// mathOp emits a scalar builtin.
func (g *gen) mathOp(c *frontend.Call, args []string) string {
	op := lower.MathOp(c.Builtin, c.T)
	switch op {
	case "":
		return args[0]
	case lower.MinNum, lower.MaxNum:
		// As LLVM's intrinsic: the pipeline's --arith-expand would turn arith.minnumf and
		// maxnumf into compares and selects, which LLVM does not vectorize as min and max.
		t := typ(c.T)
		return g.def("llvm.intr.%s(%s) : (%s, %s) -> %s", op, strings.Join(args, ", "), t, t, t)
	}
	return g.def("%s %s : %s", ops[op], strings.Join(args, ", "), typ(c.T))
}
