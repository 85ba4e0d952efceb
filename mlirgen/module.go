// Package mlirgen prints a lowered SimpLang file (package lower) as textual MLIR that MLIR 19's
// mlir-opt and mlir-translate lower to LLVM IR (the pass pipeline is in package toolchain).
//
// Call Generate with a file from lower.Lower. Every function becomes a public func.func
// taking memref<?xT> for each array parameter and scalars by value, so that after lowering it
// has the expanded C signature of language §6 (package entry writes the packed entries and
// the signature table that go into the object beside it).
//
// Variables are SSA values: counted loops become scf.for (inside an omp.parallel region, a
// share per thread, where the lowering made them parallel), and other loops scf.while, each
// carrying exactly the variables its body assigns; if becomes scf.if yielding the variables
// its branches assign. Every return is at the function's top level (the lowering saw to it).
// Local arrays are heap memory freed when their block ends; the lowering's hoisted arrays
// are allocated once at function entry.
package mlirgen

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/lower"
)

// Generate returns the MLIR module for f.
func Generate(f *lower.File) (text string, err error) {
	defer f.Recover("mlirgen", &err)
	g := &gen{opts: f.Options, file: f.Name, runtime: map[string]string{}}
	g.line(0, "module {")
	for _, fn := range f.Funcs {
		g.function(fn)
	}
	for _, name := range slices.Sorted(maps.Keys(g.runtime)) {
		g.line(0, g.runtime[name])
	}
	end := "}"
	if g.opts.Debug {
		// The module's location names the file of the DWARF compile unit.
		end += " " + g.loc(frontend.Pos{Line: 1, Col: 1})
	}
	g.line(0, end)
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
	out     strings.Builder
	opts    lower.Options
	file    string
	runtime map[string]string // declarations of the run-time functions called, by name
	indent  int
	ids     int
	pos     frontend.Pos

	// per function
	fn         *lower.Func
	env        map[*frontend.Var]value
	hoisted    map[*frontend.ArrayAlloc]value
	split      string       // the address of the buffer of the function's parallel loops (abi.BalanceSymbol), an i64
	entry      []allocation // arrays allocated at function entry
	live       []allocation // arrays to free when their block ends
	terminated bool         // the function's top level has emitted its return
}

// allocation is a local array's memref and its element type, for freeing it.
type allocation struct{ v, elem string }

// value is the SSA form of a variable or expression: the value itself and, for an array of
// rank r > 1, the sizes of its r dimensions (as index values), to flatten and check indices.
type value struct {
	v     string
	dims  []string
	lanes bool // a variable of lower.Loop.Lanes inside its loop: laneType partial sums
}

// op writes one operation line at the current indentation with the current location.
func (g *gen) op(format string, args ...any) {
	g.line(g.indent, fmt.Sprintf(format, args...)+" "+g.loc(g.pos))
}

// loc is the location attribute of pos.
func (g *gen) loc(pos frontend.Pos) string {
	return fmt.Sprintf("loc(\"%s\":%d:%d)", mlirString(g.file), pos.Line, pos.Col)
}

// open writes a line that opens a region (no location: the op's location follows its
// closing brace), and close ends it.
func (g *gen) open(format string, args ...any) {
	g.line(g.indent, fmt.Sprintf(format, args...))
	g.indent++
}

func (g *gen) close() {
	g.indent--
	g.line(g.indent, "} "+g.loc(g.pos))
}

// mid writes a line between two regions of one op ("} else {", "} do {").
func (g *gen) mid(text string) { g.line(g.indent-1, text) }

// line writes one line of text, indented depth levels.
func (g *gen) line(depth int, text string) {
	g.out.WriteString(strings.Repeat("  ", depth) + text + "\n")
}

// def writes an operation that defines one value, "%r = " and then format, and returns %r.
// (The operands are evaluated first: an operation whose name must come before theirs
// takes a fresh name itself.)
func (g *gen) def(format string, args ...any) string {
	r := g.fresh()
	g.op("%s = "+format, append([]any{r}, args...)...)
	return r
}

func (g *gen) fresh() string {
	g.ids++
	return fmt.Sprintf("%%%d", g.ids)
}

// typ is the MLIR type of a SimpLang type (lower.TypeName of a scalar); arrays of any rank
// are flat memrefs.
func typ(t frontend.Type) string {
	k := lower.TypeName(t.Kind)
	if t.IsArray() {
		return "memref<?x" + k + ">"
	}
	return k
}

// function emits fn as a public func.func.
func (g *gen) function(fn *lower.Func) {
	g.fn, g.pos = fn, fn.Pos
	g.env = map[*frontend.Var]value{}
	g.hoisted = map[*frontend.ArrayAlloc]value{}
	g.entry, g.live, g.terminated = nil, nil, false

	var params []string
	for i, p := range fn.Params {
		name := fmt.Sprintf("%%arg%d", i)
		g.env[p] = value{v: name}
		attr := ""
		if p.Type.IsArray() {
			attr = " {llvm.noalias}" // language §6: array parameters never overlap
		}
		if g.opts.Debug {
			// Else the argument's location is in the .mlir text, whose line numbers the
			// line table would take for lines of the .sl file.
			attr += " " + g.loc(p.Pos)
		}
		params = append(params, fmt.Sprintf("%s: %s%s", name, typ(p.Type), attr))
	}
	result := ""
	if fn.Result != frontend.Void {
		result = " -> " + typ(fn.Result)
	}
	g.indent = 1
	g.open("func.func @%s(%s)%s {", fn.Name, strings.Join(params, ", "), result)
	for _, site := range fn.Hoisted {
		g.pos = site.Pos
		a := g.allocate(site)
		g.hoisted[site] = a
		g.entry = append(g.entry, allocation{a.v, lower.TypeName(site.Elem)})
	}
	g.split = ""
	if hasParallel(fn) {
		// The buffer of the function's parallel loops (parallelLoop), on its stack.
		buf := fmt.Sprintf("memref<%dxi64>", abi.SplitWords)
		at := g.def("memref.extract_aligned_pointer_as_index %s : %s -> index", g.def("memref.alloca() {alignment = %d : i64} : %s", abi.SplitAlign, buf), buf)
		g.split = g.def("arith.index_cast %s : index to i64", at)
	}
	g.stmts(fn.Body.Stmts)
	if !g.terminated { // a function without a result can end without a return
		g.pos = fn.Body.Rbrace
		g.freeAll()
		g.op("func.return")
	}
	if g.opts.Debug {
		// The function's location gives its DISubprogram the line, and in mlir-opt 19 the
		// column gives the scope line, the line of the prologue.
		g.pos = frontend.Pos{Line: fn.Pos.Line, Col: fn.Pos.Line}
	}
	g.close()
}

// hasParallel reports whether fn has a loop that runs in parallel.
func hasParallel(fn *lower.Func) bool {
	found := false
	frontend.Inspect(fn.Body, func(n frontend.Node) bool {
		if w, ok := n.(*frontend.While); ok {
			if l := fn.Loop(w); l != nil && l.Parallel {
				found = true
			}
		}
		return !found
	})
	return found
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
