package toolchain

import (
	"context"
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebitengine/purego"
)

// findTools finds the tools with a private cache directory. A missing tool fails the test:
// the error names scripts/install-toolchain.sh.
func findTools(t *testing.T) *Tools {
	t.Helper()
	tools, err := Find()
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	if !tools.HasMLIR() {
		t.Fatalf("MLIR is missing: %v", tools.noMLIR)
	}
	tools.CacheDir = t.TempDir()
	return tools
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// object is what a test checks in a built shared object.
type object struct {
	symbols []string // defined dynamic symbols
	needed  []string // DT_NEEDED libraries
	runpath string
}

func readObject(t *testing.T, path string) object {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	if f.Type != elf.ET_DYN {
		t.Fatalf("%s is %v, want a shared object", path, f.Type)
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var o object
	for _, s := range syms {
		if s.Section != elf.SHN_UNDEF {
			o.symbols = append(o.symbols, s.Name)
		}
	}
	if o.needed, err = f.ImportedLibraries(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rp, _ := f.DynString(elf.DT_RUNPATH)
	rpath, _ := f.DynString(elf.DT_RPATH)
	o.runpath = strings.Join(append(rp, rpath...), ":")
	return o
}

func (o object) usesOMP() bool {
	return slices.ContainsFunc(o.needed, func(lib string) bool { return strings.HasPrefix(lib, "libomp") })
}

func TestBuildMLIR(t *testing.T) {
	tools := findTools(t)
	tests := []struct {
		name, file string
		extra      []string // LLVM IR files compiled in
		symbols    []string
		omp        bool
	}{
		{"scf.for", "dot.mlir", nil, []string{"dot"}, false},
		{"scf.parallel links libomp", "scale_parallel.mlir", nil, []string{"scale"}, true},
		{"with LLVM 14 IR beside", "dot.mlir", []string{"twice.ll"}, []string{"dot", "twice"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var extra []string
			for _, f := range tc.extra {
				extra = append(extra, readTestdata(t, f))
			}
			res, err := tools.BuildMLIR(context.Background(), readTestdata(t, tc.file), BuildOptions{Extra: extra})
			if err != nil {
				t.Fatal(err)
			}
			if res.Cached {
				t.Error("first build reported a cache hit")
			}
			o := readObject(t, res.Path)
			for _, sym := range tc.symbols {
				if !slices.Contains(o.symbols, sym) {
					t.Errorf("symbol %s not exported; have %v", sym, o.symbols)
				}
			}
			if o.usesOMP() != tc.omp {
				t.Errorf("links libomp = %v, want %v (needed %v)", o.usesOMP(), tc.omp, o.needed)
			}
			if tc.omp {
				if o.runpath != tools.OMPDir {
					t.Errorf("runpath %q, want %q", o.runpath, tools.OMPDir)
				}
				// dlopen resolves libomp through the runpath, and every symbol (-Wl,--no-undefined).
				lib, err := purego.Dlopen(res.Path, purego.RTLD_NOW|purego.RTLD_LOCAL)
				if err != nil {
					t.Fatalf("dlopen: %v", err)
				}
				purego.Dlclose(lib)
			}
		})
	}
}

// TestBuildMLIRDebug checks that Debug turns the locations of an MLIR module into a DWARF
// line table, and that without it the object has no debug sections.
func TestBuildMLIRDebug(t *testing.T) {
	tools := findTools(t)
	mlir := readTestdata(t, "dot.mlir") // the parser locates each op in kernel.mlir
	res, err := tools.BuildMLIR(context.Background(), mlir, BuildOptions{Debug: true})
	if err != nil {
		t.Fatal(err)
	}
	lines := lineTable(t, res.Path)
	for _, want := range []string{"kernel.mlir:9", "kernel.mlir:10"} { // arith.mulf, arith.addf
		if !lines[want] {
			t.Errorf("the line table lacks %s; has %v", want, lines)
		}
	}
	if res, err = tools.BuildMLIR(context.Background(), mlir, BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if sections := debugSections(t, res.Path); len(sections) > 0 {
		t.Errorf("built without Debug, the object has %v", sections)
	}
}

// lineTable returns the "file:line" pairs of the DWARF line table of the object at path.
func lineTable(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	lines := map[string]bool{}
	r := d.Reader()
	for {
		cu, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if cu == nil {
			return lines
		}
		lr, err := d.LineReader(cu)
		if err != nil {
			t.Fatal(err)
		}
		var e dwarf.LineEntry
		for lr != nil && lr.Next(&e) == nil {
			lines[fmt.Sprintf("%s:%d", e.File.Name, e.Line)] = true
		}
		r.SkipChildren()
	}
}

// debugSections lists the .debug_* sections of the object at path.
func debugSections(t *testing.T, path string) []string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var names []string
	for _, s := range f.Sections {
		if strings.HasPrefix(s.Name, ".debug_") {
			names = append(names, s.Name)
		}
	}
	return names
}

func TestBuildErrors(t *testing.T) {
	tools := findTools(t)
	tests := []struct {
		name, file, tool, message string
	}{
		{"parse error", "syntax.mlir", "mlir-opt", "use of undeclared SSA value name"},
		// mlir-opt exits 0 leaving a dialect unconverted; mlir-translate is where it shows.
		{"unconverted dialect", "unconverted.mlir", "mlir-translate", "Dialect `bufferization' not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tools.BuildMLIR(context.Background(), readTestdata(t, tc.file), BuildOptions{})
			var te *ToolError
			if !errors.As(err, &te) {
				t.Fatalf("got %v, want a *ToolError", err)
			}
			if filepath.Base(te.Tool) != tc.tool || te.ExitCode <= 0 {
				t.Errorf("failing tool %s (exit %d), want %s with a non-zero exit", te.Tool, te.ExitCode, tc.tool)
			}
			msg := err.Error()
			for _, want := range []string{tc.message, commandLine(te.Tool, te.Args), "WorkDir"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error does not contain %q:\n%s", want, msg)
				}
			}
		})
	}
}

func TestBuildLLVMRoutes(t *testing.T) {
	tools := findTools(t)
	twice, thread := readTestdata(t, "twice.ll"), readTestdata(t, "thread.ll")
	for _, route := range []Route{ViaClang, ViaOptLLC} {
		res, err := tools.BuildLLVM(context.Background(), twice, BuildOptions{Route: route})
		if err != nil {
			t.Fatalf("route %d: %v", route, err)
		}
		lib, err := purego.Dlopen(res.Path, purego.RTLD_NOW|purego.RTLD_LOCAL)
		if err != nil {
			t.Fatalf("route %d: dlopen: %v", route, err)
		}
		var fn func(*float32) float32
		purego.RegisterLibFunc(&fn, lib, "twice")
		x := float32(1.25)
		if got := fn(&x); got != 2.5 {
			t.Errorf("route %d: twice(1.25) = %v, want 2.5", route, got)
		}
		purego.Dlclose(lib)

		// An extra module is compiled in; as it calls the OpenMP runtime, libomp is linked.
		res, err = tools.BuildLLVM(context.Background(), twice, BuildOptions{Route: route, Extra: []string{thread}})
		if err != nil {
			t.Fatalf("route %d: %v", route, err)
		}
		o := readObject(t, res.Path)
		if !slices.Contains(o.symbols, "twice") || !slices.Contains(o.symbols, "thread") {
			t.Errorf("route %d: exports %v, want twice and thread", route, o.symbols)
		}
		if !o.usesOMP() || o.runpath != tools.OMPDir {
			t.Errorf("route %d: needed %v, runpath %q; want libomp from %s", route, o.needed, o.runpath, tools.OMPDir)
		}
	}
}

func TestRouteVersions(t *testing.T) {
	tools := findTools(t)
	dot := readTestdata(t, "dot.mlir")
	// MLIR 19 writes LLVM 19 IR: an older opt must be refused with a clear error.
	saved := tools.Opt
	tools.Opt.Major = MLIRVersion - 1
	_, err := tools.BuildMLIR(context.Background(), dot, BuildOptions{Route: ViaOptLLC})
	tools.Opt = saved
	if err == nil || !strings.Contains(err.Error(), "needs LLVM 19") {
		t.Errorf("MLIR through opt %d: got %v, want an error saying it needs LLVM 19", MLIRVersion-1, err)
	}

	// The LLVM 19 opt and llc beside mlir-opt do take MLIR's output.
	t.Setenv("SIMPLANG_LLVM_BIN", filepath.Dir(tools.MLIROpt.Path))
	tools19 := findTools(t)
	if tools19.Opt.Major != MLIRVersion {
		t.Fatalf("opt from $SIMPLANG_LLVM_BIN is %v, want LLVM %d", tools19.Opt, MLIRVersion)
	}
	res, err := tools19.BuildMLIR(context.Background(), dot, BuildOptions{Route: ViaOptLLC})
	if err != nil {
		t.Fatal(err)
	}
	if o := readObject(t, res.Path); !slices.Contains(o.symbols, "dot") {
		t.Errorf("dot not exported; have %v", o.symbols)
	}
}

func TestCache(t *testing.T) {
	tools := findTools(t)
	dot := readTestdata(t, "dot.mlir")
	ctx := context.Background()
	first, err := tools.BuildMLIR(ctx, dot, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached || filepath.Dir(first.Path) != tools.CacheDir {
		t.Fatalf("first build: %+v, want a fresh object in %s", first, tools.CacheDir)
	}

	runs := tools.runs.Load()
	again, err := tools.BuildMLIR(ctx, dot, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.Path != first.Path || tools.runs.Load() != runs {
		t.Errorf("same text again: %+v after %d tool runs, want the cached %s and no run", again, tools.runs.Load()-runs, first.Path)
	}

	out := filepath.Join(t.TempDir(), "lib.so")
	copied, err := tools.BuildMLIR(ctx, dot, BuildOptions{Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if !copied.Cached || copied.Path != out || !isFile(out) {
		t.Errorf("cache hit with Output: %+v, want the cached object copied to %s", copied, out)
	}
}

// TestCacheKey checks that anything that changes the object misses the cache, and that
// asking for the default explicitly does not.
func TestCacheKey(t *testing.T) {
	tools := findTools(t)
	ll := readTestdata(t, "twice.ll")
	ctx := context.Background()
	base, err := tools.BuildLLVM(ctx, ll, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		src   string
		opts  BuildOptions
		clang string // clang's version, when changed
		hit   bool
	}{
		{name: "level", src: ll, opts: BuildOptions{OptLevel: O1}},
		{name: "explicit default level", src: ll, opts: BuildOptions{OptLevel: O3, March: "native"}, hit: true},
		{name: "march", src: ll, opts: BuildOptions{March: "x86-64"}},
		{name: "openmp", src: ll, opts: BuildOptions{OpenMP: true}},
		{name: "route", src: ll, opts: BuildOptions{Route: ViaOptLLC}},
		{name: "debug: nothing to do for LLVM IR", src: ll, opts: BuildOptions{Debug: true}, hit: true},
		{name: "extra module", src: ll, opts: BuildOptions{Extra: []string{"define void @g() {\n  ret void\n}\n"}}},
		{name: "text", src: ll + "; changed\n"},
		{name: "tool version", src: ll, clang: tools.Clang.Version + " (rebuilt)"},
	}
	saved := tools.Clang
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.clang != "" {
				tools.Clang.Version = tc.clang
				defer func() { tools.Clang = saved }()
			}
			runs := tools.runs.Load()
			res, err := tools.BuildLLVM(ctx, tc.src, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if hit := res.Cached && res.Path == base.Path && tools.runs.Load() == runs; hit != tc.hit {
				t.Errorf("got %+v after %d tool runs, want a cache hit = %v", res, tools.runs.Load()-runs, tc.hit)
			}
		})
	}
}

// TestCacheParallel builds the same new kernel from several goroutines: each must get a
// complete object, and no temporary file may be left in the cache.
func TestCacheParallel(t *testing.T) {
	tools := findTools(t)
	src := readTestdata(t, "twice.ll")
	const n = 4
	paths := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var res Built
			res, errs[i] = tools.BuildLLVM(context.Background(), src, BuildOptions{})
			paths[i] = res.Path
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if paths[i] != paths[0] {
			t.Errorf("build %d: %s, want %s", i, paths[i], paths[0])
		}
	}
	readObject(t, paths[0])
	entries, err := os.ReadDir(tools.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("cache holds %v, want only %s", entries, filepath.Base(paths[0]))
	}
}

func TestCacheOff(t *testing.T) {
	tools := findTools(t)
	tools.CacheDir = ""
	src := readTestdata(t, "twice.ll")
	for i := range 2 {
		res, err := tools.BuildLLVM(context.Background(), src, BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Cached {
			t.Errorf("build %d: cache hit with caching off", i)
		}
		readObject(t, res.Path)
		os.Remove(res.Path)
	}
}

// TestTempDirs checks that builds, failed or not, leave nothing in the temporary directory,
// and that WorkDir keeps the intermediate files.
func TestTempDirs(t *testing.T) {
	tools := findTools(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx := context.Background()
	if _, err := tools.BuildMLIR(ctx, readTestdata(t, "dot.mlir"), BuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := tools.BuildMLIR(ctx, readTestdata(t, "unconverted.mlir"), BuildOptions{}); err == nil {
		t.Fatal("broken module built")
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left behind in TMPDIR: %v", entries)
	}

	work := filepath.Join(t.TempDir(), "work")
	if _, err := tools.BuildMLIR(ctx, readTestdata(t, "dot.mlir"), BuildOptions{WorkDir: work}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{mlirFile, loweredFile, llFile, soFile} {
		if !isFile(filepath.Join(work, name)) {
			t.Errorf("WorkDir lacks %s", name)
		}
	}
}

func TestCancel(t *testing.T) {
	// A clang that never finishes and has a child holding its output open.
	dir := t.TempDir()
	clang := filepath.Join(dir, "clang")
	script := "#!/bin/sh\nif [ \"$1\" = --version ]; then echo 'clang version 19.1.0'; exit 0; fi\nsleep 60\n"
	if err := os.WriteFile(clang, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIMPLANG_CLANG", clang)
	tools := findTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := tools.BuildLLVM(ctx, readTestdata(t, "twice.ll"), BuildOptions{Route: ViaClang})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's error", err)
	}
	// The whole process group is killed, so no orphaned child holds the output pipe open
	// until WaitDelay (2s) runs out.
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("cancelled build took %v", d)
	}
	if !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("error does not say the build was cancelled: %v", err)
	}
}

func TestBadOptions(t *testing.T) {
	tools := findTools(t)
	dot := readTestdata(t, "dot.mlir")
	tests := []struct {
		name string
		opts BuildOptions
		want string
	}{
		{"level", BuildOptions{OptLevel: O3 + 1}, "optimisation level"},
		{"march", BuildOptions{March: "-mllvm"}, "not a CPU name"},
		{"route", BuildOptions{Route: ViaOptLLC + 1}, "unknown route"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tools.BuildMLIR(context.Background(), dot, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
