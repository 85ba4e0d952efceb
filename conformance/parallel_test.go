package conformance

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/loops"
)

// matvecKernel has a loop with independent iterations: its rows run in parallel when a call
// does enough work, serially otherwise, and loops.JamRows at a time when they are long.
const matvecKernel = `
fn matvec(f32[] out, f32[] w, f32[] x, i64 rows, i64 cols) {
    var i = 0;
    while (i < rows) {
        var s = 0.0;
        var j = 0;
        while (j < cols) {
            s += w[i * cols + j] * x[j];
            j = j + 1;
        }
        out[i] = s;
        i = i + 1;
    }
}
`

func TestParallelLoops(t *testing.T) {
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			lib := kerneltest.Open(t, "matvec.sl", []byte(matvecKernel), v.opts)
			fn := kerneltest.Func(t, lib, "matvec")
			for _, threads := range []int{1, 2, 3} {
				if err := lib.SetThreads(threads); err != nil {
					t.Fatal(err)
				}
				for _, shape := range [][2]int{{3, 5}, {10, 10}, {1000, 100}, {loops.ParallelWork/64 + 1, 64}, {4097, 33},
					{loops.JamMinTrips + 3, loops.JamMinInnerTrips}, {loops.JamMinTrips - 1, loops.JamMinInnerTrips + 1}} {
					rows, cols := shape[0], shape[1]
					w, x := make([]float32, rows*cols), make([]float32, cols)
					for i := range w {
						w[i] = float32(i%13) - 6
					}
					for j := range x {
						x[j] = float32(j%7) * 0.5
					}
					want := make([]float32, rows)
					for i := range want {
						for j := range x {
							want[i] += w[i*cols+j] * x[j]
						}
					}
					got := make([]float32, rows)
					kerneltest.Call(t, fn, got, w, x, rows, cols)
					if diff := cmp.Diff(want, got, cmpopts.EquateApprox(1e-5, 1e-4)); diff != "" {
						t.Errorf("%d threads, %dx%d (-want +got):\n%s", threads, rows, cols, diff)
					}
				}
			}
		})
	}
}
