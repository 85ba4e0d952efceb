package lower

import (
	"fmt"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/half"
)

// Types and operations. Both generators hold a scalar as the same machine type and print the
// same machine operation for an operator, a conversion or a scalar builtin, each in its own
// syntax; which type and which operation a node needs (by its class and signedness) is
// decided here, once.

// TypeName is the type of a scalar of kind k as MLIR names it, and as the names of LLVM's
// overloaded intrinsics end (llvm.exp.f32): i1 for bool, f32, f64, and otherwise the
// integer of the kind's width. Unsigned integers are signless there (the operations carry
// the signedness); f16 and bf16 values are their 16 bits, as in memory and in the C ABI,
// converted where they are used (see Conversion).
func TypeName(k abi.Kind) string {
	switch {
	case k == abi.Bool:
		return "i1"
	case k == abi.F32 || k == abi.F64:
		return fmt.Sprintf("f%d", 8*k.Size())
	}
	return fmt.Sprintf("i%d", 8*k.Size())
}

// IntBits is the integer that a constant of type bool, integer, f16 or bf16 is written as (in
// both generators an f16 or bf16 value is its 16 bits), or false for an f32 or f64 constant.
func IntBits(k *frontend.Const) (bits int64, ok bool) {
	switch k.T.Kind {
	case abi.F16:
		return int64(half.F16FromFloat64(k.Float)), true
	case abi.BF16:
		return int64(half.BF16FromFloat64(k.Float)), true
	}
	return k.Int, !k.T.IsFloat()
}

// Op is a machine operation, named as LLVM IR names it: the instruction, or for the scalar
// builtins the intrinsic llvm.NAME.T. Each generator maps it to its own syntax.
type Op string

// Operations on two operands of one type.
const (
	Add  Op = "add"
	Sub  Op = "sub"
	Mul  Op = "mul"
	SDiv Op = "sdiv"
	UDiv Op = "udiv"
	SRem Op = "srem"
	URem Op = "urem"
	And  Op = "and"
	Or   Op = "or"
	Xor  Op = "xor"
	Shl  Op = "shl"
	AShr Op = "ashr"
	LShr Op = "lshr"
	FAdd Op = "fadd"
	FSub Op = "fsub"
	FMul Op = "fmul"
	FDiv Op = "fdiv"
	FRem Op = "frem"
)

var (
	intOps = map[frontend.TokenKind]Op{
		frontend.ADD: Add, frontend.SUB: Sub, frontend.MUL: Mul, frontend.QUO: SDiv, frontend.REM: SRem,
		frontend.AND: And, frontend.OR: Or, frontend.XOR: Xor, frontend.SHL: Shl, frontend.SHR: AShr,
		frontend.LAND: And, frontend.LOR: Or, // the lowering left their right operands harmless
	}
	unsignedOps = map[frontend.TokenKind]Op{frontend.QUO: UDiv, frontend.REM: URem, frontend.SHR: LShr}
	floatOps    = map[frontend.TokenKind]Op{
		frontend.ADD: FAdd, frontend.SUB: FSub, frontend.MUL: FMul, frontend.QUO: FDiv, frontend.REM: FRem,
	}
	comparisons = map[frontend.TokenKind]string{
		frontend.EQL: "eq", frontend.NEQ: "ne", frontend.LSS: "lt", frontend.GTR: "gt", frontend.LEQ: "le", frontend.GEQ: "ge",
	}
)

// BinaryOp is the operation of x op y on two operands of type t, for an arithmetic or bit
// operator, or && and || (evaluating both operands: the lowering leaves them only where the
// right one is frontend.Harmless), not a comparison.
func BinaryOp(op frontend.TokenKind, t frontend.Type) Op {
	if t.IsFloat() {
		return floatOps[op]
	}
	if u, ok := unsignedOps[op]; ok && t.IsUnsigned() {
		return u
	}
	return intOps[op]
}

// Predicate is the predicate of comparison op on two operands of type t as LLVM IR and
// MLIR's arith both spell it (slt, ult, olt, …), or "" when op is not a comparison. Float
// comparisons are ordered (false when either operand is NaN), but != is true then.
func Predicate(op frontend.TokenKind, t frontend.Type) string {
	p := comparisons[op]
	switch {
	case p == "":
		return ""
	case t.IsFloat() && op == frontend.NEQ:
		return "une"
	case t.IsFloat():
		return "o" + p
	case op == frontend.EQL || op == frontend.NEQ:
		return p
	case t.IsUnsigned():
		return "u" + p
	}
	return "s" + p
}

