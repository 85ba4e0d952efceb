package frontend

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/half"
)

// checker resolves names and types a parsed file in place: every identifier gets its Var,
// every call its function or builtin, every expression its type; untyped constants take the
// type of their context and implicit conversions become *Convert nodes, so that the code
// generators never convert implicitly.
type checker struct {
	errs  *ErrorList
	funcs map[string]*Func
	fn    *Func // the function being checked
	scope *scope
}

type scope struct {
	parent *scope
	vars   map[string]*Var
}

func (c *checker) errorf(pos Pos, format string, args ...any) {
	c.errs.Add(pos, fmt.Sprintf(format, args...))
}

func (c *checker) lookup(name string) *Var {
	for s := c.scope; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v
		}
	}
	return nil
}

func (c *checker) declare(v *Var) {
	if old, ok := c.scope.vars[v.Name]; ok {
		c.errorf(v.Pos, "%s already declared in this scope (at %s); assign to it, or use another name", v.Name, old.Pos)
		return
	}
	c.scope.vars[v.Name] = v
}

func (c *checker) push() { c.scope = &scope{parent: c.scope, vars: map[string]*Var{}} }
func (c *checker) pop()  { c.scope = c.scope.parent }

// checkFile checks all functions of f. Signatures are resolved first, so functions may call
// each other in any order.
func checkFile(f *File, errs *ErrorList) {
	c := &checker{errs: errs, funcs: map[string]*Func{}}
	for _, fn := range f.Funcs {
		if old, ok := c.funcs[fn.Name]; ok {
			c.errorf(fn.Pos, "function %s already declared at %s", fn.Name, old.Pos)
			continue
		}
		c.funcs[fn.Name] = fn
		if !fn.Arrow && returnsValue(fn.Body) {
			fn.Result = F32 // compatibility: without ->, value returns are f32
		}
	}
	for _, fn := range f.Funcs {
		c.checkFunc(fn)
	}
}

// returnsValue reports whether a value return appears anywhere in s.
func returnsValue(s Stmt) bool {
	switch s := s.(type) {
	case *Return:
		return s.Value != nil
	case *Block:
		for _, x := range s.Stmts {
			if returnsValue(x) {
				return true
			}
		}
	case *If:
		return returnsValue(s.Then) || s.Else != nil && returnsValue(s.Else)
	case *While:
		return returnsValue(s.Body)
	}
	return false
}

func (c *checker) checkFunc(fn *Func) {
	c.fn = fn
	c.scope = nil
	c.push()
	for _, p := range fn.Params {
		c.declare(p)
	}
	c.block(fn.Body, false)
	c.pop()
	if fn.Result != Void && !terminates(fn.Body) {
		c.errorf(fn.Body.Rbrace, "missing return at the end of %s, which returns %s", fn.Name, fn.Result)
	}
}

// terminates reports whether every path through s ends in a return.
func terminates(s Stmt) bool {
	switch s := s.(type) {
	case *Return:
		return true
	case *Block:
		return len(s.Stmts) > 0 && terminates(s.Stmts[len(s.Stmts)-1])
	case *If:
		return s.Else != nil && terminates(s.Then) && terminates(s.Else)
	}
	return false
}

// block checks a block in a new scope (the function body shares the parameters' scope when
// ownScope is false). Statements after a return are checked, then dropped: they never run.
func (c *checker) block(b *Block, ownScope bool) {
	if ownScope {
		c.push()
		defer c.pop()
	}
	for i, s := range b.Stmts {
		c.stmt(s)
		if terminates(s) {
			b.Stmts = b.Stmts[:i+1]
			for _, dead := range b.Stmts[i+1:] {
				c.stmt(dead)
			}
			return
		}
	}
}

func (c *checker) stmt(s Stmt) {
	switch s := s.(type) {
	case *VarDecl:
		c.varDecl(s)
	case *Assign:
		c.assign(s)
	case *If:
		s.Cond = c.cond(s.Cond)
		c.block(s.Then, true)
		if s.Else != nil {
			if b, ok := s.Else.(*Block); ok {
				c.block(b, true)
			} else {
				c.stmt(s.Else)
			}
		}
	case *While:
		s.Cond = c.cond(s.Cond)
		c.block(s.Body, true)
	case *Return:
		c.ret(s)
	case *ExprStmt:
		c.call(s.X, true)
	case *Block:
		c.block(s, true)
	}
}

