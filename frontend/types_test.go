package frontend

import (
	"fmt"
	"strings"
	"testing"

	"github.com/simplang/simplang/abi"
)

// render writes a checked expression with every operation in parentheses and conversions
// spelled out, to show how it was parsed and typed.
func render(e Expr) string {
	switch e := e.(type) {
	case *Ident:
		return e.Name
	case *Const:
		return e.describe() + ":" + e.T.String()
	case *Binary:
		return fmt.Sprintf("(%s %s %s)", render(e.X), e.Op, render(e.Y))
	case *Unary:
		return fmt.Sprintf("(%s%s)", e.Op, render(e.X))
	case *Convert:
		return fmt.Sprintf("%s(%s)", e.T, render(e.X))
	case *Index:
		return render(e.Array) + "[" + render(e.Indices[0]) + "]"
	}
	return fmt.Sprintf("%T", e)
}

// checkReturn checks a function returning expr from the given declarations and renders
// the returned expression (without the conversion to the result type).
func checkReturn(t *testing.T, decls, result, expr string) string {
	t.Helper()
	src := fmt.Sprintf("fn f(i64 a, i64 b, i64 c, i64 d, u8[] p, f16[] h, bf16[] w) -> %s {\n%s\nreturn %s;\n}", result, decls, expr)
	f, err := Parse("t.sl", []byte(src))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	stmts := f.Funcs[0].Body.Stmts
	e := stmts[len(stmts)-1].(*Return).Value
	if conv, ok := e.(*Convert); ok && !conv.Explicit && strings.Count(expr, " as ") == 0 {
		e = conv.X
	}
	return render(e)
}

func TestPrecedence(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"a | b ^ c & d", "(a | (b ^ (c & d)))"},
		{"a & b | c ^ d", "((a & b) | (c ^ d))"},
		{"a << b + c", "(a << (b + c))"},
		{"a + b >> c * d", "((a + b) >> (c * d))"},
		{"a & c >> 4", "(a & (c >> 4:i64))"},
		{"~a & b", "((~a) & b)"},
		{"-a >> 1", "((-a) >> 1:i64)"},
		{"a ^ b ^ c", "((a ^ b) ^ c)"},
		{"a << 1 << 2", "((a << 1:i64) << 2:i64)"},
	} {
		if got := checkReturn(t, "", "i64", tc.expr); got != tc.want {
			t.Errorf("%s parsed as %s, want %s", tc.expr, got, tc.want)
		}
	}
	// Comparisons bind tighter than & and looser than shifts.
	if got := checkReturn(t, "", "bool", "a >> 1 < b == c << 1 > d"); got != "(((a >> 1:i64) < b) == ((c << 1:i64) > d))" {
		t.Errorf("comparisons and shifts parsed as %s", got)
	}
}

func TestTyping(t *testing.T) {
	for _, tc := range []struct{ decls, result, expr, want string }{
		{"u8 x = 200; i32 y = 1;", "i32", "x + y", "(i32(x) + y)"},
		{"u32 x = 1; i64 y = 1;", "i64", "x * y", "(i64(x) * y)"},
		{"u16 x = 1; u64 y = 1;", "u64", "x | y", "(u64(x) | y)"},
		{"u64 x = 1;", "f32", "x * 0.5", "(f32(x) * 0.5:f32)"},
		{"", "f32", "h[0] * w[1]", "(f32(h[0:i64]) * f32(w[1:i64]))"},
		{"", "f32", "h[0] * 0.1", "(f32(h[0:i64]) * 0.1:f32)"},
		{"u8 x = 1;", "u8", "x >> a", "(x >> u8(a))"},
		{"u8 x = 1;", "u8", "~x", "(~x)"},
		{"i16 x = 1;", "i64", "1 << x", "(1:i64 << i64(x))"},
		{"", "u64", "0xFFFFFFFFFFFFFFFF", "0xFFFFFFFFFFFFFFFF:u64"},
		{"", "i64", "(0xFF as u8) as i64", "i64(0xFF:u8)"},
		{"", "i64", "(-0x80 as i8) as i64", "i64(-0x80:i8)"},
		{"", "i64", "0xF0 >> 4 | 1 << 8", "271:i64"},
		{"", "i64", "~0x0F", "-16:i64"},
		{"", "i64", "-16 >> 2", "-4:i64"},
		{"", "f32", "round(h[0])", "round"},
	} {
		got := checkReturn(t, tc.decls, tc.result, tc.expr)
		if strings.HasPrefix(got, "*frontend.Call") {
			got = "round"
		}
		if got != tc.want {
			t.Errorf("%s %s: checked as %s, want %s", tc.decls, tc.expr, got, tc.want)
		}
	}
}

func TestWidens(t *testing.T) {
	k := func(k abi.Kind) Type { return Type{Kind: k} }
	for _, tc := range []struct {
		from, to abi.Kind
		want     bool
	}{
		{abi.U8, abi.U16, true}, {abi.U8, abi.I16, true}, {abi.U16, abi.I16, false}, {abi.U32, abi.I64, true},
		{abi.U64, abi.I64, false}, {abi.I8, abi.U64, false}, {abi.I32, abi.U32, false}, {abi.U64, abi.F32, true},
		{abi.F16, abi.F32, true}, {abi.BF16, abi.F64, true}, {abi.F16, abi.BF16, false}, {abi.F32, abi.F16, false},
		{abi.I8, abi.F16, false}, {abi.F32, abi.F64, true}, {abi.F64, abi.F32, false}, {abi.U32, abi.U32, true},
	} {
		if got := widens(k(tc.from), k(tc.to)); got != tc.want {
			t.Errorf("widens(%v, %v) = %v, want %v", tc.from, tc.to, got, tc.want)
		}
	}
	for _, tc := range []struct {
		a, b, want abi.Kind
		ok         bool
	}{
		{abi.U8, abi.I8, abi.U8, false}, {abi.U8, abi.I16, abi.I16, true}, {abi.I64, abi.U32, abi.I64, true},
		{abi.F16, abi.BF16, abi.F32, true}, {abi.F16, abi.F64, abi.F64, true}, {abi.U64, abi.F32, abi.F32, true},
	} {
		if got, ok := widen(k(tc.a), k(tc.b)); ok != tc.ok || ok && got.Kind != tc.want {
			t.Errorf("widen(%v, %v) = %v, %v; want %v, %v", tc.a, tc.b, got, ok, tc.want, tc.ok)
		}
	}
}

func TestHexLiterals(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"0x0F", "15"}, {"0XfF", "255"}, {"0x7FFFFFFFFFFFFFFF", "9223372036854775807"}, {"-0x8000000000000000", "-9223372036854775808"},
	} {
		if got := checkReturn(t, "", "i64", tc.src); got != tc.want+":i64" && got != tc.src+":i64" {
			t.Errorf("%s = %s, want %s", tc.src, got, tc.want)
		}
	}
}
