// Command simpc compiles a SimpLang source file into a shared object, or emits the MLIR or
// LLVM IR it generates.
//
//	simpc FILE.sl -o lib.so               build a shared object
//	simpc FILE.sl --emit-mlir -o out.mlir  write the MLIR module
//	simpc FILE.sl --emit-llvm -o out.ll    write the LLVM IR module (the llir backend)
//
// Run simpc --help for every option. simpc exits 1 when the source has errors or a tool
// fails, and 2 when the command line is wrong.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/outfile"
	"github.com/simplang/simplang/toolchain"
)

const usage = `usage: simpc FILE.sl [options]

Compiles a SimpLang file into a shared object whose functions are exported with the C ABI
of docs/language.md §6 (and as packed _mlir_NAME entries for loaders such as package loader).

options:
  -o FILE        output file (default: FILE.so, or FILE.mlir / FILE.ll with --emit-*;
                 "-" writes emitted text to standard output)
  --emit-mlir    write the generated MLIR module instead of building
  --emit-llvm    write the generated LLVM IR module (llir backend) instead of building
  --backend B    code generator: mlir, llvm or auto (default auto: MLIR when its tools
                 are installed, else LLVM IR)
  -O0 … -O3      optimisation level (default -O3)
  --strict-fp    keep floating-point operations in source order: no reassociation or
                 fused multiply-add (reductions then do not vectorize)
  --serial       do not run independent loop iterations in parallel (OpenMP)
  --unchecked    leave out the checks of array indices and integer divisors, for
                 validated code (an index out of range is then undefined, as in C)
  --march CPU    CPU to generate code for (default native)
  -g             give the object a DWARF line table pointing into FILE.sl (under the
                 name given), for perf, gdb and other tools that show source lines
  --keep DIR     keep the intermediate files of the build in DIR
  --version      show the external tools found
  -h, --help     show this help

The tools come from scripts/install-toolchain.sh (Debian: mlir-19-tools clang-19
libomp-19-dev). SIMPLANG_MLIR_BIN, SIMPLANG_CLANG and SIMPLANG_LLVM_BIN choose other
tool locations; SIMPLANG_CACHE the cache of built objects ("off" disables it).
`

