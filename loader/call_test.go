package loader

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/half"
)

// dotGo is dot's reference: the same float32 operations in the same order.
func dotGo(a, b []float32) float32 {
	var sum float32
	for i := range a {
		sum += float32(a[i] * b[i]) // the conversion forbids a fused multiply-add
	}
	return sum
}

// ramp returns n values that need every bit of a float32.
func ramp(n int, seed float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = seed + float32(i)/3
	}
	return s
}

func TestCall(t *testing.T) {
	kernels, kinds := open(t, "kernels"), open(t, "kinds")
	a, b := ramp(1000, 0.1), ramp(1000, -7.7)
	whole := ramp(10, 0)

	wa, wb := []float32{9, 1.5}, []float64{-2.25}
	wc, wd := []int64{5, 6, 1 << 40}, []int32{-70000}
	we, wf := []int16{1, 2, 3, -300}, []int8{5, 0, 0, 0, -128}
	wg, wh := []bool{false, true}, []float32{0, 0, 0.125}
	wide := float64(wa[1]) + 2*wb[0] + 3*float64(wc[2]) + 4*float64(wd[0]) +
		5*float64(we[3]) + 6*float64(wf[4]) + 7*1 + 8*float64(wh[2]) + 9*-11

	tests := []struct {
		name string
		lib  *Library
		fn   string
		args []any
		want any
	}{
		{"dot", kernels, "dot", []any{a, b, int64(len(a))}, dotGo(a, b)},
		{"dot of a prefix, n as int", kernels, "dot", []any{a, b, 10}, dotGo(a[:10], b[:10])},
		{"dot of subslices", kernels, "dot", []any{a[990:], b[:10], 10}, dotGo(a[990:], b[:10])},
		{"dot of empty and nil", kernels, "dot", []any{[]float32{}, []float32(nil), 0}, float32(0)},
		// shape = size + 1000*stride + 10^6*offset + 10^9 if aligned is null + 2*10^9 if allocated != aligned
		{"descriptor", kernels, "shape", []any{whole}, int64(1010)},
		{"descriptor of a subslice", kernels, "shape", []any{whole[3:5]}, int64(1002)},
		{"descriptor of an empty slice", kernels, "shape", []any{whole[:0]}, int64(1e9 + 1000)},
		{"scalars", kinds, "mix", []any{1.5, float32(0.25), int64(-7), int32(-70000), int16(-300), int8(-5), true}, -(1.5 + 0.25 - 7 - 70000 - 300 - 5)},
		{"scalars as int", kinds, "mix", []any{0.5, float32(2), 1 << 40, 1 << 30, 1 << 14, -1 << 7, false}, 0.5 + 2 + (1 << 40) + (1 << 30) + (1 << 14) - (1 << 7)},
		{"i8", kinds, "neg8", []any{int8(5)}, int8(-5)},
		{"i8 wraps", kinds, "neg8", []any{int8(-128)}, int8(-128)},
		{"i16", kinds, "neg16", []any{int16(-300)}, int16(300)},
		{"i16 as int", kinds, "neg16", []any{32767}, int16(-32767)},
		{"i32", kinds, "neg32", []any{int32(1 << 30)}, int32(-1 << 30)},
		{"i32 as int wraps", kinds, "neg32", []any{-1 << 31}, int32(-1 << 31)},
		{"true", kinds, "not", []any{true}, false},
		{"false", kinds, "not", []any{false}, true},
		{"41 C arguments", kinds, "wide", []any{wa, wb, wc, wd, we, wf, wg, wh, -11}, wide},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fn(t, tt.lib, tt.fn).Call(tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s = %v (%T), want %v (%T)", tt.fn, got, got, tt.want, tt.want)
			}
		})
	}
}

func TestCallWritesInPlace(t *testing.T) {
	scale := fn(t, open(t, "kernels"), "scale")
	a := ramp(100, 1)
	want := make([]float32, len(a))
	for i := range a {
		want[i] = a[i]
		if i < 99 {
			want[i] = a[i] * 2.5
		}
	}
	got, err := scale.Call(a, float32(2.5), 99)
	if err != nil {
		t.Fatal(err)
	}
	if got != nil {
		t.Errorf("scale returned %v, want nil for a function without a result", got)
	}
	for i := range a {
		if a[i] != want[i] {
			t.Fatalf("after scale, a[%d] = %v, want %v", i, a[i], want[i])
		}
	}
}