func (c *checker) cond(e Expr) Expr {
	e = c.valueExpr(e)
	if t := e.Type(); t != Bool && t != Void {
		c.errorf(e.Position(), "condition must be bool, not %s (compare it, as in x != 0)", t)
	}
	return e
}

func (c *checker) varDecl(s *VarDecl) {
	init := c.valueExpr(s.Init)
	switch {
	case s.Decl == nil:
		init = c.defaultType(init)
	case s.Decl.IsArray():
		if t := init.Type(); t.IsArray() && t.Kind == s.Decl.Kind {
			break // keeps the initialiser's rank
		} else if t != Void {
			c.errorf(init.Position(), "cannot initialise %s %s with a value of type %s", s.Decl, s.Var.Name, t)
		}
	default:
		init = c.convert(init, *s.Decl, "in the declaration of "+s.Var.Name)
	}
	s.Init = init
	s.Var.Type = init.Type()
	if s.Decl != nil && !s.Decl.IsArray() {
		s.Var.Type = *s.Decl // also after an error in the initialiser, so that uses do not report more
	}
	c.declare(s.Var)
}

func (c *checker) assign(s *Assign) {
	value := c.valueExpr(s.Value)
	var target Type
	switch t := s.Target.(type) {
	case *Ident:
		v := c.lookup(t.Name)
		if v == nil {
			c.errorf(t.Pos, "cannot assign to undeclared variable %s (declare it first: var %s = …)", t.Name, t.Name)
			return
		}
		t.Var = v
		target = v.Type
	case *Index:
		s.Target = c.index(t)
		target = s.Target.Type()
	}
	if target == Void || value.Type() == Void {
		return
	}
	_, element := s.Target.(*Index)
	if s.Op == ASSIGN {
		switch {
		case target.IsArray():
			if value.Type() != target {
				c.errorf(value.Position(), "cannot assign a value of type %s to %s, which is %s", value.Type(), describeTarget(s.Target), target)
			}
		case element:
			value = c.store(value, target)
		default:
			value = c.convert(value, target, "in the assignment to "+describeTarget(s.Target))
		}
		s.Value = value
		return
	}
	// Compound assignment: target = target op value, typed as the binary operation.
	op := &Binary{OpPos: value.Position(), Op: s.BinaryOp(), X: s.Target, Y: value}
	c.operate(op)
	if op.T == Void {
		return
	}
	s.OpType, s.Value = op.T, op.Y
	if s.OpType != target && !element {
		name := describeTarget(s.Target)
		c.errorf(value.Position(), "%s %s %s gives %s, which does not fit %s variable %s without an explicit conversion: write %s = (%s %s …) as %s", name, s.Op, value.Type(), s.OpType, target, name, name, name, op.Op, target)
	}
}

// describeTarget names an assignment target for messages.
func describeTarget(e Expr) string {
	switch e := e.(type) {
	case *Ident:
		return e.Name
	case *Index:
		return "an element of " + describeTarget(e.Array)
	}
	return "the target"
}

// store converts a value stored into an array element to the element type; unlike other
// assignments this may narrow (language §2, compatibility).
func (c *checker) store(e Expr, elem Type) Expr {
	if k, ok := e.(*Const); ok && k.untyped {
		return c.explicitConst(k, elem)
	}
	if t := e.Type(); t != elem {
		if !t.IsNumeric() || !elem.IsNumeric() {
			c.errorf(e.Position(), "cannot store a value of type %s into an element of type %s", t, elem)
			return e
		}
		return &Convert{Pos: e.Position(), X: e, T: elem}
	}
	return e
}

func (c *checker) ret(s *Return) {
	fn := c.fn
	if s.Value == nil {
		if fn.Result != Void {
			c.errorf(s.Pos, "missing return value: %s returns %s", fn.Name, fn.Result)
		}
		return
	}
	v := c.valueExpr(s.Value)
	switch {
	case v.Type() == Void:
	case fn.Arrow:
		v = c.convert(v, fn.Result, "in the return of "+fn.Name)
	case !v.Type().IsNumeric():
		c.errorf(v.Position(), "%s returns f32 (it has no -> type), but this value is %s", fn.Name, v.Type())
	default:
		// Compatibility: without ->, any numeric value converts to f32.
		v = c.store(v, F32)
	}
	s.Value = v
}

