package conformance

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/loops"
	"github.com/simplang/simplang/toolchain"
)

// The tests of checked array access (language §4.1, issue 14): kernels called from Go with
// arrays shorter than their counts, which read and write out of range in straight code,
// counted loops, parallel and jammed loops, local grids and builtins, and divide by zero.
// Every call must return a *loader.CheckError naming the index expression's file:line:col,
// the index and the size; memory around every slice must stay as it was; and the next
// correct call on the same library must succeed.

const checksFile = "testdata/checks/kernels.sl"

// checkVariants are the configurations checked code is tested under: both backends, with
// fast and strict floating point, and unoptimized without parallel loops, all jamming rows
// whatever the CPU (as corpus_test's variants). The tests that need only one configuration
// per backend take the first two.
var checkVariants = []struct {
	name string
	opts compiler.Options
}{
	{"mlir", compiler.Options{Backend: compiler.MLIR, Jam: compiler.JamAlways}},
	{"llvm", compiler.Options{Backend: compiler.LLVM, Jam: compiler.JamAlways}},
	{"mlir-strict-fp", compiler.Options{Backend: compiler.MLIR, StrictFP: true, Jam: compiler.JamAlways}},
	{"llvm-strict-fp", compiler.Options{Backend: compiler.LLVM, StrictFP: true, Jam: compiler.JamAlways}},
	{"mlir-O0-serial", compiler.Options{Backend: compiler.MLIR, Serial: true, OptLevel: toolchain.O0, Jam: compiler.JamAlways}},
	{"llvm-O0-serial", compiler.Options{Backend: compiler.LLVM, Serial: true, OptLevel: toolchain.O0, Jam: compiler.JamAlways}},
}

// checkSource is the kernels' source, with helpers that find positions in it.
type checkSource struct {
	src   []byte
	lines []string
}

func readChecks(t testing.TB) *checkSource {
	t.Helper()
	src, err := os.ReadFile(checksFile)
	if err != nil {
		t.Fatal(err)
	}
	return &checkSource{src: src, lines: strings.Split(string(src), "\n")}
}

// at returns "kernels.sl:LINE:COL" of the text `what` (its first occurrence) on the first line
// of function fn whose trimmed text is `line`; plus skips that many bytes into `what`.
func (s *checkSource) at(t testing.TB, fn, line, what string, plus int) string {
	t.Helper()
	start := -1
	for i, l := range s.lines {
		if strings.HasPrefix(l, "fn "+fn+"(") {
			start = i
			break
		}
	}
	if start < 0 {
		t.Fatalf("no function %s in %s", fn, checksFile)
	}
	for i := start + 1; i < len(s.lines) && !strings.HasPrefix(s.lines[i], "fn "); i++ {
		if strings.TrimSpace(s.lines[i]) != line {
			continue
		}
		col := strings.Index(s.lines[i], what)
		if col < 0 {
			t.Fatalf("%q not on line %d %q", what, i+1, s.lines[i])
		}
		return fmt.Sprintf("kernels.sl:%d:%d", i+1, col+1+plus)
	}
	t.Fatalf("no line %q in function %s", line, fn)
	return ""
}

// index is the position of the index expression of access (such as "a[i]") on line.
func (s *checkSource) index(t testing.TB, fn, line, access string) string {
	t.Helper()
	return s.at(t, fn, line, access, strings.Index(access, "[")+1)
}

// expectCheck asserts that err is a *loader.CheckError of function fn at pos for array with
// that index and size, and its message; with index anyIndex, any index outside [0, size).
func expectCheck(t *testing.T, err error, fn, pos, array string, index, size int64) *loader.CheckError {
	t.Helper()
	var ce *loader.CheckError
	if !errors.As(err, &ce) {
		t.Errorf("%s: got error %v, want a *loader.CheckError at %s", fn, err, pos)
		return nil
	}
	if ce.Func != fn || ce.Site.Pos != pos || ce.Site.Array != array || ce.Size != size {
		t.Errorf("%s: CheckError %+v (%v), want %s, array %s, size %d", fn, ce, err, pos, array, size)
	}
	if index == anyIndex {
		if ce.Index >= 0 && ce.Index < ce.Size {
			t.Errorf("%s: CheckError index %d is within the size %d", fn, ce.Index, ce.Size)
		}
		return ce
	}
	if ce.Index != index {
		t.Errorf("%s: CheckError index %d, want %d (%v)", fn, ce.Index, index, err)
	}
	what := array
	if ce.Site.Dim > 0 {
		what = fmt.Sprintf("dimension %d of %s", ce.Site.Dim+1, array)
	}
	want := fmt.Sprintf("%s: %s: index %d out of range for %s (size %d)", pos, fn, index, what, size)
	if err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	return ce
}

const anyIndex = math.MinInt64

// expectDivide asserts that err reports an integer division by zero at pos.
func expectDivide(t *testing.T, err error, fn, pos string) {
	t.Helper()
	var ce *loader.CheckError
	if !errors.As(err, &ce) {
		t.Errorf("%s: got error %v, want a *loader.CheckError for a division by zero at %s", fn, err, pos)
		return
	}
	if want := pos + ": " + fn + ": integer division by zero"; err.Error() != want || ce.Func != fn {
		t.Errorf("%s: message %q, want %q", fn, err.Error(), want)
	}
}

// pad is how many elements of canaries surround every slice a test passes.
const pad = 64

// fenced is a slice cut from the middle of a bigger buffer whose other elements hold a
// canary value, to find writes just before and after the slice.
type fenced[T comparable] struct {
	buf    []T
	n      int
	canary T
}

// fence returns n elements set by fill (nil: zero), between canaries.
func fence[T comparable](n int, canary T, fill func(i int) T) *fenced[T] {
	f := &fenced[T]{buf: make([]T, n+2*pad), n: n, canary: canary}
	for i := range f.buf {
		f.buf[i] = canary
	}
	for i := 0; i < n; i++ {
		var v T
		if fill != nil {
			v = fill(i)
		}
		f.buf[pad+i] = v
	}
	return f
}

// s is the slice itself (capacity included, so nothing past it is reachable from Go).
func (f *fenced[T]) s() []T { return f.buf[pad : pad+f.n : pad+f.n] }

// check fails the test when an element around the slice changed.
func (f *fenced[T]) check(t *testing.T, what string) {
	t.Helper()
	for i, v := range f.buf {
		if (i < pad || i >= pad+f.n) && v != f.canary {
			t.Errorf("%s: element %d around the slice (%d from its start) changed to %v", what, i, i-pad, v)
			return
		}
	}
}

func f32s(n int, fill func(i int) float32) *fenced[float32] { return fence(n, float32(-77), fill) }
func i64s(n int, fill func(i int) int64) *fenced[int64]     { return fence(n, int64(-77), fill) }

func ramp(i int) float32 { return float32(i%7) + 1 }

// openChecks compiles the kernels under v and returns a function that calls one.
func openChecks(t *testing.T, opts compiler.Options) (*checkSource, *loader.Library, func(name string, args ...any) (any, error)) {
	s := readChecks(t)
	lib := kerneltest.Open(t, "kernels.sl", s.src, opts)
	return s, lib, func(name string, args ...any) (any, error) {
		return kerneltest.Func(t, lib, name).Call(args...)
	}
}

// noResult asserts a failed call returned no result.
func noResult(t *testing.T, fn string, r any) {
	t.Helper()
	if r != nil {
		t.Errorf("%s: a failed call returned the result %v", fn, r)
	}
}

