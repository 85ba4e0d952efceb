package mlirgen

import (
	"fmt"
	"math"
	"strings"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
)

func (g *gen) expr(e frontend.Expr) value {
	switch e := e.(type) {
	case *frontend.Const:
		return value{v: g.constant(e)}
	case *frontend.Ident:
		return g.env[e.Var]
	case *frontend.Binary:
		switch e.Op {
		case frontend.LAND:
			return value{v: g.shortCircuit(g.expr(e.X).v, e.Y, false)}
		case frontend.LOR:
			return value{v: g.shortCircuit(g.expr(e.X).v, e.Y, true)}
		}
		x := g.expr(e.X).v
		y := g.expr(e.Y).v
		return value{v: g.binaryOp(e.Op, e.X.Type(), x, y)}
	case *frontend.Unary:
		x := g.expr(e.X).v
		if e.Op == frontend.NOT {
			return value{v: g.not(x)}
		}
		r := g.fresh()
		if t := e.X.Type(); t.IsFloat() {
			g.op("%s = arith.negf %s : %s", r, x, typ(t))
		} else {
			g.op("%s = arith.subi %s, %s : %s", r, g.constInt(0, t), x, typ(t))
		}
		return value{v: r}
	case *frontend.Convert:
		return value{v: g.convert(g.expr(e.X).v, e.X.Type(), e.T)}
	case *frontend.Call:
		return g.call(e)
	case *frontend.Index:
		m, idx := g.address(e)
		r := g.fresh()
		g.op("%s = memref.load %s[%s] : %s", r, m, idx, typ(e.Array.Type()))
		return value{v: r}
	case *frontend.ArrayAlloc:
		if a, ok := g.hoisted[e]; ok {
			g.fill(a.v, e)
			return a
		}
		a := g.allocate(e)
		g.live = append(g.live, allocation{a.v, scalar(e.Elem)})
		g.fill(a.v, e)
		return a
	}
	panic(fmt.Sprintf("mlirgen: unexpected expression %T", e))
}

// fastmath is the flag list for floating-point arithmetic: reassociation and contraction
// (SPEC §4) unless strict.
func (g *gen) fastmath() string {
	if g.opts.StrictFP {
		return ""
	}
	return " fastmath<reassoc,contract>"
}

// binaryOp emits x op y for operands of type t (comparisons yield i1).
func (g *gen) binaryOp(op frontend.TokenKind, t frontend.Type, x, y string) string {
	r := g.fresh()
	ty := typ(t)
	if t == frontend.Bool {
		pred := map[frontend.TokenKind]string{frontend.EQL: "eq", frontend.NEQ: "ne"}[op]
		g.op("%s = arith.cmpi %s, %s, %s : i1", r, pred, x, y)
		return r
	}
	if t.IsFloat() {
		if pred, ok := map[frontend.TokenKind]string{
			frontend.EQL: "oeq", frontend.NEQ: "une", frontend.LSS: "olt", frontend.GTR: "ogt", frontend.LEQ: "ole", frontend.GEQ: "oge",
		}[op]; ok {
			g.op("%s = arith.cmpf %s, %s, %s : %s", r, pred, x, y, ty)
			return r
		}
		name := map[frontend.TokenKind]string{
			frontend.ADD: "addf", frontend.SUB: "subf", frontend.MUL: "mulf", frontend.QUO: "divf", frontend.REM: "remf",
		}[op]
		g.op("%s = arith.%s %s, %s%s : %s", r, name, x, y, g.fastmath(), ty)
		return r
	}
	if pred, ok := map[frontend.TokenKind]string{
		frontend.EQL: "eq", frontend.NEQ: "ne", frontend.LSS: "slt", frontend.GTR: "sgt", frontend.LEQ: "sle", frontend.GEQ: "sge",
	}[op]; ok {
		g.op("%s = arith.cmpi %s, %s, %s : %s", r, pred, x, y, ty)
		return r
	}
	name := map[frontend.TokenKind]string{
		frontend.ADD: "addi", frontend.SUB: "subi", frontend.MUL: "muli", frontend.QUO: "divsi", frontend.REM: "remsi",
	}[op]
	g.op("%s = arith.%s %s, %s : %s", r, name, x, y, ty)
	return r
}

// shortCircuit emits x && y (or x || y when or): y is evaluated only when it decides the
// result, unless it is cheap and cannot trap, in which case both are evaluated.
func (g *gen) shortCircuit(x string, y frontend.Expr, or bool) string {
	if frontend.Harmless(y) {
		r := g.fresh()
		name := "andi"
		if or {
			name = "ori"
		}
		g.op("%s = arith.%s %s, %s : i1", r, name, x, g.expr(y).v)
		return r
	}
	cond := x
	if or {
		cond = g.not(x)
	}
	def, refs := g.results(1)
	g.open("%sscf.if %s -> (i1) {", def, cond)
	g.op("scf.yield %s : i1", g.expr(y).v)
	g.mid("} else {")
	g.op("scf.yield %s : i1", g.constBool(or))
	g.close("")
	return refs[0]
}

func (g *gen) not(x string) string {
	r := g.fresh()
	g.op("%s = arith.xori %s, %s : i1", r, x, g.constBool(true))
	return r
}

