// Command generate writes text with a LLaMA 2 model in one of llama2.c's checkpoint formats,
// running every decode step through a compiled SimpLang kernel.
//
//	generate -checkpoint stories15M.bin -tokenizer tokenizer.bin -prompt "Once upon a time"
//
// The format is told by the file's first bytes. A legacy checkpoint (export.py --version 0,
// float32, no magic) runs on kernels/llama2.sl. A version-2 export (export.py --version 2,
// the Q8_0 file llama2.c's runq.c reads: the "ak42" magic, version 2, the group size in its
// header) runs on the q8 kernel (kernels/llama2_q8.sl); other versions are refused. With
// -quantize q8 (or q4), a float32 checkpoint is quantized at load time, in groups of 32, and
// runs on that type's kernel (kernels/llama2_q8.sl, kernels/llama2_q4.sl); -quantize bf16
// rounds it to bfloat16 (half the bytes, f32 arithmetic: kernels/llama2_bf16.sl).
//
// A float32 checkpoint is read into memory advised for huge pages (-pages 4k: ordinary
// pages), where the kernel streams it fastest, and the file is not used after that. With
// -mmap, or when it would not fit in the available memory next to the KV cache, the file is
// mapped instead, under a read lease that makes a program writing or truncating it wait, and
// checked before every step: a file that shrinks, or is about to, stops the run with an error
// rather than a SIGBUS. Quantized weights are always in memory: a version-2 file is read (its
// layers interleave values and scales, where the kernel takes each tensor's layers one after
// another, so it cannot run in place and -mmap is refused), and -quantize maps the float32 file
// only to read it.
//
// The prompt goes through the weights' prefill kernel (kernels/llama2_prefill.sl for float32,
// its projections matrix–matrix products; llama2_prefill_q8.sl, llama2_prefill_q4.sl for
// quantized weights, each weight row against every prompt token), up to 128 tokens a call;
// -prefill=false feeds it through the decode step one token at a time, as llama2.c does.
// Either way the text is the same: the prefill leaves the logits of the last prompt token,
// which the first sampled token is drawn from, and the KV cache of every prompt position.
//
// The KV cache is float32, as llama2.c's. With -kv f16 it keeps IEEE halves, as llama.cpp
// does by default: half its memory, and half the bytes the attention reads, which at long
// contexts is a large part of a step's reads (each key and value is rounded to 11 significant
// bits, so the text can part from llama2.c's after a while).
//
// The prompt and the generated text stream to standard output as they are produced, as
// llama2.c's runner prints them; standard error gets the load (or quantization) time, the
// prompt speed of a prefill ("prompt tok/s: N"), the decode speed ("achieved tok/s: N",
// llama2.c's line: the steps after the first, prompt included, without a prefill; every
// decode step after a prefill) and the resident memory.
// Sampling is greedy at temperature 0, otherwise softmax with the temperature and, when
// 0 < topp < 1, nucleus (top-p) sampling; -seed makes a run repeatable.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/progress"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/llamakernel"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/tokenizer"
	"github.com/simplang/simplang/toolchain"
)

// options are the command-line settings, with llama2.c's defaults.
type options struct {
	checkpoint, tokenizer string
	temperature, topp     float64
	steps                 int
	prompt                string
	seed                  uint64
	backend               compiler.Backend
	threads               int
	mmap                  bool
	prefill               bool             // the prompt through the prefill kernel
	pages                 loader.Pages     // where weights read into memory live: huge pages, or 4 KiB
	quantize              llama.WeightType // F32: run the checkpoint's own type; Q8, Q4: quantize an f32 checkpoint
	kv                    llama.CacheType  // the KV cache's elements
}

