package loader

import (
	"runtime"
	"strings"
	"testing"
)

func TestBound(t *testing.T) {
	lib := open(t, "kernels")
	dot := fn(t, lib, "dot")
	a, b := []float32{1, 2, 3}, []float32{10, 20, 30}
	bound, err := dot.Bind(a, b, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer bound.Close()
	call := func(want float32) {
		t.Helper()
		if got, err := bound.Call(); err != nil || got != want {
			t.Errorf("bound dot = %v, %v; want %v", got, err, want)
		}
	}
	call(140)
	a[0] = 2 // the bound arrays are read at each call
	call(150)
	if err := bound.Set(2, int64(2)); err != nil {
		t.Fatal(err)
	}
	call(60)
	if err := bound.Set(2, 1); err != nil { // an int, converted as Call converts it
		t.Fatal(err)
	}
	call(20)

	for _, tt := range []struct {
		name string
		i    int
		v    any
		want string
	}{
		{"an array", 0, []float32{5}, "argument 1 (a) of fn dot(f32[] a, f32[] b, i64 n) -> f32: an array stays as bound"},
		{"a wrong kind", 2, "three", "argument 3 (n)"},
		{"past the parameters", 3, 1, "set argument 4 of fn dot(f32[] a, f32[] b, i64 n) -> f32: it has 3 parameters"},
		{"before them", -1, 1, "it has 3 parameters"},
	} {
		if err := bound.Set(tt.i, tt.v); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Set %s: err = %v, want it to say %q", tt.name, err, tt.want)
		}
	}
	call(20) // the refused Sets changed nothing

	if _, err := dot.Bind(a, b); err == nil || !strings.Contains(err.Error(), "got 2 arguments, the kernel takes 3") {
		t.Errorf("Bind with too few arguments: err = %v", err)
	}
	if _, err := fn(t, lib, "scale").Bind([]float64{1}, float32(2), 1); err == nil || !strings.Contains(err.Error(), "argument 1 (a)") {
		t.Errorf("Bind with a wrong array kind: err = %v", err)
	}

	bound.Close()
	bound.Close()
	if _, err := bound.Call(); err == nil || !strings.Contains(err.Error(), "closed; bind again") {
		t.Errorf("Call after Close: err = %v", err)
	}
}

// TestBoundDropped: a Bound dropped without Close releases its pins when collected (a
// collected Pinner that still pins makes the runtime throw, which would end the test binary).
func TestBoundDropped(t *testing.T) {
	dot := fn(t, open(t, "kernels"), "dot")
	for range 10 {
		b, err := dot.Bind([]float32{1}, []float32{2}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := b.Call(); err != nil || got != float32(2) {
			t.Fatalf("bound dot = %v, %v", got, err)
		}
	}
	for range 3 {
		runtime.GC()
	}
}
