package lower

import (
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// hoistBounds gives each counted loop whose bound holds a checked division (`while (i < n / k)`,
// checkedDivision) that bound in a variable set just before it (the two in a block, through
// rewriteLoops). The bound cannot change in the loop (loops.Count checks), so computing it
// once, where its first test would, changes nothing; but a checked division in the condition
// would make the loop a general one, tested anew each trip, which neither runs on threads nor
// counts its trips.
func hoistBounds(body *frontend.Block) {
	var visit func(w *frontend.While) frontend.Stmt
	visit = func(w *frontend.While) frontend.Stmt {
		rewriteLoops(w.Body, visit)
		c := loops.Count(w)
		if c == nil || !holdsCheckedDivision(c.Bound) {
			return w
		}
		bound := frontend.Declare(c.Bound.Position(), "bound", c.Bound)
		if cond := w.Cond.(*frontend.Binary); cond.X == c.Bound {
			cond.X = use(bound.Var)
		} else {
			cond.Y = use(bound.Var)
		}
		return block(w.Pos, bound, w)
	}
	rewriteLoops(body, visit)
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