func main() {
	o, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "generate: %v\n", err)
		os.Exit(2)
	}
	if err := run(context.Background(), o, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "generate: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	fs.StringVar(&o.checkpoint, "checkpoint", "", "llama2.c model checkpoint (.bin)")
	fs.StringVar(&o.tokenizer, "tokenizer", "tokenizer.bin", "llama2.c tokenizer file")
	fs.Float64Var(&o.temperature, "temperature", 1.0, "sampling temperature: 0 is greedy, higher is more random")
	fs.Float64Var(&o.topp, "topp", 0.9, "top-p (nucleus) sampling threshold in [0, 1]; 0 or 1 turns it off")
	fs.IntVar(&o.steps, "steps", 256, "positions to run, prompt included; 0 means the model's seq_len")
	fs.StringVar(&o.prompt, "prompt", "", "text to start from")
	fs.Uint64Var(&o.seed, "seed", 0, "random seed for sampling; 0 takes one from the clock")
	backend := fs.String("backend", "auto", "code generator for the kernel: mlir, llvm or auto")
	fs.IntVar(&o.threads, "threads", 0, "threads for the kernel's parallel loops; 0 uses OpenMP's default (all cores)")
	fs.BoolVar(&o.mmap, "mmap", false, "map the checkpoint file instead of reading it into huge-page memory (for models larger than free memory; chosen on its own when the weights would not fit); float32 checkpoints only")
	fs.BoolVar(&o.prefill, "prefill", true, "feed the prompt through the prefill kernel, many tokens a call; false: one decode step per prompt token")
	pages := fs.String("pages", "huge", "pages for the weights read into memory: huge (transparent huge pages) or 4k")
	quantize := fs.String("quantize", "", "quantize a float32 checkpoint's weights at load time: bf16, or q8 or q4 in groups of 32")
	kv := fs.String("kv", "f32", "type of the KV cache: f32 (llama2.c's) or f16 (half the memory and the attention's reads)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: generate -checkpoint FILE [-tokenizer FILE] [flags]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q (flags only; put the prompt in -prompt)", fs.Arg(0))
	case o.checkpoint == "":
		return nil, errors.New("-checkpoint is required: a llama2.c model file such as stories15M.bin")
	case o.steps < 0:
		return nil, fmt.Errorf("-steps %d: cannot be negative", o.steps)
	case o.threads < 0 || o.threads > 1<<16:
		return nil, fmt.Errorf("-threads %d: want 0 (all cores) to 65536", o.threads)
	}
	if err := llama.CheckSampling(float32(o.temperature), float32(o.topp)); err != nil {
		return nil, fmt.Errorf("-temperature %v -topp %v: %v", o.temperature, o.topp, err)
	}
	var err error
	if o.backend, err = compiler.ParseBackend(*backend); err != nil {
		return nil, fmt.Errorf("-backend: %v", err)
	}
	if o.pages, err = loader.ParsePages(*pages); err != nil {
		return nil, fmt.Errorf("-pages: %v", err)
	}
	if o.kv, err = llama.ParseCacheType(*kv); err != nil {
		return nil, fmt.Errorf("-kv: %v", err)
	}
	if *quantize != "" {
		if o.quantize, err = llama.ParseWeightType(*quantize); err != nil || o.quantize == llama.F32 {
			return nil, fmt.Errorf("-quantize %q: want bf16, q8 or q4", *quantize)
		}
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	return o, nil
}

