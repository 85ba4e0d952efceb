package entry

import (
	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/simplang/simplang/abi"
)

// The run-time side of checked access. Every thread has a report: whether a check failed,
// and the site, index and size of the first that did. Checked code asks abi.SlotSymbol for
// the address of the report its failures go to and passes it to abi.ReportSymbol. The
// threads of a parallel loop report to the thread that started the call: its loop bodies
// first call abi.SetSlotSymbol with that address (a thread's redirect), so a call reports its
// failures to its caller whichever threads ran it, and restore the redirect they replaced
// when they end.

// runtime holds the thread-local report and the functions around it.
type runtime struct {
	state  *ir.Global // thread_local { i32 failed, i32 site, i64 index, i64 size, i64 redirect }
	stateT *types.StructType
}

// Fields of the report.
const (
	failedField = iota
	siteField
	indexField
	sizeField
	redirectField
)

func i32(v int64) constant.Constant { return constant.NewInt(types.I32, v) }
func i64(v int64) constant.Constant { return constant.NewInt(types.I64, v) }

func newRuntime(m *ir.Module) *runtime {
	rt := &runtime{stateT: types.NewStruct(types.I32, types.I32, types.I64, types.I64, types.I64)}
	rt.state = m.NewGlobalDef("simplang_error_state", constant.NewZeroInitializer(rt.stateT))
	rt.state.TLSModel = enum.TLSModelGeneric
	rt.state.Linkage = enum.LinkageInternal

	// i64 simplang_error_slot(): the redirect, or this thread's own report.
	slot := m.NewFunc(abi.SlotSymbol, types.I64)
	b := slot.NewBlock("")
	redirect := b.NewLoad(types.I64, rt.field(b, redirectField))
	own := b.NewPtrToInt(rt.state, types.I64)
	b.NewRet(b.NewSelect(b.NewICmp(enum.IPredNE, redirect, i64(0)), redirect, own))

	// i64 simplang_set_error_slot(i64 slot): the redirect before
	s := ir.NewParam("slot", types.I64)
	set := m.NewFunc(abi.SetSlotSymbol, types.I64, s)
	b = set.NewBlock("")
	before := b.NewLoad(types.I64, rt.field(b, redirectField))
	b.NewStore(s, rt.field(b, redirectField))
	b.NewRet(before)

	// void simplang_report(i64 slot, i32 site, i64 index, i64 size): the first failure wins.
	params := []*ir.Param{ir.NewParam("slot", types.I64), ir.NewParam("site", types.I32), ir.NewParam("index", types.I64), ir.NewParam("size", types.I64)}
	report := m.NewFunc(abi.ReportSymbol, types.Void, params...)
	b = report.NewBlock("")
	at := b.NewIntToPtr(params[0], types.NewPointer(rt.stateT))
	swap := b.NewCmpXchg(rt.fieldOf(b, at, failedField), i32(0), i32(1), enum.AtomicOrderingSequentiallyConsistent, enum.AtomicOrderingSequentiallyConsistent)
	write, done := report.NewBlock(""), report.NewBlock("")
	b.NewCondBr(b.NewExtractValue(swap, 1), write, done)
	for i, f := range []int{siteField, indexField, sizeField} {
		write.NewStore(params[i+1], rt.fieldOf(write, at, f))
	}
	write.NewBr(done)
	done.NewRet(nil)

	// i32 simplang_take_error({i32 site, i64 index, i64 size} *e)
	errT := types.NewStruct(types.I32, types.I64, types.I64)
	e := ir.NewParam("e", types.NewPointer(errT))
	take := m.NewFunc(abi.TakeErrorSymbol, types.I32, e)
	b = take.NewBlock("")
	copyOut, none := take.NewBlock(""), take.NewBlock("")
	b.NewCondBr(b.NewICmp(enum.IPredNE, rt.failed(b), i32(0)), copyOut, none)
	for i, f := range []int{siteField, indexField, sizeField} {
		v := copyOut.NewLoad(rt.stateT.Fields[f], rt.field(copyOut, f))
		to := copyOut.NewGetElementPtr(errT, e, i32(0), i32(int64(i)))
		copyOut.NewStore(v, to)
	}
	copyOut.NewStore(i32(0), rt.field(copyOut, failedField))
	copyOut.NewRet(i32(1))
	none.NewRet(i32(0))
	return rt
}

// field is the address of a field of this thread's report.
func (rt *runtime) field(b *ir.Block, f int) value.Value { return rt.fieldOf(b, rt.state, f) }

func (rt *runtime) fieldOf(b *ir.Block, state value.Value, f int) value.Value {
	return b.NewGetElementPtr(rt.stateT, state, i32(0), i32(int64(f)))
}

// clear starts a call from a packed entry: no failure, no redirect.
func (rt *runtime) clear(b *ir.Block) {
	b.NewStore(i32(0), rt.field(b, failedField))
	b.NewStore(i64(0), rt.field(b, redirectField))
}

// failed loads whether a check of this thread's report failed (i32 0 or 1).
func (rt *runtime) failed(b *ir.Block) value.Value {
	return b.NewLoad(types.I32, rt.field(b, failedField))
}
