package main

import (
	"bytes"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simplang/simplang/loader"
)

const kernel = `fn twice(f32[] a, i64 n) -> f32 {
    var i = 0;
    while (i < n) {
        a[i] = a[i] * 2.0;
        i = i + 1;
    }
    return a[0];
}
`

func simpc(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "twice.sl")
	if err := os.WriteFile(good, []byte(kernel), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := "../../../shared/corpus/errors/syntax.sl"
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"help", []string{"--help"}, 0, ""},
		{"no input", nil, 2, "no input file"},
		{"unknown option", []string{good, "--fast"}, 2, "unknown option --fast"},
		{"two inputs", []string{good, good}, 2, "one input file"},
		{"missing value", []string{good, "-o"}, 2, "-o needs a value"},
		{"bad backend", []string{good, "--backend", "gcc"}, 2, "unknown backend"},
		{"contradiction", []string{good, "--emit-llvm", "--backend", "mlir"}, 2, "contradicts"},
		{"source error", []string{bad, "-o", filepath.Join(dir, "x.so")}, 1, "syntax.sl:3:20: expected expression"},
		{"missing file", []string{filepath.Join(dir, "nope.sl")}, 1, "no such file"},
		{"output is the input", []string{good, "-o", good}, 2, "is the input " + good + " itself"},
		{"emitted over the input", []string{good, "--emit-mlir", "-o", good}, 2, "itself"},
		{"output is a directory", []string{good, "-o", dir}, 2, "is a directory"},
		{"output's directory missing", []string{good, "-o", filepath.Join(dir, "no", "x.so")}, 2, "directory " + filepath.Join(dir, "no") + " does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := simpc(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("simpc %v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.stderr)
			}
		})
	}
	if src, err := os.ReadFile(good); err != nil || string(src) != kernel {
		t.Errorf("the source holds %q after the refusals (%v)", src, err)
	}
}

func TestBuildAndEmit(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "twice.sl")
	if err := os.WriteFile(src, []byte(kernel), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := simpc(src, "--emit-mlir", "-o", filepath.Join(dir, "out.mlir")); code != 0 {
		t.Fatalf("--emit-mlir: exit %d: %s", code, stderr)
	}
	mlir, err := os.ReadFile(filepath.Join(dir, "out.mlir"))
	if err != nil || !strings.Contains(string(mlir), "func.func @twice(") {
		t.Fatalf("--emit-mlir wrote %q (err %v)", mlir, err)
	}
	if code, _, stderr := simpc(src, "--emit-llvm", "-o", filepath.Join(dir, "out.ll")); code != 0 {
		t.Fatalf("--emit-llvm: exit %d: %s", code, stderr)
	}
	ll, err := os.ReadFile(filepath.Join(dir, "out.ll"))
	if err != nil || !strings.Contains(string(ll), "define float @twice(") {
		t.Fatalf("--emit-llvm wrote %q (err %v)", ll, err)
	}
	for _, flags := range [][]string{nil, {"-O0"}, {"--strict-fp"}, {"--serial", "-O2"}, {"--unchecked"}, {"--backend", "llvm"}, {"--backend=llvm", "--strict-fp"}, {"-g"}, {"-g", "--backend", "llvm"}} {
		so := filepath.Join(dir, "twice.so")
		os.Remove(so)
		args := append([]string{src, "-o", so}, flags...)
		if code, _, stderr := simpc(args...); code != 0 {
			t.Fatalf("simpc %v: exit %d: %s", args, code, stderr)
		}
		lib, err := loader.Open(so)
		if err != nil {
			t.Fatal(err)
		}
		fn, err := lib.Func("twice")
		if err != nil {
			t.Fatal(err)
		}
		a := []float32{1.5, 2, 3}
		got, err := fn.Call(a, int64(len(a)))
		lib.Close()
		if err != nil || got != float32(3) || a[2] != 6 {
			t.Errorf("simpc %v: twice returned %v (err %v), array %v", flags, got, err, a)
		}
	}
	// A file without functions builds, with a warning.
	empty := filepath.Join(dir, "empty.sl")
	os.WriteFile(empty, []byte("// nothing yet\n"), 0o644)
	for _, args := range [][]string{{empty, "-o", filepath.Join(dir, "empty.so")}, {empty, "--emit-mlir", "-o", "-"}} {
		if code, _, stderr := simpc(args...); code != 0 || !strings.Contains(stderr, "simpc: warning: "+empty+" defines no functions") {
			t.Errorf("simpc %v: exit %d, stderr %q; want 0 and the warning", args, code, stderr)
		}
	}
	// The default output name replaces .sl with .so.
	if code, _, stderr := simpc(src); code != 0 {
		t.Fatalf("simpc FILE.sl: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "twice.so")); err != nil {
		t.Errorf("default output: %v", err)
	}
}

// TestDebugFlag checks that -g gives the object of each backend a line table (package
// compiler tests what it holds) and the emitted text its debug locations.
func TestDebugFlag(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "twice.sl")
	if err := os.WriteFile(src, []byte(kernel), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, backend := range []string{"mlir", "llvm"} {
		for _, debug := range []bool{false, true} {
			so := filepath.Join(dir, backend+".so")
			args := []string{src, "--backend", backend, "-o", so}
			if debug {
				args = append(args, "-g")
			}
			if code, _, stderr := simpc(args...); code != 0 {
				t.Fatalf("simpc %v: exit %d: %s", args, code, stderr)
			}
			f, err := elf.Open(so)
			if err != nil {
				t.Fatal(err)
			}
			if has := f.Section(".debug_line") != nil; has != debug {
				t.Errorf("simpc %v: the object has a .debug_line section: %v", args, has)
			}
			f.Close()
		}
	}
	for emit, want := range map[string]string{"--emit-mlir": `} loc("` + src + `":1:1)`, "--emit-llvm": "!dbg !"} {
		code, stdout, stderr := simpc(src, emit, "-g", "-o", "-")
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("simpc %s -g: exit %d (%s), output lacks %q", emit, code, stderr, want)
		}
	}
}

// TestAutoWithoutMLIR hides the MLIR tools: auto falls back to the LLVM IR backend and says so.
func TestAutoWithoutMLIR(t *testing.T) {
	t.Setenv("SIMPLANG_MLIR_BIN", filepath.Join(t.TempDir(), "nowhere"))
	dir := t.TempDir()
	src := filepath.Join(dir, "twice.sl")
	if err := os.WriteFile(src, []byte(kernel), 0o644); err != nil {
		t.Fatal(err)
	}
	so := filepath.Join(dir, "twice.so")
	code, _, stderr := simpc(src, "-o", so)
	if code != 0 || !strings.Contains(stderr, "using the llvm backend") {
		t.Fatalf("exit %d, stderr %q; want success and a note that the llvm backend was used", code, stderr)
	}
	if code, _, stderr := simpc(src, "--backend", "mlir", "-o", so); code != 1 || !strings.Contains(stderr, "mlir-opt") {
		t.Errorf("--backend mlir without MLIR: exit %d, stderr %q; want exit 1 naming mlir-opt", code, stderr)
	}
	lib, err := loader.Open(so)
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close()
	if fn, err := lib.Func("twice"); err != nil {
		t.Error(err)
	} else if got, err := fn.Call([]float32{4}, 1); err != nil || got != float32(8) {
		t.Errorf("twice = %v, %v", got, err)
	}
}
