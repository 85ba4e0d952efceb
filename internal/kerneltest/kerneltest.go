// Package kerneltest compiles SimpLang sources for tests: it finds the toolchain once per
// test binary, then compiles a source with the given options, or compiles and opens it
// (package compiler). A missing toolchain fails the test (it never skips): run
// scripts/install-toolchain.sh.
package kerneltest

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

var (
	once     sync.Once
	tools    *toolchain.Tools
	toolsErr error
)

// Tools returns the toolchain, failing the test when it or its MLIR tools are missing.
func Tools(t testing.TB) *toolchain.Tools {
	t.Helper()
	once.Do(func() {
		tools, toolsErr = toolchain.Find()
		if toolsErr == nil {
			toolsErr = tools.CheckMLIR()
		}
	})
	if toolsErr != nil {
		t.Fatalf("toolchain: %v", toolsErr)
	}
	return tools
}

// Compile compiles src and returns the object, failing the test on any error. A temporary
// object (caching off) is removed when the test ends.
func Compile(t testing.TB, name string, src []byte, opts compiler.Options) *compiler.Object {
	t.Helper()
	obj, err := compiler.Compile(context.Background(), Tools(t), name, src, opts)
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	if obj.Temporary {
		t.Cleanup(func() { os.Remove(obj.Path) })
	}
	return obj
}

// Open compiles src and opens the object; it is closed when the test ends.
func Open(t testing.TB, name string, src []byte, opts compiler.Options) *loader.Library {
	t.Helper()
	lib, _, err := compiler.Load(context.Background(), Tools(t), name, src, opts)
	if err != nil {
		t.Fatalf("compile and open %s: %v", name, err)
	}
	t.Cleanup(func() { lib.Close() })
	return lib
}

// Func returns function name of lib, failing the test when it is missing.
func Func(t testing.TB, lib *loader.Library, name string) *loader.Func {
	t.Helper()
	fn, err := lib.Func(name)
	if err != nil {
		t.Fatal(err)
	}
	return fn
}

// SplitHalves returns x (quantized inputs, cols elements) in the order the q4 kernels keep
// it (quantize_split): group g's first half at g·gs/2 + j, its second at cols/2 + g·gs/2 + j.
// Elements past the last whole group are left out (0).
func SplitHalves(x []int8, gs int) []int8 {
	cols := len(x)
	split := make([]int8, cols)
	for e, v := range x[:cols/gs*gs] {
		g, j := e/gs, e%gs
		if j < gs/2 {
			split[g*gs/2+j] = v
		} else {
			split[cols/2+g*gs/2+j-gs/2] = v
		}
	}
	return split
}

// Call calls fn, failing the test on an error.
func Call(t testing.TB, fn *loader.Func, args ...any) any {
	t.Helper()
	r, err := fn.Call(args...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
