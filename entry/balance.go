package entry

import (
	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/simplang/simplang/abi"
)

// The run-time side of balanced parallel loops (abi.BalanceSymbol). The object keeps, per
// thread of a team (up to abi.MaxBalanced), the iterations and ticks it last reported, and
// its speed relative to the team's mean, smoothed over the loops measured so far (0 until
// the first measurement, read as 1). A split is the caller's: it reads the speeds once,
// before its loop starts, so that every thread of the loop shares out the same split even
// while other callers measure.

// speedWeight is how much a new measurement moves a thread's smoothed speed; the speeds stay
// within [minSpeed, maxSpeed] of the mean.
const (
	speedWeight        = 0.25
	minSpeed, maxSpeed = 0.25, 4.0
)

func f64(v float64) constant.Constant { return constant.NewFloat(types.Double, v) }

// atomicLoad and atomicStore access the tables that every caller of the object shares
// (monotonic atomics of 4 or 8 bytes).
func atomicLoad(b *ir.Block, t types.Type, p value.Value) value.Value {
	l := b.NewLoad(t, p)
	l.Atomic, l.Ordering, l.Align = true, enum.AtomicOrderingMonotonic, alignOf(t)
	return l
}

func atomicStore(b *ir.Block, v, p value.Value) {
	s := b.NewStore(v, p)
	s.Atomic, s.Ordering, s.Align = true, enum.AtomicOrderingMonotonic, alignOf(v.Type())
}

// smaller is the signed minimum of x and y.
func smaller(b *ir.Block, x, y value.Value) value.Value {
	return b.NewSelect(b.NewICmp(enum.IPredSLT, x, y), x, y)
}

func alignOf(t types.Type) ir.Align {
	if t == types.I32 {
		return 4
	}
	return 8
}

