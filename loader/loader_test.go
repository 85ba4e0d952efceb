package loader

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/simplang/simplang/abi"
)

const clang = "/usr/lib/llvm-19/bin/clang"

// build compiles testdata/NAME.ll, with testdata/runtime.ll unless NAME has its own run
// time (checks.ll), into a shared object in a temporary directory.
func build(t testing.TB, name string, flags ...string) string {
	t.Helper()
	if _, err := os.Stat(clang); err != nil {
		t.Fatalf("clang 19 is needed to build the test kernels (%v): run scripts/install-toolchain.sh", err)
	}
	out := filepath.Join(t.TempDir(), name+".so")
	args := []string{"-shared", "-fPIC", "-O2", "-Wno-override-module", "-Wl,--no-undefined", "-o", out, filepath.Join("testdata", name+".ll")}
	if name != "checks" {
		args = append(args, filepath.Join("testdata", "runtime.ll"))
	}
	args = append(args, flags...)
	if msg, err := exec.Command(clang, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", clang, strings.Join(args, " "), err, msg)
	}
	return out
}

// open builds and opens testdata/NAME.ll, closing it when the test ends.
func open(t testing.TB, name string, flags ...string) *Library {
	t.Helper()
	lib, err := Open(build(t, name, flags...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lib.Close(); err != nil {
			t.Error(err)
		}
	})
	return lib
}

func fn(t testing.TB, lib *Library, name string) *Func {
	t.Helper()
	f, err := lib.Func(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFunctions(t *testing.T) {
	lib := open(t, "kernels")
	want, err := abi.Decode("fn calls() -> i64\nfn dot(f32[] a, f32[] b, i64 n) -> f32\nfn scale(f32[] a, f32 s, i64 n)\n" +
		"fn shape(f32[] a) -> i64\nfn spin(f32[] a, i64 rounds) -> f64\n")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, lib.Functions()); diff != "" {
		t.Errorf("Functions() mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[1], fn(t, lib, "dot").Signature()); diff != "" {
		t.Errorf("dot.Signature() mismatch (-want +got):\n%s", diff)
	}
	lib.Functions()[1].Params[0].Name = "changed"
	if got := fn(t, lib, "dot").Signature().Params[0].Name; got != "a" {
		t.Errorf("changing Functions()'s result renamed dot's first parameter to %q", got)
	}

	_, err = lib.Func("nope")
	if err == nil || !strings.Contains(err.Error(), `no function "nope"; it exports calls, dot, scale, shape, spin`) {
		t.Errorf("Func(\"nope\") = %v, want an error listing calls, dot, scale, shape, spin", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.so")
	if err := os.WriteFile(text, []byte(strings.Repeat("not an object\n", 10)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same object claiming another machine in its ELF header.
	notable := build(t, "notable")
	elfObject, err := os.ReadFile(notable)
	if err != nil {
		t.Fatal(err)
	}
	other := uint16(machines["arm64"])
	if runtime.GOARCH == "arm64" {
		other = uint16(machines["amd64"])
	}
	binary.LittleEndian.PutUint16(elfObject[18:], other) // e_machine
	foreign := filepath.Join(dir, "foreign.so")
	if err := os.WriteFile(foreign, elfObject, 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		path string
		want []string // substrings of the error
	}{
		{"missing", filepath.Join(dir, "missing.so"), []string{"missing.so", "No such file", "check the path"}},
		{"not ELF", text, []string{"text.so", "invalid ELF header", "not a shared object (not ELF)"}},
		{"other machine", foreign, []string{"foreign.so", "rebuild it on this machine"}},
		{"no table", notable, []string{"no simplang_signatures table", "not built by simpc"}},
		{"bad table", build(t, "badtable"), []string{`unknown type "q32"`, "rebuild"}},
		{"no packed entry", build(t, "nopacked"), []string{"lists ghost", "does not export _mlir_ghost"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib, err := Open(tt.path)
			if err == nil {
				lib.Close()
				t.Fatalf("Open(%s) succeeded", tt.path)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Open(%s) = %q, want it to contain %q", tt.path, err, w)
				}
			}
		})
	}
}

func TestOpenRelativePath(t *testing.T) {
	path := build(t, "kernels")
	t.Chdir(filepath.Dir(path))
	// dlopen would search the library path for a bare name; Open means the working directory.
	lib, err := Open(filepath.Base(path))
	if err != nil {
		t.Fatal(err)
	}
	if err := lib.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestClose(t *testing.T) {
	lib, err := Open(build(t, "kernels"))
	if err != nil {
		t.Fatal(err)
	}
	calls := fn(t, lib, "calls")
	if err := lib.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := calls.Call(); err == nil || !strings.Contains(err.Error(), "is closed") {
		t.Errorf("Call after Close = %v, want an error saying the library is closed", err)
	}
	if err := lib.Close(); err == nil {
		t.Error("a second Close succeeded")
	}
}

func TestSetThreads(t *testing.T) {
	t.Run("without OpenMP", func(t *testing.T) {
		lib := open(t, "kernels")
		if lib.OpenMP() {
			t.Error("OpenMP() = true for an object without libomp")
		}
		for _, n := range []int{1, 2, 64} {
			if err := lib.SetThreads(n); err != nil {
				t.Errorf("SetThreads(%d) = %v", n, err)
			}
		}
	})

	t.Run("with OpenMP", func(t *testing.T) {
		lib := open(t, "omp", "-L/usr/lib/llvm-19/lib", "-Wl,-rpath,/usr/lib/llvm-19/lib", "-lomp")
		if !lib.OpenMP() {
			t.Fatal("OpenMP() = false for an object linked with libomp")
		}
		threads := fn(t, lib, "threads")
		for _, n := range []int{1, 3, 2} {
			if err := lib.SetThreads(n); err != nil {
				t.Fatal(err)
			}
			// OpenMP's count is per OS thread: check on this goroutine's thread and on
			// another, which never set it itself.
			runtime.LockOSThread()
			got, err := threads.Call()
			done := make(chan any)
			go func() {
				runtime.LockOSThread() // a thread of its own, never unlocked, so it exits
				r, err := threads.Call()
				if err != nil {
					r = err
				}
				done <- r
			}()
			other := <-done
			runtime.UnlockOSThread()
			if err != nil || got != int32(n) || other != int32(n) {
				t.Errorf("after SetThreads(%d): threads() = %v, %v, and %v on another OS thread; want %d", n, got, err, other, n)
			}
		}
	})

	lib := open(t, "kernels")
	for _, n := range []int{0, -1, 1 << 20} {
		if err := lib.SetThreads(n); err == nil {
			t.Errorf("SetThreads(%d) succeeded", n)
		}
	}
}
