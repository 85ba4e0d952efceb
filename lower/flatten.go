package lower

import "github.com/simplang/simplang/frontend"

// expander rewrites the parts of expressions that need statements of their own: the array
// builtins (rmsnorm, softmax, silu, matmul) become the plain loops that define them
// (language §5), and, in checked code, array accesses and integer divisions become the tests
// of language §4.1 (checks.go). Such a part may stand inside an expression, so its statements
// go before the statement that holds it (pre), and the part becomes a value: the builtin's
// output array, or a temporary. Operands evaluated before it are first saved in
// temporaries, so that everything keeps its source order.
type expander struct {
	pre    []frontend.Stmt
	checks *checker // nil: no checks
	// byRows, when not nil, lets a matmul whose output shares memory with neither input
	// add each product to C as it goes (builder.matmulByRows), as fast math allows: the
	// roots of the function's arrays.
	byRows frontend.Roots
	// halves writes out the conversions from and to f16 and bf16 that the generators leave
	// to the lowering (half.go).
	halves bool
	// shortCircuits writes out each && and || whose right operand is not frontend.Harmless
	// (`t = x; if (t) { t = y; }`), so that the generators evaluate both operands of the rest.
	shortCircuits bool
}

// expandBuiltins rewrites the array builtins of a statement list; byRows as in expander.
func expandBuiltins(list []frontend.Stmt, byRows frontend.Roots) []frontend.Stmt {
	x := expander{byRows: byRows}
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
		if s.Op != frontend.ASSIGN {
			x.compound(s)
		}
		if element && x.checks.wants(ix) {
			return x.checks.store(x, s, ix)
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
		if !x.needs(s.Cond) {
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

// compound turns `t op= v` into `t = t op v`, evaluating the target's index and v once and
// in their order: an index that is not frontend.Harmless, and v when it is not, go into
// temporaries.
func (x *expander) compound(s *frontend.Assign) {
	old := s.Target
	if ix, ok := s.Target.(*frontend.Index); ok {
		for i, e := range ix.Indices {
			if !frontend.Harmless(e) {
				ix.Indices[i] = x.save(e)
			}
		}
		old = cloneExpr(ix)
	} else {
		old = cloneExpr(old)
	}
	v := s.Value
	if !frontend.Harmless(v) {
		v = x.save(v)
	}
	r := frontend.NewBinary(s.BinaryOp(), frontend.Conv(old, s.OpType), v)
	r.OpPos = s.OpPos // where a check of the operation reports
	s.Op, s.Value = frontend.ASSIGN, frontend.Conv(r, s.Target.Type())
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
		if x.needs(e) {
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

// needs reports whether evaluating e needs statements of its own.
func (x *expander) needs(e frontend.Expr) bool {
	found := false
	frontend.Inspect(e, func(n frontend.Node) bool {
		// found stays set: a later sibling that needs nothing must not clear it.
		switch n := n.(type) {
		case *frontend.Call:
			found = found || n.Builtin.Output() >= 0
		case *frontend.Index:
			found = found || x.checks.wants(n)
		case *frontend.Binary:
			found = found || x.checks.divides(n) || x.shortCircuits && shortCircuit(n)
		case *frontend.Convert:
			found = found || x.halves && halfConversion(n)
		}
		return !found
	})
	return found
}

// shortCircuit reports whether b is an && or || whose right operand may be evaluated only
// when it decides the result.
func shortCircuit(b *frontend.Binary) bool {
	return (b.Op == frontend.LAND || b.Op == frontend.LOR) && !frontend.Harmless(b.Y)
}

func (x *expander) expr(e frontend.Expr) frontend.Expr {
	if e == nil || !x.needs(e) {
		return e
	}
	switch e := e.(type) {
	case *frontend.Binary:
		if (e.Op == frontend.LAND || e.Op == frontend.LOR) && (x.needs(e.Y) || x.shortCircuits && shortCircuit(e)) {
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
		if x.checks.divides(e) {
			return x.checks.divide(x, e)
		}
	case *frontend.Unary:
		e.X = x.expr(e.X)
	case *frontend.Convert:
		e.X = x.expr(e.X)
		if x.halves && halfConversion(e) {
			return x.half(e)
		}
	case *frontend.Index:
		ops := x.exprs(append([]frontend.Expr{e.Array}, e.Indices...))
		e.Array, e.Indices = ops[0], ops[1:]
		if x.checks.wants(e) {
			return x.checks.load(x, e)
		}
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