// valueExpr checks e and reports an error when it yields no value. (Every builtin yields a
// value: one typed Void was misused, which is reported already.)
func (c *checker) valueExpr(e Expr) Expr {
	e = c.expr(e)
	if call, ok := e.(*Call); ok && call.T == Void && call.Func != nil {
		c.errorf(call.Pos, "%s returns no value", call.Name)
	}
	return e
}

// expr checks e and returns it, possibly rewritten (folded constants, inserted conversions).
// A Void type marks an expression whose error was already reported.
func (c *checker) expr(e Expr) Expr {
	switch e := e.(type) {
	case *Const:
		return e
	case *Ident:
		v := c.lookup(e.Name)
		if v == nil {
			if _, isFunc := c.funcs[e.Name]; isFunc {
				c.errorf(e.Pos, "%s is a function: call it as %s(…)", e.Name, e.Name)
			} else {
				c.errorf(e.Pos, "undefined variable %s", e.Name)
			}
			return e
		}
		e.Var = v
		return e
	case *Binary:
		return c.binary(e)
	case *Unary:
		return c.unary(e)
	case *Convert:
		return c.explicitConvert(e)
	case *Call:
		return c.call(e, false)
	case *Index:
		return c.index(e)
	case *ArrayAlloc:
		for i, d := range e.Dims {
			e.Dims[i] = c.intOperand(d, "array dimension")
			if k, ok := e.Dims[i].(*Const); ok && k.Int < 0 {
				c.errorf(k.Pos, "array dimension %d is negative", k.Int)
			}
		}
		return e
	}
	return e
}

// intOperand checks an index or size: an integer, converted to i64.
func (c *checker) intOperand(e Expr, what string) Expr {
	e = c.valueExpr(e)
	if k, ok := e.(*Const); ok && k.untyped {
		if k.T != I64 || k.huge {
			c.errorf(k.Pos, "%s must be an i64 integer, not %s", what, k.describe())
			return e
		}
		k.untyped = false
		return k
	}
	t := e.Type()
	if t == Void {
		return e
	}
	if !t.IsInt() {
		c.errorf(e.Position(), "%s must be an integer, not %s", what, t)
		return e
	}
	return c.implicit(e, I64)
}

func (c *checker) index(e *Index) Expr {
	e.Array = c.valueExpr(e.Array)
	t := e.Array.Type()
	for i, ix := range e.Indices {
		e.Indices[i] = c.intOperand(ix, "array index")
	}
	if t == Void {
		return e
	}
	if !t.IsArray() {
		c.errorf(e.Lbrack, "%s is %s, not an array: it cannot be indexed", describeTarget(e.Array), t)
		e.Array = &Const{Pos: e.Lbrack, T: Void}
		return e
	}
	if len(e.Indices) != t.Rank {
		c.errorf(e.Lbrack, "%s has %d dimension(s) but is indexed with %d index(es)", describeTarget(e.Array), t.Rank, len(e.Indices))
	}
	return e
}

func (c *checker) unary(e *Unary) Expr {
	e.X = c.valueExpr(e.X)
	t := e.X.Type()
	if t == Void {
		return e
	}
	switch {
	case e.Op == NOT:
		if t != Bool {
			c.errorf(e.Pos, "operator ! needs a bool, not %s", t)
		}
		return e
	case e.Op == TILDE && t == Bool:
		c.errorf(e.Pos, "operator ~ needs an integer, not bool: negate a bool with !")
		return e
	case e.Op == TILDE && !t.IsInt():
		c.errorf(e.Pos, "operator ~ needs an integer, not %s: convert it first (… as i32), or use - to negate", t)
		return e
	case !t.IsNumeric():
		c.errorf(e.Pos, "operator - needs a number, not %s", t)
		return e
	}
	k, ok := e.X.(*Const)
	if !ok || !k.untyped {
		e.X = c.implicit(e.X, promote(t))
		return e
	}
	if k.T.IsFloat() {
		k.Float = -k.Float
	} else {
		v := k.exact()
		if e.Op == TILDE {
			v.Not(v)
		} else {
			v.Neg(v)
		}
		if !k.setExact(v) {
			c.errorf(e.Pos, "constant %s%s overflows i64", e.Op, k.describe())
			return e
		}
	}
	k.Pos, k.Text = e.Pos, ""
	return k
}

