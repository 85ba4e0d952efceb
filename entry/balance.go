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
// before its loop starts, into its loop's buffer, where the threads then claim their chunks,
// so that every thread of the loop shares out the same split even while other callers
// measure.

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

// The words of a parallel loop's buffer (abi.SplitWords): the split as fractions (cut[0..R],
// doubles), the loop's trip count, chunk size and number of runs R, and from runWords on one
// cache line per run r < R: its chunks [first, end), its claims (how many its thread took
// from the front in the low 32 bits, how many the others took from the back in the high 32),
// and how many iterations thread r ran (its report to simplang_measured).
const (
	tripsWord, chunkWord, runsWord = abi.MaxBalanced + 1, abi.MaxBalanced + 2, abi.MaxBalanced + 3
	runWords, runStride            = 128, 8
	firstWord, endWord             = 0, 1
	claimsWord, ranWord            = 2, 3
	backClaim                      = 1 << 32 // a claim from the back, in the claims word
)

// chunksPerRun is how many chunks a run has at most: the threads' ends differ by at most
// about one chunk, and each claim costs an atomic add.
const chunksPerRun = 16

// balanced defines the functions of abi.BalanceSymbol, abi.ChunkSymbol, abi.ClaimSymbol and
// abi.MeasuredSymbol in m, with the tables of speeds they keep; the split and the reports are
// recorded by tr.
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

	// void simplang_measured(i64 buf, i64 t, i64 ticks): thread t's report
	bufAt, t, tk := ir.NewParam("buf", types.I64), ir.NewParam("t", types.I64), ir.NewParam("ticks", types.I64)
	f := m.NewFunc(abi.MeasuredSymbol, types.Void, bufAt, t, tk)
	b := f.NewBlock("")
	now := b.NewCall(tr.clock)
	b = tr.record(f, b, [abi.TraceWords]value.Value{i64(abi.TraceShare), t, b.NewSub(now, tk), now})
	keep, done := f.NewBlock(""), f.NewBlock("")
	buf := words(b, bufAt)
	b.NewCondBr(b.NewICmp(enum.IPredULT, t, b.NewLoad(types.I64, buf(b, i64(runsWord)))), keep, done)
	atomicStore(keep, keep.NewLoad(types.I64, runWord(keep, buf, t, ranWord)), iterations(keep, t))
	atomicStore(keep, tk, ticks(keep, t))
	keep.NewBr(done)
	done.NewRet(nil)

	share := shareFunc(m)

	// void simplang_balance(i64 buf, i64 n, i64 trips): with runs = n within [1,
	// abi.MaxBalanced], when every thread of the last loop reported, each speed moves
	// towards the thread's rate over the team's mean rate; then cut[r] is the speeds' sum
	// before thread r over their total, and cut[runs] = 1. The chunks follow: run r is
	// chunks share(cut, chunks, r, runs) up to share(cut, chunks, r+1, runs).
	n, trips := ir.NewParam("n", types.I64), ir.NewParam("trips", types.I64)
	bufAt = ir.NewParam("buf", types.I64)
	f = m.NewFunc(abi.BalanceSymbol, types.Void, bufAt, n, trips)
	b = f.NewBlock("")
	sum, missing, total := b.NewAlloca(types.Double), b.NewAlloca(types.I1), b.NewAlloca(types.Double)
	b.NewStore(f64(0), sum)
	b.NewStore(constant.False, missing)
	b.NewStore(f64(0), total)
	now = b.NewCall(tr.clock)
	b = tr.record(f, b, [abi.TraceWords]value.Value{i64(abi.TraceSplit), n, now, now})
	runs := b.NewSelect(b.NewICmp(enum.IPredSLT, n, i64(1)), i64(1), smaller(b, n, i64(abi.MaxBalanced)))
	buf = words(b, bufAt)
	cut := b.NewIntToPtr(bufAt, types.NewPointer(types.Double))
	measure, chunks := f.NewBlock(""), f.NewBlock("")
	b.NewCondBr(b.NewICmp(enum.IPredSGE, runs, i64(2)), measure, chunks)
	rate := func(b *ir.Block, t value.Value) (value.Value, value.Value) {
		it, tk := atomicLoad(b, types.I64, iterations(b, t)), atomicLoad(b, types.I64, ticks(b, t))
		ok := b.NewAnd(b.NewICmp(enum.IPredSGT, it, i64(0)), b.NewICmp(enum.IPredSGT, tk, i64(0)))
		r := b.NewFDiv(b.NewSIToFP(it, types.Double), b.NewSIToFP(tk, types.Double))
		return b.NewSelect(ok, r, f64(0)), ok
	}
	b = count(f, measure, runs, func(b *ir.Block, t value.Value) *ir.Block {
		r, ok := rate(b, t)
		b.NewStore(b.NewFAdd(b.NewLoad(types.Double, sum), r), sum)
		b.NewStore(b.NewOr(b.NewLoad(types.I1, missing), b.NewXor(ok, constant.True)), missing)
		return b
	})
	update, split := f.NewBlock(""), f.NewBlock("")
	b.NewCondBr(b.NewLoad(types.I1, missing), split, update)
	mean := update.NewFDiv(update.NewLoad(types.Double, sum), update.NewSIToFP(runs, types.Double))
	b = count(f, update, runs, func(b *ir.Block, t value.Value) *ir.Block {
		r, _ := rate(b, t)
		s := b.NewFAdd(b.NewFMul(f64(1-speedWeight), speedOf(b, t)), b.NewFMul(f64(speedWeight), b.NewFDiv(r, mean)))
		// NaN (a thread's report changed meanwhile) falls to the least speed
		low := b.NewSelect(b.NewFCmp(enum.FPredOGE, s, f64(minSpeed)), s, f64(minSpeed))
		atomicStore(b, b.NewSelect(b.NewFCmp(enum.FPredOGT, s, f64(maxSpeed)), f64(maxSpeed), low), speed(b, t))
		return b
	})
	b.NewBr(split)
	b = count(f, split, runs, func(b *ir.Block, t value.Value) *ir.Block {
		b.NewStore(b.NewFAdd(b.NewLoad(types.Double, total), speedOf(b, t)), total)
		atomicStore(b, i64(0), iterations(b, t)) // each report counts once
		return b
	})
	b.NewStore(f64(0), sum) // now the sum of the speeds before thread t
	b = count(f, b, runs, func(b *ir.Block, t value.Value) *ir.Block {
		before := b.NewLoad(types.Double, sum)
		b.NewStore(b.NewFDiv(before, b.NewLoad(types.Double, total)), b.NewGetElementPtr(types.Double, cut, t))
		b.NewStore(b.NewFAdd(before, speedOf(b, t)), sum)
		return b
	})
	b.NewStore(f64(1), b.NewGetElementPtr(types.Double, cut, runs))
	b.NewBr(chunks)
	// chunk size c = ⌈trips / (runs · chunksPerRun)⌉ (at least 1), ⌈trips / c⌉ chunks; written
	// without overflow for any trips
	b = chunks
	some := b.NewSelect(b.NewICmp(enum.IPredSGT, trips, i64(0)), trips, i64(0))
	c := ceilDiv(b, some, b.NewMul(runs, i64(chunksPerRun)))
	c = b.NewSelect(b.NewICmp(enum.IPredSGT, c, i64(0)), c, i64(1))
	all := ceilDiv(b, some, c)
	b.NewStore(trips, buf(b, i64(tripsWord)))
	b.NewStore(c, buf(b, i64(chunkWord)))
	b.NewStore(runs, buf(b, i64(runsWord)))
	b = count(f, b, runs, func(b *ir.Block, r value.Value) *ir.Block {
		first := b.NewCall(share, bufAt, all, r, runs)
		end := b.NewCall(share, bufAt, all, b.NewAdd(r, i64(1)), runs)
		for w, v := range [...]value.Value{firstWord: first, endWord: end, claimsWord: i64(0), ranWord: i64(0)} {
			b.NewStore(v, runWord(b, buf, r, int64(w)))
		}
		return b
	})
	b.NewRet(nil)

	// i64 simplang_chunk(i64 buf)
	bufAt = ir.NewParam("buf", types.I64)
	f = m.NewFunc(abi.ChunkSymbol, types.I64, bufAt)
	b = f.NewBlock("")
	b.NewRet(b.NewLoad(types.I64, words(b, bufAt)(b, i64(chunkWord))))

	claimFunc(m)
}