func TestCheckStraightCode(t *testing.T) {
	for _, v := range checkVariants {
		t.Run(v.name, func(t *testing.T) {
			s, _, call := openChecks(t, v.opts)
			storePos := s.index(t, "store1", "a[k] = v;", "a[k]")
			for _, k := range []int64{3, 4, 1000000, -1, math.MinInt64, math.MaxInt64} {
				a := f32s(3, ramp)
				_, err := call("store1", a.s(), k, float32(42))
				expectCheck(t, err, "store1", storePos, "a", k, 3)
				a.check(t, fmt.Sprintf("store1 a[%d]", k))
				for i, x := range a.s() {
					if x != ramp(i) {
						t.Errorf("store1 a[%d]: a[%d] = %v, want %v unchanged", k, i, x, ramp(i))
					}
				}
			}
			// An empty slice (a nil pointer in the descriptor).
			_, err := call("store1", []float32{}, int64(0), float32(1))
			expectCheck(t, err, "store1", storePos, "a", 0, 0)

			loadPos := s.index(t, "load1", "out[0] = a[k] + 1.0;", "a[k]")
			for _, k := range []int64{5, -1, -100000000} {
				a, out := f32s(5, ramp), f32s(1, nil)
				r, err := call("load1", a.s(), out.s(), k)
				noResult(t, "load1", r)
				expectCheck(t, err, "load1", loadPos, "a", k, 5)
				if out.s()[0] != 1 {
					t.Errorf("load1 a[%d]: out[0] = %v, want 1 (the read gives 0)", k, out.s()[0])
				}
				a.check(t, "load1 a")
				out.check(t, "load1 out")
			}
			// The out-of-range store of out[0] itself.
			_, err = call("load1", make([]float32, 5), []float32{}, int64(2))
			expectCheck(t, err, "load1", s.index(t, "load1", "out[0] = a[k] + 1.0;", "out[0]"), "out", 0, 0)

			// The report was taken: correct calls succeed.
			a := f32s(3, nil)
			if _, err := call("store1", a.s(), int64(2), float32(42)); err != nil || a.s()[2] != 42 {
				t.Errorf("store1 in range after failures: err %v, a = %v", err, a.s())
			}
			out := f32s(1, nil)
			if _, err := call("load1", a.s(), out.s(), int64(2)); err != nil || out.s()[0] != 43 {
				t.Errorf("load1 in range after failures: err %v, out = %v", err, out.s())
			}
		})
	}
}

func TestCheckCountedLoops(t *testing.T) {
	for _, v := range checkVariants {
		t.Run(v.name, func(t *testing.T) {
			s, _, call := openChecks(t, v.opts)
			copyLine := "out[i] = a[i] + 1.0;"
			for _, c := range []struct{ na, nout, n int }{{3, 10, 10}, {1000, 2000, 1500}, {0, 5, 5}, {10, 3, 10}, {2000, 1000, 1500}, {10, 0, 4}} {
				a, out := f32s(c.na, ramp), f32s(c.nout, nil)
				_, err := call("copy_plus", a.s(), out.s(), c.n)
				if c.na < c.n {
					expectCheck(t, err, "copy_plus", s.index(t, "copy_plus", copyLine, "a[i]"), "a", int64(c.na), int64(c.na))
				} else {
					expectCheck(t, err, "copy_plus", s.index(t, "copy_plus", copyLine, "out[i]"), "out", int64(c.nout), int64(c.nout))
				}
				a.check(t, "copy_plus a")
				out.check(t, "copy_plus out")
				for i := 0; i < min(c.n, c.nout); i++ {
					want := float32(1)
					if i < c.na {
						want = ramp(i) + 1
					}
					if got := out.s()[i]; got != want {
						t.Errorf("copy_plus %+v: out[%d] = %v, want %v", c, i, got, want)
						break
					}
				}
			}

			windowLine := "out[i - lo] = a[i] * 2.0;"
			for _, c := range []struct{ na, nout, lo, hi int64 }{{10, 10, -2, 5}, {10, 20, 5, 15}, {10, 4, 2, 10}, {10, 20, math.MaxInt64 - 3, math.MaxInt64}} {
				a, out := f32s(int(c.na), ramp), f32s(int(c.nout), nil)
				_, err := call("window", a.s(), out.s(), c.lo, c.hi)
				switch {
				case c.lo < 0 || c.lo >= c.na:
					expectCheck(t, err, "window", s.index(t, "window", windowLine, "a[i]"), "a", c.lo, c.na)
				case c.hi > c.na:
					expectCheck(t, err, "window", s.index(t, "window", windowLine, "a[i]"), "a", c.na, c.na)
				default:
					expectCheck(t, err, "window", s.index(t, "window", windowLine, "out[i - lo]"), "out", c.nout, c.nout)
				}
				a.check(t, "window a")
				out.check(t, "window out")
			}

			for _, c := range []struct{ na, n int }{{10, 13}, {9, 100}, {1, 4}} {
				a := f32s(c.na, ramp)
				r, err := call("strided", a.s(), int64(c.n))
				noResult(t, "strided", r)
				first := (c.na + 2) / 3 * 3 // the first multiple of 3 from len(a) on
				expectCheck(t, err, "strided", s.index(t, "strided", "s += a[i];", "a[i]"), "a", int64(first), int64(c.na))
				a.check(t, "strided a")
			}

			a, out := f32s(5, ramp), f32s(8, nil)
			_, err := call("reverse", a.s(), out.s(), int64(8))
			expectCheck(t, err, "reverse", s.index(t, "reverse", "out[i] = a[n - 1 - i];", "a[n - 1 - i]"), "a", 7, 5)
			a.check(t, "reverse a")
			out.check(t, "reverse out")
			for i, want := range []float32{0, 0, 0, ramp(4), ramp(3), ramp(2), ramp(1), ramp(0)} {
				if out.s()[i] != want {
					t.Errorf("reverse: out = %v, want reads out of range to give 0", out.s())
					break
				}
			}

			// A reduction (vectorized unless strict-fp).
			for _, nb := range []int{999, 0, 1} {
				a, b := f32s(1000, ramp), f32s(nb, ramp)
				r, err := call("dot", a.s(), b.s(), int64(1000))
				noResult(t, "dot", r)
				expectCheck(t, err, "dot", s.index(t, "dot", "s += a[i] * b[i];", "b[i]"), "b", int64(nb), int64(nb))
				a.check(t, "dot a")
				b.check(t, "dot b")
			}

			// Accesses that are not affine are checked one by one.
			gatherLine := "out[i] = a[idx[i]];"
			for _, bad := range []int64{10, -1, 1 << 40, math.MinInt64} {
				a, idx, out := f32s(10, ramp), i64s(20, func(i int) int64 { return int64(i % 10) }), f32s(20, nil)
				idx.s()[7], idx.s()[12] = bad, bad
				_, err := call("gather", a.s(), idx.s(), out.s(), int64(20))
				expectCheck(t, err, "gather", s.index(t, "gather", gatherLine, "a[idx[i]]"), "a", bad, 10)
				for i, got := range out.s() {
					want := ramp(i % 10) // a[i % 10]
					if i == 7 || i == 12 {
						want = 0
					}
					if got != want {
						t.Errorf("gather with idx[7] = %d: out[%d] = %v, want %v", bad, i, got, want)
					}
				}
				a.check(t, "gather a")
				idx.check(t, "gather idx")
				out.check(t, "gather out")
			}
			_, err = call("gather", make([]float32, 10), make([]int64, 5), make([]float32, 20), int64(20))
			expectCheck(t, err, "gather", s.index(t, "gather", gatherLine, "idx[i]"), "idx", 5, 5)

			// Reads in a loop condition.
			a, out = f32s(6, func(int) float32 { return 1 }), nil
			r, err := call("scan", a.s())
			noResult(t, "scan", r)
			expectCheck(t, err, "scan", s.index(t, "scan", "while (a[i] > 0.0) {", "a[i]"), "a", 6, 6)
			if r, err := call("scan_to", a.s(), int64(6)); err != nil || r != int64(6) {
				t.Errorf("scan_to(a, 6) = %v, %v; want 6 (&& guards the read)", r, err)
			}
			a.check(t, "scan a")

			// The report was taken: correct calls succeed.
			a, out = f32s(100, ramp), f32s(100, nil)
			if _, err := call("copy_plus", a.s(), out.s(), int64(100)); err != nil || out.s()[99] != ramp(99)+1 {
				t.Errorf("copy_plus in range after failures: err %v, out[99] = %v", err, out.s()[99])
			}
			if r, err := call("dot", a.s(), a.s(), int64(100)); err != nil || r.(float32) <= 0 {
				t.Errorf("dot in range after failures = %v, %v", r, err)
			}
		})
	}
}

