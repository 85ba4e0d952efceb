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

// IsInt reports whether t is an integer scalar.
func (t Type) IsInt() bool { return t.Rank == 0 && t.Kind.IsInt() }

// IsFloat reports whether t is a float scalar.
func (t Type) IsFloat() bool { return t.Rank == 0 && t.Kind.IsFloat() }

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

// rank orders numeric kinds for the usual widening: every integer is narrower than every
// float; within each family, wider is larger.
func rank(k abi.Kind) int {
	switch k {
	case abi.I8:
		return 1
	case abi.I16:
		return 2
	case abi.I32:
		return 3
	case abi.I64:
		return 4
	case abi.F32:
		return 5
	case abi.F64:
		return 6
	}
	return 0
}

// widen is the type of a binary operation between two numeric scalar types.
func widen(a, b Type) Type {
	if rank(a.Kind) >= rank(b.Kind) {
		return a
	}
	return b
}

// widens reports whether a value of type from converts implicitly to type to (SPEC §2:
// integer → float, narrower → wider, and any type to itself).
func widens(from, to Type) bool {
	if from == to {
		return true
	}
	if !from.IsNumeric() || !to.IsNumeric() {
		return false
	}
	return rank(from.Kind) <= rank(to.Kind)
}
