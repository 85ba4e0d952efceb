package lower

import (
	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
)

// Half-precision conversions (language §2.1). The generators convert between f16 and f32
// with the target's own instructions; every other conversion from or to f16 or bf16 is
// written here as integer and f32 code, once for both generators, with the internal builtins
// Bits, FromBits and Select:
//
//   - bf16 → f32 moves the 16 bits to the top of an f32; from f16 or bf16 to any other type
//     goes through f32, which holds every half value exactly;
//   - f32 → bf16 rounds to nearest even on the bits (adding 0x7FFF and the lowest kept bit),
//     and keeps a NaN a NaN;
//   - f64 → half narrows to f32 rounding to odd first, so that the second rounding gives what
//     rounding once would; integers go through f32 where that is exact or cannot change the
//     result (f16, whose range ends below 2^24; integers of 16 bits or fewer) and through f64
//     otherwise, a 64-bit integer above 2^53 with its lowest bits folded into a sticky bit.

var (
	u16 = frontend.Type{Kind: abi.U16}
	u32 = frontend.Type{Kind: abi.U32}
	u64 = frontend.Type{Kind: abi.U64}
)

// halfLoop reports whether body, a loop's, converts f16 values, and neither has a loop inside
// nor calls anything (the group dot products of quantized mat-vecs, already vector code,
// read their f16 scales in such loops). LLVM 19 prices a vector of such conversions as that
// many scalar ones, on a target without AVX-512 FP16, and so vectorizes such a loop 4 wide
// where F16C converts 8 values in one instruction and AVX-512 16 (vcvtph2ps, vcvtps2ph); the
// generators then ask for the width, one vector a trip (Loop.VectorWidth). Measured
// 2026-12-04 on Zen 5, 2 threads, the decode step with an f16 KV cache alternated token by
// token with the f32 cache's (medians of 64 pairs): 4 wide (LLVM's choice), 125M q4 took 0.95
// and 1.05 of the f32 cache's time at positions 1000–1015 and 2000–2015 (q8 1.02, 1.07); 16
// wide with LLVM's four vectors a trip 0.85 and 0.80, but 1B q4 1.09 and 1.07 (its heads of
// 96 left 32 elements of every 64-element trip to scalar code); one vector a trip 0.81 and
// 0.74 at 125M, 0.86 and 0.79 at 1B.
func halfLoop(body []frontend.Stmt) bool {
	half, other := false, false
	for _, s := range body {
		frontend.Inspect(s, func(n frontend.Node) bool {
			switch n := n.(type) {
			case *frontend.While, *frontend.Call:
				other = true
			case *frontend.Convert:
				half = half || n.T.Kind == abi.F16 || n.X.Type().Kind == abi.F16
			}
			return !other
		})
	}
	return half && !other
}

// halfConversion reports whether e is a conversion the generators leave to this file.
func halfConversion(e *frontend.Convert) bool {
	from, to := e.X.Type(), e.T
	if from == to || !from.IsHalf() && !to.IsHalf() {
		return false
	}
	return !(from.Kind == abi.F16 && to == frontend.F32 || from == frontend.F32 && to.Kind == abi.F16)
}

// half writes the conversion e (see halfConversion), its operand already expanded.
func (x *expander) half(e *frontend.Convert) frontend.Expr {
	from, to := e.X.Type(), e.T
	switch {
	case from.Kind == abi.BF16 && to == frontend.F32:
		shifted := frontend.NewBinary(frontend.SHL, frontend.Conv(frontend.NewBuiltin(e.Pos, frontend.Bits, u16, e.X), u32), frontend.IntConst(e.Pos, u32, 16))
		return frontend.NewBuiltin(e.Pos, frontend.FromBits, frontend.F32, shifted)
	case from.IsHalf():
		return x.convert(x.convert(e.X, frontend.F32), to)
	case from.IsInt() && to.Kind == abi.BF16 && from.Kind.Size() == 8:
		return x.fromF32(x.roundToOdd(x.stickyF64(e.X)), to)
	case from.IsInt():
		if to.Kind == abi.BF16 && from.Kind.Size() > 2 {
			return x.fromF32(x.roundToOdd(frontend.Conv(e.X, frontend.F64)), to)
		}
		return x.fromF32(frontend.Conv(e.X, frontend.F32), to)
	case from == frontend.F64:
		return x.fromF32(x.roundToOdd(e.X), to)
	}
	return x.fromF32(e.X, to)
}

// convert is the conversion of v to t, written out when it is one of this file's.
func (x *expander) convert(v frontend.Expr, t frontend.Type) frontend.Expr {
	c, ok := frontend.Conv(v, t).(*frontend.Convert)
	if !ok || !halfConversion(c) {
		return frontend.Conv(v, t)
	}
	return x.half(c)
}

