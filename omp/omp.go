// Package omp starts loops of LLVM IR built with github.com/llir/llvm on the threads of
// LLVM's OpenMP runtime, as clang does for `#pragma omp parallel for`: the loop is outlined
// into an internal function that __kmpc_fork_call runs on every thread of a team, each
// thread running the iterations that the caller of Share gives it. A module that calls
// __kmpc_fork_call must be linked with libomp (-lomp).
//
// Call Fork where the loop stands, then emit the outlined function's body: first Share,
// then the loop over the thread's iterations, then a return.
package omp

import (
	"fmt"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/constant"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/simplang/simplang/frontend"
)

// Capture is a value that a function passes to a parallel region it starts.
type Capture struct {
	V value.Value
	// NoAlias marks a pointer whose written memory no other captured pointer reaches.
	NoAlias bool
}

// Source is where a parallel loop stands, for libomp's ident_t.
type Source struct {
	File, Func string
	Pos        frontend.Pos
}

// Region is the outlined function of a parallel loop.
type Region struct {
	Func *ir.Func
	caps []Capture
}

var (
	i32    = types.I32
	i64    = types.I64
	i32Ptr = types.NewPointer(types.I32)
)

// microtask is the type libomp calls a parallel region's body through:
// void (i32* global_tid, i32* bound_tid, ...).
var microtask = func() *types.FuncType {
	t := types.NewFunc(types.Void, i32Ptr, i32Ptr)
	t.Variadic = true
	return t
}()

// Fork outlines a loop of trips iterations from lb (both i64) into the internal function
// name, which receives caps (pointers, or scalars carried in an i64 word, as
// __kmpc_fork_call passes its variadic arguments), and emits into b the call that runs it on
// every thread of a team. The caller then emits the function's body.
func Fork(m *ir.Module, b *ir.Block, name string, at Source, lb, trips value.Value, caps []Capture) *Region {
	params := []*ir.Param{ir.NewParam("gtid", i32Ptr), ir.NewParam("btid", i32Ptr), ir.NewParam("lb", i64), ir.NewParam("trips", i64)}
	args := []value.Value{lb, trips}
	for i, c := range caps {
		w := toWord(b, c.V)
		p := ir.NewParam(fmt.Sprintf("cap%d", i), w.Type())
		if c.NoAlias {
			p.Attrs = append(p.Attrs, enum.ParamAttrNoAlias)
		}
		params = append(params, p)
		args = append(args, w)
	}
	f := m.NewFunc(name, types.Void, params...)
	f.Linkage = enum.LinkageInternal
	f.FuncAttrs = append(f.FuncAttrs, enum.FuncAttrNoUnwind)

	fork := declare(m, "__kmpc_fork_call", types.Void, types.NewPointer(ident(m)), i32, types.NewPointer(microtask))
	fork.Sig.Variadic = true
	head := []value.Value{location(m, at, name), constant.NewInt(i32, int64(len(args))), constant.NewBitCast(f, types.NewPointer(microtask))}
	b.NewCall(fork, append(head, args...)...)
	return &Region{Func: f, caps: caps}
}

// Share emits into b, the first block of the region's body, the calling thread's number t
// (i64), and returns with it the loop's start lb, its trip count and the captured values.
// The caller picks the thread's share of the iterations.
func (r *Region) Share(b *ir.Block) (lb, trips, t value.Value, caps []value.Value) {
	params := r.Func.Params
	t = b.NewSExt(b.NewCall(declare(r.Func.Parent, "omp_get_thread_num", i32)), i64)
	caps = make([]value.Value, len(r.caps))
	for i, c := range r.caps {
		caps[i] = fromWord(b, params[4+i], c.V.Type())
	}
	return params[2], params[3], t, caps
}

// toWord turns a captured value into a pointer or an i64, the argument classes that
// __kmpc_fork_call forwards unchanged; fromWord turns it back into a value of type t.
func toWord(b *ir.Block, v value.Value) value.Value {
	switch t := v.Type(); {
	case t == types.Float:
		return b.NewZExt(b.NewBitCast(v, types.I32), i64)
	case t == types.Double:
		return b.NewBitCast(v, i64)
	case t.Equal(i64):
		return v
	default:
		if _, isInt := t.(*types.IntType); isInt {
			return b.NewZExt(v, i64)
		}
		return v // a pointer
	}
}

func fromWord(b *ir.Block, w value.Value, t types.Type) value.Value {
	switch {
	case t == types.Float:
		return b.NewBitCast(b.NewTrunc(w, types.I32), t)
	case t == types.Double:
		return b.NewBitCast(w, t)
	case t.Equal(i64):
		return w
	default:
		if _, isInt := t.(*types.IntType); isInt {
			return b.NewTrunc(w, t)
		}
		return w
	}
}

// declare returns m's function name, declaring it on first use.
func declare(m *ir.Module, name string, result types.Type, params ...types.Type) *ir.Func {
	for _, f := range m.Funcs {
		if f.Name() == name {
			return f
		}
	}
	var ps []*ir.Param
	for _, t := range params {
		ps = append(ps, ir.NewParam("", t))
	}
	return m.NewFunc(name, result, ps...)
}

// ident is libomp's source location type ident_t: reserved_1, flags, reserved_2,
// reserved_3 (clang stores the psource length there), psource.
func ident(m *ir.Module) *types.StructType {
	for _, t := range m.TypeDefs {
		if t.Name() == "struct.ident_t" {
			return t.(*types.StructType)
		}
	}
	return m.NewTypeDef("struct.ident_t", types.NewStruct(types.I32, types.I32, types.I32, types.I32, types.NewPointer(types.I8))).(*types.StructType)
}

// kmpIdentKMPC is ident_t's flag for locations of the kmpc interface.
const kmpIdentKMPC = 2

// location defines the ident_t of parallel region name at at, with psource
// ";file;function;line;column;;".
func location(m *ir.Module, at Source, name string) value.Value {
	src := fmt.Sprintf(";%s;%s;%d;%d;;", at.File, at.Func, at.Pos.Line, at.Pos.Col)
	str := m.NewGlobalDef(name+".psource", constant.NewCharArrayFromString(src+"\x00"))
	str.Immutable, str.Linkage, str.UnnamedAddr = true, enum.LinkagePrivate, enum.UnnamedAddrUnnamedAddr
	word := func(v int) constant.Constant { return constant.NewInt(i32, int64(v)) }
	zero := constant.NewInt(i64, 0)
	psource := constant.NewGetElementPtr(str.ContentType, str, zero, zero)
	psource.InBounds = true
	loc := m.NewGlobalDef(name+".loc", constant.NewStruct(ident(m), word(0), word(kmpIdentKMPC), word(0), word(len(src)), psource))
	loc.Immutable, loc.Linkage, loc.UnnamedAddr = true, enum.LinkagePrivate, enum.UnnamedAddrUnnamedAddr
	return loc
}
