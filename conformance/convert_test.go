package conformance

import (
	"fmt"
	"math"
	"math/bits"
	"strings"
	"testing"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/half"
	"github.com/simplang/simplang/internal/kerneltest"
)

// numericKinds are the scalar kinds `as` converts between.
var numericKinds = []abi.Kind{abi.I8, abi.I16, abi.I32, abi.I64, abi.U8, abi.U16, abi.U32, abi.U64, abi.F16, abi.BF16, abi.F32, abi.F64}

// conversionInputs are the values each kind is converted from: extremes, values on either
// side of the other types' ranges, and ties of every narrower float format.
var conversionInputs = map[abi.Kind][]any{
	abi.I8:  {int8(-128), int8(-1), int8(0), int8(1), int8(100), int8(127)},
	abi.I16: {int16(-32768), int16(-129), int16(-1), int16(255), int16(300), int16(4102), int16(32767)},
	abi.I32: {int32(math.MinInt32), int32(-70000), int32(-1), int32(65535), int32(70000), int32(16842753), int32(math.MaxInt32)},
	abi.I64: {int64(math.MinInt64), int64(-5000000000), int64(-1), int64(4097), int64(1<<40 + 1), int64(1<<53 - 1), int64(math.MaxInt64)},
	abi.U8:  {uint8(0), uint8(1), uint8(127), uint8(128), uint8(200), uint8(255)},
	abi.U16: {uint16(0), uint16(255), uint16(4102), uint16(32768), uint16(65535)},
	abi.U32: {uint32(0), uint32(65537), uint32(1 << 31), uint32(16842753), uint32(math.MaxUint32)},
	abi.U64: {uint64(0), uint64(1<<32 + 5), uint64(1 << 63), uint64(1<<63 + 1<<40), uint64(math.MaxUint64)},
	abi.F16: {half.F16(0x3C00), half.F16(0xC100), half.F16(0x5BFF), half.F16(0x7BFF), half.F16(0x0001), half.F16(0xFC00), half.F16(0x8000)},
	abi.BF16: {half.BF16(0x3F80), half.BF16(0xC020), half.BF16(0x4B80), half.BF16(0x4F80), half.BF16(0x5F80), half.BF16(0x0001),
		half.BF16(0x3F81), half.BF16(0xC77F)},
	abi.F32: {float32(-2.5), float32(-0.75), float32(0), float32(1.5), float32(2049), float32(2051), float32(100.99), float32(300.5),
		float32(65520), float32(1.00390625), float32(-1e10), float32(3e9), float32(1e30), float32(0x1p-25)},
	abi.F64: {-2.5, 0.49999999999999994, 2049.000000000931322574615478515625, 1.0039062500009094947017729282379150390625, 255.9,
		70000.7, -1e10, 4e9, 1e19, 1e300, 0x1p-1074},
}

// exactValue returns an input as an integer (int64 or uint64, ok false for floats) and as a
// float64 (exact for floats and for integers below 2^53).
func exactValue(v any) (i int64, u uint64, unsigned, isInt bool, f float64) {
	switch x := v.(type) {
	case int8:
		return int64(x), 0, false, true, float64(x)
	case int16:
		return int64(x), 0, false, true, float64(x)
	case int32:
		return int64(x), 0, false, true, float64(x)
	case int64:
		return x, 0, false, true, float64(x)
	case uint8:
		return 0, uint64(x), true, true, float64(x)
	case uint16:
		return 0, uint64(x), true, true, float64(x)
	case uint32:
		return 0, uint64(x), true, true, float64(x)
	case uint64:
		return 0, x, true, true, float64(x)
	case half.F16:
		return 0, 0, false, false, x.Float64()
	case half.BF16:
		return 0, 0, false, false, x.Float64()
	case float32:
		return 0, 0, false, false, float64(x)
	case float64:
		return 0, 0, false, false, x
	}
	panic(fmt.Sprintf("unexpected input %T", v))
}