// fromF32 rounds the f32 v to f16 (the generators' conversion) or bf16.
func (x *expander) fromF32(v frontend.Expr, to frontend.Type) frontend.Expr {
	pos := v.Position()
	if to.Kind == abi.F16 {
		return &frontend.Convert{Pos: pos, X: v, T: to}
	}
	v = x.save(v)
	bits := x.save(frontend.NewBuiltin(pos, frontend.Bits, u32, v))
	k := func(c int64) frontend.Expr { return frontend.IntConst(pos, u32, c) }
	top := x.save(frontend.NewBinary(frontend.SHR, bits, k(16)))
	bias := frontend.NewBinary(frontend.ADD, frontend.NewBinary(frontend.AND, top, k(1)), k(0x7FFF))
	rounded := frontend.NewBinary(frontend.SHR, frontend.NewBinary(frontend.ADD, cloneExpr(bits), bias), k(16))
	nan := frontend.NewBinary(frontend.NEQ, v, cloneExpr(v))
	quiet := frontend.NewBinary(frontend.OR, cloneExpr(top), k(0x40))
	chosen := frontend.NewBuiltin(pos, frontend.Select, u32, nan, quiet, rounded)
	return frontend.NewBuiltin(pos, frontend.FromBits, to, frontend.Conv(chosen, u16))
}

// roundToOdd narrows the f64 v to f32 rounding to odd: toward zero, then setting the lowest
// bit when inexact. (It also keeps f64 → f16 off the compiler runtime's __truncdfhf2, whose
// ABI differs between LLVM 14 and newer libgcc.)
func (x *expander) roundToOdd(v frontend.Expr) frontend.Expr {
	pos := v.Position()
	v = x.save(v)
	near := x.save(frontend.Conv(v, frontend.F32))
	back := x.save(frontend.Conv(near, frontend.F64))
	bits := x.save(frontend.NewBuiltin(pos, frontend.Bits, u32, near))
	k := func(c int64) frontend.Expr { return frontend.IntConst(pos, u32, c) }
	abs := func(e frontend.Expr) frontend.Expr {
		return frontend.NewBuiltin(pos, frontend.Abs, frontend.F64, cloneExpr(e))
	}
	over := frontend.NewBinary(frontend.GTR, abs(back), abs(v))
	toward := frontend.NewBinary(frontend.SUB, bits, frontend.NewBuiltin(pos, frontend.Select, u32, over, k(1), k(0)))
	inexact := frontend.NewBinary(frontend.NEQ, cloneExpr(back), cloneExpr(v))
	odd := frontend.NewBinary(frontend.OR, toward, k(1))
	return frontend.NewBuiltin(pos, frontend.FromBits, frontend.F32, frontend.NewBuiltin(pos, frontend.Select, u32, inexact, odd, cloneExpr(bits)))
}

// stickyF64 converts the 64-bit integer v to an f64 that rounds to the same bf16 value:
// exact below 2^53; above, its 11 lowest magnitude bits, which f64 cannot hold, become one
// sticky bit just above them (far below bf16's 8 significant bits), so that no rounding
// happens on the way.
func (x *expander) stickyF64(v frontend.Expr) frontend.Expr {
	pos := v.Position()
	signed := !v.Type().IsUnsigned()
	k := func(c int64) frontend.Expr { return frontend.IntConst(pos, u64, c) }
	bits := x.save(frontend.Conv(v, u64))
	mag, neg := bits, frontend.Expr(nil)
	if signed {
		neg = x.save(frontend.NewBinary(frontend.LSS, frontend.Conv(cloneExpr(bits), frontend.I64), frontend.IntConst(pos, frontend.I64, 0)))
		mag = x.save(frontend.NewBuiltin(pos, frontend.Select, u64, neg, frontend.NewBinary(frontend.SUB, k(0), cloneExpr(bits)), cloneExpr(bits)))
	}
	inexact := frontend.NewBinary(frontend.NEQ, frontend.NewBinary(frontend.AND, mag, k(0x7FF)), k(0))
	big := frontend.NewBinary(frontend.GEQ, cloneExpr(mag), k(1<<53))
	sticky := frontend.NewBinary(frontend.OR, frontend.NewBinary(frontend.AND, cloneExpr(mag), k(^0x7FF)), k(0x800))
	both := frontend.NewBuiltin(pos, frontend.Select, frontend.Bool, inexact, big, frontend.Zero(pos, frontend.Bool))
	f := x.save(frontend.Conv(frontend.NewBuiltin(pos, frontend.Select, u64, both, sticky, cloneExpr(mag)), frontend.F64))
	if !signed {
		return f
	}
	return frontend.NewBuiltin(pos, frontend.Select, frontend.F64, cloneExpr(neg), &frontend.Unary{Pos: pos, Op: frontend.SUB, X: f}, cloneExpr(f))
}
