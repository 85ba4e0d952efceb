// Package entry writes the small LLVM IR module that every compiled object carries beside its
// kernels, whichever code generator made them:
//
//   - the signature table abi.TableSymbol and the site table abi.SitesSymbol;
//   - for each function F the packed entry _mlir_F(void **args) of language §6, which loads
//     the i-th expanded C argument through args[i], calls F, stores its result through
//     args[N], and returns 1 when a check failed during the call (0 otherwise);
//   - the run-time side of checked access (language §4.1, runtime.go): each thread's report
//     of its first failed check, and abi.TakeErrorSymbol to read it;
//   - the run-time side of balanced parallel loops (balance.go, abi.BalanceSymbol): the
//     threads' measured speeds and the split of a loop's iterations that follows them;
//   - the recorder of parallel loops (trace.go, abi.TraceSymbol).
//
// The module is written with github.com/llir/llvm in LLVM 14's syntax, which clang 14–19 and
// LLVM 14's opt read alike; the build compiles it into the object with the generated module
// (toolchain.BuildOptions.Extra).
package entry

import (
	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/simplang/simplang/abi"
)

// Module returns the entry module of an object exporting funcs, whose checks are sites.
func Module(funcs []abi.Func, sites []abi.Site) string {
	m := ir.NewModule()
	for name, text := range map[string]string{abi.TableSymbol: abi.Encode(funcs), abi.SitesSymbol: abi.EncodeSites(sites)} {
		table := m.NewGlobalDef(name, constant.NewCharArrayFromString(text+"\x00"))
		table.Immutable = true
	}
	rt := newRuntime(m)
	balanced(m, newTracer(m))
	for _, f := range funcs {
		packed(m, rt, f)
	}
	return m.String()
}

var i8Ptr = types.NewPointer(types.I8)

// scalarType is the LLVM type of a scalar kind, as both generators pass it: unsigned kinds
// as integers of their width, f16 and bf16 as their 16 bits.
func Type(k abi.Kind) types.Type {
	switch k {
	case abi.Bool:
		return types.I1
	case abi.I8, abi.U8:
		return types.I8
	case abi.I16, abi.U16, abi.F16, abi.BF16:
		return types.I16
	case abi.I32, abi.U32:
		return types.I32
	case abi.I64, abi.U64:
		return types.I64
	case abi.F32:
		return types.Float
	case abi.F64:
		return types.Double
	}
	return types.Void
}

// Params are f's expanded C arguments, named after its parameters: the five memref fields
// (T* allocated, T* aligned, i64 offset, i64 size, i64 stride) per array, each scalar by
// value. The aligned pointer is noalias: array parameters never overlap (language §6).
func Params(f abi.Func) []*ir.Param {
	var ps []*ir.Param
	for _, p := range f.Params {
		t := Type(p.Kind)
		if !p.Array {
			ps = append(ps, ir.NewParam(p.Name, t))
			continue
		}
		ptr := types.NewPointer(t)
		data := ir.NewParam(p.Name+".aligned", ptr)
		data.Attrs = append(data.Attrs, enum.ParamAttrNoAlias)
		ps = append(ps, ir.NewParam(p.Name+".allocated", ptr), data,
			ir.NewParam(p.Name+".offset", types.I64), ir.NewParam(p.Name+".size", types.I64), ir.NewParam(p.Name+".stride", types.I64))
	}
	return ps
}

// packed defines _mlir_F for f, declaring F.
func packed(m *ir.Module, rt *runtime, f abi.Func) {
	decl := Params(f)
	kernel := m.NewFunc(f.Name, Type(f.Result), decl...)

	args := ir.NewParam("args", types.NewPointer(i8Ptr))
	p := m.NewFunc(abi.PackedName(f.Name), types.I32, args)
	p.FuncAttrs = append(p.FuncAttrs, enum.FuncAttrNoUnwind)
	b := p.NewBlock("")
	rt.clear(b)
	slot := func(i int) value.Value {
		ptr := b.NewGetElementPtr(i8Ptr, args, constant.NewInt(types.I64, int64(i)))
		ptr.InBounds = true
		return b.NewLoad(i8Ptr, ptr)
	}
	vals := make([]value.Value, len(decl))
	for i, d := range decl {
		vals[i] = b.NewLoad(d.Typ, b.NewBitCast(slot(i), types.NewPointer(d.Typ)))
	}
	r := b.NewCall(kernel, vals...)
	if f.Result != abi.Void {
		b.NewStore(r, b.NewBitCast(slot(len(decl)), types.NewPointer(r.Type())))
	}
	b.NewRet(rt.failed(b))
}
