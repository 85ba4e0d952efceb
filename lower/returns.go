package lower

import "github.com/simplang/simplang/frontend"

// flagReturns rewrites the returns of fn that stand inside an if, a loop or a block into
// assignments of two variables, returned and result: a loop stops once returned is set,
// the statements after one that may have returned run under `if (!returned)`, and the
// function ends with `return result`. Afterwards every return of fn is a statement of the
// function body itself, which is what structured code (MLIR's scf) can express; code
// generators for branches lose nothing, as LLVM threads the flag away.
func flagReturns(fn *frontend.Func) {
	nested := false
	for _, s := range fn.Body.Stmts {
		if _, top := s.(*frontend.Return); !top && frontend.ContainsReturn(s) {
			nested = true
		}
	}
	if !nested {
		return
	}
	pos := fn.Body.Rbrace
	r := &returns{returned: frontend.Declare(pos, "returned", frontend.IntConst(pos, frontend.Bool, 0))}
	decls := []frontend.Stmt{r.returned}
	if fn.Result != frontend.Void {
		r.result = frontend.Declare(pos, "result", frontend.Zero(pos, fn.Result))
		decls = append(decls, r.result)
	}
	body := append(decls, r.list(fn.Body.Stmts)...)
	if r.result != nil {
		body = append(body, &frontend.Return{Pos: pos, Value: use(r.result.Var)})
	}
	fn.Body.Stmts = body
}

type returns struct {
	returned, result *frontend.VarDecl
}

func (r *returns) notReturned(pos frontend.Pos) frontend.Expr {
	return frontend.Not(frontend.Use(pos, r.returned.Var))
}

// list rewrites a statement list: after a statement that may return, the rest runs only
// while the function has not returned.
func (r *returns) list(stmts []frontend.Stmt) []frontend.Stmt {
	for i, s := range stmts {
		if !frontend.ContainsReturn(s) {
			continue
		}
		out := append(stmts[:i:i], r.stmt(s))
		if rest := stmts[i+1:]; len(rest) > 0 {
			pos := s.Position()
			then := &frontend.Block{Lbrace: pos, Rbrace: pos, Stmts: r.list(rest)}
			out = append(out, &frontend.If{Pos: pos, Cond: r.notReturned(pos), Then: then})
		}
		return out
	}
	return stmts
}

// stmt rewrites a statement that contains a return.
func (r *returns) stmt(s frontend.Stmt) frontend.Stmt {
	switch s := s.(type) {
	case *frontend.Return:
		set := []frontend.Stmt{frontend.Set(frontend.Use(s.Pos, r.returned.Var), frontend.IntConst(s.Pos, frontend.Bool, 1))}
		if s.Value != nil {
			set = append([]frontend.Stmt{frontend.Set(frontend.Use(s.Pos, r.result.Var), s.Value)}, set...)
		}
		return &frontend.Block{Lbrace: s.Pos, Rbrace: s.Pos, Stmts: set}
	case *frontend.If:
		s.Then.Stmts = r.list(s.Then.Stmts)
		if s.Else != nil {
			s.Else = r.stmt(s.Else)
		}
	case *frontend.While:
		s.Cond = frontend.NewBinary(frontend.LAND, r.notReturned(s.Pos), s.Cond)
		s.Body.Stmts = r.list(s.Body.Stmts)
	case *frontend.Block:
		s.Stmts = r.list(s.Stmts)
	}
	return s
}
