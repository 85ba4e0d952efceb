package lower

import (
	"fmt"

	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// parallelize replaces each loop that package loops found parallel with the code that
// chooses, when the loop starts, how to run it:
//
//	if (worth threads) {
//	    if (worth jamming) { the jammed loop, in parallel; the left-over iterations }   (loops.Jam only)
//	    else { the loop, in parallel }
//	} else { the loop }
//
// (without the jammed branch when noJam) and returns the loops that run in parallel. Such a
// loop leaves its counter alone: a code generator that runs it on threads sets the counter
// to Loop.Final afterwards.
func parallelize(body *frontend.Block, info *loops.Info, noJam bool) map[*frontend.While]bool {
	p := parallelizer{info: info, parallel: map[*frontend.While]bool{}, noJam: noJam}
	var visit func(w *frontend.While) frontend.Stmt
	visit = func(w *frontend.While) frontend.Stmt {
		if c := info.Counted(w); c != nil && c.Parallel {
			return p.choose(w, c)
		}
		rewriteLoops(w.Body, visit)
		return w
	}
	rewriteLoops(body, visit)
	return p.parallel
}

type parallelizer struct {
	info     *loops.Info
	parallel map[*frontend.While]bool
	noJam    bool
}

// rewriteLoops replaces each outermost while loop under b (inside ifs and blocks) with
// visit's result; visit itself goes into the loops it keeps.
func rewriteLoops(b *frontend.Block, visit func(*frontend.While) frontend.Stmt) {
	var stmt func(s frontend.Stmt) frontend.Stmt
	stmt = func(s frontend.Stmt) frontend.Stmt {
		switch s := s.(type) {
		case *frontend.Block:
			rewriteLoops(s, visit)
		case *frontend.If:
			rewriteLoops(s.Then, visit)
			if s.Else != nil {
				s.Else = stmt(s.Else)
			}
		case *frontend.While:
			return visit(s)
		}
		return s
	}
	for i, s := range b.Stmts {
		b.Stmts[i] = stmt(s)
	}
}

// twin is a loop running a copy of w's body.
func twin(w *frontend.While) *frontend.While {
	c := cloner{rename: map[*frontend.Var]*frontend.Var{}}
	return &frontend.While{Pos: w.Pos, Cond: c.expr(w.Cond), Body: c.block(w.Body)}
}

func (p *parallelizer) choose(w *frontend.While, c *loops.Counted) frontend.Stmt {
	threads := twin(w)
	p.parallel[threads] = true
	onThreads := frontend.Stmt(threads)
	if c.Jam != nil && !p.noJam {
		onThreads = &frontend.If{Pos: w.Pos, Cond: c.WorthJamming(), Then: p.jammed(w, c), Else: block(w.Pos, threads)}
	}
	return &frontend.If{Pos: w.Pos, Cond: c.WorthThreads(), Then: block(w.Pos, onThreads), Else: block(w.Pos, w)}
}

func block(pos frontend.Pos, stmts ...frontend.Stmt) *frontend.Block {
	return &frontend.Block{Lbrace: pos, Rbrace: pos, Stmts: stmts}
}

// jammed runs loop w in blocks of loops.JamRows iterations (see loops.Jam), the blocks in
// parallel, then the iterations left over after the last whole block:
//
//	var first = i; var blocks = trips / JamRows;
//	var b = 0; while (b < blocks) {            // in parallel
//	    var i_k = first + (b·JamRows + k)·step; prefix_k      for each k
//	    while (j_0 < bound) { inner_0; …; inner_7; j_0 += step' }
//	    j_k = j_0; suffix_k                                   for each k
//	    b = b + 1;
//	}
//	i = first + blocks·JamRows·step; while (i < n) { body }
//
// Each copy k has its own variables; the inner loops all count alike (their start is a
// constant and their bound does not change in w), so copy 0's counter counts for all.
func (p *parallelizer) jammed(w *frontend.While, c *loops.Counted) *frontend.Block {
	pos := w.Pos
	i64 := func(v int64) frontend.Expr { return frontend.IntConst(pos, frontend.I64, v) }
	jam := c.Jam
	inner := loops.Count(jam.Inner)

	firstDecl := frontend.Declare(pos, "first", frontend.Conv(frontend.Conv(use(c.Var), c.CmpType), frontend.I64))
	first := firstDecl.Var
	blocksDecl := frontend.Declare(pos, "blocks", frontend.NewBinary(frontend.QUO, c.Trips(), i64(loops.JamRows)))
	blocks := blocksDecl.Var
	bDecl := frontend.Declare(pos, "block", i64(0))
	b := bDecl.Var

	var body []frontend.Stmt
	copies := make([]*cloner, loops.JamRows)
	for k := range copies {
		row := frontend.NewBinary(frontend.ADD, frontend.NewBinary(frontend.MUL, use(b), i64(loops.JamRows)), i64(int64(k)))
		start := frontend.NewBinary(frontend.ADD, use(first), frontend.NewBinary(frontend.MUL, row, i64(c.Step)))
		iv := frontend.Declare(pos, fmt.Sprintf("%s_%d", c.Var.Name, k), frontend.Conv(start, c.Var.Type))
		copies[k] = &cloner{rename: map[*frontend.Var]*frontend.Var{c.Var: iv.Var}}
		body = append(append(body, iv), copies[k].stmts(jam.Prefix)...)
	}
	counter := copies[0].rename[inner.Var]
	var innerBody []frontend.Stmt
	for _, cl := range copies {
		own := cl.rename[inner.Var]
		cl.rename[inner.Var] = counter
		innerBody = append(innerBody, cl.stmts(inner.Body)...)
		cl.rename[inner.Var] = own
	}
	last := jam.Inner.Body.Stmts[len(jam.Inner.Body.Stmts)-1] // the increment
	innerBody = append(innerBody, copies[0].stmt(last))
	body = append(body, &frontend.While{Pos: jam.Inner.Pos, Cond: copies[0].expr(jam.Inner.Cond), Body: block(jam.Inner.Pos, innerBody...)})
	for _, cl := range copies[1:] {
		body = append(body, frontend.Set(use(cl.rename[inner.Var]), use(counter)))
	}
	for _, cl := range copies {
		body = append(body, cl.stmts(jam.Suffix)...)
	}
	body = append(body, frontend.Set(use(b), frontend.NewBinary(frontend.ADD, use(b), i64(1))))
	blockLoop := &frontend.While{Pos: pos, Cond: frontend.NewBinary(frontend.LSS, use(b), use(blocks)), Body: block(pos, body...)}
	p.parallel[blockLoop] = true

	done := frontend.NewBinary(frontend.MUL, use(blocks), i64(loops.JamRows*c.Step))
	rest := frontend.Set(use(c.Var), frontend.Conv(frontend.NewBinary(frontend.ADD, use(first), done), c.Var.Type))
	return block(pos, firstDecl, blocksDecl, bDecl, blockLoop, rest, twin(w))
}
