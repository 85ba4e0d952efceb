package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/llamakernel"
	"github.com/simplang/simplang/tokenizer"
)

const tokenizerPath = "../../../shared/llama2c/tokenizer.bin"

// checkpointOut, when set (go test ./cmd/generate -run TestWriteCheckpoint -args
// -checkpoint-out FILE), is where TestWriteCheckpoint leaves its model for manual runs.
var checkpointOut = flag.String("checkpoint-out", "", "write the test model to this file")

// testConfig is a tiny model with the real tokenizer's 32,000-token vocabulary.
var testConfig = llama.Config{Dim: 48, HiddenDim: 128, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 32000, SeqLen: 64}

// writeCheckpoint writes a llama2.c checkpoint of cfg with random weights, scaled up from
// ±0.01 to ±0.2 so that the next-token distribution is far from uniform.
func writeCheckpoint(t *testing.T, path string, cfg llama.Config, shared bool) {
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
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := llama.Write(f, cfg, w, shared); err != nil {
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
	writeCheckpoint(t, path, testConfig, false)
	ckpt, err := llama.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ckpt.Close()
	if ckpt.Config != testConfig || ckpt.SharedClassifier {
		t.Errorf("reopened checkpoint: config %+v shared %v", ckpt.Config, ckpt.SharedClassifier)
	}
}

// TestGreedyMatchesReference generates greedily with the compiled kernel and with the pure-Go
// reference forward pass: the two must pick the same token at every step.
func TestGreedyMatchesReference(t *testing.T) {
	for _, shared := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), "model.bin")
		writeCheckpoint(t, path, testConfig, shared)
		ckpt, err := llama.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer ckpt.Close()
		tok, err := tokenizer.Load(tokenizerPath, ckpt.Config.VocabSize)
		if err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile("../../kernels/llama2.sl")
		if err != nil {
			t.Fatal(err)
		}
		for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
			k, err := llamakernel.New(kerneltest.Open(t, "llama2.sl", src, compiler.Options{Backend: backend}))
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
				g, err := generate(ckpt.Config, step, tok, sampler, "Once upon a time", 40, w)
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

func TestRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.bin")
	writeCheckpoint(t, path, testConfig, false)
	var stdout, stderr bytes.Buffer
	o := &options{checkpoint: path, tokenizer: tokenizerPath, temperature: 0.8, topp: 0.9, steps: 30, prompt: "Hello world", seed: 7, backend: "auto", threads: 2}
	if err := run(context.Background(), o, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout.String(), "Hello world") || !strings.Contains(stderr.String(), "achieved tok/s: ") {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	// The same seed gives the same text.
	var again bytes.Buffer
	if err := run(context.Background(), o, &again, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if again.String() != stdout.String() {
		t.Errorf("same seed, different text:\n%q\n%q", stdout.String(), again.String())
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
	for _, tc := range []struct {
		name string
		o    options
		want string
	}{
		{"missing checkpoint", options{checkpoint: filepath.Join(dir, "none.bin"), tokenizer: tokenizerPath}, "no such file"},
		{"truncated checkpoint", options{checkpoint: truncated, tokenizer: tokenizerPath}, "bytes"},
		{"vocabulary mismatch", options{checkpoint: small, tokenizer: tokenizerPath, temperature: 1, topp: 0.9}, "has 32000 tokens but the model's vocabulary is 512"},
		{"missing tokenizer", options{checkpoint: small, tokenizer: filepath.Join(dir, "none.tok")}, "none.tok"},
		{"bad temperature", options{checkpoint: full, tokenizer: tokenizerPath, temperature: -1, topp: 0.9}, "temperature"},
		{"bad topp", options{checkpoint: full, tokenizer: tokenizerPath, temperature: 1, topp: 1.5}, "top-p 1.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.backend = "auto"
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