// TestCheckVersionedLoopOverflow: the range test before a versioned loop must not be fooled
// by an index whose range wraps around i64. shifted writes a[i + off] for i < n: with off =
// MaxInt64−1 and n = 4, every index is out of range (the last two wrap to MinInt64 and
// MinInt64+1), but the range test computes hi = off + n − 1 in wrapping arithmetic, finds
// 0 ≤ lo and hi < len(a), and runs the unchecked twin, which writes a[−2], a[−1] (the
// addresses wrap too), a[0] and a[1], and reports nothing.
func TestCheckVersionedLoopOverflow(t *testing.T) {
	for _, v := range checkVariants {
		t.Run(v.name, func(t *testing.T) {
			s, _, call := openChecks(t, v.opts)
			pos := s.index(t, "shifted", "a[i + off] = 7.0;", "a[i + off]")
			for _, off := range []int64{math.MaxInt64 - 1, math.MaxInt64 - 3, math.MaxInt64} {
				a := f32s(8, ramp)
				_, err := call("shifted", a.s(), off, int64(4))
				expectCheck(t, err, "shifted", pos, "a", off, 8)
				a.check(t, fmt.Sprintf("shifted off=%d", off))
				for i, x := range a.s() {
					if x != ramp(i) {
						t.Errorf("shifted off=%d wrote a[%d] = %v", off, i, x)
					}
				}
			}
			a := f32s(8, ramp)
			if _, err := call("shifted", a.s(), int64(2), int64(6)); err != nil || a.s()[7] != 7 || a.s()[1] != ramp(1) {
				t.Errorf("shifted in range: err %v, a = %v", err, a.s())
			}

			// The same through a builtin's offset: softmax reads x[off + i], whose addresses
			// wrap to x[-2], x[-1], x[0], x[1] (the canaries before x among them).
			x, out := f32s(8, ramp), f32s(4, nil)
			_, err := call("soft_at", x.s(), out.s(), int64(4), int64(math.MaxInt64-1))
			expectCheck(t, err, "soft_at", s.at(t, "soft_at", "softmax(x, out, n, off, 0);", "softmax", 0), "x", math.MaxInt64-1, 8)
		})
	}
}

func TestCheckParallelLoops(t *testing.T) {
	for _, v := range checkVariants {
		t.Run(v.name, func(t *testing.T) {
			s, lib, call := openChecks(t, v.opts)
			line := "s += w[i * cols + j] * x[j];"
			wPos, xPos := s.index(t, "matvec", line, "w[i * cols + j]"), s.index(t, "matvec", line, "x[j]")
			outPos := s.index(t, "matvec", "out[i] = s;", "out[i]")
			shapes := []struct {
				name       string
				rows, cols int
			}{
				{"serial", 3, 5},
				{"parallel", loops.ParallelWork/64 + 1, 64},
				{"jammed", loops.JamMinTrips, loops.JamMinInnerTrips},
				{"jammed+rest", loops.JamMinTrips + 3, loops.JamMinInnerTrips + 5},
			}
			for _, threads := range []int{2, 1} {
				if err := lib.SetThreads(threads); err != nil {
					t.Fatal(err)
				}
				for _, sh := range shapes {
					rows, cols := sh.rows, sh.cols
					name := fmt.Sprintf("%s %dx%d, %d threads", sh.name, rows, cols, threads)
					wfill := func(i int) float32 { return float32(i%13) - 6 }
					xfill := func(j int) float32 { return float32(j%7) * 0.5 }
					want := func(nx int) []float32 {
						w := make([]float32, rows)
						for i := range w {
							var s float64
							for j := 0; j < nx; j++ {
								s += float64(wfill(i*cols+j)) * float64(xfill(j))
							}
							w[i] = float32(s)
						}
						return w
					}

					// x one short: every row fails at j = cols−1 (on every thread) and adds 0.
					out, w, x := f32s(rows, nil), f32s(rows*cols, wfill), f32s(cols-1, xfill)
					_, err := call("matvec", out.s(), w.s(), x.s(), rows, cols)
					expectCheck(t, err, "matvec", xPos, "x", int64(cols-1), int64(cols-1))
					closeTo(t, name+", x short", out.s(), want(cols-1))
					out.check(t, name+" out")
					w.check(t, name+" w")
					x.check(t, name+" x")

					// out one short: only the last row, run by the last thread, fails.
					out, x = f32s(rows-1, nil), f32s(cols, xfill)
					_, err = call("matvec", out.s(), w.s(), x.s(), rows, cols)
					expectCheck(t, err, "matvec", outPos, "out", int64(rows-1), int64(rows-1))
					closeTo(t, name+", out short", out.s(), want(cols)[:rows-1])
					out.check(t, name+" out")

					// w one short: the last element of the last row.
					out, w = f32s(rows, nil), f32s(rows*cols-1, wfill)
					_, err = call("matvec", out.s(), w.s(), x.s(), rows, cols)
					expectCheck(t, err, "matvec", wPos, "w", int64(rows*cols-1), int64(rows*cols-1))
					w.check(t, name+" w")

					// And a correct call.
					out, w = f32s(rows, nil), f32s(rows*cols, wfill)
					if _, err := call("matvec", out.s(), w.s(), x.s(), rows, cols); err != nil {
						t.Errorf("%s: correct call after failures: %v", name, err)
					}
					closeTo(t, name, out.s(), want(cols))
				}
			}
		})
	}
}

func closeTo(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-3*math.Max(1, math.Abs(float64(want[i]))) {
			t.Errorf("%s: element %d = %v, want %v", what, i, got[i], want[i])
			return
		}
	}
}

func TestCheckLocalArrays(t *testing.T) {
	for _, v := range checkVariants {
		t.Run(v.name, func(t *testing.T) {
			s, _, call := openChecks(t, v.opts)
			const r, c = 3, 4
			storeLine := "g[i, j] = v;"
			rowPos := s.at(t, "grid_store", storeLine, "g[i, j]", 2)
			colPos := s.at(t, "grid_store", storeLine, "g[i, j]", 5)
			for _, k := range []struct {
				i, j int64
				dim  int // 1 or 2: which index is out of range
				bad  int64
				size int64
			}{
				{r, 0, 1, r, r},
				{-1, 2, 1, -1, r},
				{1000000, 3, 1, 1000000, r},
				{0, c, 2, c, c},
				{0, 5, 2, 5, c}, // the flat index 5 is within the 12 elements
				{1, -1, 2, -1, c},
				{r, c, 1, r, r}, // both out of range: the first index is reported
			} {
				out := f32s(r*c, nil)
				_, err := call("grid_store", out.s(), r, c, k.i, k.j, float32(5))
				pos, array := rowPos, "g"
				if k.dim == 2 {
					pos = colPos
				}
				ce := expectCheck(t, err, "grid_store", pos, array, k.bad, k.size)
				if ce != nil && ce.Site.Dim != k.dim-1 {
					t.Errorf("grid_store g[%d, %d]: reported dimension %d, want %d", k.i, k.j, ce.Site.Dim+1, k.dim)
				}
				for p, x := range out.s() {
					if x != 0 {
						t.Errorf("grid_store g[%d, %d] wrote element %d", k.i, k.j, p)
					}
				}
				out.check(t, "grid_store out")
			}

			loadLine := "out[0] = g[i, j] + 2.0;"
			for _, k := range [][2]int64{{r, 0}, {0, c}, {-1, -1}} {
				out := f32s(1, nil)
				_, err := call("grid_load", out.s(), r, c, k[0], k[1])
				// the first index out of range is reported
				pos, bad, size := s.at(t, "grid_load", loadLine, "g[i, j]", 2), k[0], int64(r)
				if k[0] >= 0 && k[0] < r {
					pos, bad, size = s.at(t, "grid_load", loadLine, "g[i, j]", 5), k[1], c
				}
				expectCheck(t, err, "grid_load", pos, "g", bad, size)
				if out.s()[0] != 2 {
					t.Errorf("grid_load g[%d, %d]: out[0] = %v, want 2 (the read gives 0)", k[0], k[1], out.s()[0])
				}
			}

			// In loops: one row too many, one column too many.
			fillLine := "g[p, q] = 1.0;"
			out := f32s(1, nil)
			_, err := call("grid_fill", out.s(), r, c, r+1, c)
			expectCheck(t, err, "grid_fill", s.at(t, "grid_fill", fillLine, "g[p, q]", 2), "g", r, r)
			_, err = call("grid_fill", out.s(), r, c, r, c+1)
			expectCheck(t, err, "grid_fill", s.at(t, "grid_fill", fillLine, "g[p, q]", 5), "g", c, c)
			_, err = call("grid_fill", out.s(), 64, 3000, 64, 3001)
			expectCheck(t, err, "grid_fill", s.at(t, "grid_fill", fillLine, "g[p, q]", 5), "g", 3000, 3000)
			out.check(t, "grid_fill out")

			_, err = call("local1", out.s(), 10, 11)
			expectCheck(t, err, "local1", s.index(t, "local1", "t[i] = 3.0;", "t[i]"), "t", 10, 10)
			_, err = call("local1", out.s(), 0, 1)
			expectCheck(t, err, "local1", s.index(t, "local1", "t[i] = 3.0;", "t[i]"), "t", 0, 0)

			// Correct calls afterwards.
			out = f32s(r*c, nil)
			if _, err := call("grid_store", out.s(), r, c, int64(2), int64(1), float32(5)); err != nil || out.s()[2*c+1] != 5 {
				t.Errorf("grid_store in range: err %v, out = %v", err, out.s())
			}
			if _, err := call("local1", out.s(), 10, 10); err != nil || out.s()[0] != 3 {
				t.Errorf("local1 in range: err %v, out[0] = %v", err, out.s()[0])
			}
		})
	}
}

