package lower

import (
	"math"

	"github.com/simplang/simplang/frontend"
)

// expander rewrites the array builtins (rmsnorm, softmax, silu, matmul) into the plain loops
// that define them (language §5). A builtin call may stand inside an expression, so the
// loops go into the statements before the one that holds it (pre), and the call becomes its
// output array. Operands evaluated before such a call are first saved in temporaries, so
// that everything keeps its source order.
type expander struct {
	pre []frontend.Stmt
}

// expandBuiltins rewrites the array builtins of a statement list.
func expandBuiltins(list []frontend.Stmt) []frontend.Stmt {
	var x expander
	return x.stmts(list)
}

func (x *expander) stmts(list []frontend.Stmt) []frontend.Stmt {
	var out []frontend.Stmt
	for _, s := range list {
		saved := x.pre
		x.pre = nil
		s = x.stmt(s)
		out = append(out, x.pre...)
		if s != nil {
			out = append(out, s)
		}
		x.pre = saved
	}
	return out
}

// block rewrites a block in place (blocks are never shared before lowering).
func (x *expander) block(b *frontend.Block) *frontend.Block {
	b.Stmts = x.stmts(b.Stmts)
	return b
}

// stmt rewrites s, leaving the statements it needs first in x.pre; nil drops s.
func (x *expander) stmt(s frontend.Stmt) frontend.Stmt {
	switch s := s.(type) {
	case *frontend.VarDecl:
		s.Init = x.expr(s.Init)
	case *frontend.Assign:
		parts := []frontend.Expr{s.Value}
		ix, element := s.Target.(*frontend.Index)
		if element {
			// The element's address is evaluated before the value, as the generators do.
			parts = append(append([]frontend.Expr{ix.Array}, ix.Indices...), s.Value)
		}
		parts = x.exprs(parts)
		s.Value = parts[len(parts)-1]
		if element {
			ix.Array, ix.Indices = parts[0], parts[1:len(parts)-1]
		} else if !s.Rebinds() {
			return nil // `xb = rmsnorm(…, xb, …)`: the builtin wrote into xb's own array
		}
	case *frontend.ExprStmt:
		e := x.expr(s.X)
		call, ok := e.(*frontend.Call)
		if !ok {
			return nil // an array builtin, now loops in x.pre
		}
		s.X = call
	case *frontend.If:
		s.Cond = x.expr(s.Cond)
		x.block(s.Then)
		switch e := s.Else.(type) {
		case *frontend.Block:
			x.block(e)
		case *frontend.If:
			// else if: the condition's statements run only on the else path.
			if body := x.stmts([]frontend.Stmt{e}); len(body) == 1 {
				s.Else = body[0]
			} else {
				s.Else = &frontend.Block{Lbrace: e.Pos, Rbrace: e.Pos, Stmts: body}
			}
		}
	case *frontend.While:
		x.block(s.Body)
		if !hasArrayBuiltin(s.Cond) {
			break
		}
		// while (c) B, where evaluating c runs loops: t = c; while (t) { B; t = c; }
		again := x.evaluate(cloneExpr(s.Cond))
		first := x.expr(s.Cond)
		t := frontend.Declare(s.Pos, "cond", first)
		x.pre = append(x.pre, t)
		again = append(again, frontend.Set(use(t.Var), lastValue(again)))
		s.Body.Stmts = append(s.Body.Stmts, again...)
		s.Cond = use(t.Var)
	case *frontend.Return:
		if s.Value != nil {
			s.Value = x.expr(s.Value)
		}
	case *frontend.Block:
		x.block(s)
	}
	return s
}

// evaluate expands e on its own: the statements it needs, ending with a declaration of a
// temporary holding its value (see lastValue).
func (x *expander) evaluate(e frontend.Expr) []frontend.Stmt {
	saved := x.pre
	x.pre = nil
	v := x.expr(e)
	d := frontend.Declare(e.Position(), "value", v)
	stmts := append(x.pre, d)
	x.pre = saved
	return stmts
}

// lastValue returns a use of the temporary that evaluate declared last in list.
func lastValue(list []frontend.Stmt) frontend.Expr {
	return use(list[len(list)-1].(*frontend.VarDecl).Var)
}

func use(v *frontend.Var) *frontend.Ident { return frontend.Use(v.Pos, v) }

// exprs rewrites operands evaluated in order. When a later operand runs a builtin's loops,
// the earlier ones that could see its writes (anything but constants and variables) are
// saved in temporaries first.
func (x *expander) exprs(es []frontend.Expr) []frontend.Expr {
	last := -1
	for i, e := range es {
		if hasArrayBuiltin(e) {
			last = i
		}
	}
	out := make([]frontend.Expr, len(es))
	for i, e := range es {
		out[i] = x.expr(e)
		if i < last {
			out[i] = x.save(out[i])
		}
	}
	return out
}