func (c *checker) binary(e *Binary) Expr {
	e.X = c.valueExpr(e.X)
	e.Y = c.valueExpr(e.Y)
	return c.operate(e)
}

// operate types a binary operation whose operands are checked: it folds constants, promotes
// halves to f32, gives both operands their common type (a shift count takes the shifted
// value's type) and sets e.T. It sets e.T to Void after reporting an error.
func (c *checker) operate(e *Binary) Expr {
	xt, yt := e.X.Type(), e.Y.Type()
	if xt == Void || yt == Void {
		e.T = Void
		return e
	}
	switch e.Op {
	case LAND, LOR:
		if xt != Bool || yt != Bool {
			c.errorf(e.OpPos, "operator %s needs bool operands, not %s and %s", e.Op, xt, yt)
		}
		e.T = Bool
		return e
	case EQL, NEQ:
		if xt == Bool && yt == Bool {
			e.T = Bool
			return e
		}
	case AND, OR, XOR, SHL, SHR:
		if !c.integerOperands(e) {
			e.T = Void
			return e
		}
	}
	if !xt.IsNumeric() || !yt.IsNumeric() {
		c.errorf(e.OpPos, "operator %s needs numbers, not %s and %s", e.Op, xt, yt)
		e.T = Void
		return e
	}
	kx, xConst := e.X.(*Const)
	ky, yConst := e.Y.(*Const)
	if xConst && yConst && kx.untyped && ky.untyped {
		return c.fold(e, kx, ky)
	}
	if e.Op == SHL || e.Op == SHR {
		c.shift(e)
		return e
	}
	e.X, e.Y, e.T = c.unify(e.X, e.Y, "operator "+e.Op.String(), e.OpPos)
	if isComparison(e.Op) && e.T != Void {
		e.T = Bool
	}
	return e
}

// integerOperands reports whether the operands of a bitwise operator or shift are integers,
// and reports the error when they are not.
func (c *checker) integerOperands(e *Binary) bool {
	xt, yt := e.X.Type(), e.Y.Type()
	if xt.IsInt() && yt.IsInt() {
		return true
	}
	switch {
	case (xt == Bool || yt == Bool) && (e.Op == AND || e.Op == OR):
		c.errorf(e.OpPos, "operator %s needs integers, not %s and %s: for bool, use %s%s", e.Op, xt, yt, e.Op, e.Op)
	case xt == Bool || yt == Bool:
		c.errorf(e.OpPos, "operator %s needs integers, not %s and %s", e.Op, xt, yt)
	case (e.Op == SHL || e.Op == SHR) && !xt.IsInt():
		c.errorf(e.OpPos, "operator %s shifts integers, not %s: cannot shift a float (convert it with as, or multiply by a power of two)", e.Op, xt)
	case e.Op == SHL || e.Op == SHR:
		c.errorf(e.OpPos, "operator %s needs an integer shift count, not %s (convert it with … as i32)", e.Op, yt)
	default:
		c.errorf(e.OpPos, "operator %s needs integers, not %s and %s: bitwise operators do not apply to floats (convert with as first)", e.Op, xt, yt)
	}
	return false
}

// shift types x << n and x >> n: the result has x's type (an untyped x takes its default
// type, i64) and the count is converted to it. A constant count must be in [0, width).
func (c *checker) shift(e *Binary) {
	e.X = c.defaultType(e.X)
	t := e.X.Type()
	width := int64(8 * t.Kind.Size())
	if k, ok := e.Y.(*Const); ok {
		v := k.exact()
		if v.Sign() < 0 || v.Cmp(big.NewInt(width)) >= 0 {
			c.errorf(k.Pos, "shift count %s is out of range for %s: it must be from 0 to %d", k.describe(), t, width-1)
			e.T = Void
			return
		}
		if k.untyped {
			e.Y = c.explicitConst(k, t)
		}
	}
	if e.Y.Type() != t {
		e.Y = &Convert{Pos: e.Y.Position(), X: e.Y, T: t}
	}
	e.T = t
}

