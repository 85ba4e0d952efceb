package frontend

import "strings"

// Builtin identifies a builtin function (language §5).
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

	// Internal builtins: written by package lower for checked array access (language §4.1),
	// never resolved from a source name.
	Len     // Len(a): the element count of array a, i64
	Dim     // Dim(g, k): the size of dimension k of local array g (of rank 2 or more), i64
	Slot    // Slot(): where the calling thread reports failed checks, an address as i64
	SetSlot // SetSlot(s): report this thread's failed checks to s; gives where it reported before
	Report  // Report(slot, site, index, size): a failed check, at site (an i32 of the file's sites)
	// Dot(a, i, b, j, n): Σ_{k<n} (a[i+k] as i32)·(b[j+k] as i32) over arrays of i8 or u8,
	// an i32 (wrapping as the loop's sum would), for n ≥ 0 a multiple of DotChunk.
	Dot
	// ScaledDot(a, i, b, j, scale): Dot(a, i, b, j, DotChunk) as f32 · scale, f32. It stands
	// only as `s = s + ScaledDot(…)` in the body of a loop whose lower.Loop lists s in Lanes.
	ScaledDot
	// ScaledNibbleDot(x, i, w, j, scale, h) is ScaledDot with w of u8 holding q4 nibbles: the
	// products are x[i+k]·((w[j+k] & 15) − 8) and x[h+k]·((w[j+k] >> 4) − 8) for
	// k < DotChunk/2 (h = i + DotChunk/2 when a group's inputs are in order).
	ScaledNibbleDot
	// ScaledDotPair(a, i0, b, j0, scale0, i1, j1, scale1) is ScaledDot(a, i0, b, j0, scale0) +
	// ScaledDot(a, i1, b, j1, scale1), of two i8 arrays, in one step of a loop on lanes: the
	// generators use the CPU's byte dot product (vpdpbusd, AVX-512 VNNI) on both groups at once.
	ScaledDotPair
	// ScaledNibbleDotQuad(x, i0, w, j0, scale0, h0, i1, j1, scale1, h1, i2, j2, scale2, h2,
	// i3, j3, scale3, h3) is the sum of four ScaledNibbleDot, of x of i8, in one step of a
	// loop on lanes, as ScaledDotPair. Either may take two more arguments, table and at: the
	// part of its byte sums that depends on its inputs alone is then not computed but read,
	// 16 i32 from table[at], where GroupBias put it negated: the byte sums start from them.
	ScaledNibbleDotQuad
	// GroupBias(table, at, a, i0, i1) stores at table[at] (an i32 array) the 16 i32 that the
	// generators' ScaledDotPair of inputs a at i0 and i1 takes out of its byte sums, negated;
	// GroupBias(table, at, x, i0, h0, i1, h1, i2, h2, i3, h3) those of a ScaledNibbleDotQuad.
	// A statement, written before the row loop around such dots (package lower, biases.go).
	GroupBias
	// Bits(x): the bits of a float or half x as the unsigned integer of its size.
	Bits
	// FromBits(b): the float or half (the call's type) whose bits are the unsigned b.
	FromBits
	// Select(c, x, y): x when c, else y; both are evaluated.
	Select
	// FloatDot(a, i, b, j, n): the products a[i+k]·b[j+k], k < 16·n, of two f32 arrays (or bf16
	// ones, each element widened to f32), the n products of lane k mod 16 added to that lane's
	// sum; n is a constant, 1 or 2. It stands only as `s = s + FloatDot(…)` in the body of a
	// loop whose lower.Loop lists s in Lanes, as ScaledDot.
	FloatDot
	// Prefetch(a, i): a hint that the element a[i] of an array will soon be read, to bring its
	// line into the second-level cache (LLVM locality 1, x86 prefetcht2); i may lie past the
	// array's end. A statement: no value, no check, no effect on any value. Measured
	// 2026-12-03 on Zen 4 (125M q4 decode, alternated token by token): locality 3
	// (prefetcht0) took 1.32 of the time, 2 (prefetcht1) 0.996, 0 (prefetchnta) 1.28.
	Prefetch
)

// DotChunk is how many elements of each array Dot takes at a time: one 256-bit load.
const DotChunk = 32

