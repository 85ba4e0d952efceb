package toolchain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// Level is an optimisation level. The zero value is the default, -O3, so that BuildOptions{}
// asks for fast code; O0 to O3 ask for a level explicitly.
type Level uint8

// The optimisation levels.
const (
	DefaultLevel Level = iota
	O0
	O1
	O2
	O3
)

// number is the level as the tools spell it after -O.
func (l Level) number() (int, error) {
	switch {
	case l == DefaultLevel:
		return 3, nil
	case l <= O3:
		return int(l - O0), nil
	}
	return 0, fmt.Errorf("toolchain: optimisation level %d is not one of DefaultLevel, O0, O1, O2, O3", l)
}

// Route is how LLVM IR becomes a shared object.
type Route uint8

// The routes. Both give the same code quality: llc alone would not vectorize, so the
// opt+llc route runs opt at the same level first.
const (
	AnyRoute  Route = iota // clang when it can read the IR, else opt+llc+cc
	ViaClang               // clang -O… -shared
	ViaOptLLC              // opt -O…, llc -filetype=obj, cc -shared
)

// BuildOptions control a build. The zero value builds at -O3 for the host CPU and caches the
// object.
type BuildOptions struct {
	OptLevel Level
	// March is the CPU to generate code for, as clang's -march and llc's -mcpu take it;
	// empty means "native".
	March string
	// OpenMP links libomp even if the IR does not call it; it is linked anyway when the
	// IR calls __kmpc_* functions (what MLIR's OpenMP lowering emits).
	OpenMP bool
	// Route is how the LLVM IR becomes the object; AnyRoute prefers clang.
	Route Route
	// Debug keeps the source locations of an MLIR module (its ops' loc attributes) through
	// mlir-opt and turns them into a DWARF line table: each llvm.func gets a debug scope
	// named after its location's file. LLVM IR text needs nothing: the tools keep the debug
	// metadata it carries, at every optimisation level.
	Debug bool
	// Extra are further LLVM IR modules (LLVM 14 syntax or newer) compiled into the same
	// object, such as packed entry points written beside an MLIR module.
	Extra []string
	// Output is where to write the object. When empty, Built.Path is the cache entry; or,
	// with caching off, WorkDir/kernel.so, else a new temporary file the caller removes.
	Output string
	// WorkDir, when set, is where the intermediate files are written and kept, for
	// debugging; a build with a WorkDir always runs the tools (it still fills the cache).
	// Otherwise they go to a private temporary directory that is removed afterwards.
	WorkDir string
}

// Built is the shared object a build produced.
type Built struct {
	Path   string // the object, ready to dlopen
	Cached bool   // the object came from the cache: no tool ran
	// Temporary says Path is a file of this build alone (caching off, no Output or
	// WorkDir), which the caller removes once it has opened it.
	Temporary bool
}

// passes is the mlir-opt pipeline, in order, that lowers the dialects the code generators
// emit (func, scf, cf, arith, math, memref, vector, omp) to the LLVM dialect. Order matters:
// memref before scf-to-cf, math-to-llvm before math-to-libm. arith-expand rewrites
// arith.ceildivsi into plain arithmetic: convert-to-llvm has no lowering for it.
var passes = []string{
	"--convert-scf-to-openmp",
	"--arith-expand",
	"--expand-strided-metadata",
	"--finalize-memref-to-llvm",
	"--convert-scf-to-cf",
	"--convert-vector-to-llvm=reassociate-fp-reductions",
	"--convert-math-to-llvm",
	"--convert-math-to-libm",
	"--convert-openmp-to-llvm",
	"--convert-to-llvm",
	"--reconcile-unrealized-casts",
}

// debugPasses follow passes in a Debug build: they give every llvm.func a DISubprogram
// scope (from its loc), and make mlir-opt write the locations, which it otherwise drops, so
// that mlir-translate turns them into !dbg metadata.
var debugPasses = []string{"--ensure-debug-info-scope-on-llvm-func", "--mlir-print-debuginfo"}

// The file names of a build, relative to its work directory.
const (
	mlirFile    = "kernel.mlir"
	loweredFile = "kernel.llvm.mlir"
	llFile      = "kernel.ll"
	soFile      = "kernel.so"
)

// BuildMLIR lowers an MLIR module (func, scf, arith, math, memref, vector dialects) with
// mlir-opt and mlir-translate and compiles the resulting LLVM IR into a shared object.
func (t *Tools) BuildMLIR(ctx context.Context, mlir string, opts BuildOptions) (Built, error) {
	if err := t.CheckMLIR(); err != nil {
		return Built{}, err
	}
	return t.build(ctx, true, mlir, opts)
}

// BuildLLVM compiles an LLVM IR module (LLVM 14 syntax with typed pointers, as
// github.com/llir/llvm writes it, or newer) into a shared object.
func (t *Tools) BuildLLVM(ctx context.Context, ll string, opts BuildOptions) (Built, error) {
	return t.build(ctx, false, ll, opts)
}

// step is one tool invocation; file arguments are relative to the work directory.
type step struct {
	tool Tool
	args []string
}

var marchRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (t *Tools) build(ctx context.Context, isMLIR bool, src string, opts BuildOptions) (Built, error) {
	level, err := opts.OptLevel.number()
	if err != nil {
		return Built{}, err
	}
	march := opts.March
	if march == "" {
		march = "native"
	}
	if !marchRE.MatchString(march) {
		return Built{}, fmt.Errorf("toolchain: March %q is not a CPU name (such as native, x86-64-v3, znver3)", march)
	}
	route, err := t.route(isMLIR, opts.Route)
	if err != nil {
		return Built{}, err
	}

	inputs := map[string]string{llFile: src}
	var front []step // steps that make llFile
	if isMLIR {
		inputs = map[string]string{mlirFile: src}
		args := append([]string{mlirFile}, passes...)
		if opts.Debug {
			args = append(args, debugPasses...)
		}
		front = []step{
			{t.MLIROpt, append(args, "-o", loweredFile)},
			{t.MLIRTranslate, []string{"--mlir-to-llvmir", loweredFile, "-o", llFile}},
		}
	}
	lls := []string{llFile}
	for i, x := range opts.Extra {
		name := "extra" + strconv.Itoa(i+1) + ".ll"
		inputs[name] = x
		lls = append(lls, name)
	}
	back := func(omp bool) []step { return t.back(route, level, march, lls, omp) }

	key := t.key(inputs, append(append([]step(nil), front...), back(opts.OpenMP)...), march)
	cached := ""
	if t.CacheDir != "" {
		cached = filepath.Join(t.CacheDir, key+".so")
		if opts.WorkDir == "" && isFile(cached) {
			return deliver(cached, opts.Output, true)
		}
	}

	dir := opts.WorkDir
	if dir == "" {
		removeLeftovers()
		if dir, err = os.MkdirTemp("", ownTemp(buildDirPrefix, "")); err != nil {
			return Built{}, fmt.Errorf("toolchain: %v", err)
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return Built{}, fmt.Errorf("toolchain: work directory: %v", err)
	}
	if err := t.make(ctx, dir, inputs, front, lls, back, opts.OpenMP); err != nil {
		return Built{}, err
	}
	return t.store(filepath.Join(dir, soFile), cached, opts)
}

// make writes the inputs to dir and runs the steps that turn them into soFile there,
// linking libomp when the LLVM IR files lls call it.
func (t *Tools) make(ctx context.Context, dir string, inputs map[string]string, front []step, lls []string,
	back func(omp bool) []step, omp bool) error {
	for name, text := range inputs {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return fmt.Errorf("toolchain: %v", err)
		}
	}
	for _, s := range front {
		if err := t.run(ctx, dir, s); err != nil {
			return err
		}
	}
	for _, name := range lls {
		text, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("toolchain: %v", err)
		}
		omp = omp || bytes.Contains(text, []byte("__kmpc_"))
	}
	if omp && t.OMPDir == "" {
		if t.noOMP != nil {
			return t.noOMP
		}
		return &MissingError{Tool: "libomp.so"}
	}
	for _, s := range back(omp) {
		if err := t.run(ctx, dir, s); err != nil {
			return err
		}
	}
	return nil
}

// store puts the object built into the cache entry cached (unless caching is off) and
// where opts ask for it.
func (t *Tools) store(built, cached string, opts BuildOptions) (Built, error) {
	if cached != "" {
		err := os.MkdirAll(t.CacheDir, 0o755)
		if err == nil {
			err = install(built, cached)
		}
		if err != nil {
			return Built{}, fmt.Errorf("toolchain: cache: %v (set SIMPLANG_CACHE to a writable directory, or to off)", err)
		}
		return deliver(cached, opts.Output, false)
	}
	switch {
	case opts.Output != "":
		return deliver(built, opts.Output, false)
	case opts.WorkDir != "":
		return Built{Path: built}, nil
	}
	f, err := os.CreateTemp("", ownTemp(objectPrefix, ".so"))
	if err != nil {
		return Built{}, fmt.Errorf("toolchain: %v", err)
	}
	f.Close()
	if err := install(built, f.Name()); err != nil {
		os.Remove(f.Name())
		return Built{}, fmt.Errorf("toolchain: %v", err)
	}
	return Built{Path: f.Name(), Temporary: true}, nil
}

// route picks the route for IR from MLIR (LLVM 19 IR, which older LLVM cannot read) or from
// the LLVM backend (any version we accept).
func (t *Tools) route(isMLIR bool, want Route) (Route, error) {
	need := minLLVM
	if isMLIR {
		need = MLIRVersion
	}
	clang := t.usable("clang", need, t.noClang, t.Clang)
	optLLC := t.usable("opt", need, t.noOptLLC, t.Opt, t.LLC, t.CC)
	switch want {
	case AnyRoute:
		if clang == nil {
			return ViaClang, nil
		}
		if optLLC == nil {
			return ViaOptLLC, nil
		}
		return 0, errors.Join(clang, optLLC)
	case ViaClang:
		return ViaClang, clang
	case ViaOptLLC:
		return ViaOptLLC, optLLC
	}
	return 0, fmt.Errorf("toolchain: unknown route %d", want)
}

