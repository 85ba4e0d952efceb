package frontend

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/simplang/simplang/abi"
)

// parser builds the AST by recursive descent. On a syntax error it reports the error, skips
// to the end of the statement (or function) and goes on, so that one mistake does not hide
// the others; the result of a parse with errors is never checked or compiled.
type parser struct {
	lex   *lexer
	errs  *ErrorList
	tok   Token // current token
	depth int   // nesting of blocks and expressions, bounded by maxDepth
}

// maxDepth bounds nesting so that a pathological input cannot exhaust the stack.
const maxDepth = 500

// nest enters one level of nesting; the caller defers the returned function.
func (p *parser) nest() func() {
	p.depth++
	if p.depth > maxDepth {
		p.errorAt(p.tok.Pos, "nesting is too deep (more than %d levels)", maxDepth)
		panic(bailout{})
	}
	return func() { p.depth-- }
}

// bailout stops parsing once the error list is full.
type bailout struct{}

func (p *parser) next() {
	p.tok = p.lex.next()
}

func (p *parser) errorAt(pos Pos, format string, args ...any) {
	p.errs.Add(pos, fmt.Sprintf(format, args...))
	if p.errs.full() {
		panic(bailout{})
	}
}

// expect consumes a token of kind k or reports what was found instead.
func (p *parser) expect(k TokenKind, context string) Token {
	t := p.tok
	if t.Kind != k {
		want := "'" + k.String() + "'"
		if k == IDENT || k == TYPE {
			want = k.String()
		}
		if context != "" {
			want += " " + context
		}
		p.errorAt(t.Pos, "expected %s, found %s", want, t.describe())
		panic(syncStmt{})
	}
	p.next()
	return t
}

// syncStmt unwinds to the innermost statement (or function) boundary after an error.
type syncStmt struct{}

func (p *parser) got(k TokenKind) bool {
	if p.tok.Kind == k {
		p.next()
		return true
	}
	return false
}

// parseFile parses a whole file.
func parseFile(name string, src []byte, errs *ErrorList) (f *File) {
	p := &parser{lex: newLexer(src, errs), errs: errs}
	f = &File{Name: name, Source: src}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bailout); !ok {
				panic(r)
			}
		}
	}()
	p.next()
	for p.tok.Kind != EOF {
		if p.tok.Kind != FN {
			p.errorAt(p.tok.Pos, "expected 'fn' to start a function, found %s", p.tok.describe())
			p.skipTo(FN)
			continue
		}
		if fn := p.funcDecl(); fn != nil {
			f.Funcs = append(f.Funcs, fn)
		}
	}
	return f
}

// skipTo advances until a token of kind k (or EOF) is current.
func (p *parser) skipTo(k TokenKind) {
	for p.tok.Kind != k && p.tok.Kind != EOF {
		p.next()
	}
}

func (p *parser) funcDecl() (fn *Func) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(syncStmt); !ok {
				panic(r)
			}
			fn = nil
			p.skipFunc()
		}
	}()
	fn = &Func{Pos: p.tok.Pos}
	p.expect(FN, "")
	fn.Name = p.expect(IDENT, "after fn").Text
	p.expect(LPAREN, "after the function name")
	if p.tok.Kind != RPAREN {
		for {
			fn.Params = append(fn.Params, p.param())
			if !p.got(COMMA) {
				break
			}
		}
	}
	p.expect(RPAREN, "after the parameters")
	if p.got(ARROW) {
		fn.Arrow = true
		t := p.expect(TYPE, "after ->")
		k, _ := abi.KindByName(t.Text)
		fn.Result = Type{Kind: k}
		if p.tok.Kind == LBRACK {
			p.errorAt(p.tok.Pos, "functions return scalars, not arrays: write the result into an array parameter")
			panic(syncStmt{})
		}
	}
	fn.Body = p.block()
	return fn
}

// skipFunc skips to the next function after a broken one.
func (p *parser) skipFunc() { p.skipTo(FN) }

// param parses `T name`, `T[] name`, `T[N] name` or `var name` (an f32).
func (p *parser) param() *Var {
	if p.got(VAR) {
		name := p.expect(IDENT, "after var")
		return &Var{Name: name.Text, Pos: name.Pos, Type: F32, Param: true}
	}
	t := p.typeName("as the parameter type")
	name := p.expect(IDENT, "after the parameter type")
	return &Var{Name: name.Text, Pos: name.Pos, Type: t, Param: true}
}

// typeName parses a scalar type name with an optional array suffix `[]` or `[N]`.
func (p *parser) typeName(context string) Type {
	t := p.expect(TYPE, context)
	k, _ := abi.KindByName(t.Text)
	typ := Type{Kind: k}
	if p.got(LBRACK) {
		if p.tok.Kind == INT {
			p.next() // T[N]: N is ignored
		}
		p.expect(RBRACK, "to close the array type")
		typ.Rank = 1
	}
	return typ
}