// convertGo converts v to kind k by Go's own conversions (which wrap integers by the source's
// signedness and round floats to nearest even), package half, and integer rounding for
// integers to bf16. It reports false when the result is unspecified (a float out of the
// integer target's range).
func convertGo(v any, k abi.Kind) (any, bool) {
	i, u, unsigned, isInt, f := exactValue(v)
	if isInt && !unsigned {
		u = uint64(i) // sign-extended bits: Go's integer conversions then truncate
	}
	if !isInt && k.IsInt() {
		t := math.Trunc(f)
		lo, hi := -math.Ldexp(1, 8*k.Size()-1), math.Ldexp(1, 8*k.Size()-1)
		if k.IsUnsigned() {
			lo, hi = 0, math.Ldexp(1, 8*k.Size())
		}
		if math.IsNaN(t) || t < lo || t >= hi {
			return nil, false
		}
		if k.IsUnsigned() {
			u = uint64(t)
		} else {
			u = uint64(int64(t))
		}
	}
	switch k {
	case abi.I8:
		return int8(u), true
	case abi.I16:
		return int16(u), true
	case abi.I32:
		return int32(u), true
	case abi.I64:
		return int64(u), true
	case abi.U8:
		return uint8(u), true
	case abi.U16:
		return uint16(u), true
	case abi.U32:
		return uint32(u), true
	case abi.U64:
		return u, true
	case abi.F32:
		switch {
		case isInt && unsigned:
			return float32(u), true
		case isInt:
			return float32(i), true
		}
		return float32(f), true
	case abi.F64:
		switch {
		case isInt && unsigned:
			return float64(u), true
		case isInt:
			return float64(i), true
		}
		return f, true
	case abi.F16:
		return half.F16FromFloat64(f), true // beyond 2^53 both roundings give infinity
	case abi.BF16:
		if isInt {
			return intToBF16(i, u, unsigned), true
		}
		return half.BF16FromFloat64(f), true
	}
	panic(fmt.Sprintf("unexpected kind %v", k))
}

// intToBF16 rounds an integer (i, or u when unsigned) to bf16 in integer arithmetic, ties to
// even: float64(i) could round once before package half does.
func intToBF16(i int64, u uint64, unsigned bool) half.BF16 {
	mag, sign := u, 1.0
	if !unsigned {
		mag = uint64(i)
		if i < 0 {
			mag, sign = -mag, -1
		}
	}
	if shift := bits.Len64(mag) - 8; shift > 0 {
		q, rem, halfway := mag>>shift, mag&(1<<shift-1), uint64(1)<<(shift-1)
		if rem > halfway || rem == halfway && q&1 == 1 {
			q++
		}
		return half.BF16FromFloat64(sign * math.Ldexp(float64(q), shift)) // exact: q ≤ 256
	}
	return half.BF16FromFloat64(sign * float64(mag))
}

// sameBits compares results bit for bit (so that -0 differs from 0).
func sameBits(a, b any) bool {
	switch x := a.(type) {
	case float32:
		y, ok := b.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	}
	return a == b
}

// TestEveryConversion compiles `x as T` for every pair of numeric types, passes each kind's
// inputs through the loader and compares with Go's conversions, on every variant.
func TestEveryConversion(t *testing.T) {
	var src strings.Builder
	for _, from := range numericKinds {
		for _, to := range numericKinds {
			fmt.Fprintf(&src, "fn %s_to_%s(%s x) -> %s {\n    return x as %s;\n}\n\n", from, to, from, to, to)
		}
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			lib := kerneltest.Open(t, "convert.sl", []byte(src.String()), v.opts)
			for _, from := range numericKinds {
				for _, to := range numericKinds {
					fn := kerneltest.Func(t, lib, fmt.Sprintf("%s_to_%s", from, to))
					for _, in := range conversionInputs[from] {
						want, ok := convertGo(in, to)
						if !ok {
							continue
						}
						got, err := fn.Call(in)
						if err != nil {
							t.Fatal(err)
						}
						if !sameBits(got, want) {
							t.Errorf("(%v as %s) as %s = %v (%T), want %v", in, from, to, got, got, want)
						}
					}
				}
			}
		})
	}
}