func run(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	// OpenMP keeps a team of worker threads per OS thread that calls it, and they spin for a
	// while after each parallel loop: kernel calls from changing threads leave several teams
	// competing for the cores. Every call comes from this one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m, err := inspect(o)
	if err != nil {
		return err
	}
	cfg := m.cfg
	tok, err := tokenizer.Load(o.tokenizer, cfg.VocabSize)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: name the model's tokenizer (llama2.c's tokenizer.bin) with -tokenizer", err)
	}
	if err != nil {
		return err
	}
	sampler, err := llama.NewSampler(cfg.VocabSize, float32(o.temperature), float32(o.topp), o.seed)
	if err != nil {
		return err
	}
	tools, err := toolchain.Find()
	if err != nil {
		return err
	}
	if chosen, why := compiler.Choose(tools, o.backend); o.backend == compiler.AutoBackend && chosen != compiler.MLIR {
		fmt.Fprintf(stderr, "generate: using the %v backend: %s\n", chosen, why)
	}
	opts := compiler.Options{Backend: o.backend}
	var kernel *llamakernel.Kernel     // float32 weights
	var pkernel *llamakernel.Prefill   // float32 weights, the prompt
	var qkernel *llamakernel.KernelQ   // quantized weights
	var pqkernel *llamakernel.PrefillQ // quantized weights, the prompt
	var lib *loader.Library
	if m.weights == llama.F32 {
		if kernel, err = llamakernel.Compile(ctx, tools, opts, o.kv); err != nil {
			return err
		}
		defer kernel.Close()
		lib = kernel.Library()
		if o.prefill {
			if pkernel, err = llamakernel.CompilePrefill(ctx, tools, opts, o.kv); err != nil {
				return err
			}
			defer pkernel.Close()
			if o.threads > 0 {
				if err := pkernel.Library().SetThreads(o.threads); err != nil {
					return err
				}
			}
		}
	} else {
		if qkernel, err = llamakernel.CompileQ(ctx, tools, opts, m.weights, o.kv); err != nil {
			return err
		}
		defer qkernel.Close()
		lib = qkernel.Library()
		if o.prefill {
			if pqkernel, err = llamakernel.CompilePrefillQ(ctx, tools, opts, m.weights, o.kv); err != nil {
				return err
			}
			defer pqkernel.Close()
			if o.threads > 0 {
				if err := pqkernel.Library().SetThreads(o.threads); err != nil {
					return err
				}
			}
		}
	}
	if o.threads > 0 {
		if err := lib.SetThreads(o.threads); err != nil {
			return err
		}
	}
	// The run never goes past -steps positions, so the KV cache needs no more: the kernel
	// takes the cache's length as seq_len.
	steps := o.steps
	if steps > cfg.SeqLen {
		fmt.Fprintf(stderr, "generate: -steps %d is more than the model's seq_len %d: running %d positions\n", steps, cfg.SeqLen, cfg.SeqLen)
		steps = cfg.SeqLen
	}
	if steps == 0 {
		steps = cfg.SeqLen
	}
	run := cfg
	run.SeqLen = steps
	run.KVCache = o.kv
	stateBytes := run.KVCacheBytes() + run.ActivationBytes()
	if o.prefill {
		stateBytes += batchBytes(run, min(steps, prefillBatch))
	}
	avail, availErr := loader.AvailableMemory()
	if availErr == nil && uint64(stateBytes) > avail {
		return fmt.Errorf("the KV cache and activations for %d positions need %.1f GB, but %.1f GB of memory is available: %s", steps, gb(stateBytes), gb(int64(avail)), cacheAdvice(run))
	}

	// Weights and state on huge pages (unless -pages 4k), where they stream faster than on
	// 4 KiB pages.
	mem := loader.Arena{Pages: o.pages}
	defer mem.Free()
	var step func(token, pos int) ([]float32, error)
	var prefill func(tokens []int) ([]float32, error) // nil: the prompt goes through step
	weightBytes := m.bytes
	if m.weights == llama.F32 {
		mapFile, why := chooseMapping(o.mmap, m.legacy.Size, stateBytes, avail, availErr)
		if mapFile && why != "" { // chosen because the weights do not fit
			if advice := quantizeAdvice(run, stateBytes, avail); advice != "" {
				why += "; " + advice
			}
		}
		if why != "" {
			fmt.Fprintf(stderr, "generate: %s\n", why)
		}
		ckpt, err := openCheckpoint(m.legacy, mapFile, mem.Floats, o.pages, stderr)
		if err != nil {
			return err
		}
		defer ckpt.Close()
		if ckpt.Header != m.legacy {
			return changed(m.path)
		}
		state, err := llama.NewState(run, mem.Floats)
		if err != nil {
			return err
		}
		bound, err := kernel.Bind(run, ckpt.Weights, state)
		if err != nil {
			return err
		}
		defer bound.Close()
		step = newStep(bound, ckpt)
		if pkernel != nil {
			prefill = newPrefill(pkernel, run, ckpt, state, mem.Floats)
		}
	} else {
		// Quantized weights are always in memory: a version-2 file's layout is not the
		// kernel's, and -quantize makes new weights.
		if availErr == nil && uint64(m.bytes+stateBytes) > avail {
			return fmt.Errorf("the %v weights (%.1f GB) and the KV cache and activations (%.1f GB) would not fit in the %.1f GB of available memory: %s, or free memory",
				m.weights, gb(m.bytes), gb(stateBytes), gb(int64(avail)), cacheAdvice(run))
		}
		q, err := loadQuantized(m, mem.Floats, o.pages, stderr)
		if err != nil {
			return err
		}
		weightBytes = qBytes(q)
		state, err := llama.NewState(run, mem.Floats)
		if err != nil {
			return err
		}
		bound, err := qkernel.Bind(run, q, state)
		if err != nil {
			return err
		}
		defer bound.Close()
		step = bound.Forward
		if pqkernel != nil {
			prefill = batched(run, mem.Floats, func(b *llamakernel.Batch, tokens []int) ([]float32, error) {
				return pqkernel.Forward(run, q, state, b, tokens, 0)
			})
		}
	}

	out := bufio.NewWriter(stdout)
	g, err := generate(run, step, prefill, tok, sampler, o.prompt, steps, out)
	if err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if g.prompted > 0 {
		fmt.Fprintf(stderr, "prompt tok/s: %f (%d tokens)\n", float64(g.prompted)/g.promptElapsed.Seconds(), g.prompted)
	}
	if g.timed > 0 {
		fmt.Fprintf(stderr, "achieved tok/s: %f\n", float64(g.timed)/g.elapsed.Seconds())
	}
	if rss, peak, err := loader.ResidentMemory(); err == nil {
		fmt.Fprintf(stderr, "generate: memory: %.1f MB resident, %.1f MB at the peak (%s weights %.1f MB, %v KV cache %.1f MB)\n",
			mb(int64(rss)), mb(int64(peak)), m.weightName(), mb(weightBytes), run.KVCache, mb(run.KVCacheBytes()))
	}
	return nil
}