// claimFunc defines abi.ClaimSymbol: i64 simplang_claim(i64 buf, i64 t). Thread t takes the
// next chunk from the front of its own run, else from the back of the next run after its
// own that has one left. A claim is one atomic add to the run's claims word, counting
// claims from the front and from the back together: the claim gets a chunk when the two
// counts before it add up to less than the run's length, so the front and the back never
// hand out the same chunk (and a claim that finds the run used up changes nothing that
// matters).
func claimFunc(m *ir.Module) {
	bufAt, t := ir.NewParam("buf", types.I64), ir.NewParam("t", types.I64)
	f := m.NewFunc(abi.ClaimSymbol, types.I64, bufAt, t)
	b := f.NewBlock("")
	buf := words(b, bufAt)
	trips, c, runs := b.NewLoad(types.I64, buf(b, i64(tripsWord))), b.NewLoad(types.I64, buf(b, i64(chunkWord))), b.NewLoad(types.I64, buf(b, i64(runsWord)))
	own, front, steal, got := f.NewBlock(""), f.NewBlock(""), f.NewBlock(""), f.NewBlock("")
	owner := b.NewICmp(enum.IPredULT, t, runs)
	b.NewCondBr(owner, own, steal)
	// claim adds d to run r's claims word and reports whether that got a chunk, and the
	// front and back counts before it
	claim := func(b *ir.Block, r value.Value, d int64) (ok, front, back value.Value) {
		old := b.NewAtomicRMW(enum.AtomicOpAdd, runWord(b, buf, r, claimsWord), i64(d), enum.AtomicOrderingMonotonic)
		front, back = b.NewAnd(old, i64(backClaim-1)), b.NewLShr(old, i64(32))
		length := b.NewSub(b.NewLoad(types.I64, runWord(b, buf, r, endWord)), b.NewLoad(types.I64, runWord(b, buf, r, firstWord)))
		return b.NewICmp(enum.IPredSLT, b.NewAdd(front, back), length), front, back
	}
	ok, ahead, _ := claim(own, t, 1)
	own.NewCondBr(ok, front, steal)
	k := front.NewAdd(front.NewLoad(types.I64, runWord(front, buf, t, firstWord)), ahead)
	front.NewBr(got)

	// runs t+1, t+2, … (mod runs), ending with t's own, already empty
	head, try, back, next, none := f.NewBlock(""), f.NewBlock(""), f.NewBlock(""), f.NewBlock(""), f.NewBlock("")
	steal.NewBr(head)
	i := head.NewPhi(ir.NewIncoming(i64(0), steal))
	head.NewCondBr(head.NewICmp(enum.IPredSLT, i, runs), try, none)
	r := try.NewURem(try.NewAdd(try.NewAdd(t, i64(1)), i), runs)
	ok, _, behind := claim(try, r, backClaim)
	try.NewCondBr(ok, back, next)
	stolen := back.NewSub(back.NewSub(back.NewLoad(types.I64, runWord(back, buf, r, endWord)), i64(1)), behind)
	back.NewBr(got)
	i.Incs = append(i.Incs, ir.NewIncoming(next.NewAdd(i, i64(1)), next))
	next.NewBr(head)
	none.NewRet(i64(-1))

	// the chunk's first iteration; thread t counts the iterations it ran
	chunk := got.NewPhi(ir.NewIncoming(k, front), ir.NewIncoming(stolen, back))
	lo := got.NewMul(chunk, c)
	tally, done := f.NewBlock(""), f.NewBlock("")
	got.NewCondBr(owner, tally, done)
	ran := runWord(tally, buf, t, ranWord)
	tally.NewStore(tally.NewAdd(tally.NewLoad(types.I64, ran), smaller(tally, c, tally.NewSub(trips, lo))), ran)
	tally.NewBr(done)
	done.NewRet(lo)
}

