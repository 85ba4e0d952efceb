package lower

import (
	"slices"
	"testing"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
)

func TestOps(t *testing.T) {
	u32, u8 := frontend.Type{Kind: abi.U32}, frontend.Type{Kind: abi.U8}
	for _, tt := range []struct {
		op   frontend.TokenKind
		t    frontend.Type
		want Op
	}{
		{frontend.QUO, frontend.I32, SDiv}, {frontend.QUO, u32, UDiv}, {frontend.SHR, u32, LShr},
		{frontend.SHR, frontend.I64, AShr}, {frontend.REM, frontend.F64, FRem}, {frontend.XOR, u8, Xor},
	} {
		if got := BinaryOp(tt.op, tt.t); got != tt.want {
			t.Errorf("BinaryOp(%v, %v) = %q, want %q", tt.op, tt.t, got, tt.want)
		}
	}
	for _, tt := range []struct {
		op   frontend.TokenKind
		t    frontend.Type
		want string
	}{
		{frontend.LSS, frontend.I32, "slt"}, {frontend.GEQ, u32, "uge"}, {frontend.NEQ, u32, "ne"},
		{frontend.EQL, frontend.Bool, "eq"}, {frontend.NEQ, frontend.F32, "une"}, {frontend.LEQ, frontend.F64, "ole"},
		{frontend.ADD, frontend.I32, ""},
	} {
		if got := Predicate(tt.op, tt.t); got != tt.want {
			t.Errorf("Predicate(%v, %v) = %q, want %q", tt.op, tt.t, got, tt.want)
		}
	}
	for _, tt := range []struct {
		b    frontend.Builtin
		t    frontend.Type
		want Op
	}{
		{frontend.Abs, u32, ""}, {frontend.Abs, frontend.F32, FAbs}, {frontend.Abs, frontend.I64, Abs},
		{frontend.Min, u8, UMin}, {frontend.Max, frontend.F64, MaxNum}, {frontend.Max, frontend.I32, SMax},
		{frontend.Sqrt, frontend.F32, Sqrt},
	} {
		if got := MathOp(tt.b, tt.t); got != tt.want {
			t.Errorf("MathOp(%v, %v) = %q, want %q", tt.b, tt.t, got, tt.want)
		}
	}
}

func TestTypeName(t *testing.T) {
	for k, want := range map[abi.Kind]string{abi.Bool: "i1", abi.U8: "i8", abi.BF16: "i16", abi.I32: "i32", abi.U64: "i64", abi.F32: "f32", abi.F64: "f64"} {
		if got := TypeName(k); got != want {
			t.Errorf("TypeName(%v) = %q, want %q", k, got, want)
		}
	}
}

func TestConversion(t *testing.T) {
	u32, u64, i8 := frontend.Type{Kind: abi.U32}, frontend.Type{Kind: abi.U64}, frontend.Type{Kind: abi.I8}
	f16 := frontend.Type{Kind: abi.F16}
	for _, tt := range []struct {
		from, to frontend.Type
		want     []Cast
	}{
		{frontend.I32, frontend.I32, nil},
		{u32, frontend.I32, nil},
		{u32, frontend.I64, []Cast{{ZExt, frontend.I64}}},
		{frontend.I64, i8, []Cast{{Trunc, i8}}},
		{u64, frontend.F64, []Cast{{UIToFP, frontend.F64}}},
		{frontend.F32, u64, []Cast{{FPToUI, u64}}},
		// Narrow targets go through a wider signed conversion, so that a value out of range
		// wraps.
		{frontend.F64, i8, []Cast{{FPToSI, frontend.I32}, {Trunc, i8}}},
		{frontend.F32, u32, []Cast{{FPToSI, frontend.I64}, {Trunc, u32}}},
		{f16, frontend.F32, []Cast{{HalfToF32, frontend.F32}}},
		{frontend.F32, f16, []Cast{{F32ToHalf, f16}}},
		{frontend.F64, frontend.F32, []Cast{{FPTrunc, frontend.F32}}},
	} {
		if got := Conversion(tt.from, tt.to); !slices.Equal(got, tt.want) {
			t.Errorf("Conversion(%v, %v) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}
