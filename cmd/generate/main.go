// Command generate writes text with a LLaMA 2 model in the llama2.c checkpoint format,
// running every decode step through the compiled SimpLang kernel (kernels/llama2.sl).
//
//	generate -checkpoint stories15M.bin -tokenizer tokenizer.bin -prompt "Once upon a time"
//
// The checkpoint is read into memory advised for huge pages, where the kernel streams it
// fastest, and the file is not used after that. With -mmap, or when it would not fit in the
// available memory next to the KV cache, the file is mapped instead, under a read lease that
// makes a program writing or truncating it wait, and checked before every step: a file that
// shrinks, or is about to, stops the run with an error rather than a SIGBUS.
//
// The prompt and the generated text stream to standard output as they are produced, as
// llama2.c's runner prints them; standard error gets the load time, the decode speed
// ("achieved tok/s: N", llama2.c's line) and the resident memory.
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
	"os"
	"time"

	"github.com/simplang/simplang/compiler"
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
	backend               string
	threads               int
	mmap                  bool
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
	fs.StringVar(&o.backend, "backend", "auto", "code generator for the kernel: mlir, llvm or auto")
	fs.IntVar(&o.threads, "threads", 0, "threads for the kernel's parallel loops; 0 uses OpenMP's default (all cores)")
	fs.BoolVar(&o.mmap, "mmap", false, "map the checkpoint file instead of reading it into huge-page memory (for models larger than free memory; chosen on its own when the weights would not fit)")
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
	case o.threads < 0:
		return nil, fmt.Errorf("-threads %d: cannot be negative", o.threads)
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	return o, nil
}

func run(ctx context.Context, o *options, stdout, stderr io.Writer) error {
	hdr, err := llama.ReadHeader(o.checkpoint)
	if err != nil {
		return err
	}
	cfg := hdr.Config
	tok, err := tokenizer.Load(o.tokenizer, cfg.VocabSize)
	if err != nil {
		return err
	}
	sampler, err := llama.NewSampler(cfg.VocabSize, float32(o.temperature), float32(o.topp), o.seed)
	if err != nil {
		return err
	}
	backend, err := compiler.ParseBackend(o.backend)
	if err != nil {
		return err
	}
	tools, err := toolchain.Find()
	if err != nil {
		return err
	}
	if chosen, why := compiler.Choose(tools, backend); backend == compiler.AutoBackend && chosen != compiler.MLIR {
		fmt.Fprintf(stderr, "generate: using the %v backend: %s\n", chosen, why)
	}
	kernel, err := llamakernel.Compile(ctx, tools, compiler.Options{Backend: backend})
	if err != nil {
		return err
	}
	defer kernel.Close()
	if o.threads > 0 {
		if err := kernel.Library().SetThreads(o.threads); err != nil {
			return err
		}
	}
	// The run never goes past -steps positions, so the KV cache needs no more: the kernel
	// takes the cache's length as seq_len.
	steps := o.steps
	if steps == 0 || steps > cfg.SeqLen {
		steps = cfg.SeqLen
	}
	run := cfg
	run.SeqLen = steps
	stateBytes := run.KVCacheBytes() + run.ActivationBytes()
	avail, availErr := loader.AvailableMemory()
	if availErr == nil && uint64(stateBytes) > avail {
		return fmt.Errorf("the KV cache and activations for %d positions need %.1f GB, but %.1f GB of memory is available: lower -steps", steps, gb(stateBytes), gb(int64(avail)))
	}
	mapFile, why := chooseMapping(o.mmap, hdr.Size, stateBytes, avail, availErr)
	if why != "" {
		fmt.Fprintf(stderr, "generate: %s\n", why)
	}

	// Weights and state on huge pages, where they stream faster than on 4 KiB pages.
	mem := loader.Arena{Pages: loader.HugePages}
	defer mem.Free()
	ckpt, err := openCheckpoint(hdr, mapFile, mem.Floats, stderr)
	if err != nil {
		return err
	}
	defer ckpt.Close()
	if ckpt.Header != hdr {
		return fmt.Errorf("checkpoint %s: the file changed while generate started (its header or length differ)", hdr.Path)
	}
	state, err := llama.NewState(run, mem.Floats)
	if err != nil {
		return err
	}

	out := bufio.NewWriter(stdout)
	g, err := generate(run, newStep(kernel, run, ckpt, state), tok, sampler, o.prompt, steps, out)
	if err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if g.timed > 0 {
		fmt.Fprintf(stderr, "achieved tok/s: %f\n", float64(g.timed)/g.elapsed.Seconds())
	}
	if rss, peak, err := loader.ResidentMemory(); err == nil {
		fmt.Fprintf(stderr, "generate: memory: %.1f MB resident, %.1f MB at the peak (checkpoint %.1f MB, KV cache %.1f MB)\n",
			mb(int64(rss)), mb(int64(peak)), mb(hdr.Size), mb(run.KVCacheBytes()))
	}
	return nil
}

