package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/llamakernel"
	"github.com/simplang/simplang/tokenizer"
)

const tokenizerPath = "../../../shared/llama2c/tokenizer.bin"

// checkpointOut, when set (go test ./cmd/generate -run TestWriteCheckpoint -args
// -checkpoint-out FILE), is where TestWriteCheckpoint leaves its model for manual runs;
// checkpointPreset gives it the shape of one of the benchmark's models instead of the tiny
// test model (-checkpoint-preset 125M: 125M parameters, 0.55 GB).
var (
	checkpointOut    = flag.String("checkpoint-out", "", "write the test model to this file")
	checkpointPreset = flag.String("checkpoint-preset", "", "shape of the written model: a benchmark preset (125M, 500M, 1B, 3B) instead of the tiny test model")
)

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
	cfg := testConfig
	if *checkpointPreset != "" {
		var err error
		if cfg, err = llama.Preset(*checkpointPreset); err != nil {
			t.Fatal(err)
		}
	}
	writeCheckpoint(t, path, cfg, false)
	hdr, err := llama.ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Config != cfg || hdr.SharedClassifier {
		t.Errorf("reopened checkpoint: config %+v shared %v", hdr.Config, hdr.SharedClassifier)
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
	if !strings.HasPrefix(stdout.String(), "Hello world") {
		t.Errorf("stdout %q", stdout.String())
	}
	for _, want := range []string{"generate: loaded " + path, "achieved tok/s: ", "generate: memory: "} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q lacks %q", stderr.String(), want)
		}
	}
	if strings.Contains(stderr.String(), "loading ") {
		t.Errorf("a small checkpoint showed its progress: %q", stderr.String())
	}
	// The same seed gives the same text, from the mapped file too.
	for _, mmap := range []bool{false, true} {
		o.mmap = mmap
		var again, log bytes.Buffer
		if err := run(context.Background(), o, &again, &log); err != nil {
			t.Fatal(err)
		}
		if again.String() != stdout.String() {
			t.Errorf("mmap %v: same seed, different text:\n%q\n%q", mmap, stdout.String(), again.String())
		}
		if mmap && !strings.Contains(log.String(), "generate: mapped "+path) {
			t.Errorf("-mmap: stderr %q does not say the file is mapped", log.String())
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

func TestLoadProgress(t *testing.T) {
	var log bytes.Buffer
	p := newLoadProgress(&log, "big.bin", time.Now().Add(-time.Second))
	for done := int64(0); done <= 100; done += 10 {
		p.update(done<<20, 100<<20)
	}
	p.finish()
	lines := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "loading big.bin: 30% of 0.1 GB, ") || !strings.Contains(lines[2], " 80% ") {
		t.Errorf("progress in a log: %q, want lines at 30, 50 and 80%%", lines)
	}
	var term bytes.Buffer
	p = newLoadProgress(&term, "big.bin", time.Now())
	p.terminal = true
	p.update(50, 100)
	p.update(60, 100) // within 0.1 s of the last: not drawn
	p.update(100, 100)
	p.finish()
	if got := term.String(); strings.Count(got, "\r") != 3 || strings.Contains(got, "60%") || !strings.Contains(got, "\rloading big.bin: 100% of ") || !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("progress on a terminal: %q", got)
	}
}

// TestMappedFileShrinks truncates a mapped checkpoint while generate steps: a step must fail
// with an error naming the file, and the truncation must wait until the file is closed, where
// reading the weights would raise SIGBUS.
func TestMappedFileShrinks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.bin")
	writeCheckpoint(t, path, testConfig, false)
	ckpt, err := llama.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ckpt.Close()
	src, err := os.ReadFile("../../kernels/llama2.sl")
	if err != nil {
		t.Fatal(err)
	}
	k, err := llamakernel.New(kerneltest.Open(t, "llama2.sl", src, compiler.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	state, err := llama.NewState(testConfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	step := newStep(k, testConfig, ckpt, state)
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
