package half

import "math"

// The conversions from float32 work on the bits: they round once, exactly as
// F16FromFloat64 and BF16FromFloat64 would, and are fast enough to quantize a whole model.

// BF16FromFloat32 rounds f to the nearest bfloat16 (the upper 16 bits of a float32), ties to even,
// and returns its bits. Values beyond the largest bfloat16 round to infinity; a NaN stays a
// (quiet) NaN with its sign.
func BF16FromFloat32(f float32) BF16 {
	b := math.Float32bits(f)
	if f != f {
		return BF16(b>>16) | 0x0040
	}
	// Adding 0x7FFF rounds up exactly the remainders above half; the low bit of the result
	// adds the last 1 for a tie whose upper half is odd. A carry into the exponent is right.
	b += 0x7FFF + (b>>16)&1
	return BF16(b >> 16)
}

// F16FromFloat32 rounds f to the nearest IEEE 754 half-precision number, ties to even, and returns
// its bits. Magnitudes from 65520 up round to infinity, those of 2^-25 and below to zero,
// and those in between the normal halves' range to subnormal halves; a NaN stays a (quiet)
// NaN with its sign.
func F16FromFloat32(f float32) F16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b >> 23 & 0xFF)
	man := b & 0x7FFFFF
	if exp == 0xFF {
		if man != 0 {
			return F16(sign | 0x7E00)
		}
		return F16(sign | 0x7C00)
	}
	e := exp - 127 + 15 // the half's biased exponent, if f is a normal half
	if e >= 0x1F {
		return F16(sign | 0x7C00)
	}
	if e > 0 {
		// Keep 10 of the 23 mantissa bits; a carry out of the mantissa steps the exponent,
		// up to infinity (0x7C00), which is the correct rounding.
		h := uint32(e)<<10 | man>>13
		rem := man & 0x1FFF
		if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
			h++
		}
		return F16(sign | uint16(h))
	}
	// A subnormal half k × 2^-24: f = m × 2^(exp-150) with the implicit bit in m, so
	// k = m × 2^(e-14), a right shift by 14-e ≥ 14 bits. From 25 bits on, m < 2^24 is less
	// than half of the unit and rounds to zero. Rounding up to k = 0x400 gives the smallest
	// normal half, which is also its encoding.
	shift := uint(14 - e)
	if shift > 24 {
		return F16(sign)
	}
	m := man | 0x800000
	k := m >> shift
	rem, half := m&(1<<shift-1), uint32(1)<<(shift-1)
	if rem > half || rem == half && k&1 == 1 {
		k++
	}
	return F16(sign | uint16(k))
}
