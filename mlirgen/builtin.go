package mlirgen

import (
	"strings"

	"github.com/simplang/simplang/frontend"
)

// builtin emits a builtin call. The array builtins are loops written inline; they return
// their output array.
func (g *gen) builtin(c *frontend.Call) value {
	args := make([]value, len(c.Args))
	for i, a := range c.Args {
		args[i] = g.expr(a)
	}
	g.pos = c.Pos
	arg := func(i int) string { return args[i].v }
	// offset returns argument i as an index, or 0 when the short form omits it.
	offset := func(i int) string {
		if i < len(args) {
			return g.toIndex(args[i].v, frontend.I64)
		}
		return g.constIndex(0)
	}
	switch c.Builtin {
	case frontend.Rmsnorm:
		g.rmsnorm(c.Args[0].Type(), arg(0), arg(1), arg(2), arg(3), arg(4), offset(5))
	case frontend.Softmax:
		g.softmax(c.Args[0].Type(), arg(0), arg(1), arg(2), offset(3), offset(4))
	case frontend.Silu:
		g.silu(c.Args[0].Type(), arg(0), arg(1), arg(2))
	case frontend.Matmul:
		g.matmul(c, args, offset(6), offset(7), offset(8))
	default:
		return value{v: g.mathOp(c, args)}
	}
	return args[c.Builtin.Output()]
}

// mathOp emits a scalar builtin.
func (g *gen) mathOp(c *frontend.Call, args []value) string {
	t := c.T
	if c.Builtin == frontend.Abs && t.IsUnsigned() {
		return args[0].v
	}
	ty := typ(t)
	r := g.fresh()
	unary := map[frontend.Builtin]string{
		frontend.Sqrt: "math.sqrt", frontend.Exp: "math.exp", frontend.Log: "math.log",
		frontend.Sin: "math.sin", frontend.Cos: "math.cos",
		frontend.Round: "math.round", frontend.Floor: "math.floor", frontend.Ceil: "math.ceil",
	}
	switch {
	case unary[c.Builtin] != "":
		g.op("%s = %s %s : %s", r, unary[c.Builtin], args[0].v, ty)
	case c.Builtin == frontend.Abs && t.IsFloat():
		g.op("%s = math.absf %s : %s", r, args[0].v, ty)
	case c.Builtin == frontend.Abs:
		g.op("%s = math.absi %s : %s", r, args[0].v, ty)
	case c.Builtin == frontend.Pow:
		g.op("%s = math.powf %s, %s : %s", r, args[0].v, args[1].v, ty)
	default: // min, max
		name := map[frontend.Builtin]string{frontend.Min: "minsi", frontend.Max: "maxsi"}[c.Builtin]
		switch {
		case t.IsFloat():
			name = map[frontend.Builtin]string{frontend.Min: "minnumf", frontend.Max: "maxnumf"}[c.Builtin]
		case t.IsUnsigned():
			name = map[frontend.Builtin]string{frontend.Min: "minui", frontend.Max: "maxui"}[c.Builtin]
		}
		g.op("%s = arith.%s %s, %s : %s", r, name, args[0].v, args[1].v, ty)
	}
	return r
}

// loop emits `scf.for i in [0, n)` around body. With accumulators it carries them as
// iter_args: body receives their current values and returns the next; loop returns the final
// values.
func (g *gen) loop(n string, parallel bool, inits []string, types []string, body func(i string, acc []string) []string) []string {
	i := g.fresh()
	zero, one := g.constIndex(0), g.constIndex(1)
	switch {
	case parallel:
		g.open("scf.parallel (%s) = (%s) to (%s) step (%s) {", i, zero, n, one)
		body(i, nil)
		g.op("scf.reduce")
		g.close("")
		return nil
	case len(inits) == 0:
		g.open("scf.for %s = %s to %s step %s {", i, zero, n, one)
		body(i, nil)
		g.close("")
		return nil
	}
	def, refs := g.results(len(inits))
	acc, binding := g.regionArgs(inits)
	g.open("%sscf.for %s = %s to %s step %s iter_args(%s) -> (%s) {", def, i, zero, n, one, binding, strings.Join(types, ", "))
	next := body(i, acc)
	g.op("scf.yield %s : %s", strings.Join(next, ", "), strings.Join(types, ", "))
	g.close("")
	return refs
}

// load and store access element i (+ offset off, when not "") of memref m of array type t.
func (g *gen) load(m string, t frontend.Type, i, off string) string {
	if off != "" {
		i = g.addIndex(i, off)
	}
	r := g.fresh()
	g.op("%s = memref.load %s[%s] : %s", r, m, i, typ(t))
	return r
}

func (g *gen) store(v, m string, t frontend.Type, i, off string) {
	if off != "" {
		i = g.addIndex(i, off)
	}
	g.op("memref.store %s, %s[%s] : %s", v, m, i, typ(t))
}

func (g *gen) addIndex(a, b string) string {
	r := g.fresh()
	g.op("%s = arith.addi %s, %s : index", r, a, b)
	return r
}

func (g *gen) mulIndex(a, b string) string {
	r := g.fresh()
	g.op("%s = arith.muli %s, %s : index", r, a, b)
	return r
}

