package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/llamakernel"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/tokenizer"
)

const tokenizerPath = "../../../shared/llama2c/tokenizer.bin"

// checkpointOut, when set (go test ./cmd/generate -run TestWriteCheckpoint -args
// -checkpoint-out FILE), is where TestWriteCheckpoint leaves its model for manual runs;
// checkpointPreset gives it the shape of one of the benchmark's models instead of the tiny
// test model (-checkpoint-preset 125M: 125M parameters, 0.55 GB).
// checkpointFormat v2 writes the same model quantized to q8 (groups of 32) as a llama2.c
// version-2 export, which runq.c reads, instead of a float32 checkpoint.
var (
	checkpointOut    = flag.String("checkpoint-out", "", "write the test model to this file")
	checkpointPreset = flag.String("checkpoint-preset", "", "shape of the written model: a benchmark preset (125M, 500M, 1B, 3B) instead of the tiny test model")
	checkpointFormat = flag.String("checkpoint-format", "f32", "format of the written model: f32 (llama2.c legacy checkpoint) or v2 (llama2.c version-2 export, q8 in groups of 32)")
)

// testConfig is a tiny model with the real tokenizer's 32,000-token vocabulary.
var testConfig = llama.Config{Dim: 48, HiddenDim: 128, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 32000, SeqLen: 64}

// quantConfig is a tiny model whose dimensions are multiples of the default group size 32.
var quantConfig = llama.Config{Dim: 64, HiddenDim: 160, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 32000, SeqLen: 64}

// testWeights returns random weights for cfg, scaled up from ±0.01 to ±0.2 so that the
// next-token distribution is far from uniform.
func testWeights(t *testing.T, cfg llama.Config) *llama.Weights {
	t.Helper()
	w, err := llama.NewWeights(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Randomize(11, nil)
	for _, tensor := range [][]float32{w.TokenEmb, w.RmsAtt, w.RmsFfn, w.Wq, w.Wk, w.Wv, w.Wo, w.W1, w.W2, w.W3, w.RmsFinal, w.Wcls} {
		for i := range tensor {
			tensor[i] *= 20
		}
	}
	return w
}

// writeCheckpoint writes a llama2.c checkpoint of cfg with the random weights of testWeights.
// openTestCheckpoint writes a checkpoint of testConfig (with a shared classifier or not) into
// a temporary file and opens it, to be closed when the test ends.
func openTestCheckpoint(t *testing.T, shared bool) (*llama.Checkpoint, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.bin")
	writeCheckpoint(t, path, testConfig, shared)
	ckpt, err := llama.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ckpt.Close() })
	return ckpt, path
}

func writeCheckpoint(t *testing.T, path string, cfg llama.Config, shared bool) {
	t.Helper()
	writeFile(t, path, func(f *os.File) error { return llama.Write(f, cfg, testWeights(t, cfg), shared) })
}

// writeV2Checkpoint writes the weights of writeCheckpoint quantized to q8 with groups of gs
// as a llama2.c version-2 export, as llama2.c's export.py --version 2 would write them.
func writeV2Checkpoint(t *testing.T, path string, cfg llama.Config, shared bool, gs int) {
	t.Helper()
	q, err := llama.Quantize(cfg, testWeights(t, cfg), llama.Q8, gs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, func(f *os.File) error { return llama.WriteV2(f, cfg, q, shared) })
}

func writeFile(t *testing.T, path string, write func(*os.File) error) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWriteCheckpoint(t *testing.T) {
	path := *checkpointOut
	if path == "" {
		path = filepath.Join(t.TempDir(), "model.bin")
	}
	cfg := testConfig
	if *checkpointPreset != "" {
		var err error
		if cfg, err = llama.Preset(*checkpointPreset); err != nil {
			t.Fatal(err)
		}
	}
	switch *checkpointFormat {
	case "f32":
		writeCheckpoint(t, path, cfg, false)
		hdr, err := llama.ReadHeader(path)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Config != cfg || hdr.SharedClassifier {
			t.Errorf("reopened checkpoint: config %+v shared %v", hdr.Config, hdr.SharedClassifier)
		}
	case "v2":
		if *checkpointPreset == "" {
			cfg = quantConfig
		}
		writeV2Checkpoint(t, path, cfg, false, llama.DefaultGroupSize)
		hdr, err := llama.ReadHeaderV2(path)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Config != cfg || hdr.SharedClassifier || hdr.GroupSize != llama.DefaultGroupSize {
			t.Errorf("reopened checkpoint: %+v", hdr)
		}
	default:
		t.Fatalf("-checkpoint-format %q: want f32 or v2", *checkpointFormat)
	}
}

