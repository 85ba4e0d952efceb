package frontend

import "github.com/simplang/simplang/abi"

// File is a parsed (and, after Check, typed) SimpLang source file.
type File struct {
	Name   string
	Source []byte // the text it was parsed from, for diagnostics of later stages
	Funcs  []*Func
}

// Func is a function declaration. After Check, Result is the function's result type (Void
// when it returns nothing) and every Var and expression is typed.
type Func struct {
	Pos    Pos
	Name   string
	Params []*Var
	Arrow  bool // the result type was declared with ->
	Result Type
	Body   *Block
}

// Signature is the function's exported signature.
func (f *Func) Signature() abi.Func {
	sig := abi.Func{Name: f.Name, Result: f.Result.Kind}
	for _, p := range f.Params {
		sig.Params = append(sig.Params, abi.Param{Name: p.Name, Kind: p.Type.Kind, Array: p.Type.IsArray()})
	}
	return sig
}

// Var is a declared variable or parameter. Each declaration is its own Var, so a shadowing
// declaration in an inner scope is a different Var with the same name.
type Var struct {
	Name  string
	Pos   Pos
	Type  Type
	Param bool
}

// Block is a braced statement list; it is a scope.
type Block struct {
	Lbrace, Rbrace Pos
	Stmts          []Stmt
}

// Stmt is a statement.
type Stmt interface {
	Position() Pos
	stmtNode()
}

// VarDecl declares Var and initialises it: `var x = e;` or `f64 x = e;`.
type VarDecl struct {
	Var  *Var
	Decl *Type // the declared type, nil for `var`
	Init Expr
}

// Assign is `target op value;` where op is = or a compound assignment (+= -= *= /= %= &= |=
// ^= <<= >>=). After Check, for a compound assignment Value has the operation's type (OpType;
// for shifts, the count converted to the target's type) and the result converts to the
// target's type when stored.
type Assign struct {
	Target Expr // *Ident or *Index
	OpPos  Pos
	Op     TokenKind
	Value  Expr
	OpType Type // compound assignments: the type the operation is done in
}

// If is `if (cond) then else`; Else is nil, a *Block, or an *If.
type If struct {
	Pos  Pos
	Cond Expr
	Then *Block
	Else Stmt
}

// While is `while (cond) body`.
type While struct {
	Pos  Pos
	Cond Expr
	Body *Block
}

// Return is `return;` or `return value;`.
type Return struct {
	Pos   Pos
	Value Expr
}

// ExprStmt is a call made for its effect.
type ExprStmt struct {
	X *Call
}

func (s *VarDecl) Position() Pos  { return s.Var.Pos }
func (s *Assign) Position() Pos   { return s.Target.Position() }
func (s *If) Position() Pos       { return s.Pos }
func (s *While) Position() Pos    { return s.Pos }
func (s *Return) Position() Pos   { return s.Pos }
func (s *ExprStmt) Position() Pos { return s.X.Position() }
func (s *Block) Position() Pos    { return s.Lbrace }

func (*VarDecl) stmtNode()  {}
func (*Assign) stmtNode()   {}
func (*If) stmtNode()       {}
func (*While) stmtNode()    {}
func (*Return) stmtNode()   {}
func (*ExprStmt) stmtNode() {}
func (*Block) stmtNode()    {}

// Expr is an expression. After Check, Type() is its type; untyped constants have taken the
// type their context demands and implicit conversions are explicit *Convert nodes.
type Expr interface {
	Position() Pos
	Type() Type
	exprNode()
}

// Ident is a use of a variable.
type Ident struct {
	Pos  Pos
	Name string
	Var  *Var
}

// Const is a literal or a folded constant expression. Int holds integer and bool (0/1)
// values: a signed kind's value, an unsigned kind's value zero-extended (a u64 above the i64
// range is stored as its bits). Float holds float values; those of f16 and bf16 constants are
// already rounded to the type.
type Const struct {
	Pos   Pos
	Text  string
	T     Type
	Int   int64
	Float float64

	untyped bool // during checking: a literal (or folded literals) that has not met a context yet
	huge    bool // an untyped integer above the i64 range (a hex literal up to 2^64-1): its value is uint64(Int)
}

// Binary is `x op y`.
type Binary struct {
	OpPos Pos
	Op    TokenKind
	X, Y  Expr
	T     Type
}

// Unary is `-x`, `!x` or `~x`.
type Unary struct {
	Pos Pos
	Op  TokenKind
	X   Expr
}

// Convert converts X to T: an `x as T` in the source (Explicit) or an implicit widening
// inserted by the checker.
type Convert struct {
	Pos      Pos
	X        Expr
	T        Type
	Explicit bool
}

// Call calls a function of the file (Func) or a builtin (Builtin ≠ NoBuiltin).
type Call struct {
	Pos     Pos
	Name    string
	Args    []Expr
	Func    *Func
	Builtin Builtin
	T       Type
}

// Index is `a[i]` or `a[i, j, …]`.
type Index struct {
	Array   Expr
	Lbrack  Pos
	Indices []Expr
}

// ArrayAlloc is `array<T>([d0, d1, …])`: a zero-filled local array. It stands only as the
// value of a declaration or assignment, and its array never outlives the block of that
// statement (Parse enforces both), so a code generator frees it when the block ends.
type ArrayAlloc struct {
	Pos  Pos
	Elem abi.Kind
	Dims []Expr
	// Scratch marks an array the lowering made for its own use and writes before it reads
	// it: it is not zeroed.
	Scratch bool
}

func (e *Ident) Position() Pos      { return e.Pos }
func (e *Const) Position() Pos      { return e.Pos }
func (e *Binary) Position() Pos     { return e.X.Position() }
func (e *Unary) Position() Pos      { return e.Pos }
func (e *Convert) Position() Pos    { return e.Pos }
func (e *Call) Position() Pos       { return e.Pos }
func (e *Index) Position() Pos      { return e.Array.Position() }
func (e *ArrayAlloc) Position() Pos { return e.Pos }

func (e *Ident) Type() Type {
	if e.Var == nil {
		return Void
	}
	return e.Var.Type
}
func (e *Const) Type() Type      { return e.T }
func (e *Binary) Type() Type     { return e.T }
func (e *Unary) Type() Type      { return e.X.Type() }
func (e *Convert) Type() Type    { return e.T }
func (e *Call) Type() Type       { return e.T }
func (e *Index) Type() Type      { return e.Array.Type().Elem() }
func (e *ArrayAlloc) Type() Type { return Type{Kind: e.Elem, Rank: len(e.Dims)} }

func (*Ident) exprNode()      {}
func (*Const) exprNode()      {}
func (*Binary) exprNode()     {}
func (*Unary) exprNode()      {}
func (*Convert) exprNode()    {}
func (*Call) exprNode()       {}
func (*Index) exprNode()      {}
func (*ArrayAlloc) exprNode() {}