// usable says why tools (the first of which has an LLVM version) cannot compile IR that
// needs LLVM version need; nil when they can.
func (t *Tools) usable(name string, need int, missing error, tools ...Tool) error {
	for _, tool := range tools {
		if tool.Path == "" {
			if missing != nil {
				return missing
			}
			return &MissingError{Tool: name}
		}
	}
	if tools[0].Major < need {
		return &MissingError{Tool: name, Rejected: []string{fmt.Sprintf(
			"%s reports %q, but MLIR %d output needs LLVM %d or newer", tools[0].Path, tools[0].Version, MLIRVersion, need)}}
	}
	return nil
}

// back lists the steps that turn the LLVM IR files lls into soFile, with LLVM's own choice
// of accumulators and, where the CPU has AVX-512, 512-bit vectors: measured 2026-12-01 (AMD
// EPYC, AVX-512), the 512-bit vectors and four accumulators LLVM picks there ran matrix
// products 1.3–1.9× and unchecked decode 6–12% faster than 256-bit vectors with two, and
// checked decode alike (README). On Intel's server cores (Sapphire Rapids) LLVM's tuning
// (prefer-256-bit) keeps loops at 256 bits; without it, 2026-12-02, 2 threads, 125M decode
// on 4 KiB pages ran f32 8%, bf16 11%, q4 4% and q8 1% faster, so wideVectors turns it off.
func (t *Tools) back(route Route, level int, march string, lls []string, omp bool) []step {
	o := "-O" + strconv.Itoa(level)
	// -Bsymbolic binds the object's calls of its own functions (kernels calling kernels, the
	// packed entries of package entry) to its own definitions, even where a kernel has the
	// name of a C library function (div, abs), which would otherwise take its place.
	libs := []string{"-Wl,--no-undefined", "-Wl,-Bsymbolic", "-lm"}
	if omp {
		libs = append(libs, "-L"+t.OMPDir, "-lomp", "-Wl,-rpath,"+t.OMPDir)
	}
	if t.VecLib != "" {
		libs = append(libs, t.VecLib)
	}
	if route == ViaClang {
		args := append([]string{o, "-march=" + march, "-shared", "-fPIC", "-Wno-override-module"}, wideVectors(true)...)
		if t.VecLib != "" {
			args = append(args, "-fveclib=libmvec")
		}
		args = append(args, lls...)
		return []step{{t.Clang, append(append(args, "-o", soFile), libs...)}}
	}
	var steps []step
	link := []string{"-shared"}
	optArgs := wideVectors(false)
	if t.VecLib != "" {
		optArgs = append(optArgs, "-vector-library=LIBMVEC-X86")
	}
	for _, ll := range lls {
		base := ll[:len(ll)-len(filepath.Ext(ll))]
		steps = append(steps,
			step{t.Opt, append([]string{o, "-mcpu=" + march, ll, "-o", base + ".opt.bc"}, optArgs...)},
			step{t.LLC, append([]string{o, "-relocation-model=pic", "-filetype=obj", "-mcpu=" + march, base + ".opt.bc", "-o", base + ".o"}, wideVectors(false)...)})
		link = append(link, base+".o")
	}
	return append(steps, step{t.CC, append(append(link, "-o", soFile), libs...)})
}

// wideVectors are the arguments that turn off LLVM's prefer-256-bit tuning on x86-64 (see
// back), for clang or for opt and llc; the CPUs without that tuning are unaffected.
func wideVectors(clang bool) []string {
	switch {
	case runtime.GOARCH != "amd64":
		return nil
	case clang:
		return []string{"-Xclang", "-target-feature", "-Xclang", "-prefer-256-bit"}
	}
	return []string{"-mattr=-prefer-256-bit"}
}

// run runs one step in dir. Cancelling ctx kills the tool and everything it started.
func (t *Tools) run(ctx context.Context, dir string, s step) error {
	t.runs.Add(1)
	cmd := exec.CommandContext(ctx, s.tool.Path, s.args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	// clang runs the linker as a child: put them in one process group and kill the group.
	// Being in a group of its own, the tool misses the terminal's Ctrl-C, so it is also
	// killed when its caller dies, rather than running on, orphaned, into a removed folder.
	// (Pdeathsig follows the thread that started the tool, which waits for it here.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if err == nil {
		return nil
	}
	te := &ToolError{Tool: s.tool.Path, Args: s.args, Dir: dir, Stderr: out.String(), ExitCode: -1, Err: err}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		te.Err = ctx.Err()
	case errors.As(err, &exit) && exit.Exited():
		te.ExitCode, te.Err = exit.ExitCode(), nil
	}
	return te
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// deliver copies the object at path to output, if one is asked for.
func deliver(path, output string, cached bool) (Built, error) {
	if output == "" {
		return Built{Path: path, Cached: cached}, nil
	}
	if err := install(path, output); err != nil {
		return Built{}, fmt.Errorf("toolchain: writing the object: %v", err)
	}
	return Built{Path: output, Cached: cached}, nil
}
