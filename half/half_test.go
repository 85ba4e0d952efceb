package half

import (
	"math"
	"testing"
)

func TestKnownValues(t *testing.T) {
	for _, c := range []struct {
		h    F16
		want float64
	}{
		{0x3C00, 1}, {0xC000, -2}, {0x0001, 0x1p-24}, {0x0400, 0x1p-14}, {0x7BFF, 65504}, {0x3555, 0.333251953125},
		{0x7C00, math.Inf(1)}, {0x8000, 0},
	} {
		if got := c.h.Float64(); got != c.want {
			t.Errorf("F16(%#04x) = %v, want %v", uint16(c.h), got, c.want)
		}
	}
	for _, c := range []struct {
		b    BF16
		want float32
	}{
		{0x3F80, 1}, {0x3EAB, 0.333984375}, {0xC040, -3}, {0x7F7F, 0x1.FEp127}, {0x0001, 0x1p-133},
	} {
		if got := c.b.Float32(); got != c.want {
			t.Errorf("BF16(%#04x) = %v, want %v", uint16(c.b), got, c.want)
		}
	}
	if h := F16FromFloat64(math.NaN()); !math.IsNaN(h.Float64()) {
		t.Errorf("F16 of NaN is %#04x", uint16(h))
	}
	if b := BF16FromFloat32(float32(math.NaN())); !math.IsNaN(float64(b.Float32())) {
		t.Errorf("BF16 of NaN is %#04x", uint16(b))
	}
	if h := F16FromFloat64(1e6); h != 0x7C00 {
		t.Errorf("F16(1e6) = %#04x, want +Inf", uint16(h))
	}
	if h := F16FromFloat64(-65520); h != 0xFC00 {
		t.Errorf("F16(-65520) = %#04x, want -Inf (the tie above the largest finite value)", uint16(h))
	}
	if h := F16FromFloat64(0x1p-26); h != 0 {
		t.Errorf("F16(2^-26) = %#04x, want 0", uint16(h))
	}
}

// TestRounding checks every pair of neighbouring finite values of both formats: each value
// converts to itself, a point between them to the nearer one, and their midpoint to the one
// with the even bit pattern, on both signs.
func TestRounding(t *testing.T) {
	check := func(name string, last uint16, value func(uint16) float64, round func(float64) uint16) {
		for bits := uint16(0); bits < last; bits++ {
			for _, sign := range []uint16{0, 0x8000} {
				a, b := value(sign|bits), value(sign|(bits+1))
				mid := (a + b) / 2
				even := sign | bits
				if bits&1 == 1 {
					even = sign | (bits + 1)
				}
				for _, c := range []struct {
					x    float64
					want uint16
				}{
					{a, sign | bits}, {mid, even},
					{math.Nextafter(mid, a), sign | bits}, {math.Nextafter(mid, b), sign | (bits + 1)},
				} {
					if got := round(c.x); got != c.want {
						t.Fatalf("%s(%v) = %#04x, want %#04x", name, c.x, got, c.want)
					}
				}
			}
		}
	}
	check("F16FromFloat64", 0x7BFF, func(b uint16) float64 { return F16(b).Float64() },
		func(x float64) uint16 { return uint16(F16FromFloat64(x)) })
	check("BF16FromFloat64", 0x7F7F, func(b uint16) float64 { return BF16(b).Float64() },
		func(x float64) uint16 { return uint16(BF16FromFloat64(x)) })
}

// TestBF16FromFloat32 compares with the integer rounding kernels use: add 0x7FFF plus the
// lowest kept bit, keep the top 16 bits.
func TestBF16FromFloat32(t *testing.T) {
	for bits := uint32(0); bits < 0x7F800000; bits += 0x1235 {
		for _, b := range []uint32{bits, bits | 0x80000000, bits&^0xFFFF | 0x8000, bits&^0xFFFF | 0x18000} {
			want := uint16((b + 0x7FFF + (b >> 16 & 1)) >> 16)
			if got := BF16FromFloat32(math.Float32frombits(b)); uint16(got) != want {
				t.Fatalf("BF16FromFloat32(%#08x) = %#04x, want %#04x", b, uint16(got), want)
			}
		}
	}
}