// TestCheckGridOverflow: each index of g[i, j] must be checked against its own dimension
// (language §4.1). The checks test j against its dimension but the first index only through
// the flat index i·c + j, computed in wrapping i64 arithmetic: for a 3×4 grid, i = 2^62
// gives the flat index 0, so g[2^62, 0] = v writes g[0, 0] and nothing is reported.
func TestCheckGridOverflow(t *testing.T) {
	for _, v := range checkVariants {
		t.Run(v.name, func(t *testing.T) {
			s, _, call := openChecks(t, v.opts)
			pos := s.at(t, "grid_store", "g[i, j] = v;", "g[i, j]", 2)
			for _, i := range []int64{1 << 62, -1 << 62, 1<<62 + 1} {
				out := f32s(12, nil)
				_, err := call("grid_store", out.s(), 3, 4, i, int64(0), float32(5))
				expectCheck(t, err, "grid_store", pos, "g", i, 3)
				for p, x := range out.s() {
					if x != 0 {
						t.Errorf("grid_store g[%d, 0] wrote element %d of the grid", i, p)
					}
				}
			}
		})
	}
}

func TestCheckBuiltins(t *testing.T) {
	for _, v := range checkVariants {
		t.Run(v.name, func(t *testing.T) {
			s, _, call := openChecks(t, v.opts)
			const n = 40
			for _, c := range []struct {
				fn       string
				line     string
				lens     []int // the array arguments' lengths
				bad      int   // which array fails first
				names    []string
				extra    []any
				anyIndex bool // the first failing index depends on the loop order
			}{
				{"norm", "rmsnorm(x, w, out, n, 0.00001);", []int{n - 1, n, n}, 0, []string{"x", "w", "out"}, []any{n}, false},
				{"norm", "rmsnorm(x, w, out, n, 0.00001);", []int{n, n - 5, n}, 1, []string{"x", "w", "out"}, []any{n}, false},
				{"norm", "rmsnorm(x, w, out, n, 0.00001);", []int{n, n, 2}, 2, []string{"x", "w", "out"}, []any{n}, false},
				{"soft", "softmax(x, out, n);", []int{n - 1, n}, 0, []string{"x", "out"}, []any{n}, false},
				{"soft", "softmax(x, out, n);", []int{n, 7}, 1, []string{"x", "out"}, []any{n}, false},
				{"act", "silu(x, out, n);", []int{3, n}, 0, []string{"x", "out"}, []any{n}, false},
				{"act", "silu(x, out, n);", []int{n, n - 1}, 1, []string{"x", "out"}, []any{n}, false},
				{"mm", "matmul(a, b, c, m, k, n);", []int{5*6 - 1, 6 * 7, 5 * 7}, 0, []string{"a", "b", "c"}, []any{5, 6, 7}, true},
				{"mm", "matmul(a, b, c, m, k, n);", []int{5 * 6, 6*7 - 2, 5 * 7}, 1, []string{"a", "b", "c"}, []any{5, 6, 7}, true},
				{"mm", "matmul(a, b, c, m, k, n);", []int{5 * 6, 6 * 7, 5*7 - 3}, 2, []string{"a", "b", "c"}, []any{5, 6, 7}, true},
				{"mm", "matmul(a, b, c, m, k, n);", []int{100 * 300, 300 * 40, 100*40 - 1}, 2, []string{"a", "b", "c"}, []any{100, 300, 40}, true},
			} {
				var arrays []*fenced[float32]
				var args []any
				for _, l := range c.lens {
					f := f32s(l, func(i int) float32 { return float32(i%5) * 0.25 })
					arrays = append(arrays, f)
					args = append(args, f.s())
				}
				args = append(args, c.extra...)
				_, err := call(c.fn, args...)
				builtin := c.line[:strings.Index(c.line, "(")]
				pos := s.at(t, c.fn, c.line, builtin, 0)
				index := int64(c.lens[c.bad])
				if c.anyIndex {
					index = anyIndex
				}
				expectCheck(t, err, c.fn, pos, c.names[c.bad], index, int64(c.lens[c.bad]))
				for i, f := range arrays {
					f.check(t, fmt.Sprintf("%s %v: %s", c.fn, c.lens, c.names[i]))
				}
			}
			// Correct calls afterwards.
			x, out := f32s(n, ramp), f32s(n, nil)
			if _, err := call("act", x.s(), out.s(), n); err != nil || out.s()[0] <= 0 {
				t.Errorf("silu in range: %v, out[0] = %v", err, out.s()[0])
			}
			if _, err := call("soft", x.s(), out.s(), n); err != nil {
				t.Errorf("softmax in range: %v", err)
			}
		})
	}
}

func TestCheckDivision(t *testing.T) {
	for _, v := range checkVariants {
		t.Run(v.name, func(t *testing.T) {
			s, _, call := openChecks(t, v.opts)
			r, err := call("quot", int64(5), int64(0))
			noResult(t, "quot", r)
			expectDivide(t, err, "quot", s.at(t, "quot", "return a / b;", "/", 0))
			r, err = call("rem32", int32(-5), int32(0))
			noResult(t, "rem32", r)
			expectDivide(t, err, "rem32", s.at(t, "rem32", "return a % b;", "%", 0))
			_, err = call("quot8", int8(1), int8(0))
			expectDivide(t, err, "quot8", s.at(t, "quot8", "return a / b;", "/", 0))

			// The one quotient that overflows gives the most negative value, without a trap.
			for _, c := range []struct {
				fn         string
				a, b, want any
			}{
				{"quot", int64(math.MinInt64), int64(-1), int64(math.MinInt64)},
				{"rem32", int32(math.MinInt32), int32(-1), int32(0)},
				{"quot8", int8(math.MinInt8), int8(-1), int8(math.MinInt8)},
				{"quot", int64(-7), int64(2), int64(-3)},
				{"rem32", int32(-7), int32(2), int32(-1)},
			} {
				if got, err := call(c.fn, c.a, c.b); err != nil || got != c.want {
					t.Errorf("%s(%v, %v) = %v, %v; want %v", c.fn, c.a, c.b, got, err, c.want)
				}
			}

			// In a loop: the zero divisors give 0, the first is reported.
			const n = 50
			a := i64s(n, func(i int) int64 { return int64(i * 10) })
			d := i64s(n, func(i int) int64 { return int64(i%5 + 1) })
			d.s()[17], d.s()[30] = 0, 0
			out := i64s(n, nil)
			_, err = call("divide_all", a.s(), d.s(), out.s(), n)
			expectDivide(t, err, "divide_all", s.at(t, "divide_all", "out[i] = a[i] / d[i];", "/", 0))
			for i, got := range out.s() {
				want := int64(i*10) / int64(i%5+1)
				if i == 17 || i == 30 {
					want = 0
				}
				if got != want {
					t.Errorf("divide_all: out[%d] = %d, want %d", i, got, want)
				}
			}
			out.check(t, "divide_all out")

			if got, err := call("quot", int64(100), int64(7)); err != nil || got != int64(14) {
				t.Errorf("quot(100, 7) after failures = %v, %v", got, err)
			}

			// In a loop's bound: computed once before the loop, reported there when zero.
			const groups, gs = 3000, 32
			a = i64s(groups*gs+5, func(i int) int64 { return int64(i) })
			sums := i64s(groups, nil)
			if _, err := call("group_sums", sums.s(), a.s(), int64(groups*gs+5), int64(gs)); err != nil {
				t.Fatalf("group_sums: %v", err)
			}
			for g, got := range sums.s() {
				if want := int64(gs*(g*gs) + gs*(gs-1)/2); got != want {
					t.Fatalf("group_sums: out[%d] = %d, want %d", g, got, want)
				}
			}
			sums.check(t, "group_sums out")
			_, err = call("group_sums", sums.s(), a.s(), int64(groups*gs), int64(0))
			expectDivide(t, err, "group_sums", s.at(t, "group_sums", "while (G < n / gs) {", "/", 0))
		})
	}
}

