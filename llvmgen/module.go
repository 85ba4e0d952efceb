// Package llvmgen prints a lowered SimpLang file (package lower) as LLVM IR text, built with
// github.com/llir/llvm, for machines that have LLVM (clang 14–19, or LLVM 14's opt and llc)
// but no MLIR. It implements the same semantics and ABI as package mlirgen.
//
// Call Generate with a file from lower.Lower and compile the text with clang -O3 (or opt
// -O3 then llc). Every function F becomes an external function F taking, for each array
// parameter, the five memref fields (T* allocated, T* aligned, i64 offset, i64 size, i64
// stride) and each scalar by value (language §6; package entry writes the packed entries and
// the signature table that go into the object beside it). The module names this machine's
// target triple, without which opt would not vectorize.
//
// Variables live in stack slots allocated in the function's entry block, which LLVM's
// mem2reg promotes to registers; if, while and return are plain branches. Float
// arithmetic carries the fast-math flags reassoc and contract unless StrictFP, so that
// reductions vectorize. Local arrays are heap memory (aligned_alloc, 64-byte aligned,
// zero-filled) freed when their block ends and on every return; the lowering's hoisted
// arrays are allocated once at function entry.
//
// The loops the lowering made parallel run across threads through LLVM's OpenMP runtime
// (package omp): the body is outlined into an internal function F.par.N that
// __kmpc_fork_call starts on every thread, each taking a static share of the iterations.
//
// With lower.Options.Debug the module carries a DWARF line table (package linetable): every
// function and outlined body has a DISubprogram, and every instruction the location of the
// statement it comes from.
package llvmgen

import (
	"runtime"

	"github.com/llir/llvm/ir"
	"github.com/llir/llvm/ir/enum"
	"github.com/llir/llvm/ir/metadata"
	"github.com/llir/llvm/ir/types"
	"github.com/llir/llvm/ir/value"

	"github.com/simplang/simplang/entry"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/linetable"
	"github.com/simplang/simplang/lower"
)

// Generate returns the LLVM IR module for f.
func Generate(f *lower.File) (text string, err error) {
	defer f.Recover("llvmgen", &err)
	g := &gen{
		opts:     f.Options,
		file:     f.Name,
		mod:      ir.NewModule(),
		funcs:    map[*frontend.Func]*ir.Func{},
		declared: map[string]*ir.Func{},
	}
	g.mod.SourceFilename = f.Name
	g.mod.TargetTriple = hostTriple()
	if f.Options.Debug {
		g.lines = linetable.New(g.mod, f.Name)
	}
	for _, fn := range f.Funcs {
		g.funcs[fn.Func] = g.declareFunc(fn.Func)
	}
	for _, fn := range f.Funcs {
		g.function(fn)
	}
	g.lines.Flush() // the code emitted since the last change of position
	return g.mod.String(), nil
}

// hostTriple is the LLVM target triple of this machine, or "" when unknown (the tools then
// use their default). Without a triple opt has no target information and vectorizes nothing.
func hostTriple() string {
	arch := map[string]string{
		"amd64": "x86_64", "arm64": "aarch64", "riscv64": "riscv64", "ppc64le": "powerpc64le", "s390x": "s390x",
	}[runtime.GOARCH]
	if arch == "" || runtime.GOOS != "linux" {
		return ""
	}
	return arch + "-unknown-linux-gnu"
}

// gen is the generator of one module.
type gen struct {
	opts     lower.Options
	file     string
	mod      *ir.Module
	funcs    map[*frontend.Func]*ir.Func
	declared map[string]*ir.Func // external functions and intrinsics, by name
	lines    *linetable.Table    // with lower.Options.Debug; nil does nothing
	noUnroll *metadata.Tuple     // !{!"llvm.loop.unroll.disable"}, made on first use
	// a vector width's hints (vectorize.enable, vectorize.width, interleave.count 1), made on
	// first use
	widthHints map[int][]metadata.Field

	// per SimpLang function
	fn       *lower.Func
	hoisted  map[*frontend.ArrayAlloc]operand
	outlined int // parallel regions outlined so far

	frame
}

// frame is the state of the LLVM function being emitted: a SimpLang function, or a parallel
// loop body outlined from one.
type frame struct {
	f     *ir.Func
	entry *ir.Block // holds the allocas (stack slots, which mem2reg promotes), and nothing else
	cur   *ir.Block // where instructions go; nil after a return (unreachable code)
	env   map[*frontend.Var][]*ir.InstAlloca
	lanes map[*frontend.Var]*ir.InstAlloca // the variables of a lower.Loop.Lanes inside their loop
	live  []value.Value                    // local arrays to free when their block ends, innermost last
	owned []value.Value                    // arrays allocated at function entry, freed on return
	split *ir.InstAlloca                   // the buffer of the function's parallel loops (abi.BalanceSymbol), made on first use
}

