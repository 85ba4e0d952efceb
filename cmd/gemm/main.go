// Command gemm times single-precision matrix products C (m×n) += A (m×k) · B, row-major,
// compiled from plain SimpLang (gemm.sl) against OpenBLAS's cblas_sgemm on the same data:
//
//	go run ./cmd/gemm                                  # every shape, 1 and 2 threads
//	go run ./cmd/gemm -shapes 512,1024 -threads 1 -kernels nn
//
// The SimpLang kernels are the plain loops with j innermost (nn: B is k×n), the transposed-B
// loops with p innermost (nt: B is n×k, the layout of weights) and the matmul builtin (B is
// k×n); each is compared with cblas_sgemm on the same layout. Shapes are square sizes or a
// LLaMA preset's name, meaning 128 tokens through its feed-forward input projection
// (m = 128, k = dim, n = hidden_dim). For each shape and thread count the sides run in turn,
// -rounds times, in alternating order; each timing repeats the product for at least -min-time
// after one warm-up call, and the table shows medians. OpenBLAS is opened at run time
// (-blas); when it cannot be opened its column says so and the SimpLang side still runs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "embed"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/stats"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

//go:embed gemm.sl
var source []byte

// kernel is one SimpLang kernel of gemm.sl.
type kernel struct {
	name   string // the flag's name
	fn     string // its function in gemm.sl
	transB bool   // B is n×k
}

var kernels = []kernel{{"nn", "gemm_nn", false}, {"nt", "gemm_nt", true}, {"matmul", "gemm_builtin", false}}

// shape is one product's size.
type shape struct {
	name    string
	m, k, n int
}

func (s shape) flops() float64 { return 2 * float64(s.m) * float64(s.k) * float64(s.n) }

// fits checks that run's matrices for s (A m×k, B twice k×n for both layouts, C m×n, all
// float32) fit in avail bytes of memory (loader.Fits). The count is in float64, which cannot
// overflow: a size too big for an int fails here rather than in make.
func (s shape) fits(avail uint64) error {
	m, k, n := float64(s.m), float64(s.k), float64(s.n)
	need := 4 * (m*k + 2*k*n + m*n)
	if !loader.Fits(need, avail) {
		return fmt.Errorf("shape %s needs %.0f bytes (%.1f GB) for its matrices, but %d bytes (%.1f GB) of memory is available, of which gemm leaves 10%% to the system: choose smaller sizes",
			s.name, need, need/1e9, avail, float64(avail)/1e9)
	}
	return nil
}

func parseShape(s string) (shape, error) {
	n, err := strconv.Atoi(s)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return shape{}, fmt.Errorf("size %s is too large: choose a smaller one", s)
	case err == nil && n < 1:
		return shape{}, fmt.Errorf("size %d is not positive", n)
	case err == nil:
		return shape{s, n, n, n}, nil
	}
	c, err := llama.Preset(s)
	if err != nil {
		return shape{}, fmt.Errorf("shape %q is neither a size nor a preset: %v", s, err)
	}
	return shape{fmt.Sprintf("%s 128×%d×%d", s, c.Dim, c.HiddenDim), 128, c.Dim, c.HiddenDim}, nil
}

