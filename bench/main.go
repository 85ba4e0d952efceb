// Command bench reproduces the LLaMA 2 benchmark of the SimpLang report
// (../shared/seed-llama-results.md) with the compiled kernels/llama2.sl (f32 weights) and the
// quantized kernels/llama2_bf16.sl, llama2_q8.sl and llama2_q4.sl (bf16, q8 and q4 weights),
// and measures how close decoding gets to this machine's memory bandwidth.
//
// For each model (by default the report's 125M, 500M, 1B and 3B, plus 7B, 8B and 30B) and
// each weight type (-weights; by default every type that has a kernel) that fits this
// machine's memory (so 7B and 8B at bf16 and q8, and 30B at q4, on a 24 GiB machine), it
// fills the weights with random values of about ±0.01 from a fixed seed (bf16: those values
// rounded; q8 and q4: random values and group scales), then for each backend and thread
// count: makes 3 warm-up calls, clears the KV cache and times a 10-token autoregressive run
// (each next token is the argmax of the logits), measuring the machine's read bandwidth with
// the same thread count before every token (the ceiling, kernels/bandwidth.sl). The weight
// types of a model that fit in memory together run side by side, a token of each in turn,
// so that their ratio (the table's × f32) does not depend on when each ran. It validates
// the outputs: finite, different at every position, and equal to the pure-Go reference
// forward pass on the same weights at position 0. It also times prompt processing (-prompt,
// 128 tokens by default; 0 turns it off): the weights' prefill kernel (kernels/llama2_prefill.sl,
// llama2_prefill_bf16.sl, llama2_prefill_q8.sl, llama2_prefill_q4.sl) feeds T tokens from
// position 0 on a cleared KV cache in one call, the median of 3 calls after a warm-up,
// reported as prompt tokens/s and its ratio to the decode's (pp ÷ tg); its logits after the
// decode run's tokens are checked against the decode step's. A
// model at a weight type that does not fit, or that its kernel cannot run (the f32 kernel's
// RoPE base is LLaMA 2's), or whose seq_len -tokens would run past, is skipped with the
// reason.
//
//	go run ./bench                                  the report's table (markdown on stdout)
//	go run ./bench -models 125M,1B -threads 2       a subset
//	go run ./bench -backend mlir,llvm -models 125M  both backends side by side
//	go run ./bench -weights q8 -models 7B,8B        q8 weights only
//	go run ./bench -weights q4 -models 30B          30B in 4 bits (about 18 GB)
//	go run ./bench -out results                     also write results/{table.md,results.json,throughput.png}
//	                                                (and prompt.png with -prompt)
//	go run ./bench -json                            JSON on stdout instead of markdown
//	go run ./bench -prompt 0                        decode only, no prompt processing
//	go run ./bench -models 1B -kv f16 -tokens 500   a KV cache of halves, at long contexts
//	go run ./bench -g -models 1B -threads 1         kernels with a line table, to profile
//
// Progress goes to standard error.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

// options are the command-line settings.
type options struct {
	models   []llama.Named
	weights  []llama.WeightType
	backends []compiler.Backend
	checked  []bool // builds with checked array access, unchecked, or both
	pages    []loader.Pages
	threads  []int
	tokens   int
	prompt   int // tokens of the timed prefill; 0: none
	kv       llama.CacheType
	warmup   int
	seed     uint64
	check    bool
	json     bool
	out      string
	debug    bool
	trace    bool
}

