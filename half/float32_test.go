package half

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestBF16(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   uint32 // float32 bits
		want uint16
	}{
		{"one", 0x3F800000, 0x3F80},
		{"minus zero", 0x80000000, 0x8000},
		{"just below a tie", 0x3F807FFF, 0x3F80},
		{"tie to even, down", 0x3F808000, 0x3F80},
		{"just above a tie", 0x3F808001, 0x3F81},
		{"tie to even, up", 0x3F818000, 0x3F82},
		{"negative tie", 0xBF818000, 0xBF82},
		{"carry into the exponent", 0x3FFFFFFF, 0x4000},
		{"largest float32 to infinity", 0x7F7FFFFF, 0x7F80},
		{"largest bfloat16 stays", 0x7F7F0000, 0x7F7F},
		{"infinity", 0xFF800000, 0xFF80},
		{"subnormal tie", 0x00008000, 0x0000},
		{"subnormal tie up", 0x00018000, 0x0002},
		{"NaN whose payload is all below", 0x7F800001, 0x7FC0},
		{"negative quiet NaN", 0xFFC00000, 0xFFC0},
	} {
		if got := uint16(BF16FromFloat32(math.Float32frombits(tt.in))); got != tt.want {
			t.Errorf("%s: uint16(BF16FromFloat32(%#08x)) = %#04x, want %#04x", tt.name, tt.in, got, tt.want)
		}
	}
	// Widening is exact and rounding it back is the identity, for every non-NaN value.
	for h := range 1 << 16 {
		f := BF16(uint16(h)).Float32()
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("BF16(%#04x).Float32() = %#08x", h, math.Float32bits(f))
		}
		if f == f && uint16(BF16FromFloat32(f)) != uint16(h) {
			t.Fatalf("uint16(BF16FromFloat32(BF16(%#04x).Float32())) = %#04x", h, uint16(BF16FromFloat32(f)))
		}
	}
	// Against the definition: the nearer of the two neighbouring bfloat16 values (the
	// differences are exact in float64), the even one on a tie.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1 << 20 {
		r := rng.Uint64()
		f := math.Float32frombits(uint32(r))
		if f != f || math.IsInf(float64(f), 0) {
			continue
		}
		lo := uint16(math.Float32bits(f) >> 16) // truncation: toward zero
		hi := lo + 1
		dlo := math.Abs(float64(f) - float64(BF16(lo).Float32()))
		next := math.Abs(float64(BF16(hi).Float32()))
		if math.IsInf(next, 1) {
			next = 0x1p128 // overflow rounds as if the exponent went on
		}
		dhi := next - math.Abs(float64(f))
		want := lo
		if dhi < dlo || dhi == dlo && lo&1 == 1 {
			want = hi
		}
		if got := uint16(BF16FromFloat32(f)); got != want {
			t.Fatalf("uint16(BF16FromFloat32(%#08x)) = %#04x, want %#04x", math.Float32bits(f), got, want)
		}
	}
}

func TestF16(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   float32
		want uint16
	}{
		{"one", 1, 0x3C00},
		{"minus two", -2, 0xC000},
		{"zero", 0, 0x0000},
		{"minus zero", float32(math.Copysign(0, -1)), 0x8000},
		{"0.1", 0.1, 0x2E66},
		{"tie to even, down", 1 + 0x1p-11, 0x3C00},
		{"tie to even, up", 1 + 3*0x1p-11, 0x3C02},
		{"just above a tie", 1 + 0x1p-11 + 0x1p-20, 0x3C01},
		{"largest half", 65504, 0x7BFF},
		{"just below the overflow tie", 65519.998, 0x7BFF},
		{"overflow tie to infinity", 65520, 0x7C00},
		{"float32 beyond", 1e10, 0x7C00},
		{"negative infinity", float32(math.Inf(-1)), 0xFC00},
		{"NaN", float32(math.NaN()), 0x7E00},
		{"smallest normal", 0x1p-14, 0x0400},
		{"subnormal rounding up to the smallest normal", 0x1p-14 - 0x1p-26, 0x0400},
		{"largest subnormal", 0x1p-14 - 0x1p-24, 0x03FF},
		{"smallest subnormal", 0x1p-24, 0x0001},
		{"half the smallest subnormal: tie to zero", 0x1p-25, 0x0000},
		{"just above it", 0x1p-25 + 0x1p-40, 0x0001},
		{"subnormal tie up to even", 3 * 0x1p-25, 0x0002},
		{"subnormal tie down to even", 5 * 0x1p-25, 0x0002},
		{"negative subnormal", -7 * 0x1p-24, 0x8007},
		{"far below", 0x1p-30, 0x0000},
		{"float32 subnormal", 0x1p-140, 0x0000},
	} {
		if got := uint16(F16FromFloat32(tt.in)); got != tt.want {
			t.Errorf("%s: uint16(F16FromFloat32(%v)) = %#04x, want %#04x", tt.name, tt.in, got, tt.want)
		}
	}
	// Every finite non-negative half, in increasing order of value and of bits.
	var halves []float64
	for h := range 0x7C00 {
		f := F16(uint16(h)).Float32()
		halves = append(halves, float64(f))
		if uint16(F16FromFloat32(f)) != uint16(h) || uint16(F16FromFloat32(-f)) != uint16(h)|0x8000 {
			t.Fatalf("uint16(F16FromFloat32(F16(%#04x).Float32())) = %#04x", h, uint16(F16FromFloat32(f)))
		}
		if h > 0 && halves[h] <= halves[h-1] {
			t.Fatalf("F16(%#04x).Float32() = %v is not above F16(%#04x).Float32() = %v", h, halves[h], h-1, halves[h-1])
		}
	}
	if halves[1] != 0x1p-24 || halves[0x3C00] != 1 || halves[0x7BFF] != 65504 {
		t.Fatalf("F16.Float32: smallest subnormal %v, one %v, largest %v", halves[1], halves[0x3C00], halves[0x7BFF])
	}
	// Against the definition: the nearest half by search, the even one on a tie, infinity
	// from 65520 (where the next step, 65536, would be).
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1 << 20 {
		r := rng.Uint64()
		// Exponents in and around the half range.
		bits := uint32(r)&0x807FFFFF | uint32(r>>32%48+127-30)<<23
		f := math.Float32frombits(bits)
		a := math.Abs(float64(f))
		i := sort.SearchFloat64s(halves, a) // halves[i-1] < a <= halves[i]
		var want uint16
		switch {
		case a >= 65520:
			want = 0x7C00
		case i < len(halves) && halves[i] == a:
			want = uint16(i)
		default:
			dlo, dhi := a-halves[i-1], 65536-a
			if i < len(halves) {
				dhi = halves[i] - a
			}
			want = uint16(i)
			if dlo < dhi || dlo == dhi && (i-1)&1 == 0 {
				want = uint16(i - 1)
			}
		}
		if f < 0 {
			want |= 0x8000
		}
		if got := uint16(F16FromFloat32(f)); got != want {
			t.Fatalf("uint16(F16FromFloat32(%v = %#08x)) = %#04x, want %#04x", f, bits, got, want)
		}
	}
}