// TestCheckConcurrentCalls: goroutines calling one library at once, with different bad
// sizes, each get their own failure; correct calls made meanwhile get none. Some calls run
// parallel loops on two OpenMP threads, whose failures go to the call that started them.
func TestCheckConcurrentCalls(t *testing.T) {
	for _, v := range checkVariants[:2] {
		t.Run(v.name, func(t *testing.T) {
			s, lib, _ := openChecks(t, v.opts)
			if err := lib.SetThreads(2); err != nil {
				t.Fatal(err)
			}
			copyFn, matvec := kerneltest.Func(t, lib, "copy_plus"), kerneltest.Func(t, lib, "matvec")
			copyPos := s.index(t, "copy_plus", "out[i] = a[i] + 1.0;", "a[i]")
			xPos := s.index(t, "matvec", "s += w[i * cols + j] * x[j];", "x[j]")
			const rows, cols = loops.ParallelWork/64 + 1, 64
			w := make([]float32, rows*cols)
			for i := range w {
				w[i] = 1
			}
			const jamRows, jamCols = loops.JamMinTrips, loops.JamMinInnerTrips
			jamW := make([]float32, jamRows*jamCols)
			const calls = 40
			done := make(chan struct{})
			for g := 0; g < 8; g++ {
				go func() {
					defer func() { done <- struct{}{} }()
					for k := 0; k < calls; k++ {
						switch {
						case g < 2: // correct copies
							a, out := f32s(100, ramp), f32s(100, nil)
							if _, err := copyFn.Call(a.s(), out.s(), 100); err != nil || out.s()[99] != ramp(99)+1 {
								t.Errorf("goroutine %d: correct copy_plus: %v, out[99] = %v", g, err, out.s()[99])
								return
							}
						case g < 5: // copies with a too short: its own length is the index
							na := 10 + g
							a, out := f32s(na, ramp), f32s(100, nil)
							_, err := copyFn.Call(a.s(), out.s(), 100)
							var ce *loader.CheckError
							if !errors.As(err, &ce) || ce.Index != int64(na) || ce.Size != int64(na) || ce.Site.Pos != copyPos {
								t.Errorf("goroutine %d: copy_plus with %d elements: %v, want index %d at %s", g, na, err, na, copyPos)
								return
							}
							a.check(t, "concurrent copy_plus a")
							out.check(t, "concurrent copy_plus out")
						case g < 7: // parallel loops with x too short; goroutine 6 jams them
							rows, cols, w := rows, cols, w
							if g == 6 {
								rows, cols, w = jamRows, jamCols, jamW
							}
							nx := cols - (g - 4)
							out, x := f32s(rows, nil), f32s(nx, ramp)
							_, err := matvec.Call(out.s(), w, x.s(), rows, cols)
							var ce *loader.CheckError
							if !errors.As(err, &ce) || ce.Index != int64(nx) || ce.Size != int64(nx) || ce.Site.Pos != xPos {
								t.Errorf("goroutine %d: matvec with %d elements of x: %v, want index %d at %s", g, nx, err, nx, xPos)
								return
							}
							x.check(t, "concurrent matvec x")
						default: // correct parallel loops
							out, x := f32s(rows, nil), f32s(cols, func(int) float32 { return 1 })
							if _, err := matvec.Call(out.s(), w, x.s(), rows, cols); err != nil || out.s()[rows-1] != cols {
								t.Errorf("goroutine %d: correct matvec: %v, out[last] = %v", g, err, out.s()[rows-1])
								return
							}
						}
					}
				}()
			}
			for g := 0; g < 8; g++ {
				<-done
			}
		})
	}
}

// cChecks calls checked kernels from C through the expanded ABI with arrays too short, and
// reads each failure with simplang_take_error and the site table.
const cChecks = `#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { int32_t site; int64_t index, size; } simplang_error;
int simplang_take_error(simplang_error *e);
extern const char simplang_sites[];

void copy_plus(float *, float *, int64_t, int64_t, int64_t, float *, float *, int64_t, int64_t, int64_t, int64_t);
int64_t quot(int64_t, int64_t);
void matvec(float *, float *, int64_t, int64_t, int64_t, float *, float *, int64_t, int64_t, int64_t,
            float *, float *, int64_t, int64_t, int64_t, int64_t, int64_t);
int _mlir_copy_plus(void **);

/* site_line prints line number site (from 0) of the site table. */
static void site_line(int site) {
	const char *p = simplang_sites;
	for (int i = 0; i < site && p; i++) {
		p = strchr(p, '\n');
		if (p) p++;
	}
	if (site < 0 || !p || !*p) {
		printf("no site %d\n", site);
		return;
	}
	const char *end = strchr(p, '\n');
	printf("site %.*s\n", (int)(end ? end - p : (long)strlen(p)), p);
}

static void report(const char *what) {
	simplang_error e = {-1, -1, -1};
	if (simplang_take_error(&e)) {
		printf("%s: index %lld size %lld\n", what, (long long)e.index, (long long)e.size);
		site_line(e.site);
	} else {
		printf("%s: no error\n", what);
	}
}

static int intact(const float *buf, int from, int to) {
	for (int i = from; i < to; i++)
		if (buf[i] != -77) return 0;
	return 1;
}

int main(void) {
	float buf[16], out[16];
	for (int i = 0; i < 16; i++) buf[i] = out[i] = -77;
	float *a = buf + 4, *o = out + 2;
	for (int i = 0; i < 3; i++) a[i] = i + 1;

	copy_plus(a, a, 0, 3, 1, o, o, 0, 10, 1, 8); /* a has 3 elements, n is 8 */
	report("copy_plus");
	report("again");
	printf("out %g %g %g %g %g, canaries %d %d\n", o[0], o[2], o[3], o[7], o[8],
	       intact(buf, 0, 4) && intact(buf, 7, 16), intact(out, 0, 2) && intact(out, 12, 16));

	copy_plus(a, a, 0, 2, 1, o, o, 0, 10, 1, 8); /* two failures: the first one stays */
	copy_plus(a, a, 0, 1, 1, o, o, 0, 10, 1, 8);
	report("first of two");

	printf("quot %lld\n", (long long)quot(7, 0));
	report("quot");

	copy_plus(a, a, 0, 3, 1, o, o, 0, 3, 1, 3);
	report("correct");

	float *pa = a, *po = o, r = 0;
	int64_t zero = 0, three = 3, ten = 10, one = 1, eight = 8;
	void *args[] = {&pa, &pa, &zero, &three, &one, &po, &po, &zero, &ten, &one, &eight, &r};
	printf("packed %d\n", _mlir_copy_plus(args));
	report("packed");

	/* A parallel loop on OMP_NUM_THREADS threads, x one short. */
	int64_t rows = 1025, cols = 64;
	float *w = calloc(rows * cols, sizeof(float)), *x = calloc(cols, sizeof(float)), *y = calloc(rows, sizeof(float));
	matvec(y, y, 0, rows, 1, w, w, 0, rows * cols, 1, x, x, 0, cols - 1, 1, rows, cols);
	report("matvec");
	matvec(y, y, 0, rows, 1, w, w, 0, rows * cols, 1, x, x, 0, cols, 1, rows, cols);
	report("matvec correct");
	return 0;
}
`