func TestCallRefusesBadArguments(t *testing.T) {
	kernels, kinds := open(t, "kernels"), open(t, "kinds")
	a := []float32{1, 2}
	tests := []struct {
		lib  *Library
		name string
		args []any
		want string
	}{
		{kernels, "scale", []any{a, float32(2)}, "call fn scale(f32[] a, f32 s, i64 n): got 2 arguments, the kernel takes 3"},
		{kernels, "calls", []any{1}, "call fn calls() -> i64: got 1 arguments, the kernel takes 0"},
		{kernels, "scale", []any{a, 2.0, 2}, "call fn scale(f32[] a, f32 s, i64 n): argument 2 (s) is float64; the kernel takes f32 (pass a float32)"},
		{kernels, "scale", []any{a, 2, 2}, "argument 2 (s) is int; the kernel takes f32"},
		{kernels, "scale", []any{[]float64{1}, float32(2), 1}, "argument 1 (a) is []float64; the kernel takes f32[] (pass a []float32)"},
		{kernels, "scale", []any{nil, float32(2), 1}, "argument 1 (a) is nil; the kernel takes f32[]"},
		{kernels, "scale", []any{float32(1), float32(2), 1}, "argument 1 (a) is float32; the kernel takes f32[]"},
		{kernels, "dot", []any{a, a, int32(2)}, "argument 3 (n) is int32; the kernel takes i64 (pass an int64)"},
		{kernels, "dot", []any{a, a, uint64(2)}, "argument 3 (n) is uint64"},
		{kinds, "neg8", []any{128}, "call fn neg8(i8 x) -> i8: argument 1 (x) is 128, out of range for i8"},
		{kinds, "neg16", []any{-32769}, "argument 1 (x) is -32769, out of range for i16"},
		{kinds, "neg32", []any{1 << 31}, "argument 1 (x) is 2147483648, out of range for i32"},
		{kinds, "neg32", []any{int64(1)}, "argument 1 (x) is int64; the kernel takes i32"},
		{kinds, "not", []any{1}, "argument 1 (b) is int; the kernel takes bool"},
		{kinds, "mix", []any{float32(1), float32(1), 1, 1, 1, 1, false}, "argument 1 (x) is float32; the kernel takes f64"},
		{kinds, "wide", []any{a, []float64{}, []int64{}, []int32{}, []int16{}, []int8{}, []int8{}, a, 1}, "argument 7 (g) is []int8; the kernel takes bool[] (pass a []bool)"},
	}
	calls := fn(t, kernels, "calls")
	before, err := calls.Call()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		_, err := fn(t, tt.lib, tt.name).Call(tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s%v = %v, want an error containing %q", tt.name, tt.args, err, tt.want)
		}
	}
	if after, err := calls.Call(); after != before || err != nil {
		t.Errorf("calls() went from %v to %v (%v): a refused call reached a kernel", before, after, err)
	}
	if a[0] != 1 || a[1] != 2 {
		t.Errorf("a refused scale changed a to %v", a)
	}
}

