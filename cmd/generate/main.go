// Command generate writes text with a LLaMA 2 model in the llama2.c checkpoint format,
// running every decode step through the compiled SimpLang kernel (kernels/llama2.sl).
//
//	generate -checkpoint stories15M.bin -tokenizer tokenizer.bin -prompt "Once upon a time"
//
// The prompt and the generated text stream to standard output as they are produced, as
// llama2.c's runner prints them; the speed ("achieved tok/s: N") goes to standard error.
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
	ckpt, err := llama.Open(o.checkpoint)
	if err != nil {
		return err
	}
	defer ckpt.Close()
	cfg := ckpt.Config
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
	need := run.KVCacheBytes() + run.ActivationBytes()
	if avail, err := loader.AvailableMemory(); err == nil && uint64(need) > avail {
		return fmt.Errorf("the KV cache and activations for %d positions need %.1f GB, but %.1f GB of memory is available: lower -steps", steps, float64(need)/1e9, float64(avail)/1e9)
	}
	state, err := llama.NewState(run, nil)
	if err != nil {
		return err
	}
	step := func(token, pos int) ([]float32, error) { return kernel.Forward(run, ckpt.Weights, state, token, pos) }

	out := bufio.NewWriter(stdout)
	g, err := generate(run, step, tok, sampler, o.prompt, steps, out)
	if err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if g.timed > 0 {
		fmt.Fprintf(stderr, "achieved tok/s: %f\n", float64(g.timed)/g.elapsed.Seconds())
	}
	return nil
}

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