// rmsnorm: ss = Σ in[i]²; r = 1/sqrt(ss/n + eps); out[i] = w[w_off+i]·(in[i]·r).
func (g *gen) rmsnorm(at frontend.Type, in, w, out, n, eps, wOff string) {
	et := at.Elem()
	count := g.toIndex(n, frontend.I64)
	ss := g.loop(count, false, []string{g.zero(et)}, []string{typ(et)}, func(i string, acc []string) []string {
		x := g.load(in, at, i, "")
		return []string{g.binaryOp(frontend.ADD, et, acc[0], g.binaryOp(frontend.MUL, et, x, x))}
	})[0]
	mean := g.binaryOp(frontend.QUO, et, ss, g.convert(n, frontend.I64, et))
	root := g.fresh()
	g.op("%s = math.sqrt %s : %s", root, g.binaryOp(frontend.ADD, et, mean, eps), typ(et))
	r := g.binaryOp(frontend.QUO, et, g.constFloat(1, et), root)
	g.loop(count, false, nil, nil, func(i string, _ []string) []string {
		x := g.load(in, at, i, "")
		wi := g.load(w, at, i, wOff)
		g.store(g.binaryOp(frontend.MUL, et, wi, g.binaryOp(frontend.MUL, et, x, r)), out, at, i, "")
		return nil
	})
}

// softmax: m = max in[k+i]; out[o+i] = exp(in[k+i]−m) / Σ exp(in[k+j]−m). It works in place
// (in and out the same array at the same offset).
func (g *gen) softmax(at frontend.Type, in, out, n, inOff, outOff string) {
	et := at.Elem()
	count := g.toIndex(n, frontend.I64)
	negInf := g.fresh()
	if et.Kind == frontend.F32.Kind {
		g.op("%s = arith.constant 0xFF800000 : f32", negInf)
	} else {
		g.op("%s = arith.constant 0xFFF0000000000000 : f64", negInf)
	}
	m := g.loop(count, false, []string{negInf}, []string{typ(et)}, func(i string, acc []string) []string {
		x := g.load(in, at, i, inOff)
		r := g.fresh()
		g.op("%s = arith.maxnumf %s, %s : %s", r, acc[0], x, typ(et))
		return []string{r}
	})[0]
	sum := g.loop(count, false, []string{g.zero(et)}, []string{typ(et)}, func(i string, acc []string) []string {
		x := g.load(in, at, i, inOff)
		e := g.fresh()
		g.op("%s = math.exp %s : %s", e, g.binaryOp(frontend.SUB, et, x, m), typ(et))
		g.store(e, out, at, i, outOff)
		return []string{g.binaryOp(frontend.ADD, et, acc[0], e)}
	})[0]
	g.loop(count, false, nil, nil, func(i string, _ []string) []string {
		e := g.load(out, at, i, outOff)
		g.store(g.binaryOp(frontend.QUO, et, e, sum), out, at, i, outOff)
		return nil
	})
}

// silu: out[i] = in[i] / (1 + exp(−in[i])).
func (g *gen) silu(at frontend.Type, in, out, n string) {
	et := at.Elem()
	g.loop(g.toIndex(n, frontend.I64), false, nil, nil, func(i string, _ []string) []string {
		x := g.load(in, at, i, "")
		neg := g.fresh()
		g.op("%s = arith.negf %s : %s", neg, x, typ(et))
		e := g.fresh()
		g.op("%s = math.exp %s : %s", e, neg, typ(et))
		den := g.binaryOp(frontend.ADD, et, g.constFloat(1, et), e)
		g.store(g.binaryOp(frontend.QUO, et, x, den), out, at, i, "")
		return nil
	})
}

// matmul: C[c_off + i·n + j] += Σ_p A[a_off + i·k + p] · B[b_off + p·n + j], row-major. The
// rows of C are independent, so the i loop runs in parallel when C shares no memory with A
// or B. The sum is formed first and then added to C, as the definition reads.
func (g *gen) matmul(c *frontend.Call, args []value, aOff, bOff, cOff string) {
	at := c.Args[0].Type()
	et := at.Elem()
	a, b, cm := args[0].v, args[1].v, args[2].v
	m, k, n := g.toIndex(args[3].v, frontend.I64), g.toIndex(args[4].v, frontend.I64), g.toIndex(args[5].v, frontend.I64)
	parallel := !g.opts.Serial &&
		!g.loops.MayAlias(c.Args[2], c.Args[0]) && !g.loops.MayAlias(c.Args[2], c.Args[1])
	g.loop(m, parallel, nil, nil, func(i string, _ []string) []string {
		aRow := g.addIndex(aOff, g.mulIndex(i, k))
		cRow := g.addIndex(cOff, g.mulIndex(i, n))
		g.loop(n, false, nil, nil, func(j string, _ []string) []string {
			sum := g.loop(k, false, []string{g.zero(et)}, []string{typ(et)}, func(p string, acc []string) []string {
				x := g.load(a, at, p, aRow)
				y := g.load(b, at, j, g.addIndex(bOff, g.mulIndex(p, n)))
				return []string{g.binaryOp(frontend.ADD, et, acc[0], g.binaryOp(frontend.MUL, et, x, y))}
			})[0]
			old := g.load(cm, at, j, cRow)
			g.store(g.binaryOp(frontend.ADD, et, old, sum), cm, at, j, cRow)
			return nil
		})
		return nil
	})
}