func TestCheckFromC(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Fatalf("no C compiler (cc) on PATH: %v", err)
	}
	for _, v := range checkVariants[:2] {
		t.Run(v.name, func(t *testing.T) {
			s := readChecks(t)
			obj := kerneltest.Compile(t, "kernels.sl", s.src, v.opts)
			dir := t.TempDir()
			data, err := os.ReadFile(obj.Path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "libchecks.so"), data, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "main.c"), []byte(cChecks), 0o644); err != nil {
				t.Fatal(err)
			}
			build := exec.Command(cc, "main.c", "-o", "main", "-L.", "-lchecks", "-Wl,-rpath,"+dir)
			build.Dir = dir
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("cc: %v\n%s", err, out)
			}
			run := exec.Command(filepath.Join(dir, "main"))
			run.Env = append(os.Environ(), "OMP_NUM_THREADS=2")
			out, err := run.CombinedOutput()
			if err != nil {
				t.Fatalf("harness: %v\n%s", err, out)
			}
			copyA := s.index(t, "copy_plus", "out[i] = a[i] + 1.0;", "a[i]")
			want := strings.Join([]string{
				"copy_plus: index 3 size 3",
				"site " + copyA + "\tcopy_plus\tindex\ta\t0",
				"again: no error",
				"out 2 4 1 1 -77, canaries 1 1",
				"first of two: index 2 size 2",
				"site " + copyA + "\tcopy_plus\tindex\ta\t0",
				"quot 0",
				"quot: index 0 size 0",
				"site " + s.at(t, "quot", "return a / b;", "/", 0) + "\tquot\tdivide",
				"correct: no error",
				"packed 1",
				"packed: index 3 size 3",
				"site " + copyA + "\tcopy_plus\tindex\ta\t0",
				"matvec: index 63 size 63",
				"site " + s.index(t, "matvec", "s += w[i * cols + j] * x[j];", "x[j]") + "\tmatvec\tindex\tx\t0",
				"matvec correct: no error",
			}, "\n") + "\n"
			if string(out) != want {
				t.Errorf("C harness printed\n%s\nwant\n%s", out, want)
			}
		})
	}
}

// TestCheckMoreShapes: element kinds other than f32, narrow index and counter types, a loop
// that counts down and a conditional store.
func TestCheckMoreShapes(t *testing.T) {
	for _, v := range checkVariants[:2] {
		t.Run(v.name, func(t *testing.T) {
			s, _, call := openChecks(t, v.opts)
			for k, lens := range [][4]int{{3, 10, 10, 10}, {10, 4, 10, 10}, {10, 10, 5, 10}, {10, 10, 10, 6}} {
				a := fence(lens[0], int8(-77), nil)
				b := fence(lens[1], false, nil)
				c := fence(lens[2], float64(-77), nil)
				d := fence(lens[3], int16(-77), nil)
				_, err := call("kinds", a.s(), b.s(), c.s(), d.s(), int64(10))
				line := []string{"a[i] = 7 as i8;", "b[i] = 1 == 1;", "c[i] = 7.0 as f64;", "d[i] = 7 as i16;"}[k]
				array := line[:1]
				expectCheck(t, err, "kinds", s.index(t, "kinds", line, array+"[i]"), array, int64(lens[k]), int64(lens[k]))
				a.check(t, "kinds a")
				b.check(t, "kinds b")
				c.check(t, "kinds c")
				d.check(t, "kinds d")
				if a.s()[len(a.s())-1] != 7 || !b.s()[len(b.s())-1] || c.s()[len(c.s())-1] != 7 || d.s()[len(d.s())-1] != 7 {
					t.Errorf("kinds %v: the stores in range did not all happen", lens)
				}
			}

			a, out := f32s(5, ramp), f32s(10, nil)
			_, err := call("copy32", a.s(), out.s(), int32(10))
			expectCheck(t, err, "copy32", s.index(t, "copy32", "out[i] = a[i];", "a[i]"), "a", 5, 5)
			a.check(t, "copy32 a")
			out.check(t, "copy32 out")
			for _, k := range []int8{-1, -128, 5, 127} {
				a := f32s(5, ramp)
				_, err := call("store8", a.s(), k)
				expectCheck(t, err, "store8", s.index(t, "store8", "a[k] = 1.0;", "a[k]"), "a", int64(k), 5)
				a.check(t, "store8 a")
			}

			a = f32s(5, nil)
			_, err = call("countdown", a.s(), int64(8))
			expectCheck(t, err, "countdown", s.index(t, "countdown", "a[i] = 1.0;", "a[i]"), "a", 7, 5)
			a.check(t, "countdown a")
			for i, got := range a.s() {
				if got != 1 {
					t.Errorf("countdown: a[%d] = %v, want 1", i, got)
				}
			}

			a = f32s(100, func(i int) float32 { return float32(i%3) - 1 }) // one in three is positive
			out = f32s(10, nil)
			r, err := call("compact", a.s(), out.s(), int64(100))
			noResult(t, "compact", r)
			expectCheck(t, err, "compact", s.index(t, "compact", "out[k] = a[i];", "out[k]"), "out", 10, 10)
			a.check(t, "compact a")
			out.check(t, "compact out")
			out = f32s(40, nil)
			if r, err := call("compact", a.s(), out.s(), int64(100)); err != nil || r != int64(33) {
				t.Errorf("compact in range = %v, %v; want 33", r, err)
			}
		})
	}
}

// TestCheckCompoundDivision: `x /= d` and `a[i] /= d` on integers are divisions like `x / d`
// (language §4): by zero they must report and give 0, and MinInt64 /= −1 must give MinInt64.
// They are not checked: the process dies of SIGFPE. The calls run in a child process, so
// that the crash fails this test only.
func TestCheckCompoundDivision(t *testing.T) {
	if !inChild(t) {
		return
	}
	for _, v := range checkVariants[:2] {
		t.Run(v.name, func(t *testing.T) {
			s, _, call := openChecks(t, v.opts)
			if r, err := call("quot_assign", int64(math.MinInt64), int64(-1)); err != nil || r != int64(math.MinInt64) {
				t.Errorf("quot_assign(MinInt64, -1) = %v, %v; want MinInt64", r, err)
			}
			r, err := call("quot_assign", int64(5), int64(0))
			noResult(t, "quot_assign", r)
			expectDivide(t, err, "quot_assign", s.at(t, "quot_assign", "a /= b;", "/=", 0))

			x := i64s(20, func(i int) int64 { return int64(i) + 1 })
			_, err = call("divide_by", x.s(), int64(0), int64(20))
			expectDivide(t, err, "divide_by", s.at(t, "divide_by", "a[i] /= d;", "/=", 0))
			for i, got := range x.s() {
				if got != 0 {
					t.Errorf("divide_by 0: a[%d] = %d, want 0 (a division by zero gives 0)", i, got)
					break
				}
			}
			_, err = call("divide_by", x.s(), int64(1), int64(21))
			expectCheck(t, err, "divide_by", s.index(t, "divide_by", "a[i] /= d;", "a[i]"), "a", 20, 20)
			x.check(t, "divide_by a")
		})
	}
}

// inChild runs the calling test again in a child process (the test binary with -test.run
// set to it) and reports whether this is that child: the parent returns false and fails
// when the child fails or dies, with its output.
func inChild(t *testing.T) bool {
	t.Helper()
	const env = "SIMPLANG_CHECKS_CHILD"
	if os.Getenv(env) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), env+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		lines := strings.Split(string(out), "\n")
		if len(lines) > 40 {
			lines = lines[:40]
		}
		t.Errorf("child process: %v\n%s", err, strings.Join(lines, "\n"))
	}
	return false
}

