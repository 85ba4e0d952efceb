package main

import (
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
)

// TestRunModel runs the benchmark's measurement on a tiny model with both backends (MLIR
// checked, LLVM unchecked) and checks what the table reports.
func TestRunModel(t *testing.T) {
	tools := kerneltest.Tools(t)
	var builds []*build
	for i, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		b, err := compileBuild(context.Background(), tools, backend, i == 0, newProgress(io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		defer b.close()
		builds = append(builds, b)
	}
	model := llama.Named{Name: "tiny", Config: llama.Config{Dim: 64, HiddenDim: 128, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 300, SeqLen: 16}}
	probe := make([]float32, 1<<20)
	for i := range probe {
		probe[i] = 1
	}
	o := &options{pages: []loader.Pages{loader.SmallPages}, threads: []int{1, 2}, tokens: 5, warmup: 1, seed: 1, check: true}
	results, skip, err := runModel(model, builds, map[loader.Pages][]float32{loader.SmallPages: probe}, o, newProgress(io.Discard))
	if err != nil || skip != nil {
		t.Fatalf("runModel: %v (skip %v)", err, skip)
	}
	if len(results) != 4 {
		t.Fatalf("%d results, want 2 backends × 2 thread counts", len(results))
	}
	for _, r := range results {
		if !r.Finite || !r.Distinct || !r.RefChecked || r.RefError > 1e-4 || len(r.Steps) != 5 {
			t.Errorf("%s %d threads: finite %v distinct %v reference %v (%g), %d steps", r.Backend, r.Threads, r.Finite, r.Distinct, r.RefChecked, r.RefError, len(r.Steps))
		}
		if r.TokensPerSec <= 0 || r.BandwidthGBs <= 0 || r.CeilingGBs <= 0 || r.Fraction <= 0 || r.GFLOPS <= 0 {
			t.Errorf("%s %d threads: non-positive measurement %+v", r.Backend, r.Threads, r)
		}
		var below, above int
		for _, s := range r.Steps {
			if s.CeilingGBs <= 0 || s.Fraction <= 0 {
				t.Errorf("%s %d threads, pos %d: ceiling %g GB/s, fraction %g", r.Backend, r.Threads, s.Pos, s.CeilingGBs, s.Fraction)
			}
			if s.Fraction < r.Fraction {
				below++
			} else if s.Fraction > r.Fraction {
				above++
			}
		}
		if below > 2 || above > 2 {
			t.Errorf("%s %d threads: fraction %g is not the median of the 5 tokens' (%d below, %d above)", r.Backend, r.Threads, r.Fraction, below, above)
		}
	}
	// Greedy decoding is deterministic: both backends pick the same tokens.
	for i, s := range results[0].Steps {
		if results[2].Steps[i].Token != s.Token {
			t.Errorf("step %d: mlir fed token %d, llvm %d", i, s.Token, results[2].Steps[i].Token)
		}
	}

	report := &Report{Results: results, Skipped: []Skip{{Model: "7B", Params: 6738415616, EstimateGB: 29.1, AvailableGB: 24}}}
	md := report.Markdown()
	for _, want := range []string{"| LLaMA tiny |", "| mlir | checked | 4k | 2 |", "| llvm | unchecked | 4k | 1 |", "Skipped (exceeds the 24.0 GB available)", "✅ reference"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	data, err := json.Marshal(report)
	if err != nil || !strings.Contains(string(data), `"fraction_of_ceiling"`) {
		t.Errorf("JSON %s (err %v)", data, err)
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags([]string{"-models", "125M,3B", "-threads", "2", "-backend", "mlir,llvm", "-checks", "on,off", "-pages", "4k,huge"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.models) != 2 || o.models[1].Config.Dim != 2048 || len(o.backends) != 2 || o.threads[0] != 2 || len(o.checked) != 2 || !o.checked[0] || o.checked[1] ||
		len(o.pages) != 2 || o.pages[0] != loader.SmallPages || o.pages[1] != loader.HugePages {
		t.Errorf("parsed %+v", o)
	}
	for _, args := range [][]string{{"-models", "13B"}, {"-threads", "0"}, {"-backend", "gcc"}, {"-tokens", "1"}, {"-checks", "maybe"}, {"-pages", "64k"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{0.9, 0.1, 0.5}, 0.5},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(slices.Clone(tc.xs)); got != tc.want {
			t.Errorf("median(%v) = %g, want %g", tc.xs, got, tc.want)
		}
	}
}
