package frontend

// Node is any statement or expression.
type Node interface{ Position() Pos }

// Inspect walks the tree under n in source order, calling f for every node; when f returns
// false the node's children are skipped.
func Inspect(n Node, f func(Node) bool) {
	if n == nil || !f(n) {
		return
	}
	switch n := n.(type) {
	case *Block:
		for _, s := range n.Stmts {
			Inspect(s, f)
		}
	case *VarDecl:
		Inspect(n.Init, f)
	case *Assign:
		Inspect(n.Target, f)
		Inspect(n.Value, f)
	case *If:
		Inspect(n.Cond, f)
		Inspect(n.Then, f)
		if n.Else != nil {
			Inspect(n.Else, f)
		}
	case *While:
		Inspect(n.Cond, f)
		Inspect(n.Body, f)
	case *Return:
		if n.Value != nil {
			Inspect(n.Value, f)
		}
	case *ExprStmt:
		Inspect(n.X, f)
	case *Binary:
		Inspect(n.X, f)
		Inspect(n.Y, f)
	case *Unary:
		Inspect(n.X, f)
	case *Convert:
		Inspect(n.X, f)
	case *Call:
		for _, a := range n.Args {
			Inspect(a, f)
		}
	case *Index:
		Inspect(n.Array, f)
		for _, ix := range n.Indices {
			Inspect(ix, f)
		}
	case *ArrayAlloc:
		for _, d := range n.Dims {
			Inspect(d, f)
		}
	}
}

// Rebinds reports whether the assignment gives its target variable a new value. An
// assignment of a variable to itself, or to the result of a builtin that writes into that
// same variable (`xb = rmsnorm(x, w, xb, n, eps)`), does not: the builtin returns its output
// buffer, so the variable keeps referring to the same array.
func (s *Assign) Rebinds() bool {
	target, ok := s.Target.(*Ident)
	if !ok {
		return false
	}
	if s.Op != ASSIGN {
		return true
	}
	return !sameVar(OutputOf(s.Value), target.Var)
}

// OutputOf is the expression an array-valued expression refers to: the output argument of a
// builtin call (which returns it), or the expression itself.
func OutputOf(e Expr) Expr {
	if c, ok := e.(*Call); ok && c.Builtin != NoBuiltin && c.Builtin.Output() >= 0 && len(c.Args) > c.Builtin.Output() {
		return OutputOf(c.Args[c.Builtin.Output()])
	}
	return e
}

func sameVar(e Expr, v *Var) bool {
	id, ok := e.(*Ident)
	return ok && v != nil && id.Var == v
}

// Assigned returns the variables that n gives new values to (array element stores excluded),
// in first-assignment order.
func Assigned(n Node) []*Var {
	var vars []*Var
	seen := map[*Var]bool{}
	Inspect(n, func(n Node) bool {
		if a, ok := n.(*Assign); ok && a.Rebinds() {
			v := a.Target.(*Ident).Var
			if !seen[v] {
				seen[v] = true
				vars = append(vars, v)
			}
		}
		return true
	})
	return vars
}

// ContainsReturn reports whether a return statement appears under n.
func ContainsReturn(n Node) bool {
	found := false
	Inspect(n, func(n Node) bool {
		if _, ok := n.(*Return); ok {
			found = true
		}
		return !found
	})
	return found
}

// BinaryOp is the operator a compound assignment applies: + for +=, and so on.
func (s *Assign) BinaryOp() TokenKind {
	return map[TokenKind]TokenKind{
		ADD_ASSIGN: ADD, SUB_ASSIGN: SUB, MUL_ASSIGN: MUL, QUO_ASSIGN: QUO, REM_ASSIGN: REM,
		AND_ASSIGN: AND, OR_ASSIGN: OR, XOR_ASSIGN: XOR, SHL_ASSIGN: SHL, SHR_ASSIGN: SHR,
	}[s.Op]
}

// Harmless reports whether evaluating e has no effect and cannot trap: it makes no calls
// (other than to min, max and the internal builtins Len and Dim), no loads and no integer
// division. A code generator may evaluate such an expression even where
// the source would not (the right of && or ||).
func Harmless(e Expr) bool {
	ok := true
	Inspect(e, func(n Node) bool {
		switch n := n.(type) {
		case *Call:
			ok = n.Builtin == Len || n.Builtin == Dim || n.Builtin == Min || n.Builtin == Max
		case *Index:
			ok = false
		case *Binary:
			if (n.Op == QUO || n.Op == REM) && n.X.Type().IsInt() {
				ok = false
			}
		}
		return ok
	})
	return ok
}

// Roots maps array variables to the arrays they may refer to: array parameters (each its own
// memory: parameters never overlap, language §6) and allocation sites (*ArrayAlloc).
type Roots map[*Var]map[any]bool

// MayAlias reports whether array variables a and b may refer to the same memory.
func (r Roots) MayAlias(a, b *Var) bool {
	ra, rb := r[a], r[b]
	if ra == nil || rb == nil {
		return true
	}
	for root := range ra {
		if rb[root] {
			return true
		}
	}
	return false
}

// ArrayRoots computes the Roots of fn's array variables. It follows declarations and
// assignments flow-insensitively, so the sets are conservative.
func ArrayRoots(fn *Func) Roots {
	roots := Roots{}
	for _, p := range fn.Params {
		if p.Type.IsArray() {
			roots[p] = map[any]bool{p: true}
		}
	}
	type flow struct {
		target *Var
		value  Expr
	}
	var flows []flow
	Inspect(fn.Body, func(n Node) bool {
		switch n := n.(type) {
		case *VarDecl:
			if n.Var.Type.IsArray() {
				flows = append(flows, flow{n.Var, n.Init})
			}
		case *Assign:
			if id, ok := n.Target.(*Ident); ok && id.Var.Type.IsArray() {
				flows = append(flows, flow{id.Var, n.Value})
			}
		}
		return true
	})
	for changed := true; changed; {
		changed = false
		for _, f := range flows {
			set := roots[f.target]
			if set == nil {
				set = map[any]bool{}
				roots[f.target] = set
			}
			from := map[any]bool{}
			switch v := OutputOf(f.value).(type) {
			case *ArrayAlloc:
				from[v] = true
			case *Ident:
				from = roots[v.Var]
			}
			for r := range from {
				if !set[r] {
					set[r] = true
					changed = true
				}
			}
		}
	}
	return roots
}
