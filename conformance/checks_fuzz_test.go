package conformance

import (
	"errors"
	"math"
	"os"
	"sync"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/loops"
)

// fuzzLibs are the kernels of testdata/checks, compiled checked once per test binary for
// each backend and shared by every fuzz input.
var fuzzLibs struct {
	once sync.Once
	libs [2]*loader.Library
	err  error
}

func openFuzzLibs(t *testing.T) [2]*loader.Library {
	fuzzLibs.once.Do(func() {
		src, err := os.ReadFile(checksFile)
		if err != nil {
			fuzzLibs.err = err
			return
		}
		for i, b := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
			lib, _, err := compiler.Load(t.Context(), kerneltest.Tools(t), "kernels.sl", src, compiler.Options{Backend: b, Jam: compiler.JamAlways})
			if err != nil {
				fuzzLibs.err = err
				return
			}
			if err := lib.SetThreads(2); err != nil {
				fuzzLibs.err = err
				return
			}
			fuzzLibs.libs[i] = lib // left open: the fuzz inputs share it until the process ends
		}
	})
	if fuzzLibs.err != nil {
		t.Fatal(fuzzLibs.err)
	}
	return fuzzLibs.libs
}

// FuzzCheckedCalls calls checked kernels with lengths, offsets and indices taken from the
// input. Whatever they are, the call must not crash, every error must be a
// *loader.CheckError, memory around the slices must be unchanged, a call must fail exactly
// when the kernel's accesses leave its arrays (where that is simple to tell), and the next
// correct call must succeed.
func FuzzCheckedCalls(f *testing.F) {
	f.Add(uint8(2), false, uint16(3), uint16(10), uint16(10), int64(0), int64(0))
	f.Add(uint8(6), true, uint16(8), uint16(0), uint16(4), int64(math.MaxInt64-1), int64(0))
	f.Add(uint8(8), false, uint16(1024), uint16(64), uint16(0), int64(-1), int64(1))
	f.Add(uint8(8), true, uint16(127), uint16(3071), uint16(0), int64(1<<8), int64(3))
	f.Add(uint8(9), false, uint16(2), uint16(3), uint16(0), int64(1<<62), int64(0))
	f.Add(uint8(15), true, uint16(30), uint16(42), uint16(34), int64(0x050607), int64(0))
	f.Add(uint8(17), false, uint16(0), uint16(0), uint16(0), int64(math.MinInt64), int64(-1))
	f.Add(uint8(18), false, uint16(3), uint16(2), uint16(4), int64(0b01000), int64(0))
	f.Add(uint8(18), true, uint16(39), uint16(38), uint16(1500), int64(0b10000), int64(0))
	f.Add(uint8(19), false, uint16(10), uint16(10), uint16(3|4<<6|3<<12), int64(3), int64(7))
	f.Add(uint8(19), true, uint16(10), uint16(10), uint16(7|0<<6|6<<12), int64(7), int64(3))
	f.Add(uint8(20), false, uint16(39), uint16(3), uint16(31), int64(0b010), int64(0))
	f.Add(uint8(21), true, uint16(3), uint16(2), uint16(0), int64(5), int64(0))
	f.Add(uint8(22), false, uint16(4), uint16(4), uint16(0), int64(10), int64(0))
	f.Fuzz(func(t *testing.T, kernel uint8, llvm bool, l1, l2, l3 uint16, k1, k2 int64) {
		libs := openFuzzLibs(t)
		lib := libs[0]
		if llvm {
			lib = libs[1]
		}
		var fenced []interface{ check(*testing.T, string) }
		fa := func(n int, fill func(int) float32) []float32 {
			x := f32s(n, fill)
			fenced = append(fenced, x)
			return x.s()
		}
		fi := func(n int, fill func(int) int64) []int64 {
			x := i64s(n, fill)
			fenced = append(fenced, x)
			return x.s()
		}
		outOf := func(i, n int64) bool { return i < 0 || i >= n }
		var name string
		var args []any
		want := mayFail // the default: either
		switch kernel % 23 {
		case 0:
			a := fa(int(l1%64), ramp)
			name, args = "store1", []any{a, k1, float32(1)}
			want = mustFail(outOf(k1, int64(len(a))))
		case 1:
			a, out := fa(int(l1%64), ramp), fa(int(l2%2), nil)
			name, args = "load1", []any{a, out, k1}
			want = mustFail(outOf(k1, int64(len(a))) || len(out) == 0)
		case 2:
			a, out, n := fa(int(l1%4096), ramp), fa(int(l2%4096), nil), int(l3%4096)
			name, args = "copy_plus", []any{a, out, n}
			want = mustFail(n > min(len(a), len(out)))
		case 3:
			a, out := fa(int(l1%4096), ramp), fa(int(l2%4096), nil)
			lo, d := k1, int64(l3%4096)
			hi := lo + d
			if hi < lo {
				hi = math.MaxInt64
			}
			name, args = "window", []any{a, out, lo, hi}
			trips := hi - lo
			want = mustFail(trips > 0 && (lo < 0 || hi > int64(len(a)) || trips > int64(len(out))))
		case 4:
			a, n := fa(int(l1%4096), ramp), int(l3%8192)
			name, args = "strided", []any{a, n}
			want = mustFail((len(a)+2)/3*3 < n)
		case 5:
			a, out, n := fa(int(l1%4096), ramp), fa(int(l2%4096), nil), int(l3%4096)
			name, args = "reverse", []any{a, out, n}
			want = mustFail(n > len(a) || n > len(out))
		case 6:
			a, n := fa(int(l1%256), ramp), int64(l3%256)
			name, args = "shifted", []any{a, k1, n}
			bad := false
			for i := int64(0); i < n; i++ {
				bad = bad || outOf(i+k1, int64(len(a)))
			}
			want = mustFail(bad)
		case 7:
			a, out := fa(int(l1%512), ramp), fa(int(l3%512), nil)
			idx := fi(int(l2%512), func(i int) int64 { return k1 + int64(i)*k2 })
			n := min(len(out), len(idx)) + int(k2&3)
			name, args = "gather", []any{a, idx, out, n}
			bad := n > len(out) || n > len(idx)
			for i := 0; i < n && i < len(idx); i++ {
				bad = bad || outOf(idx[i], int64(len(a)))
			}
			want = mustFail(bad)
		case 8:
			rows, cols := 1+int(l1%1100), 1+int(l2%4096)
			if k2&1 != 0 { // jammed: many long rows
				rows, cols = loops.JamMinTrips+int(l1%64), loops.JamMinInnerTrips+int(l2%64)
			} else if rows*cols > 1<<18 {
				cols = 1 + (1<<18)/rows
			}
			// Each length is short by 0, 1 or 2 (the low bits of k1).
			dOut, dW, dX := int(k1&3)%3, int(k1>>2&3)%3, int(k1>>4&3)%3
			out, w, x := fa(max(rows-dOut, 0), nil), fa(max(rows*cols-dW, 0), ramp), fa(max(cols-dX, 0), ramp)
			name, args = "matvec", []any{out, w, x, rows, cols}
			want = mustFail(dOut+dW+dX > 0)
		case 9, 10:
			r, c := 1+int64(l1%16), 1+int64(l2%16)
			i, j := k1, k2
			if kernel&0x80 != 0 {
				i, j = k1%20, k2%20
			}
			out := fa(int(r*c), nil)
			if kernel%23 == 9 {
				name, args = "grid_store", []any{out, r, c, i, j, float32(5)}
			} else {
				name, args = "grid_load", []any{out, r, c, i, j}
			}
			want = mustFail(outOf(i, r) || outOf(j, c))
		case 11:
			m, n := int(l1%1000), int(l2%1000)
			name, args = "local1", []any{fa(1, nil), m, n}
			want = mustFail(n > m || m == 0)
		case 12:
			x, w, out := fa(int(l1%300), ramp), fa(int(l2%300), ramp), fa(int(l3%300), nil)
			n := int(uint64(k1) % 300)
			name, args = "norm", []any{x, w, out, n}
			want = mustFail(n > min(len(x), len(w), len(out)))
		case 13, 14:
			x, out := fa(int(l1%300), ramp), fa(int(l2%300), nil)
			n := int(uint64(k1) % 300)
			name, args = "soft", []any{x, out, n}
			if kernel%23 == 14 {
				name = "act"
			}
			want = mustFail(n > min(len(x), len(out)))
		case 15:
			m, k, n := int(k1&0xff)%40, int(k1>>8&0xff)%40, int(k1>>16&0xff)%40
			a, b, c := fa(int(l1%2000), ramp), fa(int(l2%2000), ramp), fa(int(l3%2000), nil)
			name, args = "mm", []any{a, b, c, m, k, n}
			if len(a) >= m*k && len(b) >= k*n && len(c) >= m*n {
				want = mustPass
			}
		case 16:
			l := int(l1 % 300)
			a := fi(l, func(i int) int64 { return int64(i) - 100 })
			d := fi(int(l2%300), func(i int) int64 { return (k1 >> (i % 64) & 1) * int64(i%7-3) })
			out := fi(int(l3%300), nil)
			n := min(len(a), len(d), len(out)) + int(k2&1)
			name, args = "divide_all", []any{a, d, out, n}
			bad := n > len(a) || n > len(d) || n > len(out)
			for i := 0; i < n && i < len(d); i++ {
				bad = bad || d[i] == 0
			}
			want = mustFail(bad)
		case 17:
			name, args = "quot", []any{k1, k2}
			want = mustFail(k2 == 0)
		case 18:
			r1, r2, cols := int(l1%40), int(l2%40), 1+int(l3%2048)
			short := func(bit uint) int { return int(k1 >> bit & 1) }
			out1, w1 := fa(max(r1-short(0), 0), nil), fa(max(r1*cols-short(1), 0), ramp)
			out2, w2, x := fa(max(r2-short(2), 0), nil), fa(max(r2*cols-short(3), 0), ramp), fa(cols-short(4), ramp)
			name, args = "split_rows", []any{out1, w1, r1, out2, w2, r2, x, cols}
			want = mustFail(r1 > 0 && short(0)+short(1) > 0 || r2 > 0 && short(2)+short(3) > 0 || r1+r2 > 0 && short(4) > 0)
		case 19:
			n, lo, hi := int64(l1%64), k1%80, k2%80
			a := fa(int(l2%64), ramp)
			los, mids, his := fa(int(l3&63), nil), fa(int(l3>>6&63), nil), fa(int(l3>>12&15), nil)
			name, args = "bands", []any{a, los, mids, his, n, lo, hi}
			bad := false
			for i := int64(0); i < n; i++ {
				at, band := i-lo, mids
				if lo > i {
					at, band = i, los
				} else if i >= hi {
					at, band = i-hi, his
				}
				bad = bad || outOf(at, int64(len(band))) || outOf(i, int64(len(a)))
			}
			want = mustFail(bad)
		case 20:
			rows, groups, gs := 1+int(l1%40), 1+int(l2%8), 1+int(l3%64)
			short := func(bit uint) int { return int(k1 >> bit & 1) }
			out, w := fa(rows, nil), fa(rows*groups*gs-short(0), ramp)
			scale, x := fa(rows*groups-short(1), ramp), fa(groups*gs-short(2), ramp)
			name, args = "grouped", []any{out, w, scale, x, rows, groups, gs}
			want = mustFail(short(0)+short(1)+short(2) > 0)
		case 21:
			x, first, n := fa(int(l1%16), ramp), k1%32, int64(l2%16)
			name, args = "stale", []any{x, first, n}
			want = mustFail(n > 0 && (outOf(first, int64(len(x))) || n > int64(len(x))))
		case 22:
			a, n, back := fa(int(l1%16), ramp), int64(l2%16), k1%32
			name, args = "leftover", []any{a, n, back}
			bad := false
			j := int64(0)
			for range 2 {
				j = 0
				for range 2 {
					for ; j < n; j++ {
						bad = bad || outOf(j, int64(len(a)))
					}
					j -= back
				}
			}
			want = mustFail(bad)
		}

		r, err := kerneltest.Func(t, lib, name).Call(args...)
		var ce *loader.CheckError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("%s%v: error %v is not a *loader.CheckError", name, args, err)
		}
		switch {
		case want == mustCheck && err == nil:
			t.Errorf("%s: accesses out of range, but no error", name)
		case want == mustPass && err != nil:
			t.Errorf("%s: accesses in range, but %v", name, err)
		case ce != nil && ce.Site.Func != name:
			t.Errorf("%s: error from function %s: %v", name, ce.Site.Func, err)
		case ce != nil && r != nil:
			t.Errorf("%s: a failed call returned %v", name, r)
		}
		if name == "quot" && err == nil && r != k1/k2 {
			t.Errorf("quot(%d, %d) = %v, want %d", k1, k2, r, k1/k2)
		}
		for _, f := range fenced {
			f.check(t, name)
		}
		// The report was taken: a correct call succeeds.
		if r, err := kerneltest.Func(t, lib, "quot").Call(int64(9), int64(2)); err != nil || r != int64(4) {
			t.Errorf("quot(9, 2) after %s = %v, %v", name, r, err)
		}
	})
}

// outcome is what a fuzzed call must do.
type outcome int

const (
	mustPass  outcome = iota // succeed
	mustCheck                // fail a check
	mayFail                  // either
)

// mustFail is mustCheck when the accesses leave the arrays, mustPass otherwise.
func mustFail(bad bool) outcome {
	if bad {
		return mustCheck
	}
	return mustPass
}
