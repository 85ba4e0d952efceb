package compiler_test

import (
	"context"
	"debug/elf"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/toolchain"
)

const twice = `fn twice(f32[] a, i64 n) -> f32 {
    var i = 0;
    while (i < n) {
        a[i] = a[i] * 2.0;
        i = i + 1;
    }
    return a[0];
}
`

// findTools finds the toolchain, failing the test when it or its MLIR tools are missing.
// (Package kerneltest does this for the later stages; it imports this package.)
func findTools(t *testing.T) *toolchain.Tools {
	t.Helper()
	tools, err := toolchain.Find()
	if err == nil {
		err = tools.CheckMLIR()
	}
	if err != nil {
		t.Fatalf("toolchain: %v", err)
	}
	return tools
}

// twiceSig is the signature of twice.
var twiceSig = abi.Func{Name: "twice", Result: abi.F32, Params: []abi.Param{
	{Name: "a", Kind: abi.F32, Array: true}, {Name: "n", Kind: abi.I64}}}

func TestParseBackend(t *testing.T) {
	for _, want := range []compiler.Backend{compiler.AutoBackend, compiler.MLIR, compiler.LLVM} {
		got, err := compiler.ParseBackend(want.String())
		if err != nil || got != want {
			t.Errorf("ParseBackend(%q) = %v, %v; want %v", want.String(), got, err, want)
		}
	}
	if _, err := compiler.ParseBackend("gcc"); err == nil || !strings.Contains(err.Error(), `unknown backend "gcc"`) {
		t.Errorf("ParseBackend(gcc): err = %v", err)
	}
}

func TestChoose(t *testing.T) {
	tools := findTools(t)
	if b, why := compiler.Choose(tools, compiler.LLVM); b != compiler.LLVM || why != "asked for" {
		t.Errorf("Choose(LLVM) = %v, %q", b, why)
	}
	if b, why := compiler.Choose(tools, compiler.AutoBackend); b != compiler.MLIR || !strings.Contains(why, "MLIR 19 tools found") {
		t.Errorf("Choose(auto) with MLIR installed = %v, %q", b, why)
	}
	t.Setenv("SIMPLANG_MLIR_BIN", "/nonexistent")
	hidden, err := toolchain.Find()
	if err != nil {
		t.Fatal(err)
	}
	b, why := compiler.Choose(hidden, compiler.AutoBackend)
	if b != compiler.LLVM {
		t.Errorf("Choose(auto) without MLIR = %v", b)
	}
	for _, want := range []string{"MLIR tools unavailable", "mlir-opt not found", "$SIMPLANG_MLIR_BIN=/nonexistent"} {
		if !strings.Contains(why, want) {
			t.Errorf("Choose(auto) without MLIR says %q, want it to contain %q", why, want)
		}
	}
}

func TestGenerate(t *testing.T) {
	for _, tc := range []struct {
		backend compiler.Backend
		want    string
	}{
		{compiler.MLIR, "func.func @twice("},
		{compiler.LLVM, "define float @twice("},
	} {
		text, f, err := compiler.Generate("twice.sl", []byte(twice), compiler.Options{Backend: tc.backend})
		if err != nil {
			t.Fatalf("%v: %v", tc.backend, err)
		}
		if !strings.Contains(text, tc.want) || len(f.Funcs) != 1 || f.Funcs[0].Name != "twice" {
			t.Errorf("%v: text lacks %q or the file is not twice.sl's (%d functions):\n%s", tc.backend, tc.want, len(f.Funcs), text)
		}
	}
	if _, _, err := compiler.Generate("twice.sl", []byte(twice), compiler.Options{}); err == nil || !strings.Contains(err.Error(), "backend auto cannot generate code") {
		t.Errorf("Generate with AutoBackend: err = %v", err)
	}
	_, _, err := compiler.Generate("bad.sl", []byte("fn f( {"), compiler.Options{Backend: compiler.MLIR})
	var list *frontend.ErrorList
	if !errors.As(err, &list) || !strings.Contains(err.Error(), "bad.sl:1:") {
		t.Errorf("Generate of a bad source: err = %v, want a *frontend.ErrorList at bad.sl:1", err)
	}
}