// model is the checkpoint generate runs and the weights it runs it with.
type model struct {
	path      string
	cfg       llama.Config
	legacy    llama.Header     // a float32 (legacy) checkpoint, when v2 is nil
	v2        *llama.HeaderV2  // a llama2.c version-2 export (q8)
	weights   llama.WeightType // the kernel's: F32, the export's Q8, or -quantize's type
	groupSize int              // of q8 and q4 weights; 0 for f32 and bf16
	bytes     int64            // the weights' size in memory (an upper bound with -quantize)
}

// weightName is the weights' type, with its group size: "f32", "q8/32".
func (m model) weightName() string {
	if m.groupSize == 0 {
		return m.weights.String()
	}
	return fmt.Sprintf("%v/%d", m.weights, m.groupSize)
}

// inspect reads the checkpoint's header, by its format: a file that starts with llama2.c's
// "ak42" magic is a newer export (version 2, Q8_0, runs on the q8 kernel; the reader refuses
// other versions), any other a legacy float32 checkpoint. It checks the options against it.
func inspect(o *options) (model, error) {
	isExport, err := llama.HasExportMagic(o.checkpoint)
	if err != nil {
		return model{}, err
	}
	if isExport {
		h, err := llama.ReadHeaderV2(o.checkpoint)
		if err != nil {
			return model{}, err
		}
		switch {
		case o.quantize != llama.F32:
			return model{}, fmt.Errorf("-quantize %v: checkpoint %s is a llama2.c version-2 export, already q8 (groups of %d); -quantize takes a float32 checkpoint", o.quantize, h.Path, h.GroupSize)
		case o.mmap:
			return model{}, fmt.Errorf("-mmap: checkpoint %s is a llama2.c version-2 export, which cannot run where it lies in the file (its layers interleave values and scales, and the kernel takes each tensor's layers one after another): it is always read into memory; -pages 4k puts it on 4 KiB pages", h.Path)
		}
		return model{path: h.Path, cfg: h.Config, v2: &h, weights: llama.Q8, groupSize: h.GroupSize, bytes: h.Size - v2HeaderBytes}, nil
	}
	h, err := llama.ReadHeader(o.checkpoint)
	if err != nil {
		return model{}, err
	}
	m := model{path: h.Path, cfg: h.Config, legacy: h, weights: llama.F32, bytes: h.Size}
	if o.quantize == llama.F32 {
		return m, nil
	}
	if o.mmap {
		return model{}, fmt.Errorf("-mmap and -quantize %v: the quantized weights are made in memory (the float32 file is mapped to read it in any case); -pages 4k puts them on 4 KiB pages", o.quantize)
	}
	if err := h.Config.ValidateWeights(o.quantize, 0); err != nil {
		return model{}, fmt.Errorf("-quantize %v: checkpoint %s: %w", o.quantize, h.Path, err)
	}
	m.weights = o.quantize
	if o.quantize != llama.BF16 { // bf16 has no groups
		m.groupSize = llama.DefaultGroupSize
	}
	m.bytes = h.Config.WeightBytesOf(o.quantize, 0)
	return m, nil
}