// save evaluates e into a temporary, unless it is a constant or a variable.
func (x *expander) save(e frontend.Expr) frontend.Expr {
	switch e.(type) {
	case *frontend.Const, *frontend.Ident:
		return e
	}
	d := frontend.Declare(e.Position(), "tmp", e)
	x.pre = append(x.pre, d)
	return use(d.Var)
}

func hasArrayBuiltin(e frontend.Expr) bool {
	found := false
	frontend.Inspect(e, func(n frontend.Node) bool {
		if c, ok := n.(*frontend.Call); ok && c.Builtin.Output() >= 0 {
			found = true
		}
		return !found
	})
	return found
}

func (x *expander) expr(e frontend.Expr) frontend.Expr {
	if e == nil || !hasArrayBuiltin(e) {
		return e
	}
	switch e := e.(type) {
	case *frontend.Binary:
		if (e.Op == frontend.LAND || e.Op == frontend.LOR) && hasArrayBuiltin(e.Y) {
			// x && y: t = x; if (t) { t = y; }   (x || y: if (!t))
			t := frontend.Declare(e.OpPos, "cond", x.expr(e.X))
			x.pre = append(x.pre, t)
			cond := frontend.Expr(use(t.Var))
			if e.Op == frontend.LOR {
				cond = frontend.Not(cond)
			}
			then := x.evaluate(e.Y)
			then = append(then, frontend.Set(use(t.Var), lastValue(then)))
			x.pre = append(x.pre, &frontend.If{Pos: e.OpPos, Cond: cond, Then: &frontend.Block{Stmts: then}})
			return use(t.Var)
		}
		ops := x.exprs([]frontend.Expr{e.X, e.Y})
		e.X, e.Y = ops[0], ops[1]
	case *frontend.Unary:
		e.X = x.expr(e.X)
	case *frontend.Convert:
		e.X = x.expr(e.X)
	case *frontend.Index:
		ops := x.exprs(append([]frontend.Expr{e.Array}, e.Indices...))
		e.Array, e.Indices = ops[0], ops[1:]
	case *frontend.ArrayAlloc:
		e.Dims = x.exprs(e.Dims)
	case *frontend.Call:
		e.Args = x.exprs(e.Args)
		if e.Builtin.Output() < 0 {
			return e
		}
		return x.arrayBuiltin(e)
	}
	return e
}

// arrayBuiltin writes the loops of an array builtin whose arguments are rewritten already,
// and returns its output array.
func (x *expander) arrayBuiltin(c *frontend.Call) frontend.Expr {
	args := make([]frontend.Expr, len(c.Args))
	for i, a := range c.Args {
		args[i] = a
		if !a.Type().IsArray() {
			args[i] = x.save(a) // each scalar is evaluated once
		}
	}
	b := &builder{pos: c.Pos, elem: c.Args[0].Type().Elem()}
	offset := func(i int) frontend.Expr {
		if i < len(args) {
			return args[i]
		}
		return frontend.IntConst(c.Pos, frontend.I64, 0)
	}
	var loops []frontend.Stmt
	switch c.Builtin {
	case frontend.Rmsnorm:
		loops = b.rmsnorm(args[0], args[1], args[2], args[3], args[4], offset(5))
	case frontend.Softmax:
		loops = b.softmax(args[0], args[1], args[2], offset(3), offset(4))
	case frontend.Silu:
		loops = b.silu(args[0], args[1], args[2])
	case frontend.Matmul:
		loops = b.matmul(args[0], args[1], args[2], args[3], args[4], args[5], offset(6), offset(7), offset(8))
	}
	x.pre = append(x.pre, loops...)
	return args[c.Builtin.Output()]
}

// builder writes the statements of one builtin, all at the call's position, with elem the
// element type of its arrays.
type builder struct {
	pos  frontend.Pos
	elem frontend.Type
}

func (b *builder) float(v float64) frontend.Expr { return frontend.FloatConst(b.pos, b.elem, v) }
func (b *builder) int(v int64) frontend.Expr     { return frontend.IntConst(b.pos, frontend.I64, v) }

func (b *builder) declare(name string, init frontend.Expr) (*frontend.VarDecl, *frontend.Ident) {
	d := frontend.Declare(b.pos, name, init)
	return d, use(d.Var)
}

func add(x, y frontend.Expr) frontend.Expr { return frontend.NewBinary(frontend.ADD, x, y) }
func mul(x, y frontend.Expr) frontend.Expr { return frontend.NewBinary(frontend.MUL, x, y) }

// loop is `var i = 0; while (i < n) { body(i); i = i + 1; }`.
func (b *builder) loop(n frontend.Expr, body func(i frontend.Expr) []frontend.Stmt) []frontend.Stmt {
	d, i := b.declare("i", b.int(0))
	stmts := append(body(i), frontend.Set(i, add(i, b.int(1))))
	w := &frontend.While{Pos: b.pos, Cond: frontend.NewBinary(frontend.LSS, i, n), Body: &frontend.Block{Lbrace: b.pos, Rbrace: b.pos, Stmts: stmts}}
	return []frontend.Stmt{d, w}
}

