package frontend

import "strings"

// Builtin identifies a builtin function (SPEC §5).
type Builtin int

// The builtins. NoBuiltin marks a call of a function of the file.
const (
	NoBuiltin Builtin = iota
	Rmsnorm
	Softmax
	Silu
	Matmul
	Sqrt
	Exp
	Log
	Sin
	Cos
	Abs
	Pow
	Min
	Max
	Round
	Floor
	Ceil
)

// builtinInfo describes a builtin's forms: the parameter names of its long form and how many
// of them the short form takes.
type builtinInfo struct {
	name   string
	params []string // names of the long form's parameters
	short  int      // arity of the short form (= len(params) when there is one form)
	arrays int      // the first `arrays` parameters are arrays
	output int      // index of the output array parameter, -1 for scalar builtins
}

var builtins = map[Builtin]builtinInfo{
	Rmsnorm: {"rmsnorm", []string{"in", "w", "out", "n", "eps", "w_off"}, 5, 3, 2},
	Softmax: {"softmax", []string{"in", "out", "n", "in_off", "out_off"}, 3, 2, 1},
	Silu:    {"silu", []string{"in", "out", "n"}, 3, 2, 1},
	Matmul:  {"matmul", []string{"A", "B", "C", "m", "k", "n", "a_off", "b_off", "c_off"}, 6, 3, 2},
	Sqrt:    {"sqrt", []string{"x"}, 1, 0, -1},
	Exp:     {"exp", []string{"x"}, 1, 0, -1},
	Log:     {"log", []string{"x"}, 1, 0, -1},
	Sin:     {"sin", []string{"x"}, 1, 0, -1},
	Cos:     {"cos", []string{"x"}, 1, 0, -1},
	Abs:     {"abs", []string{"x"}, 1, 0, -1},
	Pow:     {"pow", []string{"x", "y"}, 2, 0, -1},
	Min:     {"min", []string{"x", "y"}, 2, 0, -1},
	Max:     {"max", []string{"x", "y"}, 2, 0, -1},
	Round:   {"round", []string{"x"}, 1, 0, -1},
	Floor:   {"floor", []string{"x"}, 1, 0, -1},
	Ceil:    {"ceil", []string{"x"}, 1, 0, -1},
}

var builtinByName = func() map[string]Builtin {
	m := make(map[string]Builtin)
	for b, info := range builtins {
		m[info.name] = b
	}
	return m
}()

func (b Builtin) String() string { return builtins[b].name }

// Output is the index of the argument a builtin writes into and returns, or -1 for the scalar
// builtins (and NoBuiltin).
func (b Builtin) Output() int {
	if b == NoBuiltin {
		return -1
	}
	return builtins[b].output
}

// usage renders the builtin's accepted forms, e.g. "softmax(in, out, n) or softmax(in, out, n,
// in_off, out_off)".
func (b Builtin) usage() string {
	info := builtins[b]
	long := info.name + "(" + strings.Join(info.params, ", ") + ")"
	if info.short == len(info.params) {
		return long
	}
	return info.name + "(" + strings.Join(info.params[:info.short], ", ") + ") or " + long
}