// TestGreedyMatchesReference generates greedily with the compiled kernel and with the pure-Go
// reference forward pass: the two must pick the same token at every step.
func TestGreedyMatchesReference(t *testing.T) {
	for _, shared := range []bool{false, true} {
		ckpt, _ := openTestCheckpoint(t, shared)
		tok, err := tokenizer.Load(tokenizerPath, ckpt.Config.VocabSize)
		if err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile("../../kernels/llama2.sl")
		if err != nil {
			t.Fatal(err)
		}
		for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
			k, err := llamakernel.New(kerneltest.Open(t, "llama2.sl", src, compiler.Options{Backend: backend}), llama.CacheF32)
			if err != nil {
				t.Fatal(err)
			}
			run := func(step func(token, pos int) ([]float32, error)) (generation, string) {
				sampler, err := llama.NewSampler(ckpt.Config.VocabSize, 0, 0.9, 1)
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				w := bufio.NewWriter(&out)
				g, err := generate(ckpt.Config, step, nil, tok, sampler, "Once upon a time", 40, w)
				if err != nil {
					t.Fatal(err)
				}
				w.Flush()
				return g, out.String()
			}
			ks, err := llama.NewState(ckpt.Config, nil)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := llama.NewState(ckpt.Config, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, text := run(func(token, pos int) ([]float32, error) { return k.Forward(ckpt.Config, ckpt.Weights, ks, token, pos) })
			want, _ := run(func(token, pos int) ([]float32, error) {
				return llama.Forward(ckpt.Config, ckpt.Weights, rs, token, pos)
			})
			if len(got.tokens) < 10 {
				t.Fatalf("%v: only %d tokens generated", backend, len(got.tokens))
			}
			for i := range want.tokens {
				if i >= len(got.tokens) || got.tokens[i] != want.tokens[i] {
					t.Fatalf("%v shared=%v: token %d differs: kernel %v, reference %v", backend, shared, i, got.tokens, want.tokens)
				}
			}
			if len(got.tokens) != len(want.tokens) {
				t.Fatalf("%v: kernel made %d tokens, reference %d", backend, len(got.tokens), len(want.tokens))
			}
			if !strings.HasPrefix(text, "Once upon a time") || text != tok.DecodeAll(got.tokens)+"\n" {
				t.Errorf("%v: printed %q, want the prompt followed by the decoded tokens %q", backend, text, tok.DecodeAll(got.tokens))
			}
		}
	}
}

// TestGreedyPrefillUnchanged generates greedily with the prompt fed through the prefill
// kernel and through the decode step, on both backends: the tokens and the text must be the
// same, also when -steps ends inside the prompt.
func TestGreedyPrefillUnchanged(t *testing.T) {
	ckpt, _ := openTestCheckpoint(t, false)
	cfg := ckpt.Config
	tok, err := tokenizer.Load(tokenizerPath, cfg.VocabSize)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../../kernels/llama2.sl")
	if err != nil {
		t.Fatal(err)
	}
	psrc, err := os.ReadFile("../../kernels/llama2_prefill.sl")
	if err != nil {
		t.Fatal(err)
	}
	const prompt = "Once upon a time, there was a little girl named Lily who loved to play outside"
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		k, err := llamakernel.New(kerneltest.Open(t, "llama2.sl", src, compiler.Options{Backend: backend}), llama.CacheF32)
		if err != nil {
			t.Fatal(err)
		}
		p, err := llamakernel.NewPrefill(kerneltest.Open(t, "llama2_prefill.sl", psrc, compiler.Options{Backend: backend}), llama.CacheF32)
		if err != nil {
			t.Fatal(err)
		}
		gen := func(steps int, withPrefill bool) (generation, string) {
			state, err := llama.NewState(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			var prefill func(tokens []int) ([]float32, error)
			if withPrefill {
				prefill = newPrefill(p, cfg, ckpt, state, nil)
			}
			sampler, err := llama.NewSampler(cfg.VocabSize, 0, 0.9, 1)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			bound, err := k.Bind(cfg, ckpt.Weights, state)
			if err != nil {
				t.Fatal(err)
			}
			defer bound.Close()
			g, err := generate(cfg, newStep(bound, ckpt), prefill, tok, sampler, prompt, steps, w)
			if err != nil {
				t.Fatal(err)
			}
			w.Flush()
			return g, out.String()
		}
		promptLen := len(tok.Encode(prompt, true, false))
		for _, steps := range []int{40, promptLen, promptLen + 1, 3, 1} {
			got, text := gen(steps, true)
			want, wantText := gen(steps, false)
			if !slices.Equal(got.tokens, want.tokens) || text != wantText {
				t.Fatalf("%v, %d steps: with the prefill %v %q, without %v %q", backend, steps, got.tokens, text, want.tokens, wantText)
			}
			if wantPrompted := min(steps, promptLen); got.prompted != wantPrompted || want.prompted != 0 {
				t.Errorf("%v, %d steps: %d tokens prefilled, want %d", backend, steps, got.prompted, wantPrompted)
			}
			if steps == 40 && (len(got.tokens) <= promptLen || got.timed != steps-promptLen) {
				t.Errorf("%v: %d tokens, %d decode steps timed, for a prompt of %d", backend, len(got.tokens), got.timed, promptLen)
			}
		}
	}
}