// v2HeaderBytes is the length of a version-2 export's header.
const v2HeaderBytes = 256

func changed(path string) error {
	return fmt.Errorf("checkpoint %s: the file changed while generate started (its header or length differ)", path)
}

// qBytes is the size of q's arrays, a classifier shared with the embedding counted once.
func qBytes(q *llama.QWeights) int64 {
	n := 4 * int64(len(q.RmsAtt)+len(q.RmsFfn)+len(q.RmsFinal))
	for _, t := range []*llama.QTensor{&q.TokenEmb, &q.Wq, &q.Wk, &q.Wv, &q.Wo, &q.W1, &q.W2, &q.W3, &q.Wcls} {
		if t == &q.Wcls && sameTensor(q.Wcls, q.TokenEmb) {
			continue
		}
		n += int64(len(t.BF16))*2 + int64(len(t.Q8)) + 4*int64(len(t.Scales)) + int64(len(t.Q4)) + 2*int64(len(t.Half))
	}
	return n
}

func sameTensor(a, b llama.QTensor) bool {
	switch {
	case len(a.Q8) > 0 && len(a.Q8) == len(b.Q8):
		return &a.Q8[0] == &b.Q8[0]
	case len(a.Q4) > 0 && len(a.Q4) == len(b.Q4):
		return &a.Q4[0] == &b.Q4[0]
	case len(a.BF16) > 0 && len(a.BF16) == len(b.BF16):
		return &a.BF16[0] == &b.BF16[0]
	}
	return false
}