func TestCallConcurrently(t *testing.T) {
	dot := fn(t, open(t, "kernels"), "dot")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			a, b := ramp(100+g, float32(g)), ramp(100+g, -float32(g))
			want := dotGo(a, b)
			for range 200 {
				got, err := dot.Call(a, b, len(a))
				if err != nil || got != want {
					errs <- fmt.Errorf("goroutine %d: dot = %v, %v; want %v", g, got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestCallSurvivesGC hands a kernel a slice that only the call refers to, and collects and
// reuses memory while the kernel works on it: a slice freed under the kernel would end up
// holding the garbage written into its reused memory.
func TestCallSurvivesGC(t *testing.T) {
	spin := fn(t, open(t, "kernels"), "spin")
	const n, rounds = 1 << 16, 2000
	done := make(chan struct{})
	var wg sync.WaitGroup
	var collections atomic.Int64
	wg.Go(func() {
		var keep [4][]float32 // some garbage survives a collection, some does not
		for {
			select {
			case <-done:
				return
			default:
			}
			junk := make([]float32, n)
			for i := range junk {
				junk[i] = 1e6
			}
			keep[collections.Load()%int64(len(keep))] = junk
			runtime.GC()
			collections.Add(1)
		}
	})
	// On a loaded machine the collector may get few turns during one call: call again
	// (each a fresh slice) until collections ran during the calls.
	start, calls := time.Now(), 0
	for ; calls < 50 && (calls == 0 || collections.Load() < 2); calls++ {
		got, err := spin.Call(make([]float32, n), rounds)
		if err != nil {
			t.Fatal(err)
		}
		if want := float64(n * rounds); got != want {
			t.Fatalf("spin = %v, want %v", got, want)
		}
	}
	elapsed := time.Since(start)
	close(done)
	wg.Wait()
	t.Logf("%d collections during %d calls in %v", collections.Load(), calls, elapsed)
	if collections.Load() < 2 {
		t.Errorf("only %d collections ran during %d calls in %v; the test proves nothing", collections.Load(), calls, elapsed)
	}
}

func BenchmarkCallOverhead(b *testing.B) {
	lib := open(b, "kernels")
	a := []float32{1, 2, 3, 4}
	benchmarks := []struct {
		name string
		args []any
	}{
		{"calls", nil},
		{"dot", []any{a, a, 4}},
		{"shape", []any{a}},
	}
	for _, bm := range benchmarks {
		f := fn(b, lib, bm.name)
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.Call(bm.args...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestCallUnsignedAndHalf(t *testing.T) {
	lib := open(t, "unsigned")
	a, b := []uint8{1, 200}, []uint16{0xFFFF}
	c, d := []uint32{7, 0xFFFFFFFF}, []uint64{1 << 40}
	h := []half.F16{half.F16FromFloat32(1.5)}  // 0x3E00
	w := []half.BF16{half.BF16FromFloat32(-2)} // 0xC000
	want := uint64(200) + 0xFFFF + 0xFFFFFFFF + 1<<40 + 0x3E00 + 0xC000
	tests := []struct {
		name string
		fn   string
		args []any
		want any
	}{
		{"arrays of every new kind", "last", []any{a, b, c, d, h, w}, want},
		{"halves as raw bits", "last", []any{a, b, c, d, []uint16{0x3E00}, []uint16{0xC000}}, want},
		{"unsigned scalars", "sum", []any{uint8(255), uint16(0xFFFF), uint32(0xFFFFFFFF), uint64(1 << 63)}, uint64(255+0xFFFF+0xFFFFFFFF) + 1<<63},
		{"unsigned scalars as int", "sum", []any{255, 65535, 1<<32 - 1, 5}, uint64(255 + 65535 + 1<<32 - 1 + 5)},
		{"u8 result", "low", []any{uint64(0x1FF)}, uint8(0xFF)},
		{"u32 result", "low32", []any{uint64(0x1_8000_0001)}, uint32(0x8000_0001)},
		{"half scalars", "swap", []any{half.F16(0x3C00), half.BF16(0x4000)}, half.BF16(0x3C00)},
		{"half scalars as bits", "swap", []any{uint16(0x1234), uint16(0)}, half.BF16(0x1234)},
		{"f16 result", "same", []any{half.F16FromFloat32(-0.5)}, half.F16(0xB800)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fn(t, lib, tt.fn).Call(tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("%s = %v (%T), want %v (%T)", tt.fn, got, got, tt.want, tt.want)
			}
		})
	}
	refused := []struct {
		fn   string
		args []any
		want string
	}{
		{"sum", []any{-1, 0, 0, 0}, "argument 1 (a) is -1, out of range for u8"},
		{"sum", []any{256, 0, 0, 0}, "argument 1 (a) is 256, out of range for u8"},
		{"sum", []any{int8(1), 0, 0, 0}, "argument 1 (a) is int8; the kernel takes u8 (pass a uint8)"},
		{"sum", []any{0, 0, 0, int64(1)}, "argument 4 (d) is int64; the kernel takes u64 (pass a uint64)"},
		{"sum", []any{0, 0, 0, -1}, "argument 4 (d) is -1, out of range for u64"},
		{"swap", []any{half.BF16(0), half.BF16(0)}, "argument 1 (h) is half.BF16; the kernel takes f16 (pass a half.F16 (or its uint16 bits))"},
		{"swap", []any{float32(1), half.BF16(0)}, "argument 1 (h) is float32; the kernel takes f16"},
		{"last", []any{[]int8{1}, b, c, d, h, w}, "argument 1 (a) is []int8; the kernel takes u8[] (pass a []uint8)"},
		{"last", []any{a, b, c, d, []half.BF16{1}, w}, "argument 5 (h) is []half.BF16; the kernel takes f16[]"},
		{"last", []any{a, b, c, d, h, []float32{1}}, "argument 6 (w) is []float32; the kernel takes bf16[] (pass a []half.BF16 (or its uint16 bits))"},
	}
	for _, tt := range refused {
		_, err := fn(t, lib, tt.fn).Call(tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s%v = %v, want an error containing %q", tt.fn, tt.args, err, tt.want)
		}
	}
}

// TestCheckError: a kernel whose check failed returns no result but a *CheckError that names
// the site; a report naming a site the table lacks is an error too.
func TestCheckError(t *testing.T) {
	lib := open(t, "checks")
	r, err := fn(t, lib, "oops").Call()
	var ce *CheckError
	if r != nil || !errors.As(err, &ce) {
		t.Fatalf("oops() = %v, %v; want no result and a *CheckError", r, err)
	}
	want := abi.Site{Pos: "k.sl:3:14", Func: "oops", Kind: abi.IndexSite, Array: "b"}
	if ce.Func != "oops" || ce.Site != want || ce.Index != 7 || ce.Size != 3 {
		t.Errorf("CheckError = %+v, want site %+v, index 7, size 3", ce, want)
	}
	if msg := err.Error(); msg != "k.sl:3:14: oops: index 7 out of range for b (size 3)" {
		t.Errorf("message %q", msg)
	}
	if _, err := fn(t, lib, "lost").Call(1); err == nil || !strings.Contains(err.Error(), "site 9") {
		t.Errorf("lost(1) = %v, want an error naming site 9", err)
	}
}