func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.bin")
	writeCheckpoint(t, path, testConfig, false)
	var stdout, stderr bytes.Buffer
	o := &options{checkpoint: path, tokenizer: tokenizerPath, temperature: 0.8, topp: 0.9, steps: 30, prompt: "Hello world", seed: 7, backend: compiler.AutoBackend, threads: 2, prefill: true}
	if err := run(context.Background(), o, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "Hello world") {
		t.Errorf("stdout %q", stdout.String())
	}
	for _, want := range []string{"generate: loaded " + path, "prompt tok/s: ", "achieved tok/s: ", "generate: memory: "} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q lacks %q", stderr.String(), want)
		}
	}
	if strings.Contains(stderr.String(), "loading ") {
		t.Errorf("a small checkpoint showed its progress: %q", stderr.String())
	}
	// The same seed gives the same text, from the mapped file too, and with the prompt fed
	// through the decode step.
	for _, c := range []struct{ mmap, prefill bool }{{false, true}, {true, true}, {false, false}} {
		o.mmap, o.prefill = c.mmap, c.prefill
		var again, log bytes.Buffer
		if err := run(context.Background(), o, &again, &log); err != nil {
			t.Fatal(err)
		}
		if again.String() != stdout.String() {
			t.Errorf("mmap %v, prefill %v: same seed, different text:\n%q\n%q", c.mmap, c.prefill, stdout.String(), again.String())
		}
		if c.mmap && !strings.Contains(log.String(), "generate: mapped "+path) {
			t.Errorf("-mmap: stderr %q does not say the file is mapped", log.String())
		}
		if strings.Contains(log.String(), "prompt tok/s: ") != c.prefill {
			t.Errorf("prefill %v: stderr %q", c.prefill, log.String())
		}
	}
}

func TestChooseMapping(t *testing.T) {
	const gb = 1_000_000_000
	for _, tt := range []struct {
		name           string
		asked          bool
		weights, state int64
		avail          uint64
		availErr       error
		want           bool
		why            string
	}{
		{"fits", false, 4 * gb, gb, 6 * gb, nil, false, ""},
		{"asked", true, 4 * gb, gb, 60 * gb, nil, true, ""},
		{"weights too large", false, 7 * gb, gb / 10, 6 * gb, nil, true, "the weights (7.0 GB) and the KV cache and activations (0.1 GB) would not fit in the 6.0 GB of available memory: mapping the file instead"},
		{"with the state too large", false, 5 * gb, 2 * gb, 6 * gb, nil, true, "would not fit"},
		{"unknown", false, 4 * gb, gb, 0, errors.New("no /proc"), false, "without knowing whether it fits (no /proc)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, why := chooseMapping(tt.asked, tt.weights, tt.state, tt.avail, tt.availErr)
			if got != tt.want || !strings.Contains(why, tt.why) || (tt.why == "") != (why == "") {
				t.Errorf("chooseMapping = %v, %q; want %v, %q", got, why, tt.want, tt.why)
			}
		})
	}
}

func TestCacheAdvice(t *testing.T) {
	run, err := llama.Preset("7B") // 2 × 32 layers × 2048 positions × 4096 = 537 M elements
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cacheAdvice(run), "lower -steps, or keep the KV cache in halves with -kv f16 (1.1 GB instead of 2.1)"; got != want {
		t.Errorf("f32 cache: %q, want %q", got, want)
	}
	run.KVCache = llama.CacheF16
	if got := cacheAdvice(run); got != "lower -steps" {
		t.Errorf("f16 cache: %q, want %q", got, "lower -steps")
	}
}

