package abi

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTableRoundTrip(t *testing.T) {
	funcs := []Func{
		{Name: "dot", Params: []Param{{Name: "a", Kind: F32, Array: true}, {Name: "b", Kind: F32, Array: true}, {Name: "n", Kind: I64}}, Result: F32},
		{Name: "scale", Params: []Param{{Name: "a", Kind: F64, Array: true, Written: true}, {Name: "s", Kind: F64}}},
		{Name: "flags", Params: []Param{{Name: "b", Kind: Bool, Array: true}, {Name: "c", Kind: I8}, {Name: "d", Kind: I16}, {Name: "e", Kind: I32}}, Result: Bool},
		{Name: "unsigned", Params: []Param{{Name: "p", Kind: U8, Array: true}, {Name: "q", Kind: U16}, {Name: "r", Kind: U32, Array: true}, {Name: "s", Kind: U64}}, Result: U64},
		{Name: "halves", Params: []Param{{Name: "h", Kind: F16, Array: true}, {Name: "b", Kind: BF16, Array: true, Written: true}, {Name: "x", Kind: F16}}, Result: BF16},
		{Name: "none"},
	}
	table := Encode(funcs)
	if want := "fn dot(f32[] a, f32[] b, i64 n) -> f32\nfn scale(f64[]! a, f64 s)\n"; !strings.HasPrefix(table, want) {
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
