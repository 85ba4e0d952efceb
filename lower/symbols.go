package lower

import (
	"fmt"
	"strings"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/frontend"
)

// runtimeSymbols are the C symbols compiled code calls, directly or through LLVM's math
// intrinsics: a SimpLang function of that name would be exported under it and take its place
// inside the object.
var runtimeSymbols = map[string]bool{
	"aligned_alloc": true, "malloc": true, "calloc": true, "free": true, "posix_memalign": true,
	"memset": true, "memcpy": true, "memmove": true,
	"omp_get_thread_num": true, "omp_get_num_threads": true, "omp_set_num_threads": true,
	"sqrtf": true, "expf": true, "exp2f": true, "exp2": true, "logf": true, "sinf": true,
	"cosf": true, "sincosf": true, "sincos": true, "powf": true, "ldexpf": true, "ldexp": true,
	"fminf": true, "fmin": true, "fmaxf": true, "fmax": true, "roundf": true, "floorf": true, "ceilf": true,
	"__extendhfsf2": true, "__truncsfhf2": true, // f16 conversions without F16C
	abi.TableSymbol: true, abi.SitesSymbol: true, abi.TakeErrorSymbol: true,
	abi.SlotSymbol: true, abi.SetSlotSymbol: true, abi.ReportSymbol: true,
}

// f64Builtins are the builtins whose f64 forms call the C math function of the same name:
// a file that defines a function of that name cannot also use them on f64.
var f64Builtins = map[string][]frontend.Builtin{
	"exp":  {frontend.Exp, frontend.Softmax, frontend.Silu},
	"log":  {frontend.Log},
	"sin":  {frontend.Sin},
	"cos":  {frontend.Cos},
	"pow":  {frontend.Pow},
	"sqrt": {frontend.Sqrt, frontend.Rmsnorm},
}

// checkSymbols reports functions whose exported symbol would clash with another symbol of the
// compiled object.
func checkSymbols(f *frontend.File, errs *frontend.ErrorList) {
	names := map[string]*frontend.Func{}
	for _, fn := range f.Funcs {
		names[fn.Name] = fn
	}
	for _, fn := range f.Funcs {
		switch {
		case runtimeSymbols[fn.Name] || strings.HasPrefix(fn.Name, "__kmpc_"):
			errs.Add(fn.Pos, fmt.Sprintf("function name %s is reserved: the compiled object uses a C, OpenMP or run-time symbol of that name; rename the function", fn.Name))
		case names[abi.PackedName(fn.Name)] != nil:
			errs.Add(names[abi.PackedName(fn.Name)].Pos, fmt.Sprintf("function name %s is the packed entry point of function %s; rename it", abi.PackedName(fn.Name), fn.Name))
		}
	}
	for name, uses := range f64Builtins {
		fn := names[name]
		if fn == nil {
			continue
		}
		for _, g := range f.Funcs {
			frontend.Inspect(g.Body, func(n frontend.Node) bool {
				c, ok := n.(*frontend.Call)
				if ok && c.Builtin != frontend.NoBuiltin && hasF64Use(c, uses) {
					errs.Add(c.Pos, fmt.Sprintf("%s on f64 calls the C function %s, which this file's own function %s (at %s) replaces: rename that function", c.Builtin, name, name, fn.Pos))
				}
				return true
			})
		}
	}
}

func hasF64Use(c *frontend.Call, uses []frontend.Builtin) bool {
	for _, b := range uses {
		if c.Builtin == b && len(c.Args) > 0 && c.Args[0].Type().Kind == abi.F64 {
			return true
		}
	}
	return false
}