// builtinInfo describes a builtin's forms: the parameter names of its long form and how many
// of them the short form takes.
type builtinInfo struct {
	name     string
	params   []string // names of the long form's parameters
	short    int      // arity of the short form (= len(params) when there is one form)
	arrays   int      // the first `arrays` parameters are arrays
	output   int      // index of the output array parameter, -1 for scalar builtins
	internal bool     // written only by package lower
}

var builtins = map[Builtin]builtinInfo{
	Rmsnorm:             {"rmsnorm", []string{"in", "w", "out", "n", "eps", "w_off"}, 5, 3, 2, false},
	Softmax:             {"softmax", []string{"in", "out", "n", "in_off", "out_off"}, 3, 2, 1, false},
	Silu:                {"silu", []string{"in", "out", "n"}, 3, 2, 1, false},
	Matmul:              {"matmul", []string{"A", "B", "C", "m", "k", "n", "a_off", "b_off", "c_off"}, 6, 3, 2, false},
	Sqrt:                {"sqrt", []string{"x"}, 1, 0, -1, false},
	Exp:                 {"exp", []string{"x"}, 1, 0, -1, false},
	Log:                 {"log", []string{"x"}, 1, 0, -1, false},
	Sin:                 {"sin", []string{"x"}, 1, 0, -1, false},
	Cos:                 {"cos", []string{"x"}, 1, 0, -1, false},
	Abs:                 {"abs", []string{"x"}, 1, 0, -1, false},
	Pow:                 {"pow", []string{"x", "y"}, 2, 0, -1, false},
	Min:                 {"min", []string{"x", "y"}, 2, 0, -1, false},
	Max:                 {"max", []string{"x", "y"}, 2, 0, -1, false},
	Round:               {"round", []string{"x"}, 1, 0, -1, false},
	Floor:               {"floor", []string{"x"}, 1, 0, -1, false},
	Ceil:                {"ceil", []string{"x"}, 1, 0, -1, false},
	Len:                 {"len", []string{"a"}, 1, 1, -1, true},
	Dim:                 {"dim", []string{"g", "k"}, 2, 1, -1, true},
	Slot:                {"slot", nil, 0, 0, -1, true},
	SetSlot:             {"set_slot", []string{"slot"}, 1, 0, -1, true},
	Report:              {"report", []string{"slot", "site", "index", "size"}, 4, 0, -1, true},
	Dot:                 {"dot", []string{"a", "i", "b", "j", "n"}, 5, 0, -1, true},
	ScaledDot:           {"scaled_dot", []string{"a", "i", "b", "j", "scale"}, 5, 0, -1, true},
	ScaledNibbleDot:     {"scaled_nibble_dot", []string{"x", "i", "w", "j", "scale", "h"}, 6, 0, -1, true},
	ScaledDotPair:       {"scaled_dot_pair", []string{"a", "i0", "b", "j0", "scale0", "i1", "j1", "scale1", "table", "at"}, 8, 0, -1, true},
	ScaledNibbleDotQuad: {"scaled_nibble_dot_quad", []string{"x", "i0", "w", "j0", "scale0", "h0", "i1", "j1", "scale1", "h1", "i2", "j2", "scale2", "h2", "i3", "j3", "scale3", "h3", "table", "at"}, 18, 0, -1, true},
	GroupBias:           {"group_bias", []string{"table", "at", "x", "i0", "h0", "i1", "h1", "i2", "h2", "i3", "h3"}, 5, 0, -1, true},
	Bits:                {"bits", []string{"x"}, 1, 0, -1, true},
	FromBits:            {"from_bits", []string{"b"}, 1, 0, -1, true},
	Select:              {"select", []string{"c", "x", "y"}, 3, 0, -1, true},
	Prefetch:            {"prefetch", []string{"a", "i"}, 2, 1, -1, true},
	FloatDot:            {"float_dot", []string{"a", "i", "b", "j", "n"}, 5, 0, -1, true},
}

var builtinByName = func() map[string]Builtin {
	m := make(map[string]Builtin)
	for b, info := range builtins {
		if !info.internal {
			m[info.name] = b
		}
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