// TestMappedFileShrinks truncates a mapped checkpoint while generate steps: a step must fail
// with an error naming the file, and the truncation must wait until the file is closed, where
// reading the weights would raise SIGBUS.
func TestMappedFileShrinks(t *testing.T) {
	ckpt, path := openTestCheckpoint(t, false)
	src, err := os.ReadFile("../../kernels/llama2.sl")
	if err != nil {
		t.Fatal(err)
	}
	k, err := llamakernel.New(kerneltest.Open(t, "llama2.sl", src, compiler.Options{}), llama.CacheF32)
	if err != nil {
		t.Fatal(err)
	}
	state, err := llama.NewState(testConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	bound, err := k.Bind(testConfig, ckpt.Weights, state)
	if err != nil {
		t.Fatal(err)
	}
	defer bound.Close()
	step := newStep(bound, ckpt)
	if _, err := step(1, 0); err != nil {
		t.Fatal(err)
	}
	truncated := make(chan error)
	go func() { truncated <- os.Truncate(path, 4096) }()
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, err := step(2, 1)
		if err != nil {
			if !strings.Contains(err.Error(), "checkpoint "+path+": another program is opening the file for writing or truncating it") {
				t.Fatalf("step while the file is being truncated: %v, want an error naming the file", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the steps went on while the file was being truncated")
		}
	}
	if err := ckpt.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-truncated; err != nil {
		t.Fatal(err)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.bin")
	writeCheckpoint(t, small, llama.Config{Dim: 16, HiddenDim: 32, NLayers: 1, NHeads: 2, NKVHeads: 2, VocabSize: 512, SeqLen: 8}, true)
	full := filepath.Join(dir, "full.bin")
	writeCheckpoint(t, full, testConfig, true)
	truncated := filepath.Join(dir, "truncated.bin")
	data, _ := os.ReadFile(small)
	os.WriteFile(truncated, data[:len(data)-10], 0o644)
	missing := filepath.Join(dir, "none.bin")
	notDir := filepath.Join(small, "model.bin")
	for _, tc := range []struct {
		name string
		o    options
		want string
	}{
		{"missing checkpoint", options{checkpoint: missing, tokenizer: tokenizerPath}, "open " + missing + ": no such file"},
		{"unreadable checkpoint", options{checkpoint: notDir, tokenizer: tokenizerPath}, "open " + notDir + ": not a directory"},
		{"directory", options{checkpoint: dir, tokenizer: tokenizerPath}, "checkpoint " + dir + ": not a regular file"},
		{"truncated checkpoint", options{checkpoint: truncated, tokenizer: tokenizerPath}, "checkpoint " + truncated + ": truncated: the header describes " + strconv.Itoa(len(data)) + " bytes but the file has " + strconv.Itoa(len(data)-10)},
		{"truncated checkpoint, -mmap", options{checkpoint: truncated, tokenizer: tokenizerPath, mmap: true}, "checkpoint " + truncated + ": truncated"},
		{"vocabulary mismatch", options{checkpoint: small, tokenizer: tokenizerPath, temperature: 1, topp: 0.9}, "has 32000 tokens but the model's vocabulary is 512"},
		{"missing tokenizer", options{checkpoint: small, tokenizer: filepath.Join(dir, "none.tok")}, "none.tok: no such file or directory: name the model's tokenizer (llama2.c's tokenizer.bin) with -tokenizer"},
		{"bad temperature", options{checkpoint: full, tokenizer: tokenizerPath, temperature: -1, topp: 0.9}, "temperature"},
		{"bad topp", options{checkpoint: full, tokenizer: tokenizerPath, temperature: 1, topp: 1.5}, "top-p 1.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.backend = compiler.AutoBackend
			err := run(context.Background(), &tc.o, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	for _, args := range [][]string{{}, {"-checkpoint", small, "extra"}, {"-checkpoint", small, "-steps", "-1"}} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

// greedy generates greedily from "Once upon a time" for steps positions with step, as generate
// does, and returns what it generated and printed.
func greedy(t *testing.T, cfg llama.Config, tok *tokenizer.Tokenizer, steps int, step func(token, pos int) ([]float32, error)) (generation, string) {
	t.Helper()
	sampler, err := llama.NewSampler(cfg.VocabSize, 0, 0.9, 1)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	g, err := generate(cfg, step, nil, tok, sampler, "Once upon a time", steps, w)
	if err != nil {
		t.Fatal(err)
	}
	w.Flush()
	return g, out.String()
}

// TestGreedyQuantizedMatchesReference runs generate greedily on version-2 exports (shared and
// separate classifiers, groups of 16 and 32) and with -quantize bf16, q8 and q4 on a float32
// checkpoint (bf16 also on one of dim 48, which q8 and q4 refuse),
// on both backends, with the prompt fed through the decode step and through the prefill: the
// text must be exactly that of a greedy decode with the pure-Go reference llama.ForwardQ on
// the same quantized weights.
func TestGreedyQuantizedMatchesReference(t *testing.T) {
	tok, err := tokenizer.Load(tokenizerPath, 32000)
	if err != nil {
		t.Fatal(err)
	}
	const steps = 40
	dir := t.TempDir()
	type model struct {
		name     string
		path     string
		quantize llama.WeightType
		ref      *llama.QWeights
		cfg      llama.Config
	}
	var models []model
	for _, tc := range []struct {
		cfg    llama.Config
		shared bool
		gs     int
	}{{testConfig, false, 16}, {quantConfig, true, 32}} {
		path := filepath.Join(dir, "v2-"+strconv.Itoa(tc.gs)+".bin")
		writeV2Checkpoint(t, path, tc.cfg, tc.shared, tc.gs)
		ck, err := llama.OpenV2(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		models = append(models, model{"v2, groups of " + strconv.Itoa(tc.gs), path, llama.F32, ck.Weights, tc.cfg})
	}
	f32 := filepath.Join(dir, "f32.bin")
	writeCheckpoint(t, f32, quantConfig, false)
	ckpt, err := llama.Open(f32)
	if err != nil {
		t.Fatal(err)
	}
	for _, wt := range []llama.WeightType{llama.BF16, llama.Q8, llama.Q4} {
		q, err := llama.Quantize(quantConfig, ckpt.Weights, wt, 0, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		models = append(models, model{"-quantize " + wt.String(), f32, wt, q, quantConfig})
	}
	ckpt.Close()
	// bf16 has no groups: any dimensions (dim 48, head size 12)
	f48 := filepath.Join(dir, "f32-48.bin")
	writeCheckpoint(t, f48, testConfig, false)
	ckpt48, err := llama.Open(f48)
	if err != nil {
		t.Fatal(err)
	}
	q48, err := llama.Quantize(testConfig, ckpt48.Weights, llama.BF16, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ckpt48.Close()
	models = append(models, model{"-quantize bf16, dim 48", f48, llama.BF16, q48, testConfig})

	for _, m := range models {
		s, err := llama.NewState(m.cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, wantText := greedy(t, m.cfg, tok, steps, func(token, pos int) ([]float32, error) {
			return llama.ForwardQ(m.cfg, m.ref, s, token, pos)
		})
		if len(want.tokens) < 10 || !strings.HasPrefix(wantText, "Once upon a time") {
			t.Fatalf("%s: the reference made only %d tokens: %q", m.name, len(want.tokens), wantText)
		}
		for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
			for _, prefill := range []bool{false, true} {
				var stdout, stderr bytes.Buffer
				o := &options{checkpoint: m.path, tokenizer: tokenizerPath, temperature: 0, topp: 0.9, steps: steps,
					prompt: "Once upon a time", seed: 1, backend: backend, threads: 2, quantize: m.quantize, prefill: prefill}
				if err := run(context.Background(), o, &stdout, &stderr); err != nil {
					t.Fatalf("%s, %v, prefill %v: %v", m.name, backend, prefill, err)
				}
				if stdout.String() != wantText {
					t.Errorf("%s, %v, prefill %v: generate printed\n%q\nthe reference\n%q", m.name, backend, prefill, stdout.String(), wantText)
				}
			}
		}
	}
}

// TestGreedyF16Cache runs generate greedily with -kv f16 on a float32 checkpoint and with
// -quantize q4, on both backends, the prompt through the prefill and through the decode step:
// the text must be the reference's with the same f16 cache (llama.Forward, llama.ForwardQ).
func TestGreedyF16Cache(t *testing.T) {
	tok, err := tokenizer.Load(tokenizerPath, 32000)
	if err != nil {
		t.Fatal(err)
	}
	const steps = 40
	path := filepath.Join(t.TempDir(), "f32.bin")
	writeCheckpoint(t, path, quantConfig, false)
	ckpt, err := llama.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ckpt.Close()
	cfg := quantConfig
	cfg.KVCache = llama.CacheF16
	q, err := llama.Quantize(cfg, ckpt.Weights, llama.Q4, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		quantize llama.WeightType
		step     func(s *llama.State, token, pos int) ([]float32, error)
	}{
		{llama.F32, func(s *llama.State, token, pos int) ([]float32, error) {
			return llama.Forward(cfg, ckpt.Weights, s, token, pos)
		}},
		{llama.Q4, func(s *llama.State, token, pos int) ([]float32, error) { return llama.ForwardQ(cfg, q, s, token, pos) }},
	} {
		s, err := llama.NewState(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		want, wantText := greedy(t, cfg, tok, steps, func(token, pos int) ([]float32, error) { return tc.step(s, token, pos) })
		if len(want.tokens) < 10 {
			t.Fatalf("%v: the reference made only %d tokens: %q", tc.quantize, len(want.tokens), wantText)
		}
		for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
			for _, prefill := range []bool{false, true} {
				var stdout, stderr bytes.Buffer
				o := &options{checkpoint: path, tokenizer: tokenizerPath, temperature: 0, topp: 0.9, steps: steps, prompt: "Once upon a time",
					seed: 1, backend: backend, threads: 2, quantize: tc.quantize, prefill: prefill, kv: llama.CacheF16}
				if err := run(context.Background(), o, &stdout, &stderr); err != nil {
					t.Fatalf("-quantize %v, %v, prefill %v: %v", tc.quantize, backend, prefill, err)
				}
				if stdout.String() != wantText {
					t.Errorf("-quantize %v, %v, prefill %v, -kv f16: generate printed\n%q\nthe reference\n%q", tc.quantize, backend, prefill, stdout.String(), wantText)
				}
				if !strings.Contains(stderr.String(), " MB, f16 KV cache 0.0 MB)") {
					t.Errorf("-kv f16: stderr %q does not report an f16 cache", stderr.String())
				}
			}
		}
	}
}

// TestRunQuantized checks what generate reports on stderr for a version-2 export and for
// -quantize, on huge and on 4 KiB pages, the prompt going through the prefill.
func TestRunQuantized(t *testing.T) {
	dir := t.TempDir()
	v2 := filepath.Join(dir, "v2.bin")
	writeV2Checkpoint(t, v2, testConfig, false, 16)
	f32 := filepath.Join(dir, "f32.bin")
	writeCheckpoint(t, f32, quantConfig, true)
	for _, tc := range []struct {
		name     string
		path     string
		quantize llama.WeightType
		pages    loader.Pages
		want     []string
	}{
		{"v2", v2, llama.F32, loader.HugePages, []string{"generate: loaded " + v2 + " (", "llama2.c version-2 export: q8, groups of 16) into memory advised for huge pages in ", "(q8/16 weights "}},
		{"v2, 4k pages", v2, llama.F32, loader.SmallPages, []string{"into memory on 4 KiB pages in "}},
		{"-quantize q8", f32, llama.Q8, loader.HugePages, []string{"generate: quantized " + f32 + " (", "MB of float32, mapped) to q8, groups of 32 (", "MB) in memory advised for huge pages in ", "(q8/32 weights "}},
		{"-quantize bf16", f32, llama.BF16, loader.SmallPages, []string{"MB of float32, mapped) to bf16 (", "MB) in memory on 4 KiB pages in ", "(bf16 weights "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			o := &options{checkpoint: tc.path, tokenizer: tokenizerPath, temperature: 0.8, topp: 0.9, steps: 20, prompt: "Hello world",
				seed: 7, backend: compiler.AutoBackend, threads: 2, quantize: tc.quantize, pages: tc.pages, prefill: true}
			if err := run(context.Background(), o, &stdout, &stderr); err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(stdout.String(), "Hello world") {
				t.Errorf("stdout %q", stdout.String())
			}
			for _, want := range append(tc.want, "prompt tok/s: ", "achieved tok/s: ", "generate: memory: ") {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr %q lacks %q", stderr.String(), want)
				}
			}
			if strings.Contains(stderr.String(), "loading ") || strings.Contains(stderr.String(), "quantizing ") {
				t.Errorf("a small checkpoint showed its progress: %q", stderr.String())
			}
		})
	}
	// The memory line counts a shared classifier once: quantConfig at q8/32 is 2,530,432 bytes
	// with a separate classifier, of which the classifier is 2,304,000.
	q, err := llama.NewQWeights(quantConfig, llama.Q8, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := qBytes(q), quantConfig.WeightBytesOf(llama.Q8, 0); got != want {
		t.Errorf("qBytes = %d, want WeightBytesOf's %d", got, want)
	}
	q.Wcls = q.TokenEmb
	if got, want := qBytes(q), quantConfig.WeightBytesOf(llama.Q8, 0)-32000*64*(1+4.0/32); got != int64(want) {
		t.Errorf("qBytes with a shared classifier = %d, want %d", got, int64(want))
	}
}

// TestBadQuantizedInput gives generate broken version-2 exports and impossible -quantize and
// -mmap requests: each is an error naming the file and the field, never a panic.
func TestBadQuantizedInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.bin")
	writeV2Checkpoint(t, good, testConfig, false, 16)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	variant := func(name string, change func([]byte) []byte) string {
		path := filepath.Join(dir, name+".bin")
		if err := os.WriteFile(path, change(bytes.Clone(data)), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	put := func(off int, v uint32) func([]byte) []byte {
		return func(b []byte) []byte { binary.NativeEndian.PutUint32(b[off:], v); return b }
	}
	truncated := variant("truncated", func(b []byte) []byte { return b[:len(b)-100] })
	headerOnly := variant("header-only", func(b []byte) []byte { return b[:256] })
	shortHeader := variant("short-header", func(b []byte) []byte { return b[:100] })
	longer := variant("longer", func(b []byte) []byte { return append(b, 1, 2, 3) })
	moreLayers := variant("more-layers", put(16, 3))
	version3 := variant("version3", put(4, 3))
	version1 := variant("version1", put(4, 1))
	group20 := variant("group20", put(37, 20))
	group0 := variant("group0", put(37, 0))
	small := filepath.Join(dir, "small.bin")
	writeV2Checkpoint(t, small, llama.Config{Dim: 16, HiddenDim: 32, NLayers: 1, NHeads: 2, NKVHeads: 2, VocabSize: 512, SeqLen: 8}, true, 16)
	f32 := filepath.Join(dir, "f32.bin") // dim 48: not a multiple of 32
	writeCheckpoint(t, f32, testConfig, false)
	f32q := filepath.Join(dir, "f32q.bin") // dims multiples of 32
	writeCheckpoint(t, f32q, quantConfig, false)
	nan := filepath.Join(dir, "nan.bin")
	w := testWeights(t, quantConfig)
	w.Wk[77] = float32(math.NaN())
	writeFile(t, nan, func(f *os.File) error { return llama.Write(f, quantConfig, w, false) })

	for _, tc := range []struct {
		name string
		o    options
		want string
	}{
		{"truncated", options{checkpoint: truncated}, "checkpoint " + truncated + ": truncated: the version-2 header describes " + strconv.Itoa(len(data)) + " bytes but the file has " + strconv.Itoa(len(data)-100)},
		{"header only", options{checkpoint: headerOnly}, "checkpoint " + headerOnly + ": truncated: the version-2 header describes"},
		{"short header", options{checkpoint: shortHeader}, "checkpoint " + shortHeader + ": file is 100 bytes, shorter than the 256-byte version-2 header"},
		{"longer than the header says", options{checkpoint: longer}, "checkpoint " + longer + ": file is 3 bytes longer than the " + strconv.Itoa(len(data)) + " bytes its version-2 header describes"},
		{"header says more layers", options{checkpoint: moreLayers}, "checkpoint " + moreLayers + ": truncated: the version-2 header describes"},
		{"unknown version", options{checkpoint: version3}, "checkpoint " + version3 + ": bad header: version is 3; only version 2 (Q8_0) is known"},
		{"version 1", options{checkpoint: version1}, "checkpoint " + version1 + ": bad header: version is 1, the float32 export of llama2.c, which is not supported"},
		{"group size not dividing dim", options{checkpoint: group20}, "checkpoint " + group20 + ": bad header: group_size: q8: dim 48 is not a multiple of the group size 20"},
		{"zero group size", options{checkpoint: group0}, "checkpoint " + group0 + ": bad header: group_size is 0, must be positive"},
		{"vocabulary mismatch", options{checkpoint: small, temperature: 1, topp: 0.9}, "has 32000 tokens but the model's vocabulary is 512"},
		{"v2 with -mmap", options{checkpoint: good, mmap: true}, "-mmap: checkpoint " + good + " is a llama2.c version-2 export, which cannot run where it lies in the file"},
		{"v2 with -quantize", options{checkpoint: good, quantize: llama.Q8}, "-quantize q8: checkpoint " + good + " is a llama2.c version-2 export, already q8 (groups of 16)"},
		{"q4, dim not a multiple of 32", options{checkpoint: f32, quantize: llama.Q4}, "-quantize q4: checkpoint " + f32 + ": q4: dim 48 is not a multiple of the group size 32"},
		{"q8, dim not a multiple of 32", options{checkpoint: f32, quantize: llama.Q8}, "-quantize q8: checkpoint " + f32 + ": q8: dim 48 is not a multiple of the group size 32"},
		{"-quantize with -mmap", options{checkpoint: f32q, quantize: llama.Q8, mmap: true}, "-mmap and -quantize q8: the quantized weights are made in memory"},
		{"NaN weight", options{checkpoint: nan, quantize: llama.Q8, temperature: 1, topp: 0.9}, "checkpoint " + nan + ": quantize: wk element 77 is NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.backend, tc.o.tokenizer, tc.o.steps = compiler.AutoBackend, tokenizerPath, 8
			err := run(context.Background(), &tc.o, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	for _, args := range [][]string{
		{"-checkpoint", good, "-quantize", "q5"},
		{"-checkpoint", good, "-quantize", "f32"},
		{"-checkpoint", good, "-pages", "2m"},
		{"-checkpoint", good, "-kv", "q8"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
	// Sampling, backend and thread counts are checked before anything is read (exit 2).
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-temperature", "-1"}, "temperature -1, must be a finite number"},
		{[]string{"-temperature", "NaN"}, "temperature NaN"},
		{[]string{"-temperature", "1e300"}, "temperature +Inf"},
		{[]string{"-topp", "1.5"}, "top-p 1.5, must be in [0, 1]"},
		{[]string{"-backend", "gpu"}, "-backend:"},
		{[]string{"-threads", "99999999"}, "-threads 99999999: want 0 (all cores) to 65536"},
	} {
		_, err := parseFlags(append([]string{"-checkpoint", "/nonexistent/model.bin"}, tt.args...), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseFlags(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
	if o, err := parseFlags([]string{"-checkpoint", good, "-backend", "llvm"}, &bytes.Buffer{}); err != nil || o.backend != compiler.LLVM {
		t.Errorf("-backend llvm: %+v, %v", o, err)
	}
	if o, err := parseFlags([]string{"-checkpoint", good, "-kv", "f16"}, &bytes.Buffer{}); err != nil || o.kv != llama.CacheF16 {
		t.Errorf("-kv f16: %+v, %v", o, err)
	}
	if o, err := parseFlags([]string{"-checkpoint", good, "-quantize", "q4", "-pages", "4k"}, &bytes.Buffer{}); err != nil || o.quantize != llama.Q4 || o.pages != loader.SmallPages {
		t.Errorf("parseFlags(-quantize q4 -pages 4k) = %+v, %v", o, err)
	}
	if o, err := parseFlags([]string{"-checkpoint", good, "-quantize", "bf16"}, &bytes.Buffer{}); err != nil || o.quantize != llama.BF16 {
		t.Errorf("parseFlags(-quantize bf16) = %+v, %v", o, err)
	}
}

// TestQuantizeAdvice: a float32 model that does not fit is told which -quantize types would,
// smallest memory last; none when none fits, and q8 and q4 only for dimensions their groups
// divide.
func TestQuantizeAdvice(t *testing.T) {
	cfg, err := llama.Preset("7B")
	if err != nil {
		t.Fatal(err)
	}
	size := func(typ llama.WeightType) string {
		return fmt.Sprintf("%v (%.1f GB)", typ, float64(cfg.WeightBytesOf(typ, 0))/1e9)
	}
	const state = 100_000_000
	for _, tt := range []struct {
		avail uint64
		want  string
	}{
		{uint64(cfg.WeightBytesOf(llama.BF16, 0)) + state, "-quantize " + size(llama.BF16) + ", " + size(llama.Q8) + " or " + size(llama.Q4) + " would hold the weights in memory instead"},
		{uint64(cfg.WeightBytesOf(llama.Q8, 0)) + state, "-quantize " + size(llama.Q8) + " or " + size(llama.Q4) + " would hold"},
		{uint64(cfg.WeightBytesOf(llama.Q4, 0)) + state, "-quantize " + size(llama.Q4) + " would hold the weights in memory instead"},
		{uint64(cfg.WeightBytesOf(llama.Q4, 0)), ""},
	} {
		if got := quantizeAdvice(cfg, state, tt.avail); !strings.HasPrefix(got, tt.want) || (tt.want == "") != (got == "") {
			t.Errorf("quantizeAdvice with %d bytes available = %q, want %q", tt.avail, got, tt.want)
		}
	}
	odd := cfg
	odd.Dim, odd.NHeads, odd.NKVHeads = 4080, 30, 30 // not a multiple of 32
	if got, want := quantizeAdvice(odd, state, 1<<40), "-quantize bf16 ("; !strings.HasPrefix(got, want) || strings.Contains(got, "q8") {
		t.Errorf("quantizeAdvice for dim 4080 = %q, want bf16 alone", got)
	}
}
