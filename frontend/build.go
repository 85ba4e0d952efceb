package frontend

// Constructors of checked nodes, for the stages after Parse that write code of their own
// (package lower and the loop facts of package loops). Operands must already have the types
// the operation needs: these insert no conversions except where Conv is called.

// IntConst is the integer (or bool) constant v of type t.
func IntConst(pos Pos, t Type, v int64) *Const { return &Const{Pos: pos, T: t, Int: v} }

// FloatConst is the float constant v of type t.
func FloatConst(pos Pos, t Type, v float64) *Const { return &Const{Pos: pos, T: t, Float: v} }

// Zero is the zero value of scalar type t.
func Zero(pos Pos, t Type) *Const {
	if t.IsFloat() {
		return FloatConst(pos, t, 0)
	}
	return IntConst(pos, t, 0)
}

// Use is a use of variable v.
func Use(pos Pos, v *Var) *Ident { return &Ident{Pos: pos, Name: v.Name, Var: v} }

// NewBinary is x op y on two operands of one type; comparisons, && and || give bool.
func NewBinary(op TokenKind, x, y Expr) *Binary {
	t := x.Type()
	if isComparison(op) || op == LAND || op == LOR {
		t = Bool
	}
	return &Binary{OpPos: x.Position(), Op: op, X: x, Y: y, T: t}
}

// Not is !x.
func Not(x Expr) *Unary { return &Unary{Pos: x.Position(), Op: NOT, X: x} }

// Conv converts x to numeric type t, or returns x when it has that type.
func Conv(x Expr, t Type) Expr {
	if x.Type() == t {
		return x
	}
	return &Convert{Pos: x.Position(), X: x, T: t}
}

// NewBuiltin is a call of builtin b with result type t.
func NewBuiltin(pos Pos, b Builtin, t Type, args ...Expr) *Call {
	return &Call{Pos: pos, Name: b.String(), Args: args, Builtin: b, T: t}
}

// Elem is the element a[i] of a one-dimensional array.
func Elem(a Expr, i Expr) *Index {
	return &Index{Array: a, Lbrack: a.Position(), Indices: []Expr{Conv(i, I64)}}
}

// Declare declares a new variable of init's type and initialises it.
func Declare(pos Pos, name string, init Expr) *VarDecl {
	return &VarDecl{Var: &Var{Name: name, Pos: pos, Type: init.Type()}, Init: init}
}

// Set assigns value, of the target's type, to target (an *Ident or *Index).
func Set(target, value Expr) *Assign { return &Assign{Target: target, Op: ASSIGN, Value: value} }
