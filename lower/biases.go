package lower

import (
	"maps"
	"slices"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// Input biases of the group dots. vpdpbusd multiplies unsigned bytes by signed ones, so the
// generators' ScaledDotPair (q8: signed weights and inputs) and ScaledNibbleDotQuad (q4:
// nibbles less 8) shift one operand into the unsigned range and take out what the shift
// adds: 128·Σx (q8; the weights go in shifted, the inputs as they are) or 8·Σx (q4), 16
// lane sums a step. Those sums depend on the inputs alone, which every row of a mat-vec
// shares: computing them took a fifth of the q4 loop's time and a ninth of the q8 loop's
// in cache (README, "Input biases"). So when the row loop around a grouped loop leaves its
// inputs alone, they are computed once before it, negated, into a table from which the dots'
// byte sums start:
//
//	var bias_steps = (trips & -k) / k;   // the grouped loop's steps, g at its start
//	var bias_ok = every group is one chunk && bias_steps <= maxBiasSteps;
//	if (!bias_ok) { bias_steps = 0; }
//	var bias = array<i32>([(bias_steps + 1) * 16]);
//	var bias_step = 0;
//	while (bias_step < bias_steps) {
//	    if (every input the step reads lies in its array) { GroupBias(bias, bias_step * 16, x, …); }
//	    else { bias_ok = false; }
//	    bias_step = bias_step + 1;
//	}
//	<the row loop: its grouped loop runs when bias_ok too, and reads step s's sums at 16·s>
//
// With an input out of range the rows run their group loop as written, whose checks report it.

// maxBiasSteps bounds a bias table (64 bytes a step): 1 MiB, a row of 64 Ki q4 groups.
const maxBiasSteps = 1 << 14

// biases are the bias tables of a grouped loop.
type biases struct {
	ok     *frontend.Var   // bool: the tables hold every step's sums
	first  frontend.Expr   // the group counter's value where the grouped loop starts
	tables []*frontend.Var // unit u's table (units that read the same inputs share one)
}

// biasTables returns the bias tables of the grouped loop that w becomes (k groups a step),
// adding the statements that compute them to r.before[outer]; nil when they cannot be
// computed before outer, the loop around w: outer may change the inputs or the variables
// their indices read, or w's counter may not start from a value fixed in outer.
// preceding are the statements of outer's body that run before w.
func (r *laneRewrite) biasTables(w *frontend.While, units []laneUnit, outer *frontend.While, preceding []frontend.Stmt, k int64) *biases {
	c := loops.Count(w)
	if outer == nil || c.Var.Type != frontend.I64 || !r.leavesInputs(outer, units) {
		return nil
	}
	changing := changingIn(outer.Body)
	first := startOf(c.Var, preceding)
	if first == nil || !settled(first, changing) {
		return nil
	}
	// In the table's loop w's counter and the dot counters hold their first values.
	set := maps.Clone(changing)
	delete(set, c.Var)
	at := map[*frontend.Var]frontend.Expr{c.Var: first}
	for _, u := range units {
		if !settled(u.j.Init, changing) || changing[u.a.(*frontend.Ident).Var] {
			return nil
		}
		delete(set, u.j.Var)
		at[u.j.Var] = u.j.Init
	}
	dotTrips := loops.Count(units[0].dot).Trips()
	if !settled(c.Trips(), set) || !settled(dotTrips, set) {
		return nil
	}
	for _, u := range units {
		if !settled(u.ia, set) || (u.nibbles && !settled(u.ih, set)) {
			return nil
		}
	}

	pos := w.Pos
	i64 := func(v int64) frontend.Expr { return frontend.IntConst(pos, frontend.I64, v) }
	use := func(v *frontend.Var) frontend.Expr { return frontend.Use(pos, v) }
	bin := frontend.NewBinary
	eval := func(e frontend.Expr, subst map[*frontend.Var]frontend.Expr) frontend.Expr {
		c := cloner{rename: map[*frontend.Var]*frontend.Var{}, subst: subst}
		return frontend.Conv(c.expr(e), frontend.I64)
	}
	width := int64(frontend.DotChunk) // the bytes of inputs a group dot reads from each start
	if units[0].nibbles {
		width /= 2
	}
	steps := frontend.Declare(pos, "bias_steps", bin(frontend.QUO, bin(frontend.AND, eval(c.Trips(), at), i64(-k)), i64(k)))
	ok := frontend.Declare(pos, "bias_ok", bin(frontend.LAND, bin(frontend.EQL, eval(dotTrips, at), i64(width)), bin(frontend.LEQ, use(steps.Var), i64(maxBiasSteps))))
	stmts := []frontend.Stmt{steps, ok, &frontend.If{Pos: pos, Cond: frontend.Not(use(ok.Var)), Then: block(pos, frontend.Set(use(steps.Var), i64(0)))}}
	step := frontend.Declare(pos, "bias_step", i64(0))
	var fill []frontend.Stmt
	b := &biases{ok: ok.Var, first: first}
	for ui, u := range units {
		if same := slices.IndexFunc(units[:ui], func(v laneUnit) bool {
			return sameExpr(v.a, u.a) && sameExpr(v.ia, u.ia) && (!u.nibbles || sameExpr(v.ih, u.ih))
		}); same >= 0 {
			b.tables = append(b.tables, b.tables[same])
			continue
		}
		table := frontend.Declare(pos, "bias", &frontend.ArrayAlloc{Pos: pos, Elem: abi.I32, Scratch: true,
			Dims: []frontend.Expr{bin(frontend.MUL, bin(frontend.ADD, use(steps.Var), i64(1)), i64(16))}})
		stmts = append(stmts, table)
		b.tables = append(b.tables, table.Var)
		// group m of the step: g = first + bias_step·k + m
		args := []frontend.Expr{use(table.Var), bin(frontend.MUL, use(step.Var), i64(16)), cloneExpr(u.a)}
		var inRange frontend.Expr
		for m := range k {
			group := maps.Clone(at)
			group[c.Var] = bin(frontend.ADD, bin(frontend.ADD, cloneExpr(first), bin(frontend.MUL, use(step.Var), i64(k))), i64(m))
			starts := []frontend.Expr{eval(u.ia, group)}
			if u.nibbles {
				starts = append(starts, eval(u.ih, group))
			}
			for _, s := range starts {
				// 0 ≤ s ≤ Len(x) − width, written so that no sum overflows
				fits := bin(frontend.LAND, bin(frontend.GEQ, s, i64(0)),
					bin(frontend.LEQ, cloneExpr(s), bin(frontend.SUB, frontend.NewBuiltin(pos, frontend.Len, frontend.I64, cloneExpr(u.a)), i64(width))))
				if inRange == nil {
					inRange = fits
				} else {
					inRange = bin(frontend.LAND, inRange, fits)
				}
				args = append(args, cloneExpr(s))
			}
		}
		fill = append(fill, &frontend.If{Pos: pos, Cond: inRange,
			Then: block(pos, &frontend.ExprStmt{X: frontend.NewBuiltin(pos, frontend.GroupBias, frontend.Void, args...)}),
			Else: block(pos, frontend.Set(use(ok.Var), frontend.IntConst(pos, frontend.Bool, 0)))})
	}
	fill = append(fill, frontend.Set(use(step.Var), bin(frontend.ADD, use(step.Var), i64(1))))
	stmts = append(stmts, step, &frontend.While{Pos: pos, Cond: bin(frontend.LSS, use(step.Var), use(steps.Var)), Body: block(pos, fill...)})
	r.before[outer] = append(r.before[outer], stmts...)
	return b
}

// leavesInputs reports whether loop outer stores into no array that may share memory with
// the inputs of units' dots, and calls no function that might.
func (r *laneRewrite) leavesInputs(outer *frontend.While, units []laneUnit) bool {
	ok := true
	frontend.Inspect(outer.Body, func(n frontend.Node) bool {
		switch n := n.(type) {
		case *frontend.Call:
			ok = ok && n.Builtin != frontend.NoBuiltin
		case *frontend.Assign:
			if ix, isIndex := n.Target.(*frontend.Index); isIndex {
				arr, isVar := ix.Array.(*frontend.Ident)
				for _, u := range units {
					ok = ok && isVar && !r.roots.MayAlias(arr.Var, u.a.(*frontend.Ident).Var)
				}
			}
		}
		return ok
	})
	return ok
}

// startOf returns the value that variable v holds after the statements preceding, when one
// of them declares it and none after that declaration assigns it; nil otherwise.
func startOf(v *frontend.Var, preceding []frontend.Stmt) frontend.Expr {
	var init frontend.Expr
	for _, s := range preceding {
		if d, ok := s.(*frontend.VarDecl); ok && d.Var == v {
			init = d.Init
		} else if slices.Contains(frontend.Assigned(s), v) {
			init = nil
		}
	}
	return init
}

// settled reports whether e reads none of the variables changing and can be evaluated
// anywhere: it reads no memory and cannot trap.
func settled(e frontend.Expr, changing map[*frontend.Var]bool) bool {
	ok := frontend.Harmless(e)
	frontend.Inspect(e, func(n frontend.Node) bool {
		if id, isVar := n.(*frontend.Ident); isVar && changing[id.Var] {
			ok = false
		}
		return ok
	})
	return ok
}

// BiasTable returns the table and index of a group dot that reads its input biases (see
// above), or nils.
func BiasTable(c *frontend.Call) (table, at frontend.Expr) {
	n := 8
	if c.Builtin == frontend.ScaledNibbleDotQuad {
		n = 18
	}
	if len(c.Args) != n+2 {
		return nil, nil
	}
	return c.Args[n], c.Args[n+1]
}

// GroupInputs returns the inputs of a group dot (ScaledDotPair, ScaledNibbleDotQuad) or of a
// GroupBias: the array, each group's start in it, and, of q4 groups, the start of the inputs
// of its high nibbles (nil for q8).
func GroupInputs(c *frontend.Call) (x frontend.Expr, starts, highs []frontend.Expr) {
	groups := Groups(c)
	if c.Builtin == frontend.GroupBias {
		per := len(c.Args[3:]) / groups
		for m := range groups {
			starts = append(starts, c.Args[3+per*m])
			if per == 2 {
				highs = append(highs, c.Args[4+per*m])
			}
		}
		return c.Args[2], starts, highs
	}
	for m := range groups {
		starts = append(starts, GroupArg(c, 0, m))
		if groups == 4 {
			highs = append(highs, GroupArg(c, 3, m))
		}
	}
	return c.Args[0], starts, highs
}