// TestCompileOptions checks that every build option reaches the tools: the bad values are
// refused by toolchain, WorkDir keeps the intermediate files and Output receives the object.
// TestGenerateLinear generates a function of n checked array reads and ifs and one four
// times as long, on each backend: the memory the generation allocates must grow about
// fourfold, not sixteenfold (the environment copied at every if, and the statements before
// each one gathered for every statement, made it quadratic: 8000 reads took 13 s). Bytes
// allocated, unlike time, do not depend on the machine's load.
func TestGenerateLinear(t *testing.T) {
	source := func(n int) []byte {
		var b strings.Builder
		b.WriteString("fn k(f32[] a, i64 n) -> f32 {\n    var s = 0.0;\n    var i = 1;\n")
		for range n {
			b.WriteString("    s = s + a[i % 7] * 2.0;\n    if (s > 100.0) { s = s - a[i % 5]; }\n")
		}
		b.WriteString("    return s;\n}\n")
		return []byte(b.String())
	}
	allocated := func(src []byte, backend compiler.Backend) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if _, _, err := compiler.Generate("k.sl", src, compiler.Options{Backend: backend}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	short, long := source(500), source(2000)
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		a, b := allocated(short, backend), allocated(long, backend)
		ratio := float64(b) / float64(a)
		t.Logf("%v: %.2f× the bytes for 4× the statements", backend, ratio)
		if ratio > 6 {
			t.Errorf("%v: generating 4× the statements allocated %.1f× the bytes (%d against %d): more than linear", backend, ratio, b, a)
		}
	}
}

func TestCompileOptions(t *testing.T) {
	tools := findTools(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts compiler.Options
		want string
	}{
		{"level", compiler.Options{OptLevel: toolchain.O3 + 1}, "optimisation level"},
		{"march", compiler.Options{March: "-mllvm"}, "not a CPU name"},
		{"route", compiler.Options{Route: toolchain.ViaOptLLC + 1}, "unknown route"},
	} {
		if _, err := compiler.Compile(ctx, tools, "twice.sl", []byte(twice), tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}

	dir := t.TempDir()
	opts := compiler.Options{Backend: compiler.MLIR, WorkDir: filepath.Join(dir, "work"), Output: filepath.Join(dir, "twice.so")}
	obj, err := compiler.Compile(ctx, tools, "twice.sl", []byte(twice), opts)
	if err != nil {
		t.Fatal(err)
	}
	if obj.Path != opts.Output || obj.Cached || obj.Backend != compiler.MLIR {
		t.Errorf("object %+v, want a fresh MLIR build at %s", obj, opts.Output)
	}
	for _, path := range []string{opts.Output, filepath.Join(opts.WorkDir, "kernel.mlir")} {
		if _, err := os.Stat(path); err != nil {
			t.Error(err)
		}
	}
	written := twiceSig
	written.Params = []abi.Param{{Name: "a", Kind: abi.F32, Array: true, Written: true}, twiceSig.Params[1]}
	if diff := cmp.Diff([]abi.Func{written}, obj.Funcs); diff != "" {
		t.Errorf("Funcs (-want +got):\n%s", diff)
	}
}

func TestLoadAndLookup(t *testing.T) {
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		t.Run(backend.String(), func(t *testing.T) {
			lib, obj, err := compiler.Load(context.Background(), findTools(t), "twice.sl", []byte(twice), compiler.Options{Backend: backend})
			if err != nil {
				t.Fatal(err)
			}
			defer lib.Close()
			if obj.Backend != backend {
				t.Errorf("built by %v, want %v", obj.Backend, backend)
			}
			fn, err := compiler.Lookup(lib, twiceSig)
			if err != nil {
				t.Fatal(err)
			}
			a := []float32{1.5, 2}
			if r, err := fn.Call(a, len(a)); err != nil || r != float32(3) || a[1] != 4 {
				t.Errorf("twice = %v, %v; a = %v", r, err, a)
			}

			wrong := twiceSig
			wrong.Result = abi.F64
			if _, err := compiler.Lookup(lib, wrong); err == nil || !strings.Contains(err.Error(), "twice has the signature") ||
				!strings.Contains(err.Error(), wrong.String()) {
				t.Errorf("Lookup with a wrong result: err = %v", err)
			}
			if _, err := compiler.Lookup(lib, abi.Func{Name: "thrice"}); err == nil || !strings.Contains(err.Error(), `no function "thrice"`) {
				t.Errorf("Lookup of a missing function: err = %v", err)
			}
		})
	}
}

