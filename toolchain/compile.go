package toolchain

import (
	"context"
	"fmt"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/llvmgen"
	"github.com/simplang/simplang/lower"
	"github.com/simplang/simplang/mlirgen"
)

// Backend is the code generator a source file goes through.
type Backend uint8

// The backends. AutoBackend is MLIR where its tools are present, else LLVM IR.
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
// why says what decided, for a one-line note to the user.
func (t *Tools) Choose(b Backend) (chosen Backend, why string) {
	switch {
	case b != AutoBackend:
		return b, "asked for"
	case t.HasMLIR():
		return MLIR, "MLIR " + fmt.Sprint(MLIRVersion) + " tools found"
	}
	reason := "not found"
	if t.noMLIR != nil {
		reason = t.noMLIR.Error()
	}
	return LLVM, "MLIR tools unavailable (" + reason + ")"
}

// CompileOptions are the options of Compile.
type CompileOptions struct {
	Backend Backend
	// StrictFP keeps floating-point operations in source order (simpc --strict-fp).
	StrictFP bool
	// Serial turns off parallel loops.
	Serial bool
	// Build are the options of the tool run.
	Build Options
}

// Object is a compiled SimpLang file.
type Object struct {
	Path    string     // the shared object, ready for loader.Open
	Cached  bool       // no tool ran: the object came from the cache
	Backend Backend    // the backend that generated it
	Funcs   []abi.Func // its exported functions
}

// Generate parses and checks a SimpLang file and returns the code the backend generates for
// it: MLIR text, or LLVM IR text. Source errors come back as a *frontend.ErrorList. The
// backend must not be AutoBackend (see Choose).
func Generate(filename string, src []byte, backend Backend, opts CompileOptions) (string, *frontend.File, error) {
	f, err := frontend.Parse(filename, src)
	if err != nil {
		return "", nil, err
	}
	lowered, err := lower.Lower(f, lower.Options{StrictFP: opts.StrictFP, Serial: opts.Serial})
	if err != nil {
		return "", nil, err
	}
	var text string
	switch backend {
	case MLIR:
		text, err = mlirgen.Generate(lowered)
	case LLVM:
		text, err = llvmgen.Generate(lowered)
	default:
		return "", nil, fmt.Errorf("toolchain: backend %v cannot generate code", backend)
	}
	return text, f, err
}

// Compile turns a SimpLang source file into a shared object: it parses and checks the
// source, generates code with the chosen backend and runs the tools. Objects are cached by
// content, so compiling the same source with the same options again is instant.
func (t *Tools) Compile(ctx context.Context, filename string, src []byte, opts CompileOptions) (*Object, error) {
	backend, _ := t.Choose(opts.Backend)
	text, f, err := Generate(filename, src, backend, opts)
	if err != nil {
		return nil, err
	}
	var res Result
	if backend == MLIR {
		res, err = t.BuildMLIR(ctx, text, opts.Build)
	} else {
		res, err = t.BuildLLVM(ctx, text, opts.Build)
	}
	if err != nil {
		return nil, err
	}
	obj := &Object{Path: res.Path, Cached: res.Cached, Backend: backend}
	for _, fn := range f.Funcs {
		obj.Funcs = append(obj.Funcs, fn.Signature())
	}
	return obj, nil
}
