package llvmgen

import (
	"maps"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// stmts emits a statement list and then frees the arrays it allocated, which is the end of
// their block. Code after a statement that always returns is unreachable and not emitted.
func (g *gen) stmts(list []frontend.Stmt) {
	mark := len(g.live)
	for _, s := range list {
		if g.cur == nil {
			break
		}
		g.stmt(s)
	}
	if g.cur != nil {
		g.free(g.live[mark:])
	}
	g.live = g.live[:mark]
}

func (g *gen) stmt(s frontend.Stmt) {
	switch s := s.(type) {
	case *frontend.VarDecl:
		g.define(s.Var, g.operand(s.Init))
	case *frontend.Assign:
		g.assign(s)
	case *frontend.ExprStmt:
		g.call(s.X)
	case *frontend.Block:
		g.stmts(s.Stmts)
	case *frontend.If:
		g.ifStmt(s)
	case *frontend.While:
		if c := g.loops.Counted(s); c != nil && c.Parallel {
			g.countedLoop(s, c)
		} else {
			g.whileLoop(s)
		}
	case *frontend.Return:
		g.ret(s)
	}
}

func (g *gen) assign(s *frontend.Assign) {
	switch t := s.Target.(type) {
	case *frontend.Ident:
		switch {
		case !s.Rebinds():
			g.operand(s.Value) // a builtin writing into the variable's own array
		case s.Op == frontend.ASSIGN:
			g.assignVar(t.Var, g.operand(s.Value))
		default:
			v := g.expr(s.Value)
			old := g.loadVar(t.Var)[0]
			g.assignVar(t.Var, operand{g.binaryOp(s.BinaryOp(), s.OpType, old, v)})
		}
	case *frontend.Index:
		ptr := g.address(t)
		elem := t.Type()
		v := g.expr(s.Value)
		if s.Op != frontend.ASSIGN {
			old := g.cur.NewLoad(scalarType(elem.Kind), ptr)
			r := g.binaryOp(s.BinaryOp(), s.OpType, g.convert(old, elem, s.OpType), v)
			v = g.convert(r, s.OpType, elem)
		}
		g.cur.NewStore(v, ptr)
	}
}

// ret frees every local array and leaves the function.
func (g *gen) ret(s *frontend.Return) {
	var v value.Value
	if s.Value != nil {
		v = g.expr(s.Value)
	}
	g.freeAll()
	g.cur.NewRet(v)
	g.cur = nil
}

// freeAll frees every local array before the function returns.
func (g *gen) freeAll() {
	g.free(g.live)
	g.free(g.owned)
}

func (g *gen) free(list []value.Value) {
	for _, p := range list {
		g.cur.NewCall(g.declare("free", types.Void, i8Ptr), g.cur.NewBitCast(p, i8Ptr))
	}
}

func (g *gen) ifStmt(s *frontend.If) {
	cond := g.expr(s.Cond)
	then, join := g.newBlock(), g.newBlock()
	otherwise := join
	if s.Else != nil {
		otherwise = g.newBlock()
	}
	g.cur.NewCondBr(cond, then, otherwise)
	g.start(then)
	g.stmts(s.Then.Stmts)
	reached := g.branch(join)
	if s.Else != nil {
		g.start(otherwise)
		g.stmt(s.Else)
		reached = g.branch(join) || reached
	} else {
		reached = true
	}
	if reached {
		g.start(join)
	}
}

// branch ends the current block with a branch to b and reports whether it was reachable.
func (g *gen) branch(b *ir.Block) bool {
	if g.cur == nil {
		return false
	}
	g.cur.NewBr(b)
	g.cur = nil
	return true
}

// whileLoop emits a loop as a condition block, the body and a branch back.
func (g *gen) whileLoop(w *frontend.While) {
	head, body, exit := g.newBlock(), g.newBlock(), g.newBlock()
	g.cur.NewBr(head)
	g.start(head)
	g.cur.NewCondBr(g.expr(w.Cond), body, exit)
	g.start(body)
	g.stmts(w.Body.Stmts)
	g.branch(head)
	g.start(exit)
}

// countedLoop emits a counted loop with independent iterations: across threads when its
// estimated work (iterations × inner iterations) reaches loops.ParallelWork, else as a plain
// loop. Both forms are emitted; the choice is made when the loop starts.
func (g *gen) countedLoop(w *frontend.While, c *loops.Counted) {
	iv := c.Var
	lb := g.convert(g.convert(g.loadVar(iv)[0], iv.Type, c.CmpType), c.CmpType, frontend.I64)
	bound := g.expr(c.Bound)
	if c.Inclusive {
		bound = g.binaryOp(frontend.ADD, c.CmpType, bound, constant.NewInt(scalarType(c.CmpType.Kind).(*types.IntType), 1))
	}
	ub := g.convert(bound, c.CmpType, frontend.I64)
	trips := g.trips(lb, ub, c.Step)
	var inner value.Value = constant.NewInt(i64, loops.DefaultInnerTrips)
	if c.InnerTrips != nil {
		inner = g.convert(g.expr(c.InnerTrips), c.InnerTrips.Type(), frontend.I64)
	}
	big := g.cur.NewICmp(enum.IPredSGE, g.cur.NewMul(trips, inner), constant.NewInt(i64, loops.ParallelWork))
	par, serial, join := g.newBlock(), g.newBlock(), g.newBlock()
	g.cur.NewCondBr(big, par, serial)
	g.start(serial)
	g.whileLoop(w)
	g.branch(join)
	g.start(par)
	if c.Jam != nil {
		// Long inner loops and enough rows to share: run loops.JamRows iterations at once.
		longInner := g.cur.NewICmp(enum.IPredSGE, inner, constant.NewInt(i64, loops.JamMinInnerTrips))
		manyRows := g.cur.NewICmp(enum.IPredSGE, trips, constant.NewInt(i64, loops.JamMinTrips))
		jammed, plain := g.newBlock(), g.newBlock()
		g.cur.NewCondBr(g.cur.NewAnd(longInner, manyRows), jammed, plain)
		g.start(jammed)
		g.parallelLoop(w, c, lb, trips, true)
		g.branch(join)
		g.start(plain)
	}
	g.parallelLoop(w, c, lb, trips, false)
	g.branch(join)
	g.start(join)
}

// parallelLoop runs trips iterations of counted loop c from lb across threads; jammed, in
// blocks of loops.JamRows iterations (see jamBlock), the iterations left over after the last
// whole block then running serially. Variables declared outside the body are only read
// there: their values are passed to the outlined body, which keeps its own copies.
func (g *gen) parallelLoop(w *frontend.While, c *loops.Counted, lb, trips value.Value, jam bool) {
	iv := c.Var
	n, step := trips, c.Step
	if jam {
		n, step = g.cur.NewSDiv(trips, constant.NewInt(i64, loops.JamRows)), c.Step*loops.JamRows
	}

	vars := g.captured(c)
	var caps []capture
	for _, v := range vars {
		for i, part := range g.loadVar(v) {
			caps = append(caps, capture{v: part, noalias: i == aligned && v.Type.IsArray() && !g.aliased(v, vars)})
		}
	}
	g.parallel(w.Pos, lb, n, step, caps, func(vals []value.Value) func(value.Value) {
		for _, v := range vars {
			parts := len(partTypes(v.Type))
			g.define(v, vals[:parts])
			vals = vals[parts:]
		}
		return func(i value.Value) {
			if jam {
				g.jamBlock(c, i)
				return
			}
			g.define(iv, operand{g.convert(i, frontend.I64, iv.Type)})
			g.stmts(c.Body)
		}
	})
	final := g.cur.NewAdd(lb, g.cur.NewMul(n, constant.NewInt(i64, step)))
	g.assignVar(iv, operand{g.convert(final, frontend.I64, iv.Type)})
	if jam {
		g.whileLoop(w) // the left-over iterations
	}
}

// jamBlock runs the loops.JamRows iterations of c from first at once: each one's prefix,
// then one inner loop whose body runs each one's inner body (and increment) in turn, then
// each one's suffix. Every iteration has its own variables; the inner loop's condition is
// the first one's, as the inner loop runs alike in all of them (see loops.Jam).
func (g *gen) jamBlock(c *loops.Counted, first value.Value) {
	jam, outer := c.Jam, g.env
	envs := make([]map[*frontend.Var][]*ir.InstAlloca, loops.JamRows)
	for k := range envs {
		g.env = maps.Clone(outer)
		i := g.cur.NewAdd(first, constant.NewInt(i64, int64(k)*c.Step))
		g.define(c.Var, operand{g.convert(i, frontend.I64, c.Var.Type)})
		g.stmts(jam.Prefix)
		envs[k] = g.env
	}
	head, body, exit := g.newBlock(), g.newBlock(), g.newBlock()
	g.cur.NewBr(head)
	g.start(head)
	g.env = envs[0]
	g.cur.NewCondBr(g.expr(jam.Inner.Cond), body, exit)
	g.start(body)
	for _, env := range envs {
		g.env = env
		g.stmts(jam.Inner.Body.Stmts)
	}
	g.branch(head)
	g.start(exit)
	for _, env := range envs {
		g.env = env
		g.stmts(jam.Suffix)
	}
	g.env = outer
}

// captured lists the variables declared outside loop c that its body reads. (Those the
// body declares may have slots already, from the loop's serial twin, but are not captured:
// each iteration has its own.)
func (g *gen) captured(c *loops.Counted) []*frontend.Var {
	var vars []*frontend.Var
	seen := map[*frontend.Var]bool{c.Var: true}
	for _, s := range c.Body {
		frontend.Inspect(s, func(n frontend.Node) bool {
			if d, ok := n.(*frontend.VarDecl); ok {
				seen[d.Var] = true
			}
			return true
		})
	}
	for _, s := range c.Body {
		frontend.Inspect(s, func(n frontend.Node) bool {
			if id, ok := n.(*frontend.Ident); ok && !seen[id.Var] {
				if _, outside := g.env[id.Var]; outside {
					seen[id.Var] = true
					vars = append(vars, id.Var)
				}
			}
			return true
		})
	}
	return vars
}

// aliased reports whether array variable v may share memory with another of vars.
func (g *gen) aliased(v *frontend.Var, vars []*frontend.Var) bool {
	for _, w := range vars {
		if w != v && w.Type.IsArray() && g.loops.MayAlias(&frontend.Ident{Var: v}, &frontend.Ident{Var: w}) {
			return true
		}
	}
	return false
}