// shareFunc defines the internal function i64 share(i64 cut, i64 trips, i64 t, i64 n): 0 for
// t ≤ 0, trips for t ≥ n, else trips · cut[t] rounded.
func shareFunc(m *ir.Module) *ir.Func {
	cutAt, trips, t, n := ir.NewParam("cut", types.I64), ir.NewParam("trips", types.I64), ir.NewParam("t", types.I64), ir.NewParam("n", types.I64)
	f := m.NewFunc("simplang_share", types.I64, cutAt, trips, t, n)
	f.Linkage = enum.LinkageInternal
	b := f.NewBlock("")
	last, first, inner, measured, round := f.NewBlock(""), f.NewBlock(""), f.NewBlock(""), f.NewBlock(""), f.NewBlock("")
	last.NewRet(trips)
	first.NewRet(i64(0))
	b.NewCondBr(b.NewICmp(enum.IPredSGE, t, n), last, inner)
	inner.NewCondBr(inner.NewICmp(enum.IPredSLE, t, i64(0)), first, measured)
	cut := measured.NewIntToPtr(cutAt, types.NewPointer(types.Double))
	all := measured.NewSIToFP(trips, types.Double)
	v := measured.NewFAdd(measured.NewFMul(all, measured.NewLoad(types.Double, measured.NewGetElementPtr(types.Double, cut, t))), f64(0.5))
	measured.NewCondBr(measured.NewFCmp(enum.FPredOLT, v, all), round, last) // NaN too: the rest
	r := round.NewFPToSI(v, types.I64)
	round.NewRet(round.NewSelect(round.NewICmp(enum.IPredSLT, r, i64(0)), i64(0), r))
	return f
}

// words views the buffer at address at as i64 words: the returned function is the address
// of word i.
func words(b *ir.Block, at value.Value) func(b *ir.Block, i value.Value) value.Value {
	p := b.NewIntToPtr(at, types.NewPointer(types.I64))
	return func(b *ir.Block, i value.Value) value.Value { return b.NewGetElementPtr(types.I64, p, i) }
}

// runWord is the address of word w of run r's cache line.
func runWord(b *ir.Block, buf func(*ir.Block, value.Value) value.Value, r value.Value, w int64) value.Value {
	return buf(b, b.NewAdd(b.NewMul(r, i64(runStride)), i64(runWords+w)))
}

// ceilDiv is ⌈x / y⌉ for x ≥ 0 and y > 0, without overflow.
func ceilDiv(b *ir.Block, x, y value.Value) value.Value {
	q := b.NewSDiv(x, y)
	return b.NewAdd(q, b.NewZExt(b.NewICmp(enum.IPredNE, b.NewSRem(x, y), i64(0)), types.I64))
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
