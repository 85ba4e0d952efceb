package llvmgen

import (
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/simplang/simplang/frontend"
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
	defer g.lines.Locate(g.lines.Locate(s.Position()))
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
		switch l := g.fn.Loop(s); {
		case l != nil && l.Parallel:
			g.parallelLoop(s, l)
		case l != nil && len(l.Lanes) > 0:
			g.laneLoop(s, l)
		default:
			g.whileLoop(s, l)
		}
	case *frontend.Return:
		g.ret(s)
	}
}

// assign emits an assignment; the lowering made every assignment a plain one.
func (g *gen) assign(s *frontend.Assign) {
	switch t := s.Target.(type) {
	case *frontend.Ident:
		if slot := g.lanes[t.Var]; slot != nil { // s = s + ScaledDot(…)
			g.cur.NewStore(g.scaledDot(s.Value.(*frontend.Binary).Y.(*frontend.Call), g.cur.NewLoad(laneType, slot)), slot)
			return
		}
		g.assignVar(t.Var, g.operand(s.Value))
	case *frontend.Index:
		ptr := g.address(t)
		g.cur.NewStore(g.expr(s.Value), ptr)
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

// ifStmt emits branches to the blocks of then and else, which both end at a join (they hold
// no return: the lowering left every return at the function's top level).
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
	g.cur.NewBr(join)
	if s.Else != nil {
		g.start(otherwise)
		g.stmt(s.Else)
		g.cur.NewBr(join)
	}
	g.start(join)
}