func isComparison(op TokenKind) bool {
	switch op {
	case EQL, NEQ, LSS, GTR, LEQ, GEQ:
		return true
	}
	return false
}

// unify gives two numeric operands of operation what one type: halves become f32, an untyped
// constant takes the other operand's type, then the usual widening applies. Operands of which
// neither widens to the other (signed and unsigned) are an error, and the type is then Void.
func (c *checker) unify(x, y Expr, what string, pos Pos) (Expr, Expr, Type) {
	x, y = c.implicit(x, promote(x.Type())), c.implicit(y, promote(y.Type()))
	x = c.matchConst(x, y.Type())
	y = c.matchConst(y, x.Type())
	xt, yt := x.Type(), y.Type()
	if xt == Void || yt == Void {
		return x, y, Void
	}
	t, ok := widen(xt, yt)
	if !ok {
		signed, unsigned := xt, yt
		if xt.IsUnsigned() {
			signed, unsigned = yt, xt
		}
		c.errorf(pos, "%s mixes %s and %s: a signed and an unsigned type, neither of which converts to the other implicitly; convert one with as, as in (… as %s) or (… as %s)", what, xt, yt, signed, unsigned)
		return x, y, Void
	}
	return c.implicit(x, t), c.implicit(y, t), t
}

// matchConst gives an untyped constant the type of the other operand: an integer constant
// takes any numeric type; a float constant takes a float type, and its default f32 beside an
// integer (the usual widening then makes the operation f32).
func (c *checker) matchConst(e Expr, other Type) Expr {
	k, ok := e.(*Const)
	if !ok || !k.untyped || other == Void {
		return e
	}
	if k.T == F32 && other.IsInt() {
		return c.defaultType(k)
	}
	return c.convert(k, other, "")
}

// implicit converts a typed value to type t when it differs (a widening the caller has checked).
func (c *checker) implicit(e Expr, t Type) Expr {
	if e.Type() == t || e.Type() == Void {
		return e
	}
	if k, ok := e.(*Const); ok {
		return c.explicitConst(k, t)
	}
	return &Convert{Pos: e.Position(), X: e, T: t}
}

// defaultType gives an untyped constant its default type (i64 or f32).
func (c *checker) defaultType(e Expr) Expr {
	if k, ok := e.(*Const); ok && k.untyped {
		return c.convert(k, k.T, "")
	}
	return e
}

// convert converts e to t for an assignment, argument or return: only widening is implicit.
func (c *checker) convert(e Expr, t Type, context string) Expr {
	from := e.Type()
	if from == Void || t == Void {
		return e
	}
	if context != "" {
		context = " " + context
	}
	if k, ok := e.(*Const); ok && k.untyped {
		if k.T == F32 && t.IsInt() {
			c.errorf(k.Pos, "cannot use %s as %s%s: it would be truncated (write %s as %s)", k.describe(), t, context, k.describe(), t)
			return e
		}
		if t.IsArray() || t == Bool {
			c.errorf(k.Pos, "cannot use %s as %s%s", k.describe(), t, context)
			return e
		}
		return c.explicitConst(k, t)
	}
	if widens(from, t) {
		return c.implicit(e, t)
	}
	if from.IsInt() && t.IsInt() && from.IsUnsigned() != t.IsUnsigned() {
		c.errorf(e.Position(), "cannot use a %s value as %s%s: signed and unsigned types convert only explicitly (… as %s)", from, t, context, t)
	} else if from.IsNumeric() && t.IsNumeric() {
		c.errorf(e.Position(), "cannot use a %s value as %s%s: narrowing needs an explicit conversion (… as %s)", from, t, context, t)
	} else {
		c.errorf(e.Position(), "cannot use a %s value as %s%s", from, t, context)
	}
	return e
}

