package frontend

import (
	"strings"

	"github.com/simplang/simplang/abi"
)

// Type is the static type of a value: a scalar of Kind (Rank 0), or an array of Kind elements
// with Rank dimensions. Array parameters have rank 1; local arrays have the rank they were
// created with. Kind abi.Void with rank 0 is "no value".
type Type struct {
	Kind abi.Kind
	Rank int
}

// Common scalar types.
var (
	Void = Type{Kind: abi.Void}
	Bool = Type{Kind: abi.Bool}
	I32  = Type{Kind: abi.I32}
	I64  = Type{Kind: abi.I64}
	F32  = Type{Kind: abi.F32}
	F64  = Type{Kind: abi.F64}
)

// IsArray reports whether t is an array type.
func (t Type) IsArray() bool { return t.Rank > 0 }

// IsNumeric reports whether t is an integer or float scalar.
func (t Type) IsNumeric() bool { return t.Rank == 0 && (t.Kind.IsInt() || t.Kind.IsFloat()) }

// IsInt reports whether t is an integer scalar, signed or unsigned.
func (t Type) IsInt() bool { return t.Rank == 0 && t.Kind.IsInt() }

// IsUnsigned reports whether t is an unsigned integer scalar.
func (t Type) IsUnsigned() bool { return t.Rank == 0 && t.Kind.IsUnsigned() }

// IsFloat reports whether t is a float scalar (f16 and bf16 included).
func (t Type) IsFloat() bool { return t.Rank == 0 && t.Kind.IsFloat() }

// IsHalf reports whether t is an f16 or bf16 scalar.
func (t Type) IsHalf() bool { return t.Rank == 0 && t.Kind.IsHalf() }

// Elem is the element type of an array type.
func (t Type) Elem() Type { return Type{Kind: t.Kind} }

func (t Type) String() string {
	switch {
	case t.Rank == 0:
		return t.Kind.String()
	case t.Rank == 1:
		return t.Kind.String() + "[]"
	}
	return t.Kind.String() + "[" + strings.Repeat(",", t.Rank-1) + "]"
}

// promote is the type arithmetic on a value of type t is done in: f16 and bf16 values compute
// in f32 (language §2.1), every other type in itself.
func promote(t Type) Type {
	if t.IsHalf() {
		return F32
	}
	return t
}

// widen is the type of a binary operation between two numeric scalar types: the one the other
// widens to, after halves are promoted to f32. It reports false when neither widens to the
// other (a signed and an unsigned integer type such as i32 and u32).
func widen(a, b Type) (Type, bool) {
	a, b = promote(a), promote(b)
	switch {
	case widens(a, b):
		return b, true
	case widens(b, a):
		return a, true
	}
	return a, false
}

// widens reports whether a value of type from converts implicitly to type to (language §2):
// any type to itself; integers to f32 and f64; f16, bf16 and f32 to wider floats; integers
// to wider integers of the same signedness; unsigned integers to wider signed ones. Nothing
// widens to f16 or bf16, and no signed type to an unsigned one.
func widens(from, to Type) bool {
	if from == to {
		return true
	}
	if !from.IsNumeric() || !to.IsNumeric() {
		return false
	}
	f, t := from.Kind, to.Kind
	switch {
	case t.IsHalf():
		return false
	case t.IsFloat():
		return f.IsInt() || f.IsHalf() || f.Size() < t.Size()
	case f.IsFloat():
		return false
	case f.IsUnsigned() == t.IsUnsigned():
		return f.Size() <= t.Size()
	}
	return f.IsUnsigned() && f.Size() < t.Size()
}
