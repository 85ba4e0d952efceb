// Package lower turns a checked SimpLang file into the form both code generators print, and
// makes every decision that does not depend on their target syntax:
//
//   - the array builtins (rmsnorm, softmax, silu, matmul) become the plain loops that define
//     them, so that their loops are analysed, vectorized and parallelized like any other;
//   - a return inside an if, a loop or a block becomes a flag the code after it tests
//     (returns.go), so every return is a statement of the function body itself;
//   - an && or || whose right operand could trap or has effects (not frontend.Harmless)
//     becomes `t = x; if (t) { t = y; }` (flatten.go): the generators evaluate both
//     operands of the others;
//   - loops with independent iterations (package loops) become the code that chooses, when
//     the loop starts, between running it serially, on threads, or jammed on threads
//     (parallel.go); the generators only mark the loops of Func.Loop as parallel;
//   - unless Unchecked, a counted loop's bound that holds a checked division is computed once,
//     just before the loop (bounds.go), so that its check leaves the loop counted;
//   - unless Unchecked, array accesses and integer divisions are checked (checks.go): an
//     innermost loop whose accesses are affine in its counter is tested once, before it, and
//     runs unchecked when they stay in range; the other accesses test each time;
//   - byte dot-product loops take whole chunks through the internal builtin Dot (dot.go),
//     and the loops that scale and sum such dot products group by group keep their sums in
//     vector lanes (ScaledDot, lanes.go);
//   - unless StrictFP, loops that fold values by min or max keep a vector's worth of partial
//     results (reductions.go);
//   - conversions from and to f16 and bf16, other than between f16 and f32, become integer
//     and f32 code (half.go);
//   - local arrays whose sizes never change are allocated once at function entry (Hoisted);
//   - function names that would clash with the C and OpenMP symbols of the compiled code
//     are rejected (symbols.go);
//   - the machine operation each operator, conversion and scalar builtin needs is chosen
//     once, in LLVM's names, for both generators to print in their syntax (ops.go).
//
// Call Lower with a file from frontend.Parse; it rewrites the file's function bodies in
// place. The result is still a frontend tree, with the same meaning: a generator walks
// Func.Body and asks Func.Loop about each while loop.
package lower

import (
	"fmt"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/loops"
)

// Options select code generation policies.
type Options struct {
	// StrictFP keeps floating-point operations in source order: no reassociation or fused
	// multiply-add (language §4), at the cost of vectorized reductions.
	StrictFP bool
	// Serial turns off parallel loops.
	Serial bool
	// Unchecked leaves out the checks of array accesses and integer divisions (language
	// §4.1), for code that has been validated.
	Unchecked bool
	// AVX512BW says the target CPU has AVX-512 BW: Dot then multiplies with its pairwise
	// multiply-add (vpmaddwd, which LLVM fuses with the running sum into vpdpwssd where the
	// CPU has VNNI). Otherwise Dot is plain vector arithmetic that any target compiles, and
	// that LLVM's reassociation leaves too scrambled for either instruction.
	AVX512BW bool
	// AVX512VNNI says the target CPU has AVX-512 VNNI (and BW): the loops on lanes of q8 and
	// q4 mat-vecs then take two q8 or four q4 groups a step into vpdpbusd (lanes.go).
	AVX512VNNI bool
	// Debug asks the generators for the source positions that become a DWARF line table
	// pointing into the .sl file (simpc -g); without it their text has none.
	Debug bool
	// NoJam runs every parallel mat-vec loop one row at a time, never loops.JamRows rows at
	// once: for CPUs on which single rows stream faster (see loops.JamRows).
	NoJam bool
	// NoFloatPrefetch leaves out the prefetch of the rows that float dots stream (f32 and
	// bf16 mat-vecs, floatdot.go): for CPUs whose own prefetchers stream them faster.
	NoFloatPrefetch bool
	// PrefetchOnce has the grouped loops of q8 and q4 mat-vecs ask for each line of their
	// weights once instead of PrefetchTimes times: for CPUs on which the repeated requests
	// cost more than they bring.
	PrefetchOnce bool
	// HalfVectorWidth is how many f32 values the target converts from or to f16 in one
	// instruction (8 with F16C, 16 with AVX-512), or 0: the innermost loops that convert f16
	// values then ask LLVM to vectorize them that wide (Loop.VectorWidth).
	HalfVectorWidth int
}