// explicitConst converts constant k to type t as `as` does (floats truncate toward zero, float
// values round to f16, bf16 and f32 as stores do), reporting values that do not fit: a
// literal must fit its type, also under `as` (as in Go).
func (c *checker) explicitConst(k *Const, t Type) Expr {
	if !t.IsNumeric() {
		c.errorf(k.Pos, "cannot convert %s to %s", k.describe(), t)
		return k
	}
	desc := k.describe()
	switch {
	case t.IsInt() && k.T.IsFloat():
		f := math.Trunc(k.Float)
		v, _ := big.NewFloat(f).Int(nil)
		if math.IsInf(f, 0) || math.IsNaN(f) || !fitsInt(v, t.Kind) {
			c.errorf(k.Pos, "constant %s overflows %s", desc, t)
			return k
		}
		k.setExact(v)
	case t.IsFloat() && k.T.IsInt():
		k.Float, _ = new(big.Float).SetInt(k.exact()).Float64()
	case t.IsInt() && k.untyped && !fitsInt(k.exact(), t.Kind):
		if strings.HasPrefix(strings.ToLower(k.Text), "0x") {
			c.errorf(k.Pos, "hexadecimal literal %s is too big for %s (largest 0x%X)", k.Text, t, maxInt(t.Kind))
		} else {
			c.errorf(k.Pos, "constant %s overflows %s (range %d to %d)", desc, t, minInt(t.Kind), maxInt(t.Kind))
		}
		return k
	}
	k.huge = false // a u64 now, if it was above the i64 range
	wasInf, overflow := math.IsInf(k.Float, 0), false
	switch t.Kind {
	case abi.F32:
		overflow = math.Abs(k.Float) > math.MaxFloat32 && !math.IsInf(k.Float, 0)
	case abi.F16:
		k.Float = half.F16FromFloat64(k.Float).Float64()
		overflow = math.IsInf(k.Float, 0)
	case abi.BF16:
		k.Float = half.BF16FromFloat64(k.Float).Float64()
		overflow = math.IsInf(k.Float, 0)
	}
	if overflow && !wasInf {
		c.errorf(k.Pos, "constant %s overflows %s", desc, t)
		return k
	}
	k.T, k.untyped = t, false
	return k
}

// minInt and maxInt are the least and greatest values of integer kind k (maxInt of u64 as
// its bits).
func minInt(k abi.Kind) int64 {
	if k.IsUnsigned() {
		return 0
	}
	return -1 << (8*k.Size() - 1)
}

func maxInt(k abi.Kind) uint64 {
	if k.IsUnsigned() {
		return 1<<(8*k.Size()) - 1
	}
	return 1<<(8*k.Size()-1) - 1
}

// fitsInt reports whether v is a value of integer kind k.
func fitsInt(v *big.Int, k abi.Kind) bool {
	return v.Cmp(big.NewInt(minInt(k))) >= 0 && v.Cmp(new(big.Int).SetUint64(maxInt(k))) <= 0
}

// exact is the value of integer constant k.
func (k *Const) exact() *big.Int {
	if k.huge || k.T.Kind == abi.U64 {
		return new(big.Int).SetUint64(uint64(k.Int))
	}
	return big.NewInt(k.Int)
}

// setExact makes v the value of untyped integer constant k; it reports false when v is
// outside [-2^63, 2^64-1], what an untyped integer can hold.
func (k *Const) setExact(v *big.Int) bool {
	switch {
	case v.IsInt64():
		k.Int, k.huge = v.Int64(), false
	case v.IsUint64():
		k.Int, k.huge = int64(v.Uint64()), true
	default:
		return false
	}
	return true
}

func (k *Const) describe() string {
	if k.Text != "" {
		return k.Text
	}
	if k.T.IsFloat() {
		return strconv.FormatFloat(k.Float, 'g', -1, 64)
	}
	return k.exact().String()
}