// TestCheckCallsAndParallelDivision: a failure in a function called by the kernel names the
// function that holds the site; a division by zero on the threads of a parallel loop is
// reported to the call.
func TestCheckCallsAndParallelDivision(t *testing.T) {
	for _, v := range checkVariants[:2] {
		t.Run(v.name, func(t *testing.T) {
			s, lib, call := openChecks(t, v.opts)
			a := f32s(4, ramp)
			_, err := call("outer", a.s(), int64(4))
			var ce *loader.CheckError
			if !errors.As(err, &ce) || ce.Func != "outer" || ce.Site.Func != "store1" || ce.Index != 4 || ce.Size != 4 {
				t.Errorf("outer(a, 4) = %v (%+v), want a CheckError of call outer at a site of store1", err, ce)
			} else if want := s.index(t, "store1", "a[k] = v;", "a[k]") + ": store1: index 4 out of range for a (size 4)"; err.Error() != want {
				t.Errorf("message %q, want %q", err.Error(), want)
			}
			a.check(t, "outer a")

			if err := lib.SetThreads(2); err != nil {
				t.Fatal(err)
			}
			const rows, cols = loops.ParallelWork/64 + 1, 64
			in := i64s(rows*cols, func(i int) int64 { return int64(i % 100) })
			d := i64s(cols, func(j int) int64 { return int64(j%3 + 1) })
			d.s()[cols-1] = 0
			out := i64s(rows, nil)
			_, err = call("divide_rows", out.s(), in.s(), d.s(), rows, cols)
			expectDivide(t, err, "divide_rows", s.at(t, "divide_rows", "s += a[i * cols + j] / d[j];", "/", 0))
			for i, got := range out.s() {
				var want int64
				for j := 0; j < cols-1; j++ {
					want += int64((i*cols+j)%100) / int64(j%3+1)
				}
				if got != want {
					t.Errorf("divide_rows: out[%d] = %d, want %d (the division by zero gives 0)", i, got, want)
					break
				}
			}
			out.check(t, "divide_rows out")

			d.s()[cols-1] = 1
			if _, err := call("divide_rows", out.s(), in.s(), d.s(), rows, cols); err != nil {
				t.Errorf("divide_rows without zeros: %v", err)
			}

			// Only the last row divides by zero: the last thread fails, in a called function.
			byRow := i64s(rows, func(i int) int64 { return 1 })
			byRow.s()[rows-1] = 0
			_, err = call("divide_rows_by_call", out.s(), in.s(), byRow.s(), rows, cols)
			var ce2 *loader.CheckError
			if want := s.at(t, "quotient", "return a / b;", "/", 0) + ": quotient: integer division by zero"; !errors.As(err, &ce2) || ce2.Func != "divide_rows_by_call" || err.Error() != want {
				t.Errorf("divide_rows_by_call: got %v, want a CheckError of call divide_rows_by_call: %q", err, want)
			}
			out.check(t, "divide_rows_by_call out")
			byRow.s()[rows-1] = 1
			if _, err := call("divide_rows_by_call", out.s(), in.s(), byRow.s(), rows, cols); err != nil {
				t.Errorf("divide_rows_by_call without zeros: %v", err)
			}
		})
	}
}

// cOpenMP calls checked kernels from the threads of the C program's own OpenMP parallel
// region. Its worker thread has already run a kernel's parallel loop for the main thread.
const cOpenMP = `#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>

typedef struct { int32_t site; int64_t index, size; } simplang_error;
int simplang_take_error(simplang_error *e);
void store1(float *, float *, int64_t, int64_t, int64_t, int64_t, float);
void matvec(float *, float *, int64_t, int64_t, int64_t, float *, float *, int64_t, int64_t, int64_t,
            float *, float *, int64_t, int64_t, int64_t, int64_t, int64_t);

int main(void) {
	int64_t rows = 1025, cols = 64; /* enough work for two threads */
	float *w = calloc(rows * cols, 4), *x = calloc(cols, 4), *y = calloc(rows, 4);
	matvec(y, y, 0, rows, 1, w, w, 0, rows * cols, 1, x, x, 0, cols, 1, rows, cols);
	simplang_error e = {-1, -1, -1};
	printf("main after matvec: %d\n", simplang_take_error(&e));

	int got[2] = {-1, -1};
	long long index[2] = {-1, -1};
	#pragma omp parallel num_threads(2)
	{
		int t = omp_get_thread_num();
		float a[3];
		store1(a, a, 0, 3, 1, 10 + t, 1.0f);
		simplang_error mine = {-1, -1, -1};
		got[t] = simplang_take_error(&mine);
		index[t] = mine.index;
	}
	printf("thread 0: %d index %lld\nthread 1: %d index %lld\n", got[0], index[0], got[1], index[1]);
	e.index = -1;
	int m = simplang_take_error(&e);
	printf("main after the region: %d index %lld\n", m, (long long)e.index);
	return 0;
}
`

// TestCheckFromCOpenMP: a C program whose own OpenMP threads call kernels must find each
// thread's failure with simplang_take_error on that thread. The worker thread that ran a
// kernel's parallel loop for the main thread keeps reporting to the main thread's report
// (the redirect set by parallel loop bodies is never undone, and only the packed entries
// clear it), so its failure shows up on the main thread instead.
func TestCheckFromCOpenMP(t *testing.T) {
	tools := kerneltest.Tools(t)
	if tools.Clang.Path == "" || tools.OMPDir == "" {
		t.Fatalf("needs clang and libomp (clang %q, libomp in %q)", tools.Clang.Path, tools.OMPDir)
	}
	for _, v := range checkVariants[:2] {
		t.Run(v.name, func(t *testing.T) {
			s := readChecks(t)
			obj := kerneltest.Compile(t, "kernels.sl", s.src, v.opts)
			dir := t.TempDir()
			data, err := os.ReadFile(obj.Path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "libchecks.so"), data, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "main.c"), []byte(cOpenMP), 0o644); err != nil {
				t.Fatal(err)
			}
			build := exec.Command(tools.Clang.Path, "-fopenmp=libomp", "main.c", "-o", "main", "-L.", "-lchecks",
				"-L"+tools.OMPDir, "-Wl,-rpath,"+dir+":"+tools.OMPDir)
			build.Dir = dir
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("clang: %v\n%s", err, out)
			}
			run := exec.Command(filepath.Join(dir, "main"))
			run.Env = append(os.Environ(), "OMP_NUM_THREADS=2")
			out, err := run.CombinedOutput()
			if err != nil {
				t.Fatalf("harness: %v\n%s", err, out)
			}
			want := "main after matvec: 0\nthread 0: 1 index 10\nthread 1: 1 index 11\nmain after the region: 0 index -1\n"
			if string(out) != want {
				t.Errorf("C harness printed\n%s\nwant\n%s", out, want)
			}
		})
	}
}