func main() {
	opts, err := parseFlags(os.Args[1:], os.Stderr)
	if err == flag.ErrHelp {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(2)
	}
	if err := run(context.Background(), opts, os.Stdout, newProgress(os.Stderr)); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var names []string
	for _, p := range llama.Presets() {
		names = append(names, p.Name)
	}
	models := fs.String("models", strings.Join(names, ","), "models to run, by the report's names")
	weights := fs.String("weights", strings.Join(kernelTypes(), ","), "weight types to run each model at, comma-separated: "+strings.Join(kernelTypes(), ", "))
	backends := fs.String("backend", "auto", "code generators to compare: mlir, llvm or auto, comma-separated")
	checks := fs.String("checks", "on", "array access checks of the kernel: on, off, or on,off to compare the two builds")
	pages := fs.String("pages", "huge", "pages for the weights and state: huge, 4k, or huge,4k side by side")
	threads := fs.String("threads", defaultThreads(), "thread counts to run each model with, comma-separated")
	tokens := fs.Int("tokens", 10, "tokens in the timed autoregressive run")
	prompt := fs.Int("prompt", 128, "tokens of the timed prompt processing (the weights' prefill kernel, from position 0); 0 turns it off")
	warmup := fs.Int("warmup", 3, "warm-up calls before the timed run")
	kv := fs.String("kv", "f32", "type of the key and value caches: f32 (llama2.c's) or f16 (half the bytes the attention reads)")
	seed := fs.Uint64("seed", 42, "seed of the random weights")
	check := fs.Bool("check", true, "compare position 0 with the pure-Go reference forward pass")
	jsonOut := fs.Bool("json", false, "write the results as JSON on stdout instead of the markdown table")
	out := fs.String("out", "", "directory to write table.md, results.json and throughput.png (and prompt.png with -prompt) into")
	debug := fs.Bool("g", false, "build the kernels with a line table into kernels/*.sl, for profilers (README: Profiling a kernel)")
	trace := fs.Bool("trace", false, "record the parallel loops of every timed token and report where its time goes (README: Profiling a kernel)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench [flags]\n\nRuns the LLaMA 2 decode benchmark (and prompt processing) and prints the results table.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (flags only; see -help)", fs.Arg(0))
	}
	o := &options{tokens: *tokens, prompt: *prompt, warmup: *warmup, seed: *seed, check: *check, json: *jsonOut, out: *out, debug: *debug, trace: *trace}
	for _, name := range splitList(*models) {
		cfg, err := llama.Preset(name)
		if err != nil {
			return nil, err
		}
		o.models = append(o.models, llama.Named{Name: name, Config: cfg})
	}
	kvType, err := llama.ParseCacheType(*kv)
	if err != nil {
		return nil, fmt.Errorf("-kv: %v", err)
	}
	o.kv = kvType
	for _, name := range splitList(*weights) {
		t, err := llama.ParseWeightType(name)
		if err != nil {
			return nil, fmt.Errorf("-weights: %v", err)
		}
		if _, ok := weightKernels[t]; !ok {
			return nil, fmt.Errorf("-weights: no kernel decodes %v weights yet; the benchmark runs %s", t, strings.Join(kernelTypes(), ", "))
		}
		if !slices.Contains(o.weights, t) {
			o.weights = append(o.weights, t)
		}
	}
	for _, name := range splitList(*backends) {
		b, err := compiler.ParseBackend(name)
		if err != nil {
			return nil, err
		}
		o.backends = append(o.backends, b)
	}
	for _, c := range splitList(*checks) {
		switch c {
		case "on", "off":
			o.checked = append(o.checked, c == "on")
		default:
			return nil, fmt.Errorf("-checks: %q is not on or off", c)
		}
	}
	for _, name := range splitList(*pages) {
		pg, err := loader.ParsePages(name)
		if err != nil {
			return nil, fmt.Errorf("-pages: %v", err)
		}
		o.pages = append(o.pages, pg)
	}
	for _, s := range splitList(*threads) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1024 {
			return nil, fmt.Errorf("-threads: %q is not a thread count (1 to 1024)", s)
		}
		o.threads = append(o.threads, n)
	}
	switch {
	case len(o.models) == 0 || len(o.weights) == 0 || len(o.backends) == 0 || len(o.checked) == 0 || len(o.pages) == 0 || len(o.threads) == 0:
		return nil, fmt.Errorf("-models, -weights, -backend, -checks, -pages and -threads need at least one value each")
	case o.tokens < 2 || o.tokens > 100000:
		return nil, fmt.Errorf("-tokens %d: need at least 2 (outputs must differ across positions)", o.tokens)
	case o.prompt < 0 || o.prompt > 100000:
		return nil, fmt.Errorf("-prompt %d: want 0 (off) to 100000 tokens", o.prompt)
	case o.warmup < 0:
		return nil, fmt.Errorf("-warmup %d: cannot be negative", o.warmup)
	}
	return o, nil
}