type options struct {
	shapes  []shape
	threads []int
	kernels []kernel
	rounds  int
	minTime time.Duration
	blas    string
	opts    compiler.Options
	// source is the SimpLang file of the kernels, named sourceName.
	source     []byte
	sourceName string
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr, loader.AvailableMemory)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gemm:", err)
		os.Exit(2)
	}
	if err := run(os.Stdout, os.Stderr, o); err != nil {
		fmt.Fprintln(os.Stderr, "gemm:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line; available tells the memory available
// (loader.AvailableMemory), which every shape's matrices must fit in.
func parseFlags(args []string, stderr io.Writer, available func() (uint64, error)) (options, error) {
	fs := flag.NewFlagSet("gemm", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	shapes := fs.String("shapes", "256,512,1024,2048,125M,1B", "square sizes and LLaMA presets (128 tokens × dim × hidden_dim)")
	threads := fs.String("threads", "1,2", "thread counts")
	kernelNames := fs.String("kernels", "nn,nt,matmul", "SimpLang kernels: nn (plain loops), nt (B transposed), matmul (the builtin)")
	backend := fs.String("backend", "auto", "compiler backend: mlir, llvm or auto")
	strict := fs.Bool("strict-fp", false, "compile the kernels with --strict-fp")
	unchecked := fs.Bool("unchecked", false, "compile the kernels without checked array access")
	fs.IntVar(&o.rounds, "rounds", 3, "timings per side; the table shows their median")
	fs.DurationVar(&o.minTime, "min-time", 200*time.Millisecond, "shortest time of one timing (repeating the product)")
	fs.StringVar(&o.blas, "blas", DefaultBLAS, "the OpenBLAS shared object")
	sl := fs.String("source", "", "time the functions gemm_nn, gemm_nt, gemm_builtin of this .sl file instead of gemm.sl's")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./cmd/gemm [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q (flags only; list sizes in -shapes)", fs.Arg(0))
	}
	avail, err := available()
	if err != nil {
		return o, err
	}
	for _, s := range strings.Split(*shapes, ",") {
		sh, err := parseShape(strings.TrimSpace(s))
		if err != nil {
			return o, err
		}
		if err := sh.fits(avail); err != nil {
			return o, err
		}
		o.shapes = append(o.shapes, sh)
	}
	for _, s := range strings.Split(*threads, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return o, fmt.Errorf("bad thread count %q", s)
		}
		o.threads = append(o.threads, n)
	}
	for _, s := range strings.Split(*kernelNames, ",") {
		i := slices.IndexFunc(kernels, func(k kernel) bool { return k.name == strings.TrimSpace(s) })
		if i < 0 {
			return o, fmt.Errorf("unknown kernel %q (nn, nt, matmul)", s)
		}
		o.kernels = append(o.kernels, kernels[i])
	}
	if o.rounds < 1 {
		return o, fmt.Errorf("-rounds %d: need at least 1", o.rounds)
	}
	b, err := compiler.ParseBackend(*backend)
	if err != nil {
		return o, err
	}
	o.opts = compiler.Options{Backend: b, StrictFP: *strict, Unchecked: *unchecked}
	o.source, o.sourceName = source, "cmd/gemm/gemm.sl"
	if *sl != "" {
		if o.source, err = os.ReadFile(*sl); err != nil {
			return o, err
		}
		o.sourceName = *sl
	}
	return o, nil
}

// side is one column's timings for a shape and thread count.
type side struct {
	name string
	time func() // one product
	gf   []float64
}

func run(out, progress io.Writer, o options) error {
	// OpenMP and OpenBLAS keep their thread counts per OS thread: stay on one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tools, err := toolchain.Find()
	if err != nil {
		return err
	}
	start := time.Now()
	lib, obj, err := compiler.Load(context.Background(), tools, o.sourceName, o.source, o.opts)
	if err != nil {
		return err
	}
	defer lib.Close()
	fmt.Fprintf(progress, "compiled %s with the %s backend in %.2f s (%s)\n", o.sourceName, obj.Backend, time.Since(start).Seconds(), obj.Path)
	bl, blasErr := openBLAS(o.blas)
	if blasErr != nil {
		fmt.Fprintln(progress, "gemm:", blasErr)
	}
	fmt.Fprintf(out, "| shape (m×k×n) | threads | SimpLang kernel | SimpLang GFLOP/s | OpenBLAS GFLOP/s | SimpLang ÷ OpenBLAS |\n|---|---:|---|---:|---:|---:|\n")
	for _, sh := range o.shapes {
		rng := rand.New(rand.NewPCG(1, uint64(sh.m*sh.k*sh.n)))
		a, bNN, bNT, c := random(rng, sh.m*sh.k), random(rng, sh.k*sh.n), random(rng, sh.k*sh.n), make([]float32, sh.m*sh.n)
		for _, t := range o.threads {
			if err := lib.SetThreads(t); err != nil {
				return err
			}
			var sides []*side
			var errs []error
			for _, k := range o.kernels {
				fn, err := lib.Func(k.fn)
				if err != nil {
					return err
				}
				bm := bNN
				if k.transB {
					bm = bNT
				}
				sides = append(sides, &side{name: k.name, time: func() {
					if _, err := fn.Call(a, bm, c, int64(sh.m), int64(sh.k), int64(sh.n)); err != nil {
						errs = append(errs, err)
					}
				}})
			}
			blasSides := map[bool]*side{}
			if bl != nil {
				for _, k := range o.kernels {
					if blasSides[k.transB] == nil {
						tb := k.transB
						bm := bNN
						if tb {
							bm = bNT
						}
						s := &side{name: "openblas", time: func() { bl.setThreads(int32(t)); bl.gemm(tb, a, bm, c, sh.m, sh.k, sh.n) }}
						blasSides[tb] = s
						sides = append(sides, s)
					}
				}
			}
			for r := 0; r < o.rounds; r++ {
				order := slices.Clone(sides)
				if r%2 == 1 {
					slices.Reverse(order)
				}
				for _, s := range order {
					time.Sleep(settle)
					s.gf = append(s.gf, sh.flops()/timeIt(s.time, o.minTime)/1e9)
				}
				if len(errs) > 0 {
					return errs[0]
				}
			}
			for _, s := range sides[:len(o.kernels)] {
				k := o.kernels[slices.IndexFunc(o.kernels, func(k kernel) bool { return k.name == s.name })]
				blasCol, ratio := "missing (see stderr)", "–"
				if bs := blasSides[k.transB]; bs != nil {
					blasCol = fmt.Sprintf("%.1f", stats.Median(bs.gf))
					ratio = fmt.Sprintf("%.2f", stats.Median(s.gf)/stats.Median(bs.gf))
				}
				layout := "B k×n"
				if k.transB {
					layout = "B n×k"
				}
				fmt.Fprintf(out, "| %s | %d | %s (%s) | %.1f | %s | %s |\n", sh.name, t, k.name, layout, stats.Median(s.gf), blasCol, ratio)
			}
		}
	}
	if blasErr != nil {
		fmt.Fprintf(out, "\n%v\n", blasErr)
	}
	return nil
}

// settle is the pause before each timing. Both libraries' worker threads spin for a while
// after their work (libomp for KMP_BLOCKTIME, 200 ms; OpenBLAS's for its thread timeout): a
// timing started right after the other side's would share the cores with them.
const settle = 300 * time.Millisecond

// timeIt returns the seconds one call of f takes: a first call that takes at least min is
// the answer; otherwise, after it (a warm-up), f repeats for at least min.
func timeIt(f func(), min time.Duration) float64 {
	start := time.Now()
	f()
	if d := time.Since(start); d >= min {
		return d.Seconds()
	}
	n := 0
	start = time.Now()
	for n == 0 || time.Since(start) < min {
		f()
		n++
	}
	return time.Since(start).Seconds() / float64(n)
}

func random(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = rng.Float32()*2 - 1
	}
	return x
}