// An operand is an evaluated expression: one value for a scalar; for an array the five memref
// fields, then, for rank r > 1, the sizes (i64) of its r dimensions, to flatten and check a
// multi-index.
type operand []value.Value

// Positions in an array operand of the memref fields allocated, aligned, (offset,) size,
// (stride,) and of the dimension sizes.
const (
	allocated = 0
	aligned   = 1
	size      = 3
	dims      = 5
)

var (
	i8Ptr = types.NewPointer(types.I8)
	i64   = types.I64
)

// partTypes are the LLVM types of the parts of a value of type t (see operand).
func partTypes(t frontend.Type) []types.Type {
	if !t.IsArray() {
		return []types.Type{entry.Type(t.Kind)}
	}
	p := types.NewPointer(entry.Type(t.Kind))
	parts := []types.Type{p, p, i64, i64, i64}
	for r := 0; r < t.Rank && t.Rank > 1; r++ {
		parts = append(parts, i64)
	}
	return parts
}

// declareFunc creates the LLVM function of fn with its expanded C signature (language §6).
func (g *gen) declareFunc(fn *frontend.Func) *ir.Func {
	f := g.mod.NewFunc(fn.Name, entry.Type(fn.Result.Kind), entry.Params(fn.Signature())...)
	f.FuncAttrs = append(f.FuncAttrs, enum.FuncAttrNoUnwind)
	return f
}

// function emits the body of fn.
func (g *gen) function(fn *lower.Func) {
	g.fn = fn
	g.hoisted = map[*frontend.ArrayAlloc]operand{}
	g.outlined = 0
	g.begin(g.funcs[fn.Func], fn.Pos)
	params := g.f.Params
	for _, p := range fn.Params {
		n := len(partTypes(p.Type))
		parts := make(operand, n)
		for i := range parts {
			parts[i] = params[i]
		}
		params = params[n:]
		g.define(p, parts)
	}
	for _, site := range fn.Hoisted {
		g.lines.Locate(site.Pos)
		a := g.allocate(site)
		g.hoisted[site] = a
		g.owned = append(g.owned, a[allocated])
	}
	g.stmts(fn.Body.Stmts)
	if g.cur == nil {
		return
	}
	g.lines.Locate(fn.Body.Rbrace)
	g.freeAll()
	if fn.Result == frontend.Void {
		g.cur.NewRet(nil)
	} else {
		g.cur.NewUnreachable() // the checker guarantees a return on every path
	}
}

// begin starts emitting function f, whose source is at pos: an entry block for the
// allocas, then the code.
func (g *gen) begin(f *ir.Func, pos frontend.Pos) {
	g.frame = frame{f: f, env: map[*frontend.Var][]*ir.InstAlloca{}, lanes: map[*frontend.Var]*ir.InstAlloca{}}
	g.lines.Func(f, pos)
	g.lines.Locate(pos)
	g.entry = f.NewBlock("")
	body := g.newBlock()
	g.entry.NewBr(body)
	g.start(body)
}

// newBlock creates a block of the current function; start places it and emits into it.
func (g *gen) newBlock() *ir.Block {
	b := ir.NewBlock("")
	b.Parent = g.f
	return b
}

func (g *gen) start(b *ir.Block) {
	g.f.Blocks = append(g.f.Blocks, b)
	g.cur = b
	g.lines.Opened(b)
}

// define gives variable v its slots (once) and stores its value.
func (g *gen) define(v *frontend.Var, parts operand) {
	slots, ok := g.env[v]
	if !ok {
		for _, t := range partTypes(v.Type) {
			slots = append(slots, g.entry.NewAlloca(t))
		}
		g.env[v] = slots
	}
	g.assignVar(v, parts)
}

func (g *gen) assignVar(v *frontend.Var, parts operand) {
	for i, s := range g.env[v] {
		g.cur.NewStore(parts[i], s)
	}
}

// loadVar loads the current value of v.
func (g *gen) loadVar(v *frontend.Var) operand {
	var parts operand
	for _, s := range g.env[v] {
		parts = append(parts, g.cur.NewLoad(s.ElemType, s))
	}
	return parts
}

// declare returns the external function or intrinsic name, declaring it on first use.
func (g *gen) declare(name string, result types.Type, params ...types.Type) *ir.Func {
	if f, ok := g.declared[name]; ok {
		return f
	}
	var ps []*ir.Param
	for _, t := range params {
		ps = append(ps, ir.NewParam("", t))
	}
	f := g.mod.NewFunc(name, result, ps...)
	g.declared[name] = f
	return f
}
