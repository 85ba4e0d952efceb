package lower

import (
	"fmt"

	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// Min and max reductions. LLVM vectorizes a loop that folds values into one by max or min
// only where NaNs may be assumed away, and SimpLang's min and max ignore a NaN operand (C's
// fmin and fmax), so the innermost loop
//
//	while (j < n) { m = max(m, e); j = j + 1; }
//
// (or min, or max(e, m); m an f32 or f64 variable that e does not read) stays scalar. Unless
// StrictFP, it becomes
//
//	var m_1 = m; …; var m_K−1 = m;
//	var reduce_end = j + (trips & −K);
//	while (j < reduce_end) { m = max(m, e); m_1 = max(m_1, e at j + 1); …; j = j + K; }
//	m = max(m, m_K/2); …; m_K/2−1 = max(m_K/2−1, m_K−1);  …  m = max(m, m_1);   (pairwise)
//	the loop as written, for the iterations left over
//
// with K lanes of a 512-bit vector, whose K chains LLVM's SLP vectorizer turns into one vector
// max. e is evaluated for the same counter values, in the same order; the result is the same
// value, as max ignoring NaNs is associative and commutative (only which of −0 and +0 it gives
// may change, as in C).

// reduceLanes rewrites the min and max reductions (above) in list and the blocks inside it.
func reduceLanes(list []frontend.Stmt) []frontend.Stmt { return beforeLoops(list, minMaxLanes) }

// minMaxLanes returns the statements that run w's whole blocks of lanes when w is a min or
// max reduction, leaving w the rest; nil for any other loop.
func minMaxLanes(w *frontend.While) []frontend.Stmt {
	c := loops.Count(w)
	if c == nil || c.Step != 1 || len(c.Body) != 1 || c.Var.Type != frontend.I64 || c.CmpType != frontend.I64 {
		return nil
	}
	set, ok := c.Body[0].(*frontend.Assign)
	if !ok || set.Op != frontend.ASSIGN {
		return nil
	}
	target, ok := set.Target.(*frontend.Ident)
	call, isCall := set.Value.(*frontend.Call)
	if !ok || (target.Var.Type != frontend.F32 && target.Var.Type != frontend.F64) || !isCall || (call.Builtin != frontend.Max && call.Builtin != frontend.Min) || call.T != target.Var.Type {
		return nil
	}
	m := target.Var
	e := call.Args[1]
	if !isVar(call.Args[0], m) {
		if e = call.Args[0]; !isVar(call.Args[1], m) {
			return nil
		}
	}
	if readsVar(e, m) {
		return nil
	}
	k := int64(64 / m.Type.Kind.Size()) // a 512-bit vector's lanes
	pos := w.Pos
	var stmts, body, combine []frontend.Stmt
	accs := []*frontend.Var{m}
	for lane := range k {
		acc := m
		if lane > 0 {
			d := frontend.Declare(pos, fmt.Sprintf("%s_%d", m.Name, lane), frontend.Use(pos, m))
			stmts, acc = append(stmts, d), d.Var
			accs = append(accs, acc)
		}
		at := cloner{rename: map[*frontend.Var]*frontend.Var{}, subst: map[*frontend.Var]frontend.Expr{
			c.Var: frontend.NewBinary(frontend.ADD, frontend.Use(pos, c.Var), frontend.IntConst(pos, frontend.I64, lane))}}
		body = append(body, frontend.Set(frontend.Use(pos, acc), frontend.NewBuiltin(pos, call.Builtin, m.Type, frontend.Use(pos, acc), at.expr(e))))
	}
	// The lanes fold pairwise, halving their number each round, into m: log2 K dependent
	// steps instead of K − 1 (as one chain, they took most of a 32-value group's time).
	for half := k / 2; half > 0; half /= 2 {
		for lane := range half {
			x, y := accs[lane], accs[lane+half]
			combine = append(combine, frontend.Set(frontend.Use(pos, x), frontend.NewBuiltin(pos, call.Builtin, m.Type, frontend.Use(pos, x), frontend.Use(pos, y))))
		}
	}
	end, blocks := wholeBlocks(c, pos, k, "reduce_end", body)
	return append(append(stmts, end, blocks), combine...)
}