// usageError is a mistake on the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// config is the parsed command line.
type config struct {
	input, output string
	emit          string // "", "mlir" or "llvm"
	version       bool
	opts          compiler.Options
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseArgs(args)
	if err != nil {
		if err == errHelp {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprintf(stderr, "simpc: %v\nRun simpc --help for usage.\n", err)
		return 2
	}
	if err := compile(cfg, stdout, stderr); err != nil {
		var source *frontend.ErrorList // file:line:col: lines, as compilers print them
		if errors.As(err, &source) {
			fmt.Fprintf(stderr, "%v\n", err)
		} else {
			fmt.Fprintf(stderr, "simpc: %v\n", err)
		}
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	return 0
}

var errHelp = errors.New("help")

func parseArgs(args []string) (*config, error) {
	cfg := &config{}
	backend := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		value := func() (string, error) {
			if i+1 >= len(args) {
				return "", usageError{a + " needs a value"}
			}
			i++
			return args[i], nil
		}
		var err error
		switch name := strings.TrimLeft(a, "-"); {
		case a == "-h" || a == "--help" || a == "-help":
			return nil, errHelp
		case a == "-o":
			cfg.output, err = value()
		case name == "emit-mlir" && a != name:
			cfg.emit = "mlir"
		case name == "emit-llvm" && a != name:
			cfg.emit = "llvm"
		case name == "backend" && a != name:
			backend, err = value()
		case strings.HasPrefix(a, "--backend="):
			backend = strings.TrimPrefix(a, "--backend=")
		case name == "strict-fp" && a != name:
			cfg.opts.StrictFP = true
		case name == "serial" && a != name:
			cfg.opts.Serial = true
		case name == "unchecked" && a != name:
			cfg.opts.Unchecked = true
		case name == "march" && a != name:
			cfg.opts.March, err = value()
		case a == "-g":
			cfg.opts.Debug = true
		case name == "keep" && a != name:
			cfg.opts.WorkDir, err = value()
		case name == "version" && a != name:
			cfg.version = true
		case len(a) == 3 && strings.HasPrefix(a, "-O") && a[2] >= '0' && a[2] <= '3':
			cfg.opts.OptLevel = toolchain.O0 + toolchain.Level(a[2]-'0')
		case strings.HasPrefix(a, "-") && a != "-":
			return nil, usageError{fmt.Sprintf("unknown option %s", a)}
		case cfg.input != "":
			return nil, usageError{fmt.Sprintf("one input file at a time: have %s and %s", cfg.input, a)}
		default:
			cfg.input = a
		}
		if err != nil {
			return nil, err
		}
	}
	if backend != "" {
		b, err := compiler.ParseBackend(backend)
		if err != nil {
			return nil, usageError{err.Error()}
		}
		cfg.opts.Backend = b
	}
	switch {
	case cfg.version:
		return cfg, nil
	case cfg.input == "":
		return nil, usageError{"no input file"}
	case cfg.emit == "llvm" && cfg.opts.Backend == compiler.MLIR, cfg.emit == "mlir" && cfg.opts.Backend == compiler.LLVM:
		return nil, usageError{"--emit-" + cfg.emit + " contradicts --backend " + backend}
	}
	if cfg.output == "" {
		ext := ".so"
		if cfg.emit != "" {
			ext = map[string]string{"mlir": ".mlir", "llvm": ".ll"}[cfg.emit]
		}
		cfg.output = strings.TrimSuffix(cfg.input, ".sl") + ext
	}
	return cfg, nil
}

func compile(cfg *config, stdout, stderr io.Writer) error {
	if cfg.version {
		tools, err := toolchain.Find()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "simpc (SimpLang compiler)\n%s", tools)
		return nil
	}
	src, err := os.ReadFile(cfg.input)
	if err != nil {
		return err
	}
	if cfg.output != "-" { // checked before the work, which a bad -o would waste
		if err := outfile.Check(cfg.output, cfg.input); err != nil {
			return usageError{"-o " + err.Error()}
		}
	}
	if cfg.emit != "" {
		cfg.opts.Backend = compiler.MLIR
		if cfg.emit == "llvm" {
			cfg.opts.Backend = compiler.LLVM
		}
		text, lowered, err := compiler.Generate(cfg.input, src, cfg.opts)
		if err != nil {
			return err
		}
		warnEmpty(stderr, cfg.input, len(lowered.Signatures()))
		if cfg.output == "-" {
			_, err = io.WriteString(stdout, text)
			return err
		}
		out, err := outfile.Create(cfg.output, 0o644, cfg.input)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(out, text); err != nil {
			out.Abort()
			return fmt.Errorf("writing %s: %v", cfg.output, err)
		}
		return out.Commit()
	}
	tools, err := toolchain.Find()
	if err != nil {
		return err
	}
	if chosen, why := compiler.Choose(tools, cfg.opts.Backend); cfg.opts.Backend == compiler.AutoBackend && chosen != compiler.MLIR {
		fmt.Fprintf(stderr, "simpc: using the %v backend: %s\n", chosen, why)
	}
	if cfg.output == "-" {
		return usageError{"a shared object cannot go to standard output; name a file with -o"}
	}
	cfg.opts.Output = cfg.output
	obj, err := compiler.Compile(context.Background(), tools, cfg.input, src, cfg.opts)
	if err != nil {
		return err
	}
	warnEmpty(stderr, cfg.input, len(obj.Funcs))
	return nil
}

// warnEmpty says when a file defines no function: its output is valid but exports nothing,
// which is more likely a wrong file than the intent.
func warnEmpty(stderr io.Writer, input string, funcs int) {
	if funcs == 0 {
		fmt.Fprintf(stderr, "simpc: warning: %s defines no functions: the output exports nothing\n", input)
	}
}
