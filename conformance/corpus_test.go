package conformance

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/frontend"
	"github.com/simplang/simplang/half"
	"github.com/simplang/simplang/internal/corpus"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/toolchain"
)

// variants are the compiler configurations every corpus program must pass under. All jam a
// mat-vec's rows wherever loops finds it worth it, so that the jammed code is tested on
// every CPU, also where the compiler leaves it out by default (compiler.JamByCPU).
var variants = []struct {
	name string
	opts compiler.Options
}{
	{"mlir", compiler.Options{Backend: compiler.MLIR, Jam: compiler.JamAlways}},
	{"mlir-strict-fp", compiler.Options{Backend: compiler.MLIR, StrictFP: true, Jam: compiler.JamAlways}},
	{"mlir-O0-serial", compiler.Options{Backend: compiler.MLIR, Serial: true, OptLevel: toolchain.O0, Jam: compiler.JamAlways}},
	{"llvm", compiler.Options{Backend: compiler.LLVM, Jam: compiler.JamAlways}},
	{"llvm-strict-fp", compiler.Options{Backend: compiler.LLVM, StrictFP: true, Jam: compiler.JamAlways}},
	{"llvm-O0-serial", compiler.Options{Backend: compiler.LLVM, Serial: true, OptLevel: toolchain.O0, Jam: compiler.JamAlways}},
	{"llvm-opt-llc", compiler.Options{Backend: compiler.LLVM, Route: toolchain.ViaOptLLC, Jam: compiler.JamAlways}},
	{"mlir-unchecked", compiler.Options{Backend: compiler.MLIR, Unchecked: true, Jam: compiler.JamAlways}},
	{"llvm-unchecked", compiler.Options{Backend: compiler.LLVM, Unchecked: true, Jam: compiler.JamAlways}},
}

// expectation is one `// expect: NAME() = VALUE [~TOL]` line.
type expectation struct {
	fn    string
	value string
	tol   float64
}

var expectLine = regexp.MustCompile(`(?m)^// expect: (\w+)\(\) = (\S+)(?: ~(\S+))?\s*$`)

func expectations(t *testing.T, src []byte) []expectation {
	var list []expectation
	for _, m := range expectLine.FindAllSubmatch(src, -1) {
		e := expectation{fn: string(m[1]), value: string(m[2]), tol: 1e-5}
		if len(m[3]) > 0 {
			tol, err := strconv.ParseFloat(string(m[3]), 64)
			if err != nil {
				t.Fatalf("bad tolerance in %q: %v", m[0], err)
			}
			e.tol = tol
		}
		list = append(list, e)
	}
	if len(list) == 0 {
		t.Fatal("no // expect: lines")
	}
	return list
}

// TestCorpusRun runs the shared corpora, and this package's own programs in testdata (early
// returns from nested loops, every scalar type, local grids, parallel loops, the rules of
// unsigned and half-precision types, bit operations and conversions), under every variant.
func TestCorpusRun(t *testing.T) {
	files := corpus.Programs(t, "run")
	local, _ := filepath.Glob(filepath.Join("testdata", "*.sl"))
	files = append(files, local...)
	for _, v := range variants {
		for _, path := range files {
			t.Run(v.name+"/"+filepath.Base(path), func(t *testing.T) {
				t.Parallel()
				src, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				lib := kerneltest.Open(t, path, src, v.opts)
				for _, e := range expectations(t, src) {
					got := kerneltest.Call(t, kerneltest.Func(t, lib, e.fn))
					if msg := check(got, e); msg != "" {
						t.Errorf("%s() = %v, want %s%s", e.fn, got, e.value, msg)
					}
				}
			})
		}
	}
}

// check compares a result with its expectation: integers exactly, floats within the
// relative tolerance. It returns "" when they agree.
func check(got any, e expectation) string {
	switch g := got.(type) {
	case int64, int32, int16, int8, uint64, uint32, uint16, uint8:
		want, ok := new(big.Int).SetString(e.value, 0)
		if !ok {
			return " (not an integer)"
		}
		if fmt.Sprint(g) != want.String() {
			return " (integers compare exactly)"
		}
		return ""
	case half.F16:
		return check(g.Float32(), e)
	case half.BF16:
		return check(g.Float32(), e)
	case float32, float64:
		want, err := strconv.ParseFloat(e.value, 64)
		if err != nil {
			return fmt.Sprintf(" (not a number: %v)", err)
		}
		f, _ := strconv.ParseFloat(fmt.Sprint(g), 64)
		if math.Abs(f-want) > e.tol*math.Max(1, math.Abs(want)) {
			return fmt.Sprintf(" (tolerance %g)", e.tol)
		}
		return ""
	}
	return fmt.Sprintf(" (unexpected result type %T)", got)
}

// TestCorpusErrors checks that Compile rejects every error program of the corpora, and this
// package's own in testdata/errors, with its stated diagnostic, through each backend.
// Rejection happens in the frontend, before any option of a variant matters, so one variant
// per backend suffices.
func TestCorpusErrors(t *testing.T) {
	files := corpus.Programs(t, "errors")
	local, _ := filepath.Glob(filepath.Join("testdata", "errors", "*.sl"))
	files = append(files, local...)
	for _, v := range variants {
		if v.name != "mlir" && v.name != "llvm" {
			continue
		}
		for _, path := range files {
			t.Run(v.name+"/"+filepath.Base(path), func(t *testing.T) {
				src, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				_, err = compiler.Compile(context.Background(), kerneltest.Tools(t), path, src, v.opts)
				var list *frontend.ErrorList
				if !errors.As(err, &list) {
					t.Fatalf("compiled without a source error (err = %v)", err)
				}
				for _, w := range corpus.WantErrors(t, src) {
					if !slices.ContainsFunc(list.Errs, func(e *frontend.Error) bool {
						return e.File == path && w.Matches(e.Pos.Line, e.Pos.Col, e.Msg)
					}) {
						t.Errorf("missing diagnostic %d:%d %q in:\n%v", w.Line, w.Col, w.Text, list)
					}
				}
			})
		}
	}
}
