package compiler

import (
	"context"
	"fmt"
	"os"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

// Load compiles a SimpLang source file (see Compile) and opens the object with loader.Open.
// The caller closes the library. A temporary object (caching off) is removed once opened:
// the library stays mapped, and nothing is left behind in the temporary directory.
func Load(ctx context.Context, tools *toolchain.Tools, filename string, src []byte, opts Options) (*loader.Library, *Object, error) {
	obj, err := Compile(ctx, tools, filename, src, opts)
	if err != nil {
		return nil, nil, err
	}
	lib, err := loader.Open(obj.Path)
	if obj.Temporary {
		os.Remove(obj.Path)
	}
	if err != nil {
		return nil, nil, err
	}
	return lib, obj, nil
}

// Lookup returns the function of lib called want.Name, after checking that its signature
// (parameter names and kinds, result) is want. Which arrays the function writes is the
// compiler's finding, not part of what is checked.
func Lookup(lib *loader.Library, want abi.Func) (*loader.Func, error) {
	fn, err := lib.Func(want.Name)
	if err != nil {
		return nil, err
	}
	got := fn.Signature()
	for i := range got.Params {
		got.Params[i].Written = false
	}
	if got.String() != want.String() {
		return nil, fmt.Errorf("compiler: %s has the signature\n\t%v\nwant\n\t%v", want.Name, got, want)
	}
	return fn, nil
}
