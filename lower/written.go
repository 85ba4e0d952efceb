package lower

import "github.com/simplang/simplang/frontend"

// markWritten records in each function's signature which array parameters it may write:
// by storing through any variable that may refer to them, or by passing them to a function
// that may write the matching parameter (to a fixed point, as functions may call each other
// in any order). The loader refuses overlapping arguments where one of them is written
// (language §6).
func markWritten(funcs []*Func) {
	byFunc := map[*frontend.Func]*Func{}
	for _, f := range funcs {
		byFunc[f.Func] = f
		f.written = map[*frontend.Var]bool{}
	}
	for changed := true; changed; {
		changed = false
		for _, f := range funcs {
			mark := func(e frontend.Expr) {
				id, ok := e.(*frontend.Ident)
				if !ok {
					return
				}
				for _, p := range f.Params {
					if p.Type.IsArray() && !f.written[p] && f.MayAlias(id.Var, p) {
						f.written[p] = true
						changed = true
					}
				}
			}
			frontend.Inspect(f.Body, func(n frontend.Node) bool {
				switch n := n.(type) {
				case *frontend.Assign:
					if ix, ok := n.Target.(*frontend.Index); ok {
						mark(ix.Array)
					}
				case *frontend.Call:
					if callee := byFunc[n.Func]; callee != nil {
						for i, p := range callee.Params {
							if callee.written[p] {
								mark(n.Args[i])
							}
						}
					}
				}
				return true
			})
		}
	}
}