// fold evaluates an operation between two untyped constants as Go folds untyped constants:
// integer operations stay integer and exact (a result outside [-2^63, 2^64-1] is an error),
// anything with a float operand is done in float64; comparisons give a bool constant.
func (c *checker) fold(e *Binary, x, y *Const) Expr {
	r := &Const{Pos: x.Pos, T: I64, untyped: true}
	if (e.Op == QUO || e.Op == REM) && (y.T == I64 && y.Int == 0 || y.T == F32 && y.Float == 0) {
		c.errorf(e.OpPos, "division by zero")
		return r
	}
	if x.T == I64 && y.T == I64 {
		a, b, v := x.exact(), y.exact(), new(big.Int)
		if isComparison(e.Op) {
			return boolConst(r, e.Op, a.Cmp(b))
		}
		switch e.Op {
		case ADD:
			v.Add(a, b)
		case SUB:
			v.Sub(a, b)
		case MUL:
			v.Mul(a, b)
		case QUO:
			v.Quo(a, b) // truncates toward zero
		case REM:
			v.Rem(a, b) // sign of the dividend
		case AND:
			v.And(a, b)
		case OR:
			v.Or(a, b)
		case XOR:
			v.Xor(a, b)
		case SHL, SHR:
			if b.Sign() < 0 || b.Cmp(big.NewInt(64)) >= 0 {
				c.errorf(y.Pos, "shift count %s is out of range: it must be from 0 to 63", y.describe())
				return r
			}
			if e.Op == SHL {
				v.Lsh(a, uint(b.Int64()))
			} else {
				v.Rsh(a, uint(b.Int64())) // arithmetic: rounds toward -∞
			}
		}
		if !r.setExact(v) {
			c.errorf(e.OpPos, "constant expression overflows: %s is outside the range of i64 and u64", v)
		}
		return r
	}
	if e.Op == AND || e.Op == OR || e.Op == XOR || e.Op == SHL || e.Op == SHR {
		c.errorf(e.OpPos, "operator %s needs integers, not %s and %s", e.Op, x.describe(), y.describe())
		return r
	}
	a, b := x.floatValue(), y.floatValue()
	if isComparison(e.Op) {
		return boolConst(r, e.Op, cmp.Compare(a, b))
	}
	r.T = F32
	switch e.Op {
	case ADD:
		r.Float = a + b
	case SUB:
		r.Float = a - b
	case MUL:
		r.Float = a * b
	case QUO:
		r.Float = a / b
	case REM:
		r.Float = math.Mod(a, b)
	}
	return r
}

func (k *Const) floatValue() float64 {
	if k.T.IsInt() {
		f, _ := new(big.Float).SetInt(k.exact()).Float64()
		return f
	}
	return k.Float
}

// boolConst makes r the bool constant of comparison op given the operands' ordering.
func boolConst(r *Const, op TokenKind, order int) *Const {
	var v bool
	switch op {
	case EQL:
		v = order == 0
	case NEQ:
		v = order != 0
	case LSS:
		v = order < 0
	case GTR:
		v = order > 0
	case LEQ:
		v = order <= 0
	case GEQ:
		v = order >= 0
	}
	r.T, r.untyped, r.Int = Bool, false, 0
	if v {
		r.Int = 1
	}
	return r
}

func (c *checker) explicitConvert(e *Convert) Expr {
	e.X = c.valueExpr(e.X)
	from := e.X.Type()
	if from == Void {
		return e
	}
	if from == e.T {
		if k, ok := e.X.(*Const); ok {
			k.untyped = false
		}
		return e
	}
	if !from.IsNumeric() || !e.T.IsNumeric() {
		c.errorf(e.Pos, "cannot convert %s to %s: only numbers convert with as (compare a number to get a bool)", from, e.T)
		return e
	}
	if k, ok := e.X.(*Const); ok && k.untyped {
		return c.explicitConst(k, e.T)
	}
	return e
}

// call checks a call; stmt is true for a call made for its effect.
func (c *checker) call(e *Call, stmt bool) Expr {
	for i, a := range e.Args {
		e.Args[i] = c.valueExpr(a)
	}
	if fn, ok := c.funcs[e.Name]; ok {
		e.Func = fn
		e.T = fn.Result
		c.userCall(e, fn)
		return e
	}
	b, ok := builtinByName[e.Name]
	if !ok {
		c.errorf(e.Pos, "undefined function %s", e.Name)
		return e
	}
	e.Builtin = b
	c.builtinCall(e, b)
	return e
}

func (c *checker) userCall(e *Call, fn *Func) {
	if len(e.Args) != len(fn.Params) {
		few := "not enough"
		if len(e.Args) > len(fn.Params) {
			few = "too many"
		}
		c.errorf(e.Pos, "%s arguments in call to %s: have %d, want %d (%s)", few, fn.Name, len(e.Args), len(fn.Params), fn.Signature())
		return
	}
	for i, p := range fn.Params {
		a := e.Args[i]
		if p.Type.IsArray() {
			if t := a.Type(); t != Void && (!t.IsArray() || t.Kind != p.Type.Kind) {
				c.errorf(a.Position(), "argument %s of %s must be %s, not %s", p.Name, fn.Name, p.Type, t)
			}
			continue
		}
		e.Args[i] = c.convert(a, p.Type, fmt.Sprintf("for argument %s of %s", p.Name, fn.Name))
	}
}

