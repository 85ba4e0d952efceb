// Package conformance holds the end-to-end tests of the compiler: the shared corpus
// (../shared/corpus) compiled by every backend, loaded and run; kernels with array
// parameters called from Go through the loader; and an exported kernel called from C with
// its expanded memref arguments, as the original benchmark harness did.
//
// It has no code of its own beyond the helpers below, shared by its tests.
package conformance

import (
	"context"
	"fmt"
	"sync"

	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

var (
	toolsOnce sync.Once
	tools     *toolchain.Tools
	toolsErr  error
)

// Tools finds the toolchain once per test binary.
func Tools() (*toolchain.Tools, error) {
	toolsOnce.Do(func() {
		tools, toolsErr = toolchain.Find()
		if toolsErr == nil && !tools.HasMLIR() {
			toolsErr = fmt.Errorf("the MLIR 19 tools are missing; run scripts/install-toolchain.sh")
		}
	})
	return tools, toolsErr
}

// Build compiles src with opts and opens the object.
func Build(name string, src []byte, opts toolchain.CompileOptions) (*loader.Library, error) {
	t, err := Tools()
	if err != nil {
		return nil, err
	}
	obj, err := t.Compile(context.Background(), name, src, opts)
	if err != nil {
		return nil, err
	}
	return loader.Open(obj.Path)
}