// Conversions.
const (
	Trunc   Op = "trunc"
	ZExt    Op = "zext"
	SExt    Op = "sext"
	UIToFP  Op = "uitofp"
	SIToFP  Op = "sitofp"
	FPToUI  Op = "fptoui"
	FPToSI  Op = "fptosi"
	FPExt   Op = "fpext"
	FPTrunc Op = "fptrunc"
	// HalfToF32 and F32ToHalf convert between f16, held as its 16 bits, and f32 through the
	// target's half type: a bitcast and an fpext, or an fptrunc and a bitcast.
	HalfToF32 Op = "half-to-f32"
	F32ToHalf Op = "f32-to-half"
)

// Cast is one conversion and the type it gives.
type Cast struct {
	Op Op
	To frontend.Type
}

// Conversion lists the casts that convert a value of numeric type from to type to: none
// between one type, or integers of one width. Integers extend by the source's signedness;
// float → integer truncates toward zero, to types narrower than 32 bits through i32 and to
// u32 through i64, so that a value out of their range wraps instead of being poison. Of
// the half conversions only f16 ↔ f32 reach the generators (half.go writes out the others).
func Conversion(from, to frontend.Type) []Cast {
	one := func(op Op) []Cast { return []Cast{{op, to}} }
	switch {
	case from == to:
		return nil
	case from.IsHalf():
		return one(HalfToF32)
	case to.IsHalf():
		return one(F32ToHalf)
	case from.IsInt() && to.IsInt():
		switch fs, ts := from.Kind.Size(), to.Kind.Size(); {
		case fs == ts:
			return nil
		case fs > ts:
			return one(Trunc)
		case from.IsUnsigned():
			return one(ZExt)
		}
		return one(SExt)
	case from.IsUnsigned():
		return one(UIToFP)
	case from.IsInt():
		return one(SIToFP)
	case to.Kind == abi.U64:
		return one(FPToUI)
	case to.IsInt() && to.Kind.Size() < 4:
		return append([]Cast{{FPToSI, frontend.I32}}, Conversion(frontend.I32, to)...)
	case to.Kind == abi.U32:
		return append([]Cast{{FPToSI, frontend.I64}}, Conversion(frontend.I64, to)...)
	case to.IsInt():
		return one(FPToSI)
	case from.Kind == abi.F32:
		return one(FPExt)
	}
	return one(FPTrunc)
}

// The scalar builtins' operations, named as the LLVM intrinsics llvm.NAME.T.
const (
	Sqrt   Op = "sqrt"
	Exp    Op = "exp"
	Log    Op = "log"
	Sin    Op = "sin"
	Cos    Op = "cos"
	Round  Op = "round"
	Floor  Op = "floor"
	Ceil   Op = "ceil"
	Pow    Op = "pow"
	FAbs   Op = "fabs"
	Abs    Op = "abs" // of the most negative value, that value (it wraps)
	SMin   Op = "smin"
	SMax   Op = "smax"
	UMin   Op = "umin"
	UMax   Op = "umax"
	MinNum Op = "minnum"
	MaxNum Op = "maxnum"
)

var mathOps = map[frontend.Builtin]Op{
	frontend.Sqrt: Sqrt, frontend.Exp: Exp, frontend.Log: Log, frontend.Sin: Sin, frontend.Cos: Cos,
	frontend.Round: Round, frontend.Floor: Floor, frontend.Ceil: Ceil, frontend.Pow: Pow,
	frontend.Abs: Abs, frontend.Min: SMin, frontend.Max: SMax,
}

// MathOp is the operation of a call of scalar builtin b with result type t, or "" for the
// absolute value of an unsigned integer, which is its operand.
func MathOp(b frontend.Builtin, t frontend.Type) Op {
	switch op := mathOps[b]; {
	case op == Abs && t.IsUnsigned():
		return ""
	case op == Abs && t.IsFloat():
		return FAbs
	case op != SMin && op != SMax:
		return op
	case t.IsFloat():
		return map[Op]Op{SMin: MinNum, SMax: MaxNum}[op]
	case t.IsUnsigned():
		return map[Op]Op{SMin: UMin, SMax: UMax}[op]
	default:
		return op
	}
}