func (c *checker) builtinCall(e *Call, b Builtin) {
	info := builtins[b]
	if n := len(e.Args); n != info.short && n != len(info.params) {
		c.errorf(e.Pos, "%s takes %s arguments, have %d: %s", info.name, arityWords(info), n, b.usage())
		e.T = Void
		return
	}
	if info.arrays > 0 {
		c.arrayBuiltin(e, b, info)
		return
	}
	switch b {
	case Min, Max:
		if !e.Args[0].Type().IsNumeric() || !e.Args[1].Type().IsNumeric() {
			c.errorf(e.Pos, "%s needs two numbers, have %s and %s", info.name, e.Args[0].Type(), e.Args[1].Type())
			return
		}
		e.Args[0], e.Args[1], e.T = c.unify(e.Args[0], e.Args[1], info.name, e.Pos)
	case Abs:
		x := e.Args[0]
		if !x.Type().IsNumeric() {
			c.errorf(x.Position(), "abs needs a number, not %s", x.Type())
			return
		}
		x = c.defaultType(x)
		e.Args[0] = c.implicit(x, promote(x.Type()))
		e.T = e.Args[0].Type()
	default: // sqrt exp log sin cos pow round floor ceil: floats; integers and halves widen to f32
		for i, a := range e.Args {
			if !a.Type().IsNumeric() {
				c.errorf(a.Position(), "%s needs a number, not %s: %s", info.name, a.Type(), b.usage())
				return
			}
			e.Args[i] = c.floatArg(a)
		}
		t := e.Args[0].Type()
		for _, a := range e.Args[1:] {
			t, _ = widen(t, a.Type()) // floats always widen to one another
		}
		for i := range e.Args {
			e.Args[i] = c.implicit(e.Args[i], t)
		}
		e.T = t
	}
}

// floatArg turns a numeric argument of a float builtin into f32 or f64: untyped constants,
// integers and halves become f32.
func (c *checker) floatArg(e Expr) Expr {
	if k, ok := e.(*Const); ok && k.untyped {
		return c.explicitConst(k, F32)
	}
	if t := e.Type(); t.IsInt() || t.IsHalf() {
		return c.implicit(e, F32)
	}
	return e
}

func arityWords(info builtinInfo) string {
	if info.short == len(info.params) {
		return strconv.Itoa(info.short)
	}
	return fmt.Sprintf("%d or %d", info.short, len(info.params))
}

// arrayBuiltin checks rmsnorm, softmax, silu and matmul: the leading array arguments share one
// float element type; eps converts to it; counts and offsets are integers.
func (c *checker) arrayBuiltin(e *Call, b Builtin, info builtinInfo) {
	elem := Void
	for i := 0; i < info.arrays; i++ {
		a := e.Args[i]
		t := a.Type()
		if t == Void {
			return
		}
		if !t.IsArray() || !t.Kind.IsFloat() || t.Kind.IsHalf() {
			c.errorf(a.Position(), "argument %s of %s must be a float array, not %s: %s", info.params[i], info.name, t, b.usage())
			return
		}
		if elem == Void {
			elem = t.Elem()
		} else if t.Elem() != elem {
			c.errorf(a.Position(), "argument %s of %s is %s but %s is %s[]: all arrays of %s must have the same element type", info.params[i], info.name, t, info.params[0], elem, info.name)
			return
		}
	}
	for i := info.arrays; i < len(e.Args); i++ {
		if info.params[i] == "eps" {
			a := e.Args[i]
			if !a.Type().IsNumeric() {
				c.errorf(a.Position(), "argument eps of %s must be a number, not %s", info.name, a.Type())
				continue
			}
			e.Args[i] = c.store(a, elem)
			continue
		}
		e.Args[i] = c.intOperand(e.Args[i], "argument "+info.params[i]+" of "+info.name)
	}
	e.T = e.Args[info.output].Type()
}
