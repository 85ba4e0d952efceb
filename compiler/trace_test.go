package compiler_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/simplang/simplang/compiler"
)

// rows runs a parallel loop reps times: rows of 256, rows × 256 ≥ loops.ParallelWork.
const rows = `
fn rows(f32[] a, i64 n, i64 reps) -> f32 {
    var r = 0;
    while (r < reps) {
        var i = 0;
        while (i < n / 256) {
            var j = 0;
            while (j < 256) {
                a[i * 256 + j] = a[i * 256 + j] * 0.5 + 1.0;
                j = j + 1;
            }
            i = i + 1;
        }
        r = r + 1;
    }
    return a[0];
}
`

// TestTrace traces the parallel loops of code from each generator: every run of the loop
// is recorded, on two threads with both threads' shares inside the call and after the split
// that started them, on one with that thread's alone; a failing call's error is returned.
func TestTrace(t *testing.T) {
	runtime.LockOSThread() // the thread count is the OS thread's
	defer runtime.UnlockOSThread()
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		t.Run(backend.String(), func(t *testing.T) {
			lib, _, err := compiler.Load(context.Background(), findTools(t), "rows.sl", []byte(rows), compiler.Options{Backend: backend})
			if err != nil {
				t.Fatal(err)
			}
			defer lib.Close()
			fn, err := lib.Func("rows")
			if err != nil {
				t.Fatal(err)
			}
			a := make([]float32, 1<<16)
			const reps = 5
			call := func() error { _, err := fn.Call(a, len(a), reps); return err }

			if err := lib.SetThreads(2); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			tr, err := lib.Trace(call)
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.Runs) != reps || tr.Lost != 0 {
				t.Fatalf("recorded %d runs (%d events lost), want %d", len(tr.Runs), tr.Lost, reps)
			}
			// The counter's rate is calibrated, so the times are within the call's, with
			// room for the calibration's error.
			for k, run := range tr.Runs {
				if len(run.Threads) != 2 {
					t.Fatalf("run %d: %d threads' shares, want 2: %+v", k, len(run.Threads), run)
				}
				seen := map[int]bool{}
				for _, s := range run.Threads {
					seen[s.Thread] = true
					if s.Start < run.Split || s.End < s.Start || s.End > took+took/10 {
						t.Errorf("run %d: split at %v, thread %d from %v to %v; the call took %v", k, run.Split, s.Thread, s.Start, s.End, took)
					}
				}
				if !seen[0] || !seen[1] {
					t.Errorf("run %d: threads %+v, want 0 and 1", k, run.Threads)
				}
				if k > 0 && run.Split < tr.Runs[k-1].Threads[1].End {
					t.Errorf("run %d split at %v, before run %d ended (%v)", k, run.Split, k-1, tr.Runs[k-1].Threads[1].End)
				}
			}

			if err := lib.SetThreads(1); err != nil {
				t.Fatal(err)
			}
			tr, err = lib.Trace(call)
			if err != nil || len(tr.Runs) != reps {
				t.Fatalf("one thread: %+v, %v; want %d runs", tr, err, reps)
			}
			for k, run := range tr.Runs {
				if len(run.Threads) != 1 || run.Threads[0].Thread != 0 {
					t.Errorf("one thread, run %d: shares %+v, want thread 0's alone", k, run.Threads)
				}
			}
			bad := errors.New("the call's error")
			if _, err := lib.Trace(func() error { return bad }); err != bad {
				t.Errorf("Trace of a failing call: err = %v, want the call's", err)
			}
		})
	}
}