// kernelTypes names the weight types that have a kernel, in the order of llama.WeightType.
func kernelTypes() []string {
	var names []string
	for t := llama.F32; t <= llama.Q4; t++ {
		if _, ok := weightKernels[t]; ok {
			names = append(names, t.String())
		}
	}
	return names
}

// defaultThreads is "1,N" for N cores: the serial figure and the full machine.
func defaultThreads() string {
	if n := runtime.NumCPU(); n > 1 {
		return "1," + strconv.Itoa(n)
	}
	return "1"
}

func splitList(s string) []string {
	var list []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			list = append(list, f)
		}
	}
	return list
}

func run(ctx context.Context, o *options, stdout io.Writer, p *progress) error {
	if o.out != "" {
		if err := checkOut(o.out); err != nil {
			return err
		}
	}
	tools, err := toolchain.Find()
	if err != nil {
		return err
	}
	report := &Report{Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Machine: describeMachine(), Seed: o.seed, Tokens: o.tokens, Prompt: o.prompt, Warmup: o.warmup, KVCache: o.kv.String()}
	var builds []*build
	for _, b := range o.backends {
		chosen, why := compiler.Choose(tools, b)
		if b == compiler.AutoBackend {
			p.note("backend auto: using %v (%s)", chosen, why)
		}
		for _, checked := range o.checked {
			bl, err := compileBuild(ctx, tools, compiler.Options{Backend: chosen, Unchecked: !checked, Debug: o.debug}, o.kv, o.weights, o.prompt > 0, p)
			if err != nil {
				return err
			}
			defer bl.close()
			builds = append(builds, bl)
		}
	}
	// The bandwidth probe's buffers, allocated once for each page size: ones, on the pages
	// that the weights they are held against live on.
	probes := map[loader.Pages][]float32{}
	for _, pages := range o.pages {
		probe, err := loader.MapPages[float32](probeFloats, pages)
		if err != nil {
			return fmt.Errorf("bandwidth probe: %w", err)
		}
		defer loader.Unmap(probe)
		for i := range probe {
			probe[i] = 1
		}
		probes[pages] = probe
	}
	for _, m := range o.models {
		results, skips, err := runModel(m, builds, probes, o, loader.AvailableMemory, p)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
		report.Results = append(report.Results, results...)
		report.Skipped = append(report.Skipped, skips...)
	}
	return publish(report, o, stdout, p)
}

// checkOut creates the -out directory and makes sure it takes files, before a run of many
// minutes whose results are to go there.
func checkOut(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("-out %s: %v: name a directory that bench can create", dir, err)
	}
	f, err := os.CreateTemp(dir, ".bench-check-*")
	if err != nil {
		return fmt.Errorf("-out %s: cannot write there: %v", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// publish prints the report on stdout, then writes the -out files: a failure to write them
// (the directory removed during the run, a full disk) loses no results.
func publish(report *Report, o *options, stdout io.Writer, p *progress) error {
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else if _, err := io.WriteString(stdout, report.Markdown()); err != nil {
		return err
	}
	if o.out == "" {
		return nil
	}
	if err := report.writeFiles(o.out); err != nil {
		return fmt.Errorf("-out %s: %v (the results are on standard output)", o.out, err)
	}
	files := []string{"table.md", "results.json", "throughput.png"}
	if _, ok := report.promptChart(); ok {
		files = append(files, "prompt.png")
	}
	for i, f := range files {
		files[i] = filepath.Join(o.out, f)
	}
	p.note("wrote %s", strings.Join(files, ", "))
	return nil
}