// convert converts x from type from to type to (numeric scalars).
func (g *gen) convert(x string, from, to frontend.Type) string {
	if from == to {
		return x
	}
	var name string
	switch {
	case from.IsInt() && to.IsInt():
		name = "extsi"
		if from.Kind.Size() > to.Kind.Size() {
			name = "trunci"
		}
	case from.IsInt() && to.IsFloat():
		name = "sitofp"
	case from.IsFloat() && to.IsInt():
		name = "fptosi"
	case from.Kind == abi.F32:
		name = "extf"
	default:
		name = "truncf"
	}
	r := g.fresh()
	g.op("%s = arith.%s %s : %s to %s", r, name, x, typ(from), typ(to))
	return r
}

func (g *gen) constant(k *frontend.Const) string {
	switch {
	case k.T == frontend.Bool:
		return g.constBool(k.Int != 0)
	case k.T.IsInt():
		return g.constInt(k.Int, k.T)
	}
	return g.constFloat(k.Float, k.T)
}

func (g *gen) constInt(v int64, t frontend.Type) string {
	r := g.fresh()
	g.op("%s = arith.constant %d : %s", r, v, typ(t))
	return r
}

// constFloat writes the exact bits of v as a hexadecimal float literal.
func (g *gen) constFloat(v float64, t frontend.Type) string {
	r := g.fresh()
	if t.Kind == abi.F32 {
		g.op("%s = arith.constant 0x%08X : f32", r, math.Float32bits(float32(v)))
	} else {
		g.op("%s = arith.constant 0x%016X : f64", r, math.Float64bits(v))
	}
	return r
}

func (g *gen) constBool(b bool) string {
	r := g.fresh()
	g.op("%s = arith.constant %t", r, b)
	return r
}

func (g *gen) constIndex(v int64) string {
	r := g.fresh()
	g.op("%s = arith.constant %d : index", r, v)
	return r
}

// zero is the zero value of scalar type t.
func (g *gen) zero(t frontend.Type) string {
	switch {
	case t == frontend.Bool:
		return g.constBool(false)
	case t.IsInt():
		return g.constInt(0, t)
	}
	return g.constFloat(0, t)
}

func (g *gen) toIndex(x string, t frontend.Type) string {
	r := g.fresh()
	g.op("%s = arith.index_cast %s : %s to index", r, x, typ(t))
	return r
}

func (g *gen) fromIndex(x string, t frontend.Type) string {
	r := g.fresh()
	g.op("%s = arith.index_cast %s : index to %s", r, x, typ(t))
	return r
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
			p := g.fresh()
			g.op("%s = arith.muli %s, %s : index", p, total, n)
			total = p
		}
	}
	m := g.fresh()
	g.op("%s = memref.alloc(%s) {alignment = 64 : i64} : memref<?x%s>", m, total, scalar(site.Elem))
	if len(dims) == 1 {
		dims = nil // a one-dimensional array's size is its memref's
	}
	return value{v: m, dims: dims}
}

// fill zeroes a local array (each time its declaration is reached, as a fresh array would be).
func (g *gen) fill(m string, site *frontend.ArrayAlloc) {
	g.pos = site.Pos
	n := g.fresh()
	g.op("%s = memref.dim %s, %s : memref<?x%s>", n, m, g.constIndex(0), scalar(site.Elem))
	zero := g.zero(frontend.Type{Kind: site.Elem})
	i := g.fresh()
	g.open("scf.for %s = %s to %s step %s {", i, g.constIndex(0), n, g.constIndex(1))
	g.op("memref.store %s, %s[%s] : memref<?x%s>", zero, m, i, scalar(site.Elem))
	g.close("")
}

// call emits a call of a function of the file or of a scalar builtin (the lowering turned the
// array builtins into loops).
func (g *gen) call(c *frontend.Call) value {
	if c.Builtin == frontend.Len || c.Builtin == frontend.Dim {
		return value{v: g.size(c)}
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
	r := g.fresh()
	g.op("%s = func.call %s -> %s", r, callee, typ(c.T))
	return value{v: r}
}

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
	t := c.T
	ty := typ(t)
	r := g.fresh()
	unary := map[frontend.Builtin]string{
		frontend.Sqrt: "math.sqrt", frontend.Exp: "math.exp", frontend.Log: "math.log",
		frontend.Sin: "math.sin", frontend.Cos: "math.cos",
	}
	switch {
	case unary[c.Builtin] != "":
		g.op("%s = %s %s : %s", r, unary[c.Builtin], args[0], ty)
	case c.Builtin == frontend.Abs && t.IsFloat():
		g.op("%s = math.absf %s : %s", r, args[0], ty)
	case c.Builtin == frontend.Abs:
		g.op("%s = math.absi %s : %s", r, args[0], ty)
	case c.Builtin == frontend.Pow:
		g.op("%s = math.powf %s, %s : %s", r, args[0], args[1], ty)
	default: // min, max
		name := map[bool]map[frontend.Builtin]string{
			true:  {frontend.Min: "minnumf", frontend.Max: "maxnumf"},
			false: {frontend.Min: "minsi", frontend.Max: "maxsi"},
		}[t.IsFloat()][c.Builtin]
		g.op("%s = arith.%s %s, %s : %s", r, name, args[0], args[1], ty)
	}
	return r
}