func (b *builder) call(f frontend.Builtin, args ...frontend.Expr) frontend.Expr {
	return frontend.NewBuiltin(b.pos, f, b.elem, args...)
}

// rmsnorm: ss = Σ in[i]²; r = 1/sqrt(ss/n + eps); out[i] = w[w_off+i]·(in[i]·r).
func (b *builder) rmsnorm(in, w, out, n, eps, wOff frontend.Expr) []frontend.Stmt {
	ssDecl, ss := b.declare("ss", b.float(0))
	stmts := []frontend.Stmt{ssDecl}
	stmts = append(stmts, b.loop(n, func(i frontend.Expr) []frontend.Stmt {
		x := frontend.Elem(in, i)
		return []frontend.Stmt{frontend.AddTo(ss, mul(x, x))}
	})...)
	mean := frontend.NewBinary(frontend.QUO, ss, frontend.Conv(n, b.elem))
	rDecl, r := b.declare("r", frontend.NewBinary(frontend.QUO, b.float(1), b.call(frontend.Sqrt, add(mean, eps))))
	stmts = append(stmts, rDecl)
	return append(stmts, b.loop(n, func(i frontend.Expr) []frontend.Stmt {
		scaled := mul(frontend.Elem(w, add(wOff, i)), mul(frontend.Elem(in, i), r))
		return []frontend.Stmt{frontend.Set(frontend.Elem(out, i), scaled)}
	})...)
}

// softmax: m = max in[k+i]; out[o+i] = exp(in[k+i]−m) / Σ exp(in[k+j]−m). It works in place
// (in and out the same array at the same offset).
func (b *builder) softmax(in, out, n, inOff, outOff frontend.Expr) []frontend.Stmt {
	mDecl, m := b.declare("max", b.float(math.Inf(-1)))
	stmts := []frontend.Stmt{mDecl}
	stmts = append(stmts, b.loop(n, func(i frontend.Expr) []frontend.Stmt {
		return []frontend.Stmt{frontend.Set(m, b.call(frontend.Max, m, frontend.Elem(in, add(inOff, i))))}
	})...)
	sumDecl, sum := b.declare("sum", b.float(0))
	stmts = append(stmts, sumDecl)
	stmts = append(stmts, b.loop(n, func(i frontend.Expr) []frontend.Stmt {
		eDecl, e := b.declare("e", b.call(frontend.Exp, frontend.NewBinary(frontend.SUB, frontend.Elem(in, add(inOff, i)), m)))
		return []frontend.Stmt{eDecl, frontend.Set(frontend.Elem(out, add(outOff, i)), e), frontend.AddTo(sum, e)}
	})...)
	return append(stmts, b.loop(n, func(i frontend.Expr) []frontend.Stmt {
		o := add(outOff, i)
		return []frontend.Stmt{frontend.Set(frontend.Elem(out, o), frontend.NewBinary(frontend.QUO, frontend.Elem(out, o), sum))}
	})...)
}

// silu: out[i] = in[i] / (1 + exp(−in[i])).
func (b *builder) silu(in, out, n frontend.Expr) []frontend.Stmt {
	return b.loop(n, func(i frontend.Expr) []frontend.Stmt {
		xDecl, x := b.declare("x", frontend.Elem(in, i))
		neg := &frontend.Unary{Pos: b.pos, Op: frontend.SUB, X: x}
		den := add(b.float(1), b.call(frontend.Exp, neg))
		return []frontend.Stmt{xDecl, frontend.Set(frontend.Elem(out, i), frontend.NewBinary(frontend.QUO, x, den))}
	})
}

// matmul: C[c_off + i·n + j] += Σ_p A[a_off + i·k + p] · B[b_off + p·n + j], row-major. The
// sum is formed first and then added to C, as the definition reads; the rows of C are
// independent (package loops finds that they may run in parallel when C overlaps neither A
// nor B).
func (b *builder) matmul(a, bm, c, m, k, n, aOff, bOff, cOff frontend.Expr) []frontend.Stmt {
	return b.loop(m, func(i frontend.Expr) []frontend.Stmt {
		aRowDecl, aRow := b.declare("a_row", add(aOff, mul(i, k)))
		cRowDecl, cRow := b.declare("c_row", add(cOff, mul(i, n)))
		cols := b.loop(n, func(j frontend.Expr) []frontend.Stmt {
			sDecl, s := b.declare("s", b.float(0))
			dot := b.loop(k, func(p frontend.Expr) []frontend.Stmt {
				x := frontend.Elem(a, add(aRow, p))
				y := frontend.Elem(bm, add(bOff, add(mul(p, n), j)))
				return []frontend.Stmt{frontend.AddTo(s, mul(x, y))}
			})
			cij := frontend.Elem(c, add(cRow, j))
			return append(append([]frontend.Stmt{sDecl}, dot...), frontend.Set(cij, add(frontend.Elem(c, add(cRow, j)), s)))
		})
		return append([]frontend.Stmt{aRowDecl, cRowDecl}, cols...)
	})
}