// loadQuantized reads a version-2 export into memory from alloc, or maps a float32 checkpoint
// and quantizes it into memory from alloc (-quantize), and says how long it took on stderr.
// Large files show their progress.
func loadQuantized(m model, alloc llama.Allocator, pages loader.Pages, stderr io.Writer) (*llama.QWeights, error) {
	start := time.Now()
	if m.v2 != nil {
		update, finish := progress.Start(stderr, "loading "+m.path, m.v2.Size, 1, start)
		ck, err := llama.LoadV2(m.path, alloc, update)
		finish()
		if err != nil {
			return nil, err
		}
		if ck.Config != m.cfg || ck.SharedClassifier != m.v2.SharedClassifier || ck.Weights.GroupSize != m.v2.GroupSize {
			return nil, changed(m.path)
		}
		took := time.Since(start)
		fmt.Fprintf(stderr, "generate: loaded %s (%.1f MB, llama2.c version-2 export: q8, groups of %d) into %s in %.2f s (%.2f GB/s)\n",
			m.path, mb(m.v2.Size), m.groupSize, pagesPhrase(pages), took.Seconds(), gb(m.v2.Size)/took.Seconds())
		return ck.Weights, nil
	}

	// The float32 file is mapped, not read: it is used once, and its pages are the page
	// cache's, which can drop them again when the model is larger than memory.
	ckpt, err := llama.Open(m.path)
	if err != nil {
		return nil, err
	}
	defer ckpt.Close()
	if ckpt.Header != m.legacy {
		return nil, changed(m.path)
	}
	if !ckpt.Leased() {
		fmt.Fprintf(stderr, "generate: no lease on %s (open for writing elsewhere, another user's, or a file system without leases): a truncation while it is quantized would end generate with SIGBUS\n", m.path)
	}
	update, finish := progress.Start(stderr, fmt.Sprintf("quantizing %s to %v", m.path, m.weights), m.legacy.Size, 4, start) // counts float32 elements
	q, err := ckpt.Quantize(m.weights, m.groupSize, alloc, update)
	finish()
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", m.path, err)
	}
	took := time.Since(start)
	to := m.weights.String()
	if m.groupSize > 0 {
		to += fmt.Sprintf(", groups of %d", m.groupSize)
	}
	fmt.Fprintf(stderr, "generate: quantized %s (%.1f MB of float32, mapped) to %s (%.1f MB) in %s in %.2f s (%.2f GB/s of float32)\n",
		m.path, mb(m.legacy.Size), to, mb(qBytes(q)), pagesPhrase(pages), took.Seconds(), gb(m.legacy.Size)/took.Seconds())
	return q, nil
}

// pagesPhrase says where weights read into memory live.
func pagesPhrase(p loader.Pages) string {
	if p == loader.SmallPages {
		return "memory on 4 KiB pages"
	}
	return "memory advised for huge pages"
}

// newStep returns the decode step of generate: the compiled kernel bound to the checkpoint's
// weights. A mapped checkpoint's file is checked before every step (llama.Checkpoint.CheckSize),
// so that a file that shrank, or that another program waits to truncate behind the lease,
// stops the run with an error instead of a SIGBUS in the kernel.
func newStep(bound *llamakernel.Step, ckpt *llama.Checkpoint) func(token, pos int) ([]float32, error) {
	return func(token, pos int) ([]float32, error) {
		if err := ckpt.CheckSize(); err != nil {
			return nil, err
		}
		return bound.Forward(token, pos)
	}
}

// prefillBatch is the most prompt tokens one call of the prefill kernel takes.
const prefillBatch = 128

// batchBytes is the size of a prefill batch of n tokens for cfg (llamakernel.Batch).
func batchBytes(cfg llama.Config, n int) int64 {
	return 4 * int64(n) * int64(4*cfg.Dim+2*cfg.KVDim()+cfg.SeqLen+2*cfg.HiddenDim)
}

// newPrefill returns the prompt step of generate on float32 weights: the compiled prefill
// kernel on the checkpoint's weights, through batched. A mapped checkpoint's file is checked
// first, as newStep does.
func newPrefill(p *llamakernel.Prefill, cfg llama.Config, ckpt *llama.Checkpoint, state *llama.State, alloc llama.Allocator) func(tokens []int) ([]float32, error) {
	return batched(cfg, alloc, func(b *llamakernel.Batch, tokens []int) ([]float32, error) {
		if err := ckpt.CheckSize(); err != nil {
			return nil, err
		}
		return p.Forward(cfg, ckpt.Weights, state, b, tokens, 0)
	})
}

