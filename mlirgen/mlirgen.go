// Package mlirgen turns a checked SimpLang file into textual MLIR that MLIR 19's mlir-opt and
// mlir-translate lower to LLVM IR (the pass pipeline is in package toolchain).
//
// Call Generate with a file from frontend.Parse. Every function becomes a public func.func
// taking memref<?xT> for each array parameter and scalars by value, so that after lowering it
// has the expanded C signature of SPEC §6; beside it the module defines the packed entry
// _mlir_NAME(void **args) and the signature table abi.TableSymbol.
//
// Variables are SSA values: while loops become scf.for (counted loops, see package loops),
// scf.parallel (counted loops with independent iterations, lowered to OpenMP) or scf.while,
// each carrying exactly the variables its body assigns; if becomes scf.if yielding the
// variables its branches assign. An early return sets a carried "returned" flag and result:
// loops stop when it is set and the statements after a statement that may return run under
// scf.if on the flag. Local arrays are heap memory freed when their block ends; arrays whose
// sizes never change are allocated once at function entry (frontend.ArrayAlloc.Hoist).
package mlirgen

import (
	"fmt"
	"strings"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// Options select code generation policies.
type Options struct {
	// StrictFP keeps floating-point operations in source order: no reassociation or fused
	// multiply-add flags (SPEC §4), at the cost of vectorized reductions.
	StrictFP bool
	// Serial turns off parallel loops (scf.parallel, lowered to OpenMP).
	Serial bool
}

// Generate returns the MLIR module for f, which must come from frontend.Parse.
func Generate(f *frontend.File, opts Options) (text string, err error) {
	defer func() {
		// The generator trusts the checked tree; a tree that breaks its invariants is a bug
		// here, reported as an error rather than a crash of the caller.
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("mlirgen: internal error on %s: %v", f.Name, r)
		}
	}()
	g := &gen{opts: opts, file: f.Name}
	g.printf("module {")
	var sigs []abi.Func
	for _, fn := range f.Funcs {
		sigs = append(sigs, fn.Signature())
	}
	g.printf("  llvm.mlir.global external constant @%s(\"%s\\00\") {addr_space = 0 : i32}", abi.TableSymbol, mlirString(abi.Encode(sigs)))
	for _, fn := range f.Funcs {
		g.function(fn)
		g.packed(fn)
	}
	g.printf("}")
	return g.out.String(), nil
}