// File is a lowered file.
type File struct {
	Name    string
	Funcs   []*Func
	Options Options
	Sites   []abi.Site // where the checks are, numbered as the code reports them
}

// Signatures lists the exported functions' signatures, in file order, with the array
// parameters each may write.
func (f *File) Signatures() []abi.Func {
	sigs := make([]abi.Func, len(f.Funcs))
	for i, fn := range f.Funcs {
		sigs[i] = fn.Signature()
		for j, p := range fn.Params {
			sigs[i].Params[j].Written = fn.written[p]
		}
	}
	return sigs
}

// Recover, deferred by a code generator, turns its panic into the error *err. A generator
// trusts the lowered tree; a tree that breaks its invariants is a bug there or here, reported
// as an error rather than a crash of the caller.
func (f *File) Recover(generator string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%s: internal error on %s: %v", generator, f.Name, r)
	}
}

// Func is a lowered function: its body holds only returns at its top level and no array
// builtins.
type Func struct {
	*frontend.Func
	// Hoisted are the local arrays allocated once, at function entry, in the order of the
	// source (their dimensions read only constants and parameters that never change). Where
	// the source creates one, it is zeroed again.
	Hoisted []*frontend.ArrayAlloc
	loops   map[*frontend.While]*Loop
	roots   frontend.Roots
	written map[*frontend.Var]bool // array parameters the function may write (markWritten)
}

// Loop describes a counted while loop (see loops.Count).
type Loop struct {
	*loops.Counted
	// Parallel loops run their iterations on the threads of a parallel region, and leave
	// their counter alone: the generator sets it to Final afterwards.
	Parallel bool
	// Limit is the exclusive bound, in CmpType; Final the counter's value after the loop.
	// Both are evaluated with the counter holding its value from before the loop.
	Limit, Final frontend.Expr
	// Lanes are f32 variables that the body updates only by `s = s + ScaledDot(…)` (see
	// lanes.go): the generator holds each as DotChunk/2 partial sums through the loop, from
	// zero, and adds their total to the variable after it.
	Lanes []*frontend.Var
	// Rolled loops are to stay as written: the generator tells LLVM not to unroll them. The
	// loops on lanes are: their body already runs one vector per partial sum, and unrolled
	// (LLVM picks 8 times) the f32 decode step took 1.08–1.09 times as long (README, "Rolled
	// dot loops").
	Rolled bool
	// Captured are, for a parallel loop, the variables declared outside its body that the
	// body reads (it assigns none of them): what a region on other threads must be given.
	Captured []Capture
	// VectorWidth, when not 0, is the width (in elements) the generator asks LLVM to
	// vectorize the loop at, one vector a trip (no interleaving): set on innermost loops that
	// convert f16 values (halfLoop).
	VectorWidth int
}

// Capture is a variable a parallel loop's body reads. NoAlias marks an array that may share
// memory with no other captured array.
type Capture struct {
	Var     *frontend.Var
	NoAlias bool
}

// Loop returns the description of a counted loop of the function, or nil for another loop.
func (f *Func) Loop(w *frontend.While) *Loop { return f.loops[w] }

// MayAlias reports whether array variables a and b may refer to the same memory.
func (f *Func) MayAlias(a, b *frontend.Var) bool { return f.roots.MayAlias(a, b) }

// Lower lowers a checked file. Source errors (names that clash with the runtime's symbols)
// come back as a *frontend.ErrorList.
func Lower(f *frontend.File, opts Options) (*File, error) {
	errs := frontend.NewErrorList(f)
	checkSymbols(f, errs)
	if err := errs.Err(); err != nil {
		return nil, err
	}
	out := &File{Name: f.Name, Options: opts}
	for _, fn := range f.Funcs {
		out.Funcs = append(out.Funcs, out.lowerFunc(fn))
	}
	markWritten(out.Funcs)
	return out, nil
}

