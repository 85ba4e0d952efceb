// Package compiler is the SimpLang compiler driver: it turns a .sl source file into a shared
// object, and that object into a loaded library. It parses and checks the source (package
// frontend), generates MLIR or LLVM IR text with the chosen backend (mlirgen or llvmgen) and
// has package toolchain build the text with the external tools.
//
//	tools, err := toolchain.Find()
//	...
//	lib, obj, err := compiler.Load(ctx, tools, "dot.sl", src, compiler.Options{})
//	defer lib.Close()
//	dot, err := compiler.Lookup(lib, want) // want: the abi.Func the caller expects
//
// Compile stops at the object (obj.Path, for loader.Open or a C program), Generate at the
// generated text (simpc --emit-mlir, --emit-llvm). Objects are cached by content inside
// toolchain, so compiling the same source with the same options again is instant.
package compiler

import (
	"context"
	"fmt"
	"golang.org/x/sys/cpu"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/entry"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/llvmgen"
	"github.com/simplang/simplang/lower"
	"github.com/simplang/simplang/mlirgen"
	"github.com/simplang/simplang/toolchain"
)

// Backend is the code generator a source file goes through.
type Backend uint8

// The backends. AutoBackend is MLIR where its tools are present, else LLVM IR (see Choose).
const (
	AutoBackend Backend = iota
	MLIR                // mlirgen → mlir-opt → mlir-translate → clang
	LLVM                // llvmgen (llir) → clang, or opt → llc → cc
)

func (b Backend) String() string {
	switch b {
	case MLIR:
		return "mlir"
	case LLVM:
		return "llvm"
	}
	return "auto"
}

// ParseBackend reads a backend name as the commands' --backend flag takes it.
func ParseBackend(name string) (Backend, error) {
	switch name {
	case "auto":
		return AutoBackend, nil
	case "mlir":
		return MLIR, nil
	case "llvm":
		return LLVM, nil
	}
	return 0, fmt.Errorf("unknown backend %q: use mlir, llvm or auto", name)
}

// Choose resolves AutoBackend for these tools: MLIR when its tools are present, else LLVM.
// Any other backend is returned as it is. why says what decided, for a one-line note to the
// user.
func Choose(tools *toolchain.Tools, b Backend) (chosen Backend, why string) {
	if b != AutoBackend {
		return b, "asked for"
	}
	if err := tools.CheckMLIR(); err != nil {
		return LLVM, "MLIR tools unavailable (" + err.Error() + ")"
	}
	return MLIR, "MLIR " + fmt.Sprint(toolchain.MLIRVersion) + " tools found"
}

// Options control a compilation. The zero value compiles with the backend Choose picks, with
// fast floating point and parallel loops, at -O3 for the host CPU, into the cache.
type Options struct {
	// Backend is the code generator; AutoBackend lets Choose pick.
	Backend Backend
	// StrictFP keeps floating-point operations in source order (simpc --strict-fp).
	StrictFP bool
	// Serial turns off parallel loops (simpc --serial).
	Serial bool
	// Unchecked leaves out the checks of array accesses and integer divisions (simpc
	// --unchecked), for validated code.
	Unchecked bool
	// Debug gives the object a DWARF line table pointing into the source file, under the
	// name the caller gave it, so that perf and gdb show SimpLang lines (simpc -g).
	Debug bool
	// OptLevel is the tools' optimisation level (simpc -O0 … -O3); the zero value is -O3.
	OptLevel toolchain.Level
	// March is the CPU to generate code for (simpc --march); empty means "native".
	March string
	// Route is how the LLVM IR becomes the object; toolchain.AnyRoute prefers clang.
	Route toolchain.Route
	// WorkDir, when set, is where the tools' intermediate files are written and kept
	// (simpc --keep); such a compilation always runs the tools.
	WorkDir string
	// Output is where to write the object (simpc -o). When empty, Object.Path is the cache
	// entry, or, when caching is off, a temporary file (Object.Temporary) that Load removes
	// once it has opened it and that other callers remove themselves.
	Output string
	// Jam says when parallel mat-vec loops run loops.JamRows rows at once: JamByCPU (the
	// zero value) where that streams faster on the CPU compiled for, JamAlways everywhere.
	Jam Jam
}