// mlirString escapes s for an MLIR string literal.
func mlirString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' || c == '"' || c == '\\' {
			fmt.Fprintf(&b, "\\%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// gen is the emitter: it writes one operation per line, each with the source location of
// the statement or expression it comes from.
type gen struct {
	out    strings.Builder
	opts   Options
	file   string
	indent int
	ids    int
	pos    frontend.Pos

	// per function
	fn         *frontend.Func
	loops      *loops.Info
	env        map[*frontend.Var]value
	returned   *frontend.Var // the carried "returned" flag, when the function returns early
	result     *frontend.Var // the carried result value, with returned
	regions    int           // nesting of scf regions; 0 is the function's top level
	hoisted    map[*frontend.ArrayAlloc]value
	entry      []allocation // arrays allocated at function entry
	live       []allocation // arrays to free when their block ends
	terminated bool         // the function's top level has emitted its return
}

// allocation is a local array's memref and its element type, for freeing it.
type allocation struct{ v, elem string }

// value is the SSA form of a variable or expression: the value itself and, for an array of
// rank r > 1, the sizes of dimensions 1…r-1 (as index values) needed to flatten indices.
type value struct {
	v    string
	dims []string
}

func (g *gen) printf(format string, args ...any) {
	fmt.Fprintf(&g.out, format, args...)
	g.out.WriteByte('\n')
}

// op writes one operation line at the current indentation with the current location.
func (g *gen) op(format string, args ...any) {
	g.out.WriteString(strings.Repeat("  ", g.indent))
	fmt.Fprintf(&g.out, format, args...)
	fmt.Fprintf(&g.out, " loc(\"%s\":%d:%d)\n", mlirString(g.file), g.pos.Line, g.pos.Col)
}

// open writes a line that opens a region (no location: the op's location follows its
// closing brace), and close ends it.
func (g *gen) open(format string, args ...any) {
	g.out.WriteString(strings.Repeat("  ", g.indent))
	fmt.Fprintf(&g.out, format, args...)
	g.out.WriteByte('\n')
	g.indent++
}

func (g *gen) close(suffix string) {
	g.indent--
	g.out.WriteString(strings.Repeat("  ", g.indent))
	g.out.WriteString("}" + suffix)
	fmt.Fprintf(&g.out, " loc(\"%s\":%d:%d)\n", mlirString(g.file), g.pos.Line, g.pos.Col)
}

// mid writes a line between two regions of one op ("} else {", "} do {").
func (g *gen) mid(text string) {
	g.out.WriteString(strings.Repeat("  ", g.indent-1))
	g.out.WriteString(text)
	g.out.WriteByte('\n')
}

func (g *gen) fresh() string {
	g.ids++
	return fmt.Sprintf("%%%d", g.ids)
}

// typ is the MLIR type of a SimpLang type; arrays of any rank are flat memrefs.
func typ(t frontend.Type) string {
	k := scalar(t.Kind)
	if t.IsArray() {
		return "memref<?x" + k + ">"
	}
	return k
}

// scalar is the MLIR type of a scalar kind. Unsigned integers are signless integers of their
// width (the operations carry the signedness); f16 and bf16 values are their 16 bits, i16, as
// in memory and in the C ABI, converted where they are used (see convert).
func scalar(k abi.Kind) string {
	switch k {
	case abi.Bool:
		return "i1"
	case abi.I8, abi.U8:
		return "i8"
	case abi.I16, abi.U16, abi.F16, abi.BF16:
		return "i16"
	case abi.I32, abi.U32:
		return "i32"
	case abi.I64, abi.U64:
		return "i64"
	case abi.F32:
		return "f32"
	case abi.F64:
		return "f64"
	}
	return "none"
}

// function emits fn as a public func.func.
func (g *gen) function(fn *frontend.Func) {
	g.fn, g.pos = fn, fn.Pos
	g.loops = loops.Analyze(fn, !g.opts.Serial)
	g.env = map[*frontend.Var]value{}
	g.hoisted = map[*frontend.ArrayAlloc]value{}
	g.entry, g.live, g.regions, g.terminated = nil, nil, 0, false
	g.returned, g.result = nil, nil

	var params []string
	for i, p := range fn.Params {
		name := fmt.Sprintf("%%arg%d", i)
		g.env[p] = value{v: name}
		attr := ""
		if p.Type.IsArray() {
			attr = " {llvm.noalias}" // SPEC §6: array parameters never overlap
		}
		params = append(params, fmt.Sprintf("%s: %s%s", name, typ(p.Type), attr))
	}
	result := ""
	if fn.Result != frontend.Void {
		result = " -> " + typ(fn.Result)
	}
	g.indent = 1
	g.open("func.func @%s(%s)%s {", fn.Name, strings.Join(params, ", "), result)
	g.hoistAllocations(fn)
	if returnsEarly(fn) {
		g.returned = &frontend.Var{Name: "returned", Type: frontend.Bool}
		g.env[g.returned] = value{v: g.constBool(false)}
		if fn.Result != frontend.Void {
			g.result = &frontend.Var{Name: "result", Type: fn.Result}
			g.env[g.result] = value{v: g.zero(fn.Result)}
		}
	}
	g.stmts(fn.Body.Stmts)
	if !g.terminated {
		g.pos = fn.Body.Rbrace
		g.freeAll()
		if g.result != nil {
			g.op("func.return %s : %s", g.env[g.result].v, typ(fn.Result))
		} else {
			g.op("func.return")
		}
	}
	g.close("")
}

// returnsEarly reports whether fn has a return inside an if or a loop.
func returnsEarly(fn *frontend.Func) bool {
	for _, s := range fn.Body.Stmts {
		switch s.(type) {
		case *frontend.If, *frontend.While, *frontend.Block:
			if frontend.ContainsReturn(s) {
				return true
			}
		}
	}
	return false
}

// hoistAllocations allocates, at function entry, the local arrays whose sizes depend only on
// parameters that never change.
func (g *gen) hoistAllocations(fn *frontend.Func) {
	frontend.Inspect(fn.Body, func(n frontend.Node) bool {
		if site, ok := n.(*frontend.ArrayAlloc); ok && site.Hoist {
			g.pos = site.Pos
			a := g.allocate(site)
			g.hoisted[site] = a
			g.entry = append(g.entry, allocation{a.v, scalar(site.Elem)})
		}
		return true
	})
}

// freeAll frees every local array before the function returns.
func (g *gen) freeAll() {
	g.free(g.live)
	g.free(g.entry)
}

func (g *gen) free(list []allocation) {
	for _, a := range list {
		g.op("memref.dealloc %s : memref<?x%s>", a.v, a.elem)
	}
}

// packed emits _mlir_NAME(void **args): it loads each expanded C argument through args[i],
// rebuilds the memref descriptors, calls NAME and stores the result through args[N].
func (g *gen) packed(fn *frontend.Func) {
	g.pos = fn.Pos
	g.indent = 1
	g.open("func.func @%s(%%args: !llvm.ptr) {", abi.PackedName(fn.Name))
	slot := 0
	load := func(t string) string {
		p := g.fresh()
		g.op("%s = llvm.getelementptr %%args[%d] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr", p, slot)
		slot++
		a := g.fresh()
		g.op("%s = llvm.load %s : !llvm.ptr -> !llvm.ptr", a, p)
		v := g.fresh()
		g.op("%s = llvm.load %s : !llvm.ptr -> %s", v, a, t)
		return v
	}
	const desc = "!llvm.struct<(ptr, ptr, i64, array<1 x i64>, array<1 x i64>)>"
	var args, types []string
	for _, p := range fn.Params {
		if !p.Type.IsArray() {
			args = append(args, load(typ(p.Type)))
			types = append(types, typ(p.Type))
			continue
		}
		d := g.fresh()
		g.op("%s = llvm.mlir.undef : %s", d, desc)
		// allocated, aligned, offset, size, stride
		for _, field := range []struct{ t, pos string }{{"!llvm.ptr", "0"}, {"!llvm.ptr", "1"}, {"i64", "2"}, {"i64", "3, 0"}, {"i64", "4, 0"}} {
			v := load(field.t)
			next := g.fresh()
			g.op("%s = llvm.insertvalue %s, %s[%s] : %s", next, v, d, field.pos, desc)
			d = next
		}
		m := g.fresh()
		g.op("%s = builtin.unrealized_conversion_cast %s : %s to %s", m, d, desc, typ(p.Type))
		args = append(args, m)
		types = append(types, typ(p.Type))
	}
	if fn.Result == frontend.Void {
		g.op("func.call @%s(%s) : (%s) -> ()", fn.Name, strings.Join(args, ", "), strings.Join(types, ", "))
	} else {
		r := g.fresh()
		g.op("%s = func.call @%s(%s) : (%s) -> %s", r, fn.Name, strings.Join(args, ", "), strings.Join(types, ", "), typ(fn.Result))
		p := g.fresh()
		g.op("%s = llvm.getelementptr %%args[%d] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr", p, slot)
		a := g.fresh()
		g.op("%s = llvm.load %s : !llvm.ptr -> !llvm.ptr", a, p)
		g.op("llvm.store %s, %s : %s, !llvm.ptr", r, a, typ(fn.Result))
	}
	g.op("func.return")
	g.close("")
}
