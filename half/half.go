// Package half holds the two 16-bit floating-point storage formats of SimpLang (language §2.1) on
// the Go side: F16 (IEEE 754 binary16) and BF16 (bfloat16, the top half of a float32). Each is
// its 16 bits, exactly as a kernel stores it in memory and passes it through the C ABI
// (uint16_t), so a []half.F16 or []half.BF16 can be handed to a kernel's f16[] or bf16[]
// parameter without a copy (package loader also accepts raw []uint16 bits).
//
// Conversions to float32 and float64 are exact; conversions from them round to nearest, ties
// to even, as a kernel's stores and `as f16` / `as bf16` do:
//
//	w := make([]half.BF16, n)
//	for i, x := range weights { w[i] = half.BF16FromFloat32(x) }
//	x := w[0].Float32()
package half

import "math"

// F16 is an IEEE 754 binary16 value: 1 sign bit, 5 exponent bits, 10 fraction bits.
type F16 uint16

// BF16 is a bfloat16 value: 1 sign bit, 8 exponent bits, 7 fraction bits (float32's
// exponent range with 8 significant bits).
type BF16 uint16

// format describes a binary floating-point format narrower than float64.
type format struct {
	fracBits int // fraction bits (the significand has one more)
	minExp   int // exponent of the smallest normal value
	maxExp   int // exponent of the largest finite value
}

var (
	f16  = format{fracBits: 10, minExp: -14, maxExp: 15}
	bf16 = format{fracBits: 7, minExp: -126, maxExp: 127}
)

// round rounds |v| (finite) to the nearest value of format f, ties to even; +Inf when it is
// beyond the largest finite value.
func (f format) round(v float64) float64 {
	a := math.Abs(v)
	if a == 0 {
		return 0
	}
	_, e := math.Frexp(a) // a = frac·2^e, frac in [0.5, 1): the leading bit is 2^(e-1)
	exp := max(e-1, f.minExp)
	quantum := math.Ldexp(1, exp-f.fracBits) // the spacing of f's values around a
	r := math.RoundToEven(a/quantum) * quantum
	if r >= math.Ldexp(1, f.maxExp+1) {
		return math.Inf(1)
	}
	return r
}

// F16FromFloat64 rounds v to the nearest F16, ties to even. Values beyond the largest finite
// F16 (65504) round to infinity; NaN stays NaN.
func F16FromFloat64(v float64) F16 {
	sign := F16(0)
	if math.Signbit(v) {
		sign = 0x8000
	}
	switch r := f16.round(v); {
	case math.IsNaN(v):
		return sign | 0x7E00
	case math.IsInf(r, 0):
		return sign | 0x7C00
	case r < math.Ldexp(1, f16.minExp): // subnormal: multiples of 2^-24
		return sign | F16(math.Ldexp(r, 24))
	default:
		frac, e := math.Frexp(r)
		return sign | F16(e-1+15)<<10 | F16(math.Ldexp(frac, 11)-1024)
	}
}

// Float64 is h's value, exactly.
func (h F16) Float64() float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp, frac := int(h>>10&0x1F), float64(h&0x3FF)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1F:
		if frac != 0 {
			return math.NaN()
		}
		return sign * math.Inf(1)
	}
	return sign * math.Ldexp(1024+frac, exp-15-10)
}

// Float32 is h's value, exactly.
func (h F16) Float32() float32 { return float32(h.Float64()) }

// BF16FromFloat64 rounds v to the nearest BF16, ties to even (once: not through float32).
// Values beyond the largest finite BF16 round to infinity; NaN stays NaN.
func BF16FromFloat64(v float64) BF16 {
	if math.IsNaN(v) {
		return BF16(math.Float32bits(float32(v))>>16) | 0x7FC0
	}
	r := bf16.round(v)
	if math.Signbit(v) {
		r = -r
	}
	return BF16(math.Float32bits(float32(r)) >> 16) // exact: r is a bfloat16 value
}

// Float32 is b's value, exactly.
func (b BF16) Float32() float32 { return math.Float32frombits(uint32(b) << 16) }

// Float64 is b's value, exactly.
func (b BF16) Float64() float64 { return float64(b.Float32()) }