func (f *File) lowerFunc(fn *frontend.Func) *Func {
	var byRows frontend.Roots
	if !f.Options.StrictFP {
		byRows = frontend.ArrayRoots(fn)
	}
	fn.Body.Stmts = expandBuiltins(fn.Body.Stmts, byRows)
	flagReturns(fn)
	if !f.Options.Unchecked {
		hoistBounds(fn.Body)
	}
	tiledRows := map[*frontend.While]bool{}
	if !f.Options.StrictFP {
		fn.Body.Stmts = tileGEMMs(fn.Body.Stmts, frontend.ArrayRoots(fn), tiledRows, false)
	}
	info := loops.Analyze(fn, !f.Options.Serial)
	// The row blocks of a tiled product run on threads without a run-time test of their
	// work: loops' estimate cannot see the blocks' stretches of p, which start from a
	// variable, and would keep them serial.
	for w := range tiledRows {
		if c := info.Counted(w); c != nil {
			c.Parallel = false
		}
	}
	parallel := parallelize(fn.Body, info, f.Options.NoJam)
	if !f.Options.Serial {
		for w := range tiledRows {
			parallel[w] = true
		}
	}
	if !f.Options.Unchecked {
		addChecks(fn, f.Name, &f.Sites, parallel)
	}
	lanes := map[*frontend.While][]*frontend.Var{}
	if !f.Options.StrictFP {
		fn.Body.Stmts = laneDots(fn.Body.Stmts, lanes, f.Options.AVX512VNNI, f.Options.PrefetchOnce, frontend.ArrayRoots(fn))
		fn.Body.Stmts = reduceLanes(fn.Body.Stmts)
		fn.Body.Stmts = floatDots(fn.Body.Stmts, lanes, !f.Options.NoFloatPrefetch)
	}
	fn.Body.Stmts = fuseDots(fn.Body.Stmts)
	last := expander{halves: true, shortCircuits: true}
	fn.Body.Stmts = last.stmts(fn.Body.Stmts)
	lf := &Func{Func: fn, Hoisted: hoisted(fn), loops: map[*frontend.While]*Loop{}, roots: frontend.ArrayRoots(fn)}
	frontend.Inspect(fn.Body, func(n frontend.Node) bool {
		if w, ok := n.(*frontend.While); ok {
			if c := loops.Count(w); c != nil {
				l := &Loop{Counted: c, Parallel: parallel[w], Limit: c.Limit(), Final: c.Final(), Lanes: lanes[w], Rolled: len(lanes[w]) > 0}
				if l.Parallel {
					l.Captured = lf.captured(l)
				} else if halfLoop(c.Body) {
					l.VectorWidth = f.Options.HalfVectorWidth
				}
				lf.loops[w] = l
			}
		}
		return true
	})
	return lf
}

// captured lists the variables declared outside loop l that its body reads, in the order
// of their first use.
func (f *Func) captured(l *Loop) []Capture {
	inside := map[*frontend.Var]bool{l.Var: true}
	for _, s := range l.Body {
		frontend.Inspect(s, func(n frontend.Node) bool {
			if d, ok := n.(*frontend.VarDecl); ok {
				inside[d.Var] = true
			}
			return true
		})
	}
	var vars []*frontend.Var
	for _, s := range l.Body {
		frontend.Inspect(s, func(n frontend.Node) bool {
			if id, ok := n.(*frontend.Ident); ok && !inside[id.Var] {
				inside[id.Var] = true
				vars = append(vars, id.Var)
			}
			return true
		})
	}
	caps := make([]Capture, len(vars))
	for i, v := range vars {
		caps[i] = Capture{Var: v, NoAlias: v.Type.IsArray()}
		for _, w := range vars {
			if w != v && w.Type.IsArray() && f.MayAlias(v, w) {
				caps[i].NoAlias = false
			}
		}
	}
	return caps
}

// hoisted lists the allocation sites whose dimensions read only constants and parameters
// that the function never assigns, and cannot trap: their memory can be allocated once at
// entry.
func hoisted(fn *frontend.Func) []*frontend.ArrayAlloc {
	changing := map[*frontend.Var]bool{}
	for _, v := range frontend.Assigned(fn.Body) {
		changing[v] = true
	}
	frontend.Inspect(fn.Body, func(n frontend.Node) bool {
		if d, ok := n.(*frontend.VarDecl); ok {
			changing[d.Var] = true // not a parameter
		}
		return true
	})
	var sites []*frontend.ArrayAlloc
	frontend.Inspect(fn.Body, func(n frontend.Node) bool {
		if site, ok := n.(*frontend.ArrayAlloc); ok && invariantDims(site, changing) {
			sites = append(sites, site)
		}
		return true
	})
	return sites
}

func invariantDims(site *frontend.ArrayAlloc, changing map[*frontend.Var]bool) bool {
	for _, d := range site.Dims {
		if !loops.Invariant(d, changing) || !frontend.Harmless(d) {
			return false
		}
	}
	return true
}
