package lower

import (
	"math"

	"github.com/simplang/simplang/frontend"
)

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
		if x.byRows != nil && apart(x.byRows, args[2], args[0]) && apart(x.byRows, args[2], args[1]) {
			loops = b.matmulByRows(args[0], args[1], args[2], args[3], args[4], args[5], offset(6), offset(7), offset(8))
			break
		}
		loops = b.matmul(args[0], args[1], args[2], args[3], args[4], args[5], offset(6), offset(7), offset(8))
	}
	x.pre = append(x.pre, loops...)
	return args[c.Builtin.Output()]
}

// builder writes the statements of one builtin, all at the call's position (an index starts
// with the builtin's own counter, so that a failed check reports the call), with elem the
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

// accumulate is `v = v + x` for a variable v.
func accumulate(v *frontend.Ident, x frontend.Expr) frontend.Stmt { return frontend.Set(v, add(v, x)) }

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
		return []frontend.Stmt{accumulate(ss, mul(x, x))}
	})...)
	mean := frontend.NewBinary(frontend.QUO, ss, frontend.Conv(n, b.elem))
	rDecl, r := b.declare("r", frontend.NewBinary(frontend.QUO, b.float(1), b.call(frontend.Sqrt, add(mean, eps))))
	stmts = append(stmts, rDecl)
	return append(stmts, b.loop(n, func(i frontend.Expr) []frontend.Stmt {
		scaled := mul(frontend.Elem(w, add(i, wOff)), mul(frontend.Elem(in, i), r))
		return []frontend.Stmt{frontend.Set(frontend.Elem(out, i), scaled)}
	})...)
}

// softmax: m = max in[k+i]; out[o+i] = exp(in[k+i]−m) / Σ exp(in[k+j]−m). It works in place
// (in and out the same array at the same offset).
func (b *builder) softmax(in, out, n, inOff, outOff frontend.Expr) []frontend.Stmt {
	mDecl, m := b.declare("max", b.float(math.Inf(-1)))
	stmts := []frontend.Stmt{mDecl}
	stmts = append(stmts, b.loop(n, func(i frontend.Expr) []frontend.Stmt {
		return []frontend.Stmt{frontend.Set(m, b.call(frontend.Max, m, frontend.Elem(in, add(i, inOff))))}
	})...)
	sumDecl, sum := b.declare("sum", b.float(0))
	stmts = append(stmts, sumDecl)
	stmts = append(stmts, b.loop(n, func(i frontend.Expr) []frontend.Stmt {
		eDecl, e := b.declare("e", b.call(frontend.Exp, frontend.NewBinary(frontend.SUB, frontend.Elem(in, add(i, inOff)), m)))
		return []frontend.Stmt{eDecl, frontend.Set(frontend.Elem(out, add(i, outOff)), e), accumulate(sum, e)}
	})...)
	return append(stmts, b.loop(n, func(i frontend.Expr) []frontend.Stmt {
		o := add(i, outOff)
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
				y := frontend.Elem(bm, add(add(mul(p, n), j), bOff))
				return []frontend.Stmt{accumulate(s, mul(x, y))}
			})
			cij := frontend.Elem(c, add(cRow, j))
			return append(append([]frontend.Stmt{sDecl}, dot...), frontend.Set(cij, add(frontend.Elem(c, add(cRow, j)), s)))
		})
		return append([]frontend.Stmt{aRowDecl, cRowDecl}, cols...)
	})
}

// matmulByRows is matmul adding each product to C as it goes, in the order i, p, j: the plain
// nest that tileGEMMs makes blocked code of. It sums each element in another order than
// matmul's dot products, so it is only for fast math, and only where C shares memory with
// neither A nor B (C's sums would otherwise feed the products).
func (b *builder) matmulByRows(a, bm, c, m, k, n, aOff, bOff, cOff frontend.Expr) []frontend.Stmt {
	return b.loop(m, func(i frontend.Expr) []frontend.Stmt {
		return b.loop(k, func(p frontend.Expr) []frontend.Stmt {
			return b.loop(n, func(j frontend.Expr) []frontend.Stmt {
				x := frontend.Elem(a, add(add(aOff, mul(i, k)), p))
				y := frontend.Elem(bm, add(add(bOff, mul(p, n)), j))
				cij := func() frontend.Expr { return frontend.Elem(c, add(add(cOff, mul(i, n)), j)) }
				return []frontend.Stmt{frontend.Set(cij(), add(cij(), mul(x, y)))}
			})
		})
	})
}

// apart reports whether array expressions x and y are variables that cannot share memory.
func apart(roots frontend.Roots, x, y frontend.Expr) bool {
	vx, okx := x.(*frontend.Ident)
	vy, oky := y.(*frontend.Ident)
	return okx && oky && !roots.MayAlias(vx.Var, vy.Var)
}