// TestCheckBranchesAndNests: loops whose accesses sit under ifs that bound the counter, or in
// three nested loops, are tested once before the outer loop (lower's range test follows
// those ifs and nests); an access out of range in any branch or level is still reported,
// and an index that only looks like an inner counter is not taken for one.
func TestCheckBranchesAndNests(t *testing.T) {
	for _, v := range checkVariants {
		t.Run(v.name, func(t *testing.T) {
			s, lib, call := openChecks(t, v.opts)
			if err := lib.SetThreads(2); err != nil {
				t.Fatal(err)
			}
			wfill := func(i int) float32 { return float32(i%13) - 6 }
			xfill := func(j int) float32 { return float32(j%7) * 0.5 }
			dot := func(w []float32, x []float32) float32 {
				var s float64
				for j := range x {
					s += float64(w[j]) * float64(x[j])
				}
				return float32(s)
			}

			for _, sh := range []struct{ rows1, rows2, cols int }{{3, 2, 5}, {0, 4, 3}, {loops.ParallelWork / 128, loops.ParallelWork/128 + 3, 64}} {
				name := fmt.Sprintf("split_rows %d+%d×%d", sh.rows1, sh.rows2, sh.cols)
				r1, r2, n := sh.rows1, sh.rows2, sh.cols
				run := func(dr1, dw1, dr2, dw2 int) (*fenced[float32], *fenced[float32], *fenced[float32], *fenced[float32], *fenced[float32], error) {
					out1, w1 := f32s(r1-dr1, nil), f32s(r1*n-dw1, wfill)
					out2, w2, x := f32s(r2-dr2, nil), f32s(r2*n-dw2, xfill), f32s(n, xfill)
					_, err := call("split_rows", out1.s(), w1.s(), r1, out2.s(), w2.s(), r2, x.s(), n)
					for _, f := range []*fenced[float32]{out1, w1, out2, w2, x} {
						f.check(t, name)
					}
					return out1, w1, out2, w2, x, err
				}
				out1, w1, out2, w2, x, err := run(0, 0, 0, 0)
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
				for i := range r1 {
					closeTo(t, name+" out1", out1.s()[i:i+1], []float32{dot(w1.s()[i*n:(i+1)*n], x.s())})
				}
				for i := range r2 {
					closeTo(t, name+" out2", out2.s()[i:i+1], []float32{dot(w2.s()[i*n:(i+1)*n], x.s())})
				}
				_, _, _, _, _, err = run(0, 0, 0, 1)
				expectCheck(t, err, "split_rows", s.index(t, "split_rows", "s += w2[row + j] * x[j];", "w2[row + j]"), "w2", int64(r2*n-1), int64(r2*n-1))
				_, _, _, _, _, err = run(0, 0, 1, 0)
				expectCheck(t, err, "split_rows", s.index(t, "split_rows", "out2[i - rows1] = s;", "out2[i - rows1]"), "out2", int64(r2-1), int64(r2-1))
				if r1 > 0 {
					_, _, _, _, _, err = run(0, 1, 0, 0)
					expectCheck(t, err, "split_rows", s.index(t, "split_rows", "s += w1[row + j] * x[j];", "w1[row + j]"), "w1", int64(r1*n-1), int64(r1*n-1))
					_, _, _, _, _, err = run(1, 0, 0, 0)
					expectCheck(t, err, "split_rows", s.index(t, "split_rows", "out1[i] = s;", "out1[i]"), "out1", int64(r1-1), int64(r1-1))
				}
			}

			for _, c := range []struct {
				n, lo, hi, nlo, nmid, nhi, na int
				bad                           string // the array out of range, "" for none
				index, size                   int64
			}{
				{10, 3, 7, 3, 4, 3, 10, "", 0, 0},
				{10, 7, 3, 7, 0, 7, 10, "", 0, 0}, // no middle band
				{10, 3, 7, 2, 4, 3, 10, "lo_out", 2, 2},
				{10, 3, 7, 3, 3, 3, 10, "mid_out", 3, 3},
				{10, 3, 7, 3, 4, 2, 10, "hi_out", 2, 2},
				{10, 7, 3, 7, 0, 6, 10, "hi_out", 6, 6},
				{10, 3, 7, 3, 4, 3, 9, "a", 9, 9},
			} {
				name := fmt.Sprintf("bands %+v", c)
				a := f32s(c.na, ramp)
				lo, mid, hi := f32s(c.nlo, nil), f32s(c.nmid, nil), f32s(c.nhi, nil)
				_, err := call("bands", a.s(), lo.s(), mid.s(), hi.s(), c.n, c.lo, c.hi)
				for _, f := range []*fenced[float32]{a, lo, mid, hi} {
					f.check(t, name)
				}
				lines := map[string][2]string{
					"lo_out": {"lo_out[i] = a[i];", "lo_out[i]"}, "mid_out": {"mid_out[i - lo] = a[i];", "mid_out[i - lo]"},
					"hi_out": {"hi_out[i - hi] = a[i];", "hi_out[i - hi]"}, "a": {"hi_out[i - hi] = a[i];", "a[i]"},
				}
				if c.bad == "" {
					if err != nil {
						t.Errorf("%s: %v", name, err)
					}
				} else {
					l := lines[c.bad]
					expectCheck(t, err, "bands", s.index(t, "bands", l[0], l[1]), c.bad, c.index, c.size)
				}
				for i := range c.n { // what the bands in range hold
					band, k := hi, i-c.hi
					if i < c.lo {
						band, k = lo, i
					} else if i < c.hi {
						band, k = mid, i-c.lo
					}
					want := float32(0)
					if i < c.na {
						want = ramp(i)
					}
					if k < band.n && band.s()[k] != want {
						t.Errorf("%s: element %d in its band = %v, want %v", name, i, band.s()[k], want)
					}
				}
			}

			for _, sh := range []struct{ rows, groups, gs int }{{3, 4, 8}, {loops.ParallelWork/128 + 1, 4, 32}} {
				name := fmt.Sprintf("grouped %d×%d×%d", sh.rows, sh.groups, sh.gs)
				cols := sh.groups * sh.gs
				run := func(dw, dscale, dx int) (*fenced[float32], *fenced[float32], *fenced[float32], *fenced[float32], error) {
					out, w := f32s(sh.rows, nil), f32s(sh.rows*cols-dw, wfill)
					scale, x := f32s(sh.rows*sh.groups-dscale, ramp), f32s(cols-dx, xfill)
					_, err := call("grouped", out.s(), w.s(), scale.s(), x.s(), sh.rows, sh.groups, sh.gs)
					for _, f := range []*fenced[float32]{out, w, scale, x} {
						f.check(t, name)
					}
					return out, w, scale, x, err
				}
				out, w, scale, x, err := run(0, 0, 0)
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
				for i := range sh.rows {
					var want float64
					for g := range sh.groups {
						at := (i*sh.groups + g) * sh.gs
						want += float64(dot(w.s()[at:at+sh.gs], x.s()[g*sh.gs:(g+1)*sh.gs])) * float64(scale.s()[i*sh.groups+g])
					}
					closeTo(t, name, out.s()[i:i+1], []float32{float32(want)})
				}
				line := "part += w[(i * groups + g) * gs + j] * x[g * gs + j];"
				_, _, _, _, err = run(1, 0, 0)
				expectCheck(t, err, "grouped", s.at(t, "grouped", line, "w[(i * groups", 3), "w", int64(sh.rows*cols-1), int64(sh.rows*cols-1))
				_, _, _, _, err = run(0, 0, 1)
				expectCheck(t, err, "grouped", s.index(t, "grouped", line, "x[g * gs + j]"), "x", int64(cols-1), int64(cols-1))
				_, _, _, _, err = run(0, 1, 0)
				expectCheck(t, err, "grouped", s.index(t, "grouped", "s += part * scale[i * groups + g];", "scale[i * groups + g]"), "scale", int64(sh.rows*sh.groups-1), int64(sh.rows*sh.groups-1))
			}

			x := f32s(3, ramp)
			r, err := call("stale", x.s(), int64(5), int64(2))
			noResult(t, "stale", r)
			expectCheck(t, err, "stale", s.index(t, "stale", "s += x[k] + x[j];", "x[k]"), "x", 5, 3)
			if r, err := call("stale", x.s(), int64(1), int64(2)); err != nil || r != 2*(3*ramp(1)+ramp(0)) {
				t.Errorf("stale(x, 1, 2) = %v, %v; want %v", r, err, 2*(3*ramp(1)+ramp(0)))
			}
			x.check(t, "stale x")

			a := f32s(4, ramp)
			r, err = call("leftover", a.s(), int64(4), int64(10))
			noResult(t, "leftover", r)
			expectCheck(t, err, "leftover", s.index(t, "leftover", "s += a[j];", "a[j]"), "a", -6, 4)
			if r, err := call("leftover", a.s(), int64(4), int64(2)); err != nil || r != 2*(ramp(0)+ramp(1)+2*ramp(2)+2*ramp(3)) {
				t.Errorf("leftover(a, 4, 2) = %v, %v; want %v", r, err, 2*(ramp(0)+ramp(1)+2*ramp(2)+2*ramp(3)))
			}
			a.check(t, "leftover a")
		})
	}
}