// TestCacheOffLeavesNothing compiles with caching off: Compile's object is a temporary file
// of its own (for the caller to remove), and Load removes it once opened, with the library
// still working, so that a run with SIMPLANG_CACHE=off leaves nothing in the temporary
// directory.
func TestCacheOffLeavesNothing(t *testing.T) {
	tools := findTools(t)
	tools.CacheDir = ""
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	ctx := context.Background()

	obj, err := compiler.Compile(ctx, tools, "twice.sl", []byte(twice), compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(obj.Path); !obj.Temporary || err != nil {
		t.Errorf("Compile with caching off: Temporary %v, stat %v; want a temporary object", obj.Temporary, err)
	}
	os.Remove(obj.Path)

	lib, obj, err := compiler.Load(ctx, tools, "twice.sl", []byte(twice), compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	fn, err := compiler.Lookup(lib, twiceSig)
	if err != nil {
		t.Fatal(err)
	}
	a := []float32{1.5, 2}
	if r, err := fn.Call(a, len(a)); err != nil || r != float32(3) {
		t.Errorf("twice = %v, %v after its object was removed", r, err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 || !obj.Temporary {
		t.Errorf("Load with caching off left %v in the temporary directory (Temporary %v)", left, obj.Temporary)
	}

	tools.CacheDir = t.TempDir()
	if obj, err := compiler.Compile(ctx, tools, "twice.sl", []byte(twice), compiler.Options{}); err != nil || obj.Temporary {
		t.Errorf("Compile with a cache: Temporary %v, err %v; want the cache entry", obj != nil && obj.Temporary, err)
	}
}

// TestDebug builds twice.sl with Debug on each backend (and each route of the LLVM backend)
// and reads the object's line table with llvm-dwarfdump: it names the source file under the
// path given (directory and name), no other file, the lines of the loop, and no line beyond
// the file's. Without Debug the object has no debug sections.
func TestDebug(t *testing.T) {
	tools := findTools(t)
	tools.CacheDir = t.TempDir() // the objects are named by the temporary directory
	dwarfdump := findDwarfdump(t, tools)
	dir := t.TempDir()
	name := filepath.Join(dir, "twice.sl")
	row := regexp.MustCompile(`(?m)^0x[0-9a-f]+\s+(\d+)\s`)
	for _, tc := range []struct {
		name string
		opts compiler.Options
	}{
		{"mlir", compiler.Options{Backend: compiler.MLIR}},
		{"llvm via clang", compiler.Options{Backend: compiler.LLVM, Route: toolchain.ViaClang}},
		{"llvm via opt+llc", compiler.Options{Backend: compiler.LLVM, Route: toolchain.ViaOptLLC}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Debug = true
			obj, err := compiler.Compile(context.Background(), tools, name, []byte(twice), opts)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(dwarfdump, "--debug-info", "--debug-line", obj.Path).CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", dwarfdump, err, out)
			}
			for _, want := range []string{"DW_AT_comp_dir\t(\"" + dir + "\")", `name: "twice.sl"`} {
				if !strings.Contains(string(out), want) {
					t.Errorf("llvm-dwarfdump does not show %s:\n%s", want, out)
				}
			}
			if files := strings.Count(string(out), `name: "`); files != 1 {
				t.Errorf("the line table names %d files, want twice.sl alone:\n%s", files, out)
			}
			lines := map[int]bool{}
			for _, m := range row.FindAllStringSubmatch(string(out), -1) {
				n, _ := strconv.Atoi(m[1])
				lines[n] = true
				if n > strings.Count(twice, "\n") {
					t.Errorf("the line table has line %d, past the end of twice.sl", n)
				}
			}
			for _, want := range []int{3, 4} { // the while, and the body's a[i] = a[i] * 2.0
				if !lines[want] {
					t.Errorf("the line table lacks line %d; has %v", want, lines)
				}
			}

			obj, err = compiler.Compile(context.Background(), tools, name, []byte(twice), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			f, err := elf.Open(obj.Path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, s := range f.Sections {
				if strings.HasPrefix(s.Name, ".debug_") {
					t.Errorf("without Debug, the object has a section %s", s.Name)
				}
			}
		})
	}
}

// findDwarfdump finds llvm-dwarfdump beside the clang found, else on PATH, failing the test
// when it is missing.
func findDwarfdump(t *testing.T, tools *toolchain.Tools) string {
	t.Helper()
	path := filepath.Join(filepath.Dir(tools.Clang.Path), "llvm-dwarfdump")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	path, err := exec.LookPath("llvm-dwarfdump")
	if err != nil {
		t.Fatalf("llvm-dwarfdump: %v (apt-get install llvm-19)", err)
	}
	return path
}
