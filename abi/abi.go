// Package abi holds what the compiler and the loader must agree on: the kinds of values a
// kernel takes and returns, how each parameter expands into C arguments (language §6), and the
// signature table that every compiled object carries so that a loader can check a call
// before making it.
//
// The table is plain text, one SimpLang function header per line, stored in the object as
// the NUL-terminated string TableSymbol; an array the function may write is marked with !
// after its type (the loader refuses to pass it overlapping another array):
//
//	fn dot(f32[] a, f32[] b, i64 n) -> f32
//	fn scale(f32[]! a, f32 s, i64 n)
package abi

import (
	"fmt"
	"strings"
)

// Kind is the kind of a scalar value, or of an array's elements.
type Kind uint8

// The kinds of values a kernel can take or return. Void is only a result kind. F16 and BF16
// (IEEE binary16 and bfloat16) are storage kinds: in memory and in the C ABI they are their 16
// bits (uint16_t).
const (
	Void Kind = iota
	Bool
	I8
	I16
	I32
	I64
	F32
	F64
	U8
	U16
	U32
	U64
	F16
	BF16
)

var kindNames = [...]string{Void: "void", Bool: "bool", I8: "i8", I16: "i16", I32: "i32", I64: "i64", F32: "f32", F64: "f64",
	U8: "u8", U16: "u16", U32: "u32", U64: "u64", F16: "f16", BF16: "bf16"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// Size is the size of one value in bytes (bool is one byte, as C's _Bool).
// Signed is the integer with bits v in k's width read as a signed value of that width: how
// the LLVM and MLIR texts write a constant of k (unsigned kinds included).
func (k Kind) Signed(v int64) int64 {
	switch k.Size() {
	case 1:
		return int64(int8(v))
	case 2:
		return int64(int16(v))
	case 4:
		return int64(int32(v))
	}
	return v
}

func (k Kind) Size() int {
	switch k {
	case Bool, I8, U8:
		return 1
	case I16, U16, F16, BF16:
		return 2
	case I32, U32, F32:
		return 4
	case I64, U64, F64:
		return 8
	}
	return 0
}

// IsFloat reports whether k is a floating-point kind: f32, f64, f16 or bf16.
func (k Kind) IsFloat() bool { return k == F32 || k == F64 || k.IsHalf() }

// IsHalf reports whether k is one of the 16-bit storage kinds f16 and bf16.
func (k Kind) IsHalf() bool { return k == F16 || k == BF16 }

// IsInt reports whether k is one of the integer kinds, signed or unsigned.
func (k Kind) IsInt() bool { return k >= I8 && k <= I64 || k.IsUnsigned() }

// IsUnsigned reports whether k is one of the unsigned integer kinds.
func (k Kind) IsUnsigned() bool { return k >= U8 && k <= U64 }

// KindByName returns the kind spelled name ("int" is i32), or false.
func KindByName(name string) (Kind, bool) {
	if name == "int" {
		return I32, true
	}
	for k, n := range kindNames {
		if n == name && Kind(k) != Void {
			return Kind(k), true
		}
	}
	return Void, false
}

// DescriptorFields is how many C arguments one array parameter expands to: the fields of
// an MLIR rank-1 memref descriptor (allocated, aligned, offset, size, stride).
const DescriptorFields = 5

// TableSymbol names the NUL-terminated signature table in every compiled object.
const TableSymbol = "simplang_signatures"

// PackedName is the symbol of the packed entry of function name: void _mlir_NAME(void **args),
// where args[i] points to the i-th expanded C argument and args[N] to the result slot.
func PackedName(name string) string { return "_mlir_" + name }

// Param is one parameter of an exported function.
type Param struct {
	Name    string
	Kind    Kind // the scalar's kind, or the array's element kind
	Array   bool
	Written bool // an array the function may write
}

func (p Param) String() string {
	switch {
	case p.Written:
		return p.Kind.String() + "[]! " + p.Name
	case p.Array:
		return p.Kind.String() + "[] " + p.Name
	}
	return p.Kind.String() + " " + p.Name
}

// Func is the signature of one exported function.
type Func struct {
	Name   string
	Params []Param
	Result Kind // Void when the function returns nothing
}

// CArgs is the number of C arguments of the expanded (unpacked) entry.
func (f Func) CArgs() int {
	n := 0
	for _, p := range f.Params {
		if p.Array {
			n += DescriptorFields
		} else {
			n++
		}
	}
	return n
}

// String renders f as a SimpLang function header, the table's line format.
func (f Func) String() string {
	var b strings.Builder
	b.WriteString("fn ")
	b.WriteString(f.Name)
	b.WriteByte('(')
	for i, p := range f.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.String())
	}
	b.WriteByte(')')
	if f.Result != Void {
		b.WriteString(" -> ")
		b.WriteString(f.Result.String())
	}
	return b.String()
}

// Encode renders a signature table.
func Encode(funcs []Func) string {
	var b strings.Builder
	for _, f := range funcs {
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// Decode parses a signature table written by Encode.
func Decode(table string) ([]Func, error) {
	var funcs []Func
	for i, line := range strings.Split(table, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f, err := decodeLine(line)
		if err != nil {
			return nil, fmt.Errorf("signature table line %d %q: %v", i+1, line, err)
		}
		funcs = append(funcs, f)
	}
	return funcs, nil
}

func decodeLine(line string) (Func, error) {
	var f Func
	rest, ok := strings.CutPrefix(line, "fn ")
	if !ok {
		return f, fmt.Errorf("does not start with \"fn \"")
	}
	open := strings.IndexByte(rest, '(')
	close := strings.LastIndexByte(rest, ')')
	if open <= 0 || close < open {
		return f, fmt.Errorf("no parameter list")
	}
	f.Name = rest[:open]
	if params := strings.TrimSpace(rest[open+1 : close]); params != "" {
		for _, ps := range strings.Split(params, ",") {
			typ, name, ok := strings.Cut(strings.TrimSpace(ps), " ")
			if !ok || name == "" {
				return f, fmt.Errorf("parameter %q is not \"TYPE NAME\"", ps)
			}
			p := Param{Name: name}
			if elem, written := strings.CutSuffix(typ, "[]!"); written {
				p.Array, p.Written = true, true
				typ = elem
			} else if elem, isArray := strings.CutSuffix(typ, "[]"); isArray {
				p.Array = true
				typ = elem
			}
			if p.Kind, ok = KindByName(typ); !ok {
				return f, fmt.Errorf("unknown type %q", typ)
			}
			f.Params = append(f.Params, p)
		}
	}
	if result := strings.TrimSpace(rest[close+1:]); result != "" {
		r, ok := strings.CutPrefix(result, "-> ")
		if !ok {
			return f, fmt.Errorf("unexpected %q after the parameters", result)
		}
		if f.Result, ok = KindByName(r); !ok {
			return f, fmt.Errorf("unknown result type %q", r)
		}
	}
	return f, nil
}