// balanced defines the functions of abi.BalanceSymbol, abi.ShareSymbol and abi.MeasuredSymbol
// in m, with the tables they keep; the split and the reports are recorded by tr.
func balanced(m *ir.Module, tr *tracer) {
	table := func(name string, t types.Type) func(b *ir.Block, i value.Value) value.Value {
		g := m.NewGlobalDef(name, constant.NewZeroInitializer(types.NewArray(abi.MaxBalanced, t)))
		g.Linkage = enum.LinkageInternal
		return func(b *ir.Block, i value.Value) value.Value { return b.NewGetElementPtr(g.ContentType, g, i64(0), i) }
	}
	speed, iterations, ticks := table("simplang_speed", types.Double), table("simplang_iterations", types.I64), table("simplang_ticks", types.I64)
	// The tables are shared by every caller of the object, whose loops may run at once:
	// monotonic atomics; a torn pair of reports, or two callers updating the speeds
	// together, at worst skews one split (each split is its caller's own).
	speedOf := func(b *ir.Block, t value.Value) value.Value { // 1 until measured
		s := atomicLoad(b, types.Double, speed(b, t))
		return b.NewSelect(b.NewFCmp(enum.FPredOEQ, s, f64(0)), f64(1), s)
	}

	// void simplang_measured(i64 t, i64 iterations, i64 ticks)
	t, its, tk := ir.NewParam("t", types.I64), ir.NewParam("iterations", types.I64), ir.NewParam("ticks", types.I64)
	f := m.NewFunc(abi.MeasuredSymbol, types.Void, t, its, tk)
	b := f.NewBlock("")
	now := b.NewCall(tr.clock)
	b = tr.record(f, b, [abi.TraceWords]value.Value{i64(abi.TraceShare), t, b.NewSub(now, tk), now})
	keep, done := f.NewBlock(""), f.NewBlock("")
	b.NewCondBr(b.NewICmp(enum.IPredULT, t, i64(abi.MaxBalanced)), keep, done)
	atomicStore(keep, its, iterations(keep, t))
	atomicStore(keep, tk, ticks(keep, t))
	keep.NewBr(done)
	done.NewRet(nil)

	// void simplang_balance(i64 cut, i64 n): when every thread of the last loop reported,
	// each speed moves towards the thread's rate over the team's mean rate; then cut[t] is
	// the speeds' sum before thread t over their total, and cut[n] = 1.
	cutAt, n := ir.NewParam("cut", types.I64), ir.NewParam("n", types.I64)
	f = m.NewFunc(abi.BalanceSymbol, types.Void, cutAt, n)
	b = f.NewBlock("")
	sum, missing, total := b.NewAlloca(types.Double), b.NewAlloca(types.I1), b.NewAlloca(types.Double)
	b.NewStore(f64(0), sum)
	b.NewStore(constant.False, missing)
	b.NewStore(f64(0), total)
	now = b.NewCall(tr.clock)
	b = tr.record(f, b, [abi.TraceWords]value.Value{i64(abi.TraceSplit), n, now, now})
	cut := b.NewIntToPtr(cutAt, types.NewPointer(types.Double))
	measure, exit := f.NewBlock(""), f.NewBlock("")
	exit.NewRet(nil)
	b.NewCondBr(b.NewAnd(b.NewICmp(enum.IPredSGE, n, i64(2)), b.NewICmp(enum.IPredSLE, n, i64(abi.MaxBalanced))), measure, exit)
	rate := func(b *ir.Block, t value.Value) (value.Value, value.Value) {
		it, tk := atomicLoad(b, types.I64, iterations(b, t)), atomicLoad(b, types.I64, ticks(b, t))
		ok := b.NewAnd(b.NewICmp(enum.IPredSGT, it, i64(0)), b.NewICmp(enum.IPredSGT, tk, i64(0)))
		r := b.NewFDiv(b.NewSIToFP(it, types.Double), b.NewSIToFP(tk, types.Double))
		return b.NewSelect(ok, r, f64(0)), ok
	}
	b = count(f, measure, n, func(b *ir.Block, t value.Value) *ir.Block {
		r, ok := rate(b, t)
		b.NewStore(b.NewFAdd(b.NewLoad(types.Double, sum), r), sum)
		b.NewStore(b.NewOr(b.NewLoad(types.I1, missing), b.NewXor(ok, constant.True)), missing)
		return b
	})
	update, split := f.NewBlock(""), f.NewBlock("")
	b.NewCondBr(b.NewLoad(types.I1, missing), split, update)
	mean := update.NewFDiv(update.NewLoad(types.Double, sum), update.NewSIToFP(n, types.Double))
	b = count(f, update, n, func(b *ir.Block, t value.Value) *ir.Block {
		r, _ := rate(b, t)
		s := b.NewFAdd(b.NewFMul(f64(1-speedWeight), speedOf(b, t)), b.NewFMul(f64(speedWeight), b.NewFDiv(r, mean)))
		// NaN (a thread's report changed meanwhile) falls to the least speed
		low := b.NewSelect(b.NewFCmp(enum.FPredOGE, s, f64(minSpeed)), s, f64(minSpeed))
		atomicStore(b, b.NewSelect(b.NewFCmp(enum.FPredOGT, s, f64(maxSpeed)), f64(maxSpeed), low), speed(b, t))
		return b
	})
	b.NewBr(split)
	b = count(f, split, n, func(b *ir.Block, t value.Value) *ir.Block {
		b.NewStore(b.NewFAdd(b.NewLoad(types.Double, total), speedOf(b, t)), total)
		atomicStore(b, i64(0), iterations(b, t)) // each report counts once
		return b
	})
	b.NewStore(f64(0), sum) // now the sum of the speeds before thread t
	b = count(f, b, n, func(b *ir.Block, t value.Value) *ir.Block {
		before := b.NewLoad(types.Double, sum)
		b.NewStore(b.NewFDiv(before, b.NewLoad(types.Double, total)), b.NewGetElementPtr(types.Double, cut, t))
		b.NewStore(b.NewFAdd(before, speedOf(b, t)), sum)
		return b
	})
	b.NewStore(f64(1), b.NewGetElementPtr(types.Double, cut, n))
	b.NewBr(exit)

	// i64 simplang_share(i64 cut, i64 trips, i64 t, i64 n): 0 for t ≤ 0, trips for t ≥ n,
	// else trips · cut[t] rounded (an even split for teams of more than abi.MaxBalanced).
	trips := ir.NewParam("trips", types.I64)
	cutAt, t, n = ir.NewParam("cut", types.I64), ir.NewParam("t", types.I64), ir.NewParam("n", types.I64)
	f = m.NewFunc(abi.ShareSymbol, types.I64, cutAt, trips, t, n)
	b = f.NewBlock("")
	last, first, inner, pick, even, measured, round := f.NewBlock(""), f.NewBlock(""), f.NewBlock(""), f.NewBlock(""), f.NewBlock(""), f.NewBlock(""), f.NewBlock("")
	last.NewRet(trips)
	first.NewRet(i64(0))
	b.NewCondBr(b.NewICmp(enum.IPredSGE, t, n), last, inner)
	inner.NewCondBr(inner.NewICmp(enum.IPredSLE, t, i64(0)), first, pick)
	pick.NewCondBr(pick.NewICmp(enum.IPredSGT, n, i64(abi.MaxBalanced)), even, measured)
	// t·⌊trips/n⌋ + min(t, trips mod n), as omp.Region.Share
	base, extra := even.NewSDiv(trips, n), even.NewSRem(trips, n)
	even.NewRet(even.NewAdd(even.NewMul(t, base), smaller(even, t, extra)))
	cut = measured.NewIntToPtr(cutAt, types.NewPointer(types.Double))
	all := measured.NewSIToFP(trips, types.Double)
	v := measured.NewFAdd(measured.NewFMul(all, measured.NewLoad(types.Double, measured.NewGetElementPtr(types.Double, cut, t))), f64(0.5))
	measured.NewCondBr(measured.NewFCmp(enum.FPredOLT, v, all), round, last) // NaN too: the rest
	r := round.NewFPToSI(v, types.I64)
	round.NewRet(round.NewSelect(round.NewICmp(enum.IPredSLT, r, i64(0)), i64(0), r))
}

// count emits into f `for t := 0; t < n; t++ { body }` after b, and returns the block after
// the loop; body emits into the block it is given and returns the block it ends in.
func count(f *ir.Func, b *ir.Block, n value.Value, body func(b *ir.Block, t value.Value) *ir.Block) *ir.Block {
	head, loop, done := f.NewBlock(""), f.NewBlock(""), f.NewBlock("")
	b.NewBr(head)
	t := head.NewPhi(ir.NewIncoming(i64(0), b))
	head.NewCondBr(head.NewICmp(enum.IPredSLT, t, n), loop, done)
	end := body(loop, t)
	end.NewBr(head)
	t.Incs = append(t.Incs, ir.NewIncoming(end.NewAdd(t, i64(1)), end))
	return done
}
