package lower

import (
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// hoistBounds gives each counted loop whose bound holds a checked division (`while (i < n / k)`,
// checkedDivision) that bound in a variable set just before it. The bound cannot change in the loop (loops.Count
// checks), so computing it once, where its first test would, changes nothing; but a checked
// division in the condition would make the loop a general one, tested anew each trip, which
// neither runs on threads nor counts its trips.
func hoistBounds(list []frontend.Stmt) []frontend.Stmt {
	var out []frontend.Stmt
	for _, s := range list {
		switch s := s.(type) {
		case *frontend.Block:
			s.Stmts = hoistBounds(s.Stmts)
		case *frontend.If:
			s.Then.Stmts = hoistBounds(s.Then.Stmts)
			if s.Else != nil {
				s.Else = hoistBounds([]frontend.Stmt{s.Else})[0]
			}
		case *frontend.While:
			s.Body.Stmts = hoistBounds(s.Body.Stmts)
			if c := loops.Count(s); c != nil && holdsCheckedDivision(c.Bound) {
				bound := frontend.Declare(c.Bound.Position(), "bound", c.Bound)
				cond := s.Cond.(*frontend.Binary)
				if cond.X == c.Bound {
					cond.X = use(bound.Var)
				} else {
					cond.Y = use(bound.Var)
				}
				out = append(out, bound)
			}
		}
		out = append(out, s)
	}
	return out
}

func holdsCheckedDivision(e frontend.Expr) bool {
	found := false
	frontend.Inspect(e, func(n frontend.Node) bool {
		if b, ok := n.(*frontend.Binary); ok && checkedDivision(b) {
			found = true
		}
		return !found
	})
	return found
}