// Jam is the choice of Options.Jam.
type Jam uint8

const (
	JamByCPU  Jam = iota // jam rows except on CPUs where single rows stream faster (jamHurts)
	JamAlways            // jam rows wherever loops finds them worth it, whatever the CPU
)

// hostCPU reports whether the code is for the CPU it is compiled on (March empty or
// native), so that the CPU's features decide code shapes.
func (o Options) hostCPU() bool { return o.March == "" || o.March == "native" }

// buildOptions are the options of the tool run.
func (o Options) buildOptions() toolchain.BuildOptions {
	return toolchain.BuildOptions{OptLevel: o.OptLevel, March: o.March, Route: o.Route, Debug: o.Debug, WorkDir: o.WorkDir, Output: o.Output}
}

// Object is a compiled SimpLang file.
type Object struct {
	Path      string     // the shared object, ready for loader.Open
	Cached    bool       // no tool ran: the object came from the cache
	Temporary bool       // Path is this compilation's own file (caching off): the caller removes it
	Backend   Backend    // the backend that generated it
	Funcs     []abi.Func // its exported functions
}

// Generate parses, checks and lowers a SimpLang file and returns the code opts.Backend
// generates for it, MLIR text or LLVM IR text, with the lowered file. Source errors come back
// as a *frontend.ErrorList. The backend must not be AutoBackend (see Choose); only the
// backend, StrictFP, Serial, Unchecked, Debug and Jam of opts matter here.
func Generate(filename string, src []byte, opts Options) (string, *lower.File, error) {
	f, err := frontend.Parse(filename, src)
	if err != nil {
		return "", nil, err
	}
	lowered, err := lower.Lower(f, lower.Options{StrictFP: opts.StrictFP, Serial: opts.Serial, Unchecked: opts.Unchecked, Debug: opts.Debug, AVX512BW: opts.hostCPU() && cpu.X86.HasAVX512BW,
		AVX512VNNI:      opts.hostCPU() && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VNNI,
		NoJam:           opts.Jam == JamByCPU && opts.hostCPU() && jamHurts(),
		NoFloatPrefetch: opts.hostCPU() && floatPrefetchHurts(),
		PrefetchOnce:    opts.hostCPU() && repeatedPrefetchHurts(), HalfVectorWidth: halfVectorWidth(opts.hostCPU())})
	if err != nil {
		return "", nil, err
	}
	var text string
	switch opts.Backend {
	case MLIR:
		text, err = mlirgen.Generate(lowered)
	case LLVM:
		text, err = llvmgen.Generate(lowered)
	default:
		return "", nil, fmt.Errorf("compiler: backend %v cannot generate code", opts.Backend)
	}
	return text, lowered, err
}

// Compile turns a SimpLang source file into a shared object: it chooses the backend (see
// Choose), generates code (see Generate) and has tools build it. Objects are cached by
// content, so compiling the same source with the same options again is instant.
func Compile(ctx context.Context, tools *toolchain.Tools, filename string, src []byte, opts Options) (*Object, error) {
	opts.Backend, _ = Choose(tools, opts.Backend)
	text, f, err := Generate(filename, src, opts)
	if err != nil {
		return nil, err
	}
	// The packed entries and the signature table come with every object (package entry).
	build := opts.buildOptions()
	build.Extra = []string{entry.Module(f.Signatures(), f.Sites)}
	var built toolchain.Built
	if opts.Backend == MLIR {
		built, err = tools.BuildMLIR(ctx, text, build)
	} else {
		built, err = tools.BuildLLVM(ctx, text, build)
	}
	if err != nil {
		return nil, err
	}
	return &Object{Path: built.Path, Cached: built.Cached, Temporary: built.Temporary, Backend: opts.Backend, Funcs: f.Signatures()}, nil
}