// batched returns the prompt step of generate: forward, a compiled prefill from position 0
// (which runs its tokens in calls of up to the batch's size), with a batch of up to
// prefillBatch tokens allocated from alloc at the first call.
func batched(cfg llama.Config, alloc llama.Allocator, forward func(b *llamakernel.Batch, tokens []int) ([]float32, error)) func(tokens []int) ([]float32, error) {
	var batch *llamakernel.Batch
	return func(tokens []int) ([]float32, error) {
		if batch == nil {
			b, err := llamakernel.NewBatch(cfg, min(max(len(tokens), 1), prefillBatch), alloc)
			if err != nil {
				return nil, err
			}
			batch = b
		}
		return forward(batch, tokens)
	}
}

// cacheAdvice says what shrinks the KV cache of run when it does not fit: fewer -steps and,
// for an f32 cache, -kv f16, which halves it.
func cacheAdvice(run llama.Config) string {
	if run.KVCache != llama.CacheF32 {
		return "lower -steps"
	}
	halves := run
	halves.KVCache = llama.CacheF16
	return fmt.Sprintf("lower -steps, or keep the KV cache in halves with -kv f16 (%.1f GB instead of %.1f)", gb(halves.KVCacheBytes()), gb(run.KVCacheBytes()))
}

// chooseMapping decides whether to map the checkpoint file (-mmap) rather than read it into
// memory: when asked to, or when its size in bytes and the run state's would not fit the
// available memory. It returns the reason when it chose without being asked, or when it could
// not tell.
func chooseMapping(asked bool, weights, state int64, avail uint64, availErr error) (bool, string) {
	switch {
	case asked:
		return true, ""
	case availErr != nil:
		return false, fmt.Sprintf("reading the checkpoint into memory without knowing whether it fits (%v); -mmap maps it instead", availErr)
	case uint64(weights+state) > avail:
		return true, fmt.Sprintf("the weights (%.1f GB) and the KV cache and activations (%.1f GB) would not fit in the %.1f GB of available memory: mapping the file instead, as -mmap does (slower: its pages are read as needed, 4 KiB at a time)",
			gb(weights), gb(state), gb(int64(avail)))
	}
	return false, ""
}

// quantizeAdvice names the -quantize types whose weights for cfg would fit in avail bytes
// next to state bytes of KV cache and activations, for a float32 model that does not fit:
// "" when none would.
func quantizeAdvice(cfg llama.Config, state int64, avail uint64) string {
	var fit []string
	for _, t := range []llama.WeightType{llama.BF16, llama.Q8, llama.Q4} {
		if bytes := cfg.WeightBytesOf(t, 0); cfg.ValidateWeights(t, 0) == nil && uint64(bytes+state) <= avail {
			fit = append(fit, fmt.Sprintf("%v (%.1f GB)", t, gb(bytes)))
		}
	}
	switch len(fit) {
	case 0:
		return ""
	case 1:
		return "-quantize " + fit[0] + " would hold the weights in memory instead"
	}
	return "-quantize " + strings.Join(fit[:len(fit)-1], ", ") + " or " + fit[len(fit)-1] + " would hold the weights in memory instead"
}

// openCheckpoint maps the checkpoint of hdr or reads it into memory from alloc, and says
// which, how large and how long it took on stderr.
func openCheckpoint(hdr llama.Header, mapFile bool, alloc llama.Allocator, pages loader.Pages, stderr io.Writer) (*llama.Checkpoint, error) {
	start := time.Now()
	if mapFile {
		ckpt, err := llama.Open(hdr.Path)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "generate: mapped %s (%.1f MB, -mmap); its pages are read from the file as the first step touches them\n", hdr.Path, mb(hdr.Size))
		if !ckpt.Leased() {
			fmt.Fprintf(stderr, "generate: no lease on %s (open for writing elsewhere, another user's, or a file system without leases): its size is checked before every step, but a truncation during a step would end generate with SIGBUS\n", hdr.Path)
		}
		return ckpt, nil
	}
	update, finish := progress.Start(stderr, "loading "+hdr.Path, hdr.Size, 1, start)
	ckpt, err := llama.Load(hdr.Path, alloc, update)
	finish()
	if err != nil {
		return nil, err
	}
	took := time.Since(start)
	fmt.Fprintf(stderr, "generate: loaded %s (%.1f MB) into %s in %.2f s (%.2f GB/s)\n",
		hdr.Path, mb(hdr.Size), pagesPhrase(pages), took.Seconds(), gb(hdr.Size)/took.Seconds())
	return ckpt, nil
}