// newStep returns the decode step of generate: the compiled kernel on the checkpoint's
// weights. A mapped checkpoint's file is checked before every step (llama.Checkpoint.CheckSize),
// so that a file that shrank, or that another program waits to truncate behind the lease,
// stops the run with an error instead of a SIGBUS in the kernel.
func newStep(kernel *llamakernel.Kernel, cfg llama.Config, ckpt *llama.Checkpoint, state *llama.State) func(token, pos int) ([]float32, error) {
	return func(token, pos int) ([]float32, error) {
		if err := ckpt.CheckSize(); err != nil {
			return nil, err
		}
		return kernel.Forward(cfg, ckpt.Weights, state, token, pos)
	}
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

// progressBytes is the size from which loading a checkpoint shows its progress (1 GiB).
const progressBytes = 1 << 30

// openCheckpoint maps the checkpoint of hdr or reads it into memory from alloc, and says
// which, how large and how long it took on stderr.
func openCheckpoint(hdr llama.Header, mapFile bool, alloc llama.Allocator, stderr io.Writer) (*llama.Checkpoint, error) {
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
	var p *loadProgress
	var update func(done, total int64)
	if hdr.Size >= progressBytes {
		p = newLoadProgress(stderr, hdr.Path, start)
		update = p.update
	}
	ckpt, err := llama.Load(hdr.Path, alloc, update)
	if p != nil {
		p.finish()
	}
	if err != nil {
		return nil, err
	}
	took := time.Since(start)
	fmt.Fprintf(stderr, "generate: loaded %s (%.1f MB) into memory advised for huge pages in %.2f s (%.2f GB/s)\n",
		hdr.Path, mb(hdr.Size), took.Seconds(), gb(hdr.Size)/took.Seconds())
	return ckpt, nil
}

// loadProgress shows how far reading a large checkpoint has got: a line redrawn in place at
// most ten times a second on a terminal, or a line at 25, 50 and 75% when stderr is a log.
type loadProgress struct {
	w        io.Writer
	path     string
	start    time.Time
	terminal bool
	shown    time.Duration // terminal: when the line was last drawn, 0 before the first time
	quarter  int64         // log: the last quarter printed
}

func newLoadProgress(w io.Writer, path string, start time.Time) *loadProgress {
	p := &loadProgress{w: w, path: path, start: start}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *loadProgress) update(done, total int64) {
	elapsed := time.Since(p.start)
	line := fmt.Sprintf("loading %s: %d%% of %.1f GB, %.2f GB/s", p.path, 100*done/total, gb(total), gb(done)/elapsed.Seconds())
	if p.terminal {
		if p.shown == 0 || elapsed-p.shown >= 100*time.Millisecond || done == total {
			p.shown = elapsed
			fmt.Fprintf(p.w, "\r%s\033[K", line)
		}
		return
	}
	if q := 4 * done / total; q > p.quarter && q < 4 {
		p.quarter = q
		fmt.Fprintln(p.w, line)
	}
}

// finish clears the line drawn on a terminal.
func (p *loadProgress) finish() {
	if p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func gb(bytes int64) float64 { return float64(bytes) / 1e9 }
func mb(bytes int64) float64 { return float64(bytes) / 1e6 }

// generation is what one run produced.
type generation struct {
	tokens  []int         // every token fed to the model, the prompt's first
	timed   int           // steps after the first, which llama2.c leaves out of its speed
	elapsed time.Duration // their time
}

// generate runs the model from the prompt for up to steps positions (all of seq_len when 0
// or more than seq_len), streaming each piece of text to out as llama2.c's generate loop does: the prompt
// is forced token by token, then tokens are sampled; a BOS token ends the text.
func generate(cfg llama.Config, step func(token, pos int) ([]float32, error), tok *tokenizer.Tokenizer,
	sampler *llama.Sampler, prompt string, steps int, out *bufio.Writer) (generation, error) {
	if steps == 0 || steps > cfg.SeqLen {
		steps = cfg.SeqLen
	}
	promptTokens := tok.Encode(prompt, true, false)
	g := generation{tokens: []int{promptTokens[0]}}
	token := promptTokens[0]
	var start time.Time
	for pos := 0; pos < steps; pos++ {
		logits, err := step(token, pos)
		if err != nil {
			return g, err
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
		if pos == 0 {
			start = time.Now() // the first step is slower: leave it out, as llama2.c does
		} else {
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