func (p *parser) block() *Block {
	defer p.nest()()
	b := &Block{Lbrace: p.expect(LBRACE, "to open a block").Pos}
	for p.tok.Kind != RBRACE && p.tok.Kind != EOF && p.tok.Kind != FN {
		if s := p.stmtRecover(); s != nil {
			b.Stmts = append(b.Stmts, s)
		}
	}
	b.Rbrace = p.expect(RBRACE, "to close the block").Pos
	return b
}

// stmtRecover parses one statement; after a syntax error it skips past the next ';' (or up to
// a '}' that closes the block) and returns nil.
func (p *parser) stmtRecover() (s Stmt) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(syncStmt); !ok {
				panic(r)
			}
			s = nil
			p.skipStmt()
		}
	}()
	return p.stmt()
}

func (p *parser) skipStmt() {
	depth := 0
	for p.tok.Kind != EOF {
		switch p.tok.Kind {
		case SEMICOLON:
			if depth == 0 {
				p.next()
				return
			}
		case LBRACE:
			depth++
		case RBRACE:
			if depth == 0 {
				return
			}
			depth--
			if depth == 0 {
				p.next()
				return
			}
		case FN:
			return
		}
		p.next()
	}
}

func (p *parser) stmt() Stmt {
	switch p.tok.Kind {
	case VAR:
		p.next()
		name := p.expect(IDENT, "after var")
		p.expect(ASSIGN, "after the variable name (a declaration needs a value)")
		init := p.expr()
		p.expect(SEMICOLON, "after the declaration")
		return &VarDecl{Var: &Var{Name: name.Text, Pos: name.Pos}, Init: init}
	case TYPE:
		t := p.typeName("")
		name := p.expect(IDENT, "after the type in a declaration")
		p.expect(ASSIGN, "after the variable name (a declaration needs a value)")
		init := p.expr()
		p.expect(SEMICOLON, "after the declaration")
		return &VarDecl{Var: &Var{Name: name.Text, Pos: name.Pos}, Decl: &t, Init: init}
	case RETURN:
		r := &Return{Pos: p.tok.Pos}
		p.next()
		if p.tok.Kind != SEMICOLON {
			r.Value = p.expr()
		}
		p.expect(SEMICOLON, "after return")
		return r
	case IF:
		return p.ifStmt()
	case WHILE:
		w := &While{Pos: p.tok.Pos}
		p.next()
		w.Cond = p.cond("while")
		w.Body = p.block()
		return w
	case LBRACE:
		return p.block()
	case ELSE:
		p.errorAt(p.tok.Pos, "else without a matching if")
		panic(syncStmt{})
	}
	x := p.expr()
	switch p.tok.Kind {
	case ASSIGN, ADD_ASSIGN, SUB_ASSIGN, MUL_ASSIGN, QUO_ASSIGN, REM_ASSIGN, AND_ASSIGN, OR_ASSIGN, XOR_ASSIGN, SHL_ASSIGN, SHR_ASSIGN:
		op := p.tok
		switch x.(type) {
		case *Ident, *Index:
		default:
			p.errorAt(x.Position(), "cannot assign to this expression: only a variable or an array element can be assigned")
			panic(syncStmt{})
		}
		p.next()
		v := p.expr()
		p.expect(SEMICOLON, "after the assignment")
		return &Assign{Target: x, OpPos: op.Pos, Op: op.Kind, Value: v}
	}
	p.expect(SEMICOLON, "after the expression")
	call, ok := x.(*Call)
	if !ok {
		p.errorAt(x.Position(), "this expression is computed but not used: only a call can stand alone as a statement")
		return nil
	}
	return &ExprStmt{X: call}
}

func (p *parser) ifStmt() *If {
	s := &If{Pos: p.tok.Pos}
	p.expect(IF, "")
	s.Cond = p.cond("if")
	s.Then = p.block()
	if p.got(ELSE) {
		if p.tok.Kind == IF {
			s.Else = p.ifStmt()
		} else {
			s.Else = p.block()
		}
	}
	return s
}

// cond parses the parenthesised condition of if/while.
func (p *parser) cond(keyword string) Expr {
	p.expect(LPAREN, "after "+keyword)
	c := p.expr()
	p.expect(RPAREN, "to close the "+keyword+" condition")
	return c
}

// Binary operator precedence, lowest first (language §4, C's order).
func precedence(k TokenKind) int {
	switch k {
	case LOR:
		return 1
	case LAND:
		return 2
	case OR:
		return 3
	case XOR:
		return 4
	case AND:
		return 5
	case EQL, NEQ:
		return 6
	case LSS, GTR, LEQ, GEQ:
		return 7
	case SHL, SHR:
		return 8
	case ADD, SUB:
		return 9
	case MUL, QUO, REM:
		return 10
	}
	return 0
}

func (p *parser) expr() Expr { return p.binary(1) }

// binary parses left-associative binary operators of precedence ≥ min.
func (p *parser) binary(min int) Expr {
	x := p.unary()
	for {
		prec := precedence(p.tok.Kind)
		if prec < min {
			return x
		}
		op := p.tok
		p.next()
		y := p.binary(prec + 1)
		x = &Binary{OpPos: op.Pos, Op: op.Kind, X: x, Y: y}
	}
}