func gb(bytes int64) float64 { return float64(bytes) / 1e9 }
func mb(bytes int64) float64 { return float64(bytes) / 1e6 }

// generation is what one run produced.
type generation struct {
	tokens        []int         // every token fed to the model, the prompt's first
	timed         int           // decode steps: after a prefill all, else those after the first, which llama2.c leaves out of its speed
	elapsed       time.Duration // their time
	prompted      int           // prompt tokens fed through the prefill
	promptElapsed time.Duration // its time
}

// generate runs the model from the prompt for up to steps positions (all of seq_len when 0
// or more than seq_len), streaming each piece of text to out as llama2.c's generate loop does: the prompt
// is forced token by token, then tokens are sampled; a BOS token ends the text.
// With prefill (nil: none) the prompt's positions, at most steps of them, go through prefill
// in one call, which returns the logits after the last of them; step runs the positions
// after it. The tokens and the text are those of feeding the prompt through step.
func generate(cfg llama.Config, step func(token, pos int) ([]float32, error), prefill func(tokens []int) ([]float32, error),
	tok *tokenizer.Tokenizer, sampler *llama.Sampler, prompt string, steps int, out *bufio.Writer) (generation, error) {
	if steps == 0 || steps > cfg.SeqLen {
		steps = cfg.SeqLen
	}
	promptTokens := tok.Encode(prompt, true, false)
	g := generation{tokens: []int{promptTokens[0]}}
	token := promptTokens[0]
	var logits []float32
	prefilled := 0 // positions 0 … prefilled−1 are done, and logits are those of the last
	if prefill != nil && steps > 0 {
		n := min(len(promptTokens), steps)
		start := time.Now()
		var err error
		if logits, err = prefill(promptTokens[:n]); err != nil {
			return g, err
		}
		g.prompted, g.promptElapsed, prefilled = n, time.Since(start), n
	}
	// The speed leaves out the first step (slower: llama2.c does so), or, after a prefill,
	// counts every decode step.
	first := max(prefilled-1, 0)
	var start time.Time
	for pos := 0; pos < steps; pos++ {
		if pos >= prefilled {
			var err error
			if logits, err = step(token, pos); err != nil {
				return g, err
			}
		}
		next := 0
		if pos+1 < len(promptTokens) {
			next = promptTokens[pos+1]
		} else {
			next = sampler.Sample(logits)
		}
		if next == tokenizer.BOS {
			break
		}
		writePiece(out, tok.Decode(token, next))
		if err := out.Flush(); err != nil {
			return g, err
		}
		g.tokens = append(g.tokens, next)
		token = next
		if pos == first {
			start = time.Now()
		} else if pos > first {
			g.timed++
		}
	}
	g.elapsed = time.Since(start)
	out.WriteByte('\n')
	return g, nil
}

// writePiece writes a decoded piece, dropping control bytes that byte tokens can produce
// (other than tab, newline and carriage return): they would garble a terminal. Bytes of
// multi-byte UTF-8 characters pass through, so characters split over tokens come out whole.
func writePiece(out *bufio.Writer, piece string) {
	if len(piece) == 1 {
		c := piece[0]
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return
		}
	}
	out.WriteString(piece)
}
