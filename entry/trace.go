package entry

import (
	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/simplang/simplang/abi"
)

// The recorder of parallel loops (abi.TraceSymbol). Until a caller turns it on, it costs the
// split and each thread's report one load of its flag per loop.

// tracer holds the recorder's flag, its count of events and its table, and the time-stamp
// counter (llvm.readcyclecounter) that the recorder and the split and reports read.
type tracer struct {
	on, recorded, table *ir.Global
	eventT              types.Type
	clock               *ir.Func
}

func newTracer(m *ir.Module) *tracer {
	tr := &tracer{eventT: types.NewArray(abi.TraceWords, types.I64), clock: m.NewFunc("llvm.readcyclecounter", types.I64)}
	global := func(name string, t types.Type) *ir.Global {
		g := m.NewGlobalDef(name, constant.NewZeroInitializer(t))
		g.Linkage = enum.LinkageInternal
		return g
	}
	tr.on = global("simplang_trace_on", types.I32)
	tr.recorded = global("simplang_trace_recorded", types.I64)
	tr.table = global("simplang_trace_table", types.NewArray(abi.TraceCap, tr.eventT))

	// void simplang_trace(i32 on)
	on := ir.NewParam("on", types.I32)
	f := m.NewFunc(abi.TraceSymbol, types.Void, on)
	b := f.NewBlock("")
	empty, set := f.NewBlock(""), f.NewBlock("")
	b.NewCondBr(b.NewICmp(enum.IPredNE, on, i32(0)), empty, set)
	atomicStore(empty, i64(0), tr.recorded)
	empty.NewBr(set)
	atomicStore(set, on, tr.on)
	set.NewRet(nil)

	// i64 simplang_trace_read(i64 events, i64 cap)
	dst, capacity := ir.NewParam("events", types.I64), ir.NewParam("cap", types.I64)
	f = m.NewFunc(abi.TraceReadSymbol, types.I64, dst, capacity)
	b = f.NewBlock("")
	recorded := atomicLoad(b, types.I64, tr.recorded)
	n := smaller(b, smaller(b, recorded, capacity), i64(abi.TraceCap))
	to := b.NewIntToPtr(dst, types.NewPointer(tr.eventT))
	b = count(f, b, n, func(b *ir.Block, e value.Value) *ir.Block {
		event := b.NewLoad(tr.eventT, tr.event(b, e))
		b.NewStore(event, b.NewGetElementPtr(tr.eventT, to, e))
		return b
	})
	b.NewRet(recorded)

	// i64 simplang_now()
	b = m.NewFunc(abi.NowSymbol, types.I64).NewBlock("")
	b.NewRet(b.NewCall(tr.clock))
	return tr
}

// record emits into b, of f, the recording of an event when the recorder is on, and returns
// the block after it.
func (tr *tracer) record(f *ir.Func, b *ir.Block, words [abi.TraceWords]value.Value) *ir.Block {
	add, done := f.NewBlock(""), f.NewBlock("")
	b.NewCondBr(b.NewICmp(enum.IPredNE, atomicLoad(b, types.I32, tr.on), i32(0)), add, done)
	rmw := add.NewAtomicRMW(enum.AtomicOpAdd, tr.recorded, i64(1), enum.AtomicOrderingMonotonic)
	store := f.NewBlock("")
	add.NewCondBr(add.NewICmp(enum.IPredULT, rmw, i64(abi.TraceCap)), store, done)
	at := tr.event(store, rmw)
	for i, w := range words {
		store.NewStore(w, store.NewGetElementPtr(tr.eventT, at, i64(0), i64(int64(i))))
	}
	store.NewBr(done)
	return done
}

// event is the address of event e of the table.
func (tr *tracer) event(b *ir.Block, e value.Value) value.Value {
	return b.NewGetElementPtr(tr.table.ContentType, tr.table, i64(0), e)
}
