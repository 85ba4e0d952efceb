package abi

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSites(t *testing.T) {
	sites := []Site{
		{Pos: "dot.sl:4:26", Func: "dot", Kind: IndexSite, Array: "b"},
		{Pos: "g.sl:2:9", Func: "g", Kind: IndexSite, Array: "grid", Dim: 1},
		{Pos: "f.sl:7:12", Func: "f", Kind: DivideSite},
	}
	got, err := DecodeSites(EncodeSites(sites))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sites, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	for i, want := range []string{
		"dot.sl:4:26: dot: index 1000000 out of range for b (size 3)",
		"g.sl:2:9: g: index -1 out of range for dimension 2 of grid (size 4)",
		"f.sl:7:12: f: integer division by zero",
	} {
		index, size := []int64{1000000, -1, 0}[i], []int64{3, 4, 0}[i]
		if m := sites[i].Message(index, size); m != want {
			t.Errorf("Message = %q, want %q", m, want)
		}
	}
	for _, bad := range []string{"x\ty", "p\tf\tindex\ta\t-1", "p\tf\tindex\ta\tz", "p\tf\tother"} {
		if _, err := DecodeSites(bad); err == nil {
			t.Errorf("DecodeSites(%q) accepted it", bad)
		}
	}
}
