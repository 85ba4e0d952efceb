package compiler_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/internal/stats"
	"github.com/simplang/simplang/loops"
)

// BenchmarkParallelLoop measures what a parallel loop costs beyond its work: the rows kernel
// (trace_test.go) runs a loop over loops.ParallelWork elements, the least work that runs on
// threads, 1000 times a call, on one thread and on every CPU, the two in turn. It reports
// each one's median time a loop (1-thread-ns, N-thread-ns) and fork-join-ns, the N-thread
// time less the one-thread time ÷ N: the fork, the split's balancing and the join that every
// parallel loop of a kernel pays (a 125M decode token starts 49 of them, a 1B token 97).
//
//	go test ./compiler -run '^$' -bench ParallelLoop -benchtime 20x
func BenchmarkParallelLoop(b *testing.B) {
	runtime.LockOSThread() // the thread count is the OS thread's
	defer runtime.UnlockOSThread()
	threads := runtime.NumCPU()
	if threads < 2 {
		b.Skip("one CPU: no loop runs on threads")
	}
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		b.Run(backend.String(), func(b *testing.B) {
			lib := kerneltest.Open(b, "rows.sl", []byte(rows), compiler.Options{Backend: backend})
			fn := kerneltest.Func(b, lib, "rows")
			a := make([]float32, loops.ParallelWork)
			const reps = 1000
			// The premise: on threads, the loop runs on every one of them.
			if err := lib.SetThreads(threads); err != nil {
				b.Fatal(err)
			}
			tr, err := lib.Trace(func() error { _, err := fn.Call(a, len(a), 1); return err })
			if err != nil {
				b.Fatal(err)
			}
			if len(tr.Runs) != 1 || len(tr.Runs[0].Threads) != threads {
				b.Fatalf("the loop ran as %+v, want one run on %d threads", tr.Runs, threads)
			}
			perLoop := map[int][]float64{}
			for b.Loop() {
				for _, n := range []int{1, threads} {
					if err := lib.SetThreads(n); err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					kerneltest.Call(b, fn, a, len(a), reps)
					perLoop[n] = append(perLoop[n], float64(time.Since(start).Nanoseconds())/reps)
				}
			}
			one, many := stats.Median(perLoop[1]), stats.Median(perLoop[threads])
			b.ReportMetric(one, "1-thread-ns")
			b.ReportMetric(many, "N-thread-ns")
			b.ReportMetric(many-one/float64(threads), "fork-join-ns")
		})
	}
}
