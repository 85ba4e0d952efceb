package conformance

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/internal/kerneltest"
)

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// intOperators are the binary operators on integers, each with the Go expression that
// computes it: Go's integer arithmetic wraps, / truncates toward zero, % has the dividend's
// sign, and >> is arithmetic for signed and logical for unsigned types, as in SimpLang.
var intOperators = []string{"+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "<", "<=", ">", ">=", "==", "!="}

// intOpGo computes x op y in Go; it reports false where SimpLang leaves the result
// undefined or unspecified (division by zero, the most negative value divided by -1, shift
// counts outside [0, width)).
func intOpGo[T integer](op string, x, y T) (any, bool) {
	var minusOne T
	minusOne--
	signed := minusOne < 0
	bits := 0
	for v := T(1); v != 0; v <<= 1 {
		bits++
	}
	switch op {
	case "+":
		return x + y, true
	case "-":
		return x - y, true
	case "*":
		return x * y, true
	case "/", "%":
		if y == 0 || signed && y == minusOne && x<<1 == 0 && x != 0 {
			return nil, false
		}
		if op == "/" {
			return x / y, true
		}
		return x % y, true
	case "&":
		return x & y, true
	case "|":
		return x | y, true
	case "^":
		return x ^ y, true
	case "<<", ">>":
		if y < 0 || uint64(y) >= uint64(bits) {
			return nil, false
		}
		if op == "<<" {
			return x << y, true
		}
		return x >> y, true
	case "<":
		return x < y, true
	case "<=":
		return x <= y, true
	case ">":
		return x > y, true
	case ">=":
		return x >= y, true
	case "==":
		return x == y, true
	case "!=":
		return x != y, true
	}
	panic(op)
}

// intOperands are each integer kind's operands: extremes, ±1, and values whose products and
// sums wrap.
var intOperands = map[abi.Kind][]any{
	abi.I8:  {int8(-128), int8(-7), int8(-1), int8(0), int8(1), int8(3), int8(100), int8(127)},
	abi.I16: {int16(-32768), int16(-300), int16(-1), int16(0), int16(2), int16(15), int16(255), int16(32767)},
	abi.I32: {int32(math.MinInt32), int32(-70000), int32(-1), int32(0), int32(5), int32(31), int32(65536), int32(math.MaxInt32)},
	abi.I64: {int64(math.MinInt64), int64(-1 << 40), int64(-1), int64(0), int64(7), int64(63), int64(1<<32 + 3), int64(math.MaxInt64)},
	abi.U8:  {uint8(0), uint8(1), uint8(3), uint8(7), uint8(100), uint8(128), uint8(200), uint8(255)},
	abi.U16: {uint16(0), uint16(1), uint16(4), uint16(15), uint16(300), uint16(32768), uint16(40000), uint16(65535)},
	abi.U32: {uint32(0), uint32(1), uint32(2), uint32(31), uint32(65536), uint32(1 << 31), uint32(3000000000), uint32(math.MaxUint32)},
	abi.U64: {uint64(0), uint64(1), uint64(9), uint64(63), uint64(1 << 32), uint64(1 << 63), uint64(1<<64 - 3), uint64(math.MaxUint64)},
}

func intOpAny(op string, x, y any) (any, bool) {
	switch x := x.(type) {
	case int8:
		return intOpGo(op, x, y.(int8))
	case int16:
		return intOpGo(op, x, y.(int16))
	case int32:
		return intOpGo(op, x, y.(int32))
	case int64:
		return intOpGo(op, x, y.(int64))
	case uint8:
		return intOpGo(op, x, y.(uint8))
	case uint16:
		return intOpGo(op, x, y.(uint16))
	case uint32:
		return intOpGo(op, x, y.(uint32))
	case uint64:
		return intOpGo(op, x, y.(uint64))
	}
	panic(fmt.Sprintf("%T", x))
}

// TestIntegerOperators compiles every binary operator on every integer type and compares
// it with Go on all pairs of operands, on every variant.
func TestIntegerOperators(t *testing.T) {
	var src strings.Builder
	names := map[string]string{"+": "add", "-": "sub", "*": "mul", "/": "quo", "%": "rem", "&": "and", "|": "or", "^": "xor",
		"<<": "shl", ">>": "shr", "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
	for k := range intOperands {
		for _, op := range intOperators {
			result := k.String()
			if strings.ContainsAny(op, "<>=!") && op != "<<" && op != ">>" {
				result = "bool"
			}
			fmt.Fprintf(&src, "fn %s_%s(%s x, %s y) -> %s {\n    return x %s y;\n}\n\n", names[op], k, k, k, result, op)
		}
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			lib := kerneltest.Open(t, "intops.sl", []byte(src.String()), v.opts)
			for k, operands := range intOperands {
				for _, op := range intOperators {
					fn := kerneltest.Func(t, lib, names[op]+"_"+k.String())
					for _, x := range operands {
						for _, y := range operands {
							want, ok := intOpAny(op, x, y)
							if !ok {
								continue
							}
							got, err := fn.Call(x, y)
							if err != nil {
								t.Fatal(err)
							}
							if got != want {
								t.Errorf("%v %s %v (%s) = %v, want %v", x, op, y, k, got, want)
							}
						}
					}
				}
			}
		})
	}
}
