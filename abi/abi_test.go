package abi

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTableRoundTrip(t *testing.T) {
	funcs := []Func{
		{Name: "dot", Params: []Param{{"a", F32, true}, {"b", F32, true}, {"n", I64, false}}, Result: F32},
		{Name: "scale", Params: []Param{{"a", F64, true}, {"s", F64, false}}},
		{Name: "flags", Params: []Param{{"b", Bool, true}, {"c", I8, false}, {"d", I16, false}, {"e", I32, false}}, Result: Bool},
		{Name: "unsigned", Params: []Param{{"p", U8, true}, {"q", U16, false}, {"r", U32, true}, {"s", U64, false}}, Result: U64},
		{Name: "halves", Params: []Param{{"h", F16, true}, {"b", BF16, true}, {"x", F16, false}}, Result: BF16},
		{Name: "none"},
	}
	table := Encode(funcs)
	if want := "fn dot(f32[] a, f32[] b, i64 n) -> f32\n"; !strings.HasPrefix(table, want) {
		t.Errorf("table starts %q, want %q", table, want)
	}
	got, err := Decode(table)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(funcs, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if n := funcs[0].CArgs(); n != 2*DescriptorFields+1 {
		t.Errorf("dot expands to %d C arguments, want 11", n)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, line := range []string{
		"dot(f32[] a)", "fn dot f32[] a", "fn dot(f32[]a)", "fn dot(f33[] a)", "fn dot(f32 a) f32", "fn dot(f32 a) -> f33",
	} {
		if _, err := Decode(line); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("Decode(%q) error = %v, want one naming the line", line, err)
		}
	}
}

func TestKinds(t *testing.T) {
	for _, k := range []Kind{Bool, I8, I16, I32, I64, F32, F64, U8, U16, U32, U64, F16, BF16} {
		if got, ok := KindByName(k.String()); !ok || got != k {
			t.Errorf("KindByName(%q) = %v, %v", k, got, ok)
		}
	}
	if k, ok := KindByName("int"); !ok || k != I32 {
		t.Errorf("int is %v, want i32", k)
	}
	for _, c := range []struct {
		k                        Kind
		size                     int
		isInt, unsigned, isFloat bool
	}{
		{I8, 1, true, false, false}, {U8, 1, true, true, false}, {U16, 2, true, true, false},
		{U32, 4, true, true, false}, {U64, 8, true, true, false}, {F16, 2, false, false, true},
		{BF16, 2, false, false, true}, {F64, 8, false, false, true},
	} {
		if c.k.Size() != c.size || c.k.IsInt() != c.isInt || c.k.IsUnsigned() != c.unsigned || c.k.IsFloat() != c.isFloat {
			t.Errorf("%v: size %d, int %t, unsigned %t, float %t", c.k, c.k.Size(), c.k.IsInt(), c.k.IsUnsigned(), c.k.IsFloat())
		}
	}
	if _, ok := KindByName("void"); ok {
		t.Error("void is not a parameter kind")
	}
}
