package lower

import "github.com/simplang/simplang/frontend"

// cloner copies statements and expressions. A variable declared in what it copies gets a
// fresh variable in the copy; a variable in rename is replaced by its entry there, one in
// subst by a copy of its expression.
type cloner struct {
	rename map[*frontend.Var]*frontend.Var
	subst  map[*frontend.Var]frontend.Expr // variables read as a copy of an expression instead
}

func cloneExpr(e frontend.Expr) frontend.Expr {
	c := cloner{rename: map[*frontend.Var]*frontend.Var{}}
	return c.expr(e)
}

func (c *cloner) stmts(list []frontend.Stmt) []frontend.Stmt {
	out := make([]frontend.Stmt, len(list))
	for i, s := range list {
		out[i] = c.stmt(s)
	}
	return out
}

func (c *cloner) block(b *frontend.Block) *frontend.Block {
	return &frontend.Block{Lbrace: b.Lbrace, Rbrace: b.Rbrace, Stmts: c.stmts(b.Stmts)}
}

func (c *cloner) stmt(s frontend.Stmt) frontend.Stmt {
	switch s := s.(type) {
	case *frontend.VarDecl:
		init := c.expr(s.Init) // before the new variable exists: `var x = x + 1` reads the outer x
		v := *s.Var
		c.rename[s.Var] = &v
		return &frontend.VarDecl{Var: &v, Decl: s.Decl, Init: init}
	case *frontend.Assign:
		return &frontend.Assign{Target: c.expr(s.Target), OpPos: s.OpPos, Op: s.Op, Value: c.expr(s.Value), OpType: s.OpType}
	case *frontend.If:
		n := &frontend.If{Pos: s.Pos, Cond: c.expr(s.Cond), Then: c.block(s.Then)}
		if s.Else != nil {
			n.Else = c.stmt(s.Else)
		}
		return n
	case *frontend.While:
		return &frontend.While{Pos: s.Pos, Cond: c.expr(s.Cond), Body: c.block(s.Body)}
	case *frontend.Return:
		return &frontend.Return{Pos: s.Pos, Value: c.expr(s.Value)}
	case *frontend.ExprStmt:
		return &frontend.ExprStmt{X: c.expr(s.X).(*frontend.Call)}
	case *frontend.Block:
		return c.block(s)
	}
	panic("lower: cannot clone statement")
}

func (c *cloner) exprs(list []frontend.Expr) []frontend.Expr {
	out := make([]frontend.Expr, len(list))
	for i, e := range list {
		out[i] = c.expr(e)
	}
	return out
}

func (c *cloner) expr(e frontend.Expr) frontend.Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *frontend.Ident:
		if x, ok := c.subst[e.Var]; ok {
			return cloneExpr(x)
		}
		n := *e
		if v, ok := c.rename[e.Var]; ok {
			n.Var = v
		}
		return &n
	case *frontend.Const:
		n := *e
		return &n
	case *frontend.Binary:
		return &frontend.Binary{OpPos: e.OpPos, Op: e.Op, X: c.expr(e.X), Y: c.expr(e.Y), T: e.T}
	case *frontend.Unary:
		return &frontend.Unary{Pos: e.Pos, Op: e.Op, X: c.expr(e.X)}
	case *frontend.Convert:
		return &frontend.Convert{Pos: e.Pos, X: c.expr(e.X), T: e.T, Explicit: e.Explicit}
	case *frontend.Call:
		n := *e
		n.Args = c.exprs(e.Args)
		return &n
	case *frontend.Index:
		return &frontend.Index{Array: c.expr(e.Array), Lbrack: e.Lbrack, Indices: c.exprs(e.Indices)}
	case *frontend.ArrayAlloc:
		return &frontend.ArrayAlloc{Pos: e.Pos, Elem: e.Elem, Dims: c.exprs(e.Dims), Scratch: e.Scratch}
	}
	panic("lower: cannot clone expression")
}