func (p *parser) unary() Expr {
	defer p.nest()()
	if p.tok.Kind == SUB || p.tok.Kind == NOT || p.tok.Kind == TILDE {
		op := p.tok
		p.next()
		if op.Kind == SUB && p.tok.Kind == INT {
			// A minus belongs to an integer literal, so that -9223372036854775808 is in range.
			lit := p.tok
			p.next()
			return p.castTail(p.intLiteral(Token{Kind: INT, Pos: op.Pos, Text: "-" + lit.Text}, lit.Pos))
		}
		return &Unary{Pos: op.Pos, Op: op.Kind, X: p.unary()}
	}
	return p.castTail(p.postfix())
}

// castTail parses the conversions `x as T as U …` that follow an operand.
func (p *parser) castTail(x Expr) Expr {
	for p.tok.Kind == AS {
		pos := p.tok.Pos
		p.next()
		t := p.expect(TYPE, "after as")
		k, _ := abi.KindByName(t.Text)
		x = &Convert{Pos: pos, X: x, T: Type{Kind: k}, Explicit: true}
	}
	return x
}

func (p *parser) postfix() Expr {
	x := p.primary()
	for p.tok.Kind == LBRACK {
		ix := &Index{Array: x, Lbrack: p.tok.Pos}
		p.next()
		ix.Indices = p.exprList(RBRACK)
		p.expect(RBRACK, "to close the index")
		if len(ix.Indices) == 0 {
			p.errorAt(ix.Lbrack, "missing index")
		}
		x = ix
	}
	return x
}

// exprList parses comma-separated expressions up to (not including) the closing token.
func (p *parser) exprList(close TokenKind) []Expr {
	var list []Expr
	if p.tok.Kind == close {
		return nil
	}
	for {
		list = append(list, p.expr())
		if !p.got(COMMA) {
			return list
		}
	}
}

func (p *parser) primary() Expr {
	t := p.tok
	switch t.Kind {
	case INT:
		p.next()
		return p.intLiteral(t, t.Pos)
	case FLOAT:
		p.next()
		v, err := strconv.ParseFloat(t.Text, 64)
		if err != nil && !strings.Contains(err.Error(), "range") {
			p.errorAt(t.Pos, "malformed float literal %s", t.Text)
		}
		if math.IsInf(v, 0) {
			p.errorAt(t.Pos, "float literal %s is out of range", t.Text)
		}
		return &Const{Pos: t.Pos, Text: t.Text, T: F32, Float: v, untyped: true}
	case IDENT:
		p.next()
		if p.tok.Kind == LPAREN {
			p.next()
			args := p.exprList(RPAREN)
			p.expect(RPAREN, "to close the argument list")
			return &Call{Pos: t.Pos, Name: t.Text, Args: args}
		}
		return &Ident{Pos: t.Pos, Name: t.Text}
	case LPAREN:
		p.next()
		x := p.expr()
		p.expect(RPAREN, "to close the parenthesis")
		return x
	case ARRAY:
		return p.arrayAlloc()
	}
	p.errorAt(t.Pos, "expected expression, found %s", t.describe())
	panic(syncStmt{})
}

// intLiteral makes the constant of an integer literal (text may carry a leading minus),
// reporting literals outside the i64 range; a hexadecimal literal may reach the u64 range.
func (p *parser) intLiteral(t Token, litPos Pos) Expr {
	digits, neg := strings.CutPrefix(t.Text, "-")
	v, ok := new(big.Int), false
	hex := len(digits) > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')
	if hex {
		v, ok = v.SetString(digits[2:], 16)
	} else {
		v, ok = v.SetString(digits, 10)
	}
	if neg {
		v.Neg(v)
	}
	if !ok || !v.IsInt64() && (!hex || neg || !v.IsUint64()) {
		p.errorAt(litPos, "integer literal %s is out of range for i64 (largest is 9223372036854775807; a hexadecimal literal up to 0xFFFFFFFFFFFFFFFF can be a u64)", digits)
		return &Const{Pos: t.Pos, T: I64, untyped: true}
	}
	k := &Const{Pos: t.Pos, Text: t.Text, T: I64, untyped: true}
	k.setExact(v)
	return k
}

// arrayAlloc parses `array<T>([d0, d1, …])`.
func (p *parser) arrayAlloc() Expr {
	a := &ArrayAlloc{Pos: p.tok.Pos}
	p.expect(ARRAY, "")
	p.expect(LSS, "after array (write array<f32>([n]))")
	t := p.expect(TYPE, "as the element type of array<…>")
	a.Elem, _ = abi.KindByName(t.Text)
	p.expect(GTR, "after the element type (write array<f32>([n]))")
	p.expect(LPAREN, "after array<T> (write array<f32>([n]))")
	lb := p.expect(LBRACK, "around the dimensions (write array<f32>([n]))")
	a.Dims = p.exprList(RBRACK)
	p.expect(RBRACK, "to close the dimensions")
	p.expect(RPAREN, "to close array<…>(…)")
	if len(a.Dims) == 0 {
		p.errorAt(lb.Pos, "an array needs at least one dimension, as in array<f32>([n])")
	}
	return a
}
