package lower

import (
	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// Byte dot products. The group dot product of a quantized kernel is the innermost loop
//
//	while (j < n) { acc += (a[x + j] as i32) * (b[y + j] as i32); j = j + 1; }
//
// over arrays of bytes (i8 or u8), with an i32 acc. Its iterations are taken
// frontend.DotChunk at a time by the internal builtin Dot, which the generators print as
// vector loads widened to i32 whose products are summed in pairs into a vector of sums: the
// shape from which LLVM selects vpdpwssd where the CPU has AVX-512 VNNI, and vpmaddwd
// where it does not. LLVM's own vectorizer picks neither for the loop as written when the
// group is short (it widens to i32 per element and reduces every group). The loop stays,
// for the trips that do not fill a chunk. Integer sums wrap the same in any order, so this
// holds under strict-fp too.

// fuseDots puts Dot before every byte dot-product loop in list and the blocks inside it.
func fuseDots(list []frontend.Stmt) []frontend.Stmt { return beforeLoops(list, byteDot) }

// beforeLoops puts, in list and the blocks inside it, the statements that f returns for a
// while loop before that loop; f sees a loop after the loops in its body.
func beforeLoops(list []frontend.Stmt, f func(*frontend.While) []frontend.Stmt) []frontend.Stmt {
	return beforeLoopsIn(list, nil, func(w, _ *frontend.While) []frontend.Stmt { return f(w) })
}

// beforeLoopsIn is beforeLoops for a list in the body of loop outer (nil: none), telling f
// the loop around each loop too.
func beforeLoopsIn(list []frontend.Stmt, outer *frontend.While, f func(w, outer *frontend.While) []frontend.Stmt) []frontend.Stmt {
	var out []frontend.Stmt
	for _, s := range list {
		switch s := s.(type) {
		case *frontend.Block:
			s.Stmts = beforeLoopsIn(s.Stmts, outer, f)
		case *frontend.If:
			s.Then.Stmts = beforeLoopsIn(s.Then.Stmts, outer, f)
			if s.Else != nil { // a block or an if: beforeLoopsIn keeps it one statement
				s.Else = beforeLoopsIn([]frontend.Stmt{s.Else}, outer, f)[0]
			}
		case *frontend.While:
			s.Body.Stmts = beforeLoopsIn(s.Body.Stmts, s, f)
			out = append(out, f(s, outer)...)
		}
		out = append(out, s)
	}
	return out
}

// dotLoop is a byte dot-product loop: acc += (a[ia] as i32) * (b[ib] as i32) for the
// counter from its value before the loop.
type dotLoop struct {
	*loops.Counted
	acc          *frontend.Var
	a, ia, b, ib frontend.Expr
	nibbles      bool          // b holds q4 nibbles (see nibbleDot); the loop runs over half a chunk
	ih           frontend.Expr // with nibbles, where the inputs of the high nibbles are read
}

// matchDot recognises a byte dot-product loop (see above); nil for any other loop.
func matchDot(w *frontend.While) *dotLoop {
	c := loops.Count(w)
	if c == nil || c.Step != 1 || len(c.Body) == 0 || len(c.Body) > 3 || c.Var.Type != frontend.I64 || c.CmpType != frontend.I64 {
		return nil
	}
	s, ok := c.Body[len(c.Body)-1].(*frontend.Assign)
	if !ok || s.Op != frontend.ASSIGN {
		return nil
	}
	acc, ok := s.Target.(*frontend.Ident)
	if !ok || acc.Var.Type != frontend.I32 {
		return nil
	}
	sum, ok := s.Value.(*frontend.Binary)
	if !ok || sum.Op != frontend.ADD {
		return nil
	}
	prod := sum.Y
	if !isVar(sum.X, acc.Var) {
		prod = sum.X
		if !isVar(sum.Y, acc.Var) {
			return nil
		}
	}
	if len(c.Body) >= 2 {
		// acc += e is acc = acc + t after `var t = e` (package lower's flatten).
		d, ok := c.Body[len(c.Body)-2].(*frontend.VarDecl)
		if !ok || !isVar(prod, d.Var) {
			return nil
		}
		prod = d.Init
	}
	if len(c.Body) == 3 {
		load, ok := c.Body[0].(*frontend.VarDecl)
		if !ok {
			return nil
		}
		x, ix, ih, w, iw := nibbleDot(c, acc.Var, load, prod)
		if x == nil {
			return nil
		}
		return &dotLoop{Counted: c, acc: acc.Var, a: x, ia: ix, ih: ih, b: w, ib: iw, nibbles: true}
	}
	mul, ok := prod.(*frontend.Binary)
	if !ok || mul.Op != frontend.MUL {
		return nil
	}
	a, ia := byteLoad(mul.X, c.Var, acc.Var)
	b, ib := byteLoad(mul.Y, c.Var, acc.Var)
	if a == nil || b == nil {
		return nil
	}
	return &dotLoop{Counted: c, acc: acc.Var, a: a, ia: ia, b: b, ib: ib}
}

// byteDot returns the statements that do the whole chunks of w's iterations when w is a
// byte dot-product loop (see above), leaving w the rest; nil for any other loop.
func byteDot(w *frontend.While) []frontend.Stmt {
	d := matchDot(w)
	if d == nil || d.nibbles {
		return nil
	}
	c, acc, a, ia, b, ib := d.Counted, d.acc, d.a, d.ia, d.b, d.ib
	pos := w.Pos
	// whole = trips − trips mod DotChunk; trips ≥ 0.
	whole := frontend.NewBinary(frontend.AND, c.Trips(), frontend.IntConst(pos, frontend.I64, -frontend.DotChunk))
	add := func(n frontend.Expr) frontend.Stmt {
		dot := frontend.NewBuiltin(pos, frontend.Dot, frontend.I32, cloneExpr(a), cloneExpr(ia), cloneExpr(b), cloneExpr(ib), n)
		return frontend.Set(frontend.Use(pos, acc), frontend.NewBinary(frontend.ADD, frontend.Use(pos, acc), dot))
	}
	// A group of one chunk (q8 and q4 blocks of 32) gets a Dot of constant length, which
	// the generators' chunk loop reduces to straight-line code.
	chunk := frontend.IntConst(pos, frontend.I64, frontend.DotChunk)
	return []frontend.Stmt{
		&frontend.If{Pos: pos, Cond: frontend.NewBinary(frontend.EQL, whole, chunk),
			Then: block(pos, add(cloneExpr(chunk))), Else: block(pos, add(cloneExpr(whole)))},
		frontend.Set(frontend.Use(pos, c.Var), frontend.NewBinary(frontend.ADD, frontend.Use(pos, c.Var), cloneExpr(whole))),
	}
}

// byteLoad matches `a[x + j] as i32` (or a[j + x], a[j]) with a an array of i8 or u8 and x
// an expression that reads neither j, acc nor memory; it returns a and the index (to be
// evaluated where j holds its first value; the caller copies them), or nil.
func byteLoad(e frontend.Expr, j, acc *frontend.Var) (frontend.Expr, frontend.Expr) {
	conv, ok := e.(*frontend.Convert)
	if !ok || conv.T != frontend.I32 {
		return nil, nil
	}
	return byteElem(conv.X, j, acc)
}

// byteElem matches `a[x + j]` as byteLoad does, without the conversion.
func byteElem(e frontend.Expr, j, acc *frontend.Var) (frontend.Expr, frontend.Expr) {
	ix, ok := e.(*frontend.Index)
	if !ok || len(ix.Indices) != 1 {
		return nil, nil
	}
	arr, ok := ix.Array.(*frontend.Ident)
	if !ok || (arr.Var.Type.Kind != abi.I8 && arr.Var.Type.Kind != abi.U8) {
		return nil, nil
	}
	idx := ix.Indices[0]
	if x := offsetOf(idx, j); x == nil || !frontend.Harmless(x) || !loops.Invariant(x, map[*frontend.Var]bool{j: true, acc: true}) {
		return nil, nil
	}
	return arr, idx
}

// offsetOf returns x when idx is x + j or j + x, 0 when it is j, and nil otherwise.
func offsetOf(idx frontend.Expr, j *frontend.Var) frontend.Expr {
	if isVar(idx, j) {
		return frontend.IntConst(idx.Position(), frontend.I64, 0)
	}
	add, ok := idx.(*frontend.Binary)
	switch {
	case !ok || add.Op != frontend.ADD:
		return nil
	case isVar(add.Y, j):
		return add.X
	case isVar(add.X, j):
		return add.Y
	}
	return nil
}

// nibbleDot matches the body of a q4 group loop over its n = gs/2 bytes,
//
//	var b = w[y + j];
//	var t = (x[z + j] as i32) * ((b & 15) as i32 - 8) + (x[z' + j] as i32) * ((b >> 4) as i32 - 8);
//
// (either product first, either factor first): byte j of the group holds an element in its
// low nibble and one in its high nibble, each biased by 8 (llama.cpp's q4_0). In q4_0 they
// are the group's elements j and j + n (z' = z + n); a kernel may also keep the inputs that
// the high nibbles multiply apart (z' anywhere). It returns x, z + j, z' + j, w, y + j, or
// nil.
func nibbleDot(c *loops.Counted, acc *frontend.Var, load *frontend.VarDecl, prod frontend.Expr) (x, ix, ih, w, iw frontend.Expr) {
	if w, iw = byteElem(load.Init, c.Var, acc); w == nil || w.Type().Kind != abi.U8 {
		return nil, nil, nil, nil, nil
	}
	sum, ok := prod.(*frontend.Binary)
	if !ok || sum.Op != frontend.ADD {
		return nil, nil, nil, nil, nil
	}
	var xs [2]frontend.Expr
	var idxs [2]frontend.Expr
	var halves [2]bool
	for k, term := range []frontend.Expr{sum.X, sum.Y} {
		mul, ok := term.(*frontend.Binary)
		if !ok || mul.Op != frontend.MUL {
			return nil, nil, nil, nil, nil
		}
		for _, pair := range [][2]frontend.Expr{{mul.X, mul.Y}, {mul.Y, mul.X}} {
			half, ok := nibble(pair[1], load.Var)
			if a, i := byteLoad(pair[0], c.Var, acc); ok && a != nil {
				xs[k], idxs[k], halves[k] = a, i, half
				break
			}
		}
		if xs[k] == nil {
			return nil, nil, nil, nil, nil
		}
	}
	if halves[0] == halves[1] || !sameExpr(xs[0], xs[1]) {
		return nil, nil, nil, nil, nil
	}
	lo, hi := idxs[0], idxs[1]
	if halves[0] {
		lo, hi = hi, lo
	}
	return xs[0], lo, hi, w, iw
}

// nibble matches `(b & 15) as i32 - 8` (high false) or `(b >> 4) as i32 - 8` (high true).
func nibble(e frontend.Expr, b *frontend.Var) (high, ok bool) {
	sub, ok := e.(*frontend.Binary)
	if !ok || sub.Op != frontend.SUB || !isConst(sub.Y, 8) {
		return false, false
	}
	conv, ok := sub.X.(*frontend.Convert)
	if !ok || conv.T != frontend.I32 {
		return false, false
	}
	op, ok := conv.X.(*frontend.Binary)
	switch {
	case !ok || !isVar(op.X, b):
		return false, false
	case op.Op == frontend.AND && isConst(op.Y, 15):
		return false, true
	case op.Op == frontend.SHR && isConst(op.Y, 4):
		return true, true
	}
	return false, false
}

func isConst(e frontend.Expr, v int64) bool {
	k, ok := e.(*frontend.Const)
	return ok && k.T.IsInt() && k.Int == v
}

// isVar reports whether e is a use of v.
func isVar(e frontend.Expr, v *frontend.Var) bool {
	id, ok := e.(*frontend.Ident)
	return ok && id.Var == v
}

// Lanes lists the lanes of a DotChunk-lane vector from lane first on, every step-th: the
// shuffles both generators write for Dot. Its pairs add the even lanes of the products to
// the odd ones (Lanes(0, 2), Lanes(1, 2)); ScaledNibbleDot joins the low and the high
// nibbles into one vector (Lanes(0, 1) of the two halves).
func Lanes(first, step int) []int {
	var l []int
	for i := first; i < frontend.DotChunk; i += step {
		l = append(l, i)
	}
	return l
}

// The shuffles of ScaledDotPair and ScaledNibbleDotQuad, which both generators write:
// Joined(n) joins two n-lane vectors into one; GroupScales(groups) spreads that many scales
// over the 16 sums, each over its group's lanes.
func Joined(n int) []int {
	l := make([]int, 2*n)
	for i := range l {
		l[i] = i
	}
	return l
}

func GroupScales(groups int) []int {
	l := make([]int, frontend.DotChunk/2)
	for i := range l {
		l[i] = i / (len(l) / groups)
	}
	return l
}
