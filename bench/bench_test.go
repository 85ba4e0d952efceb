package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/internal/stats"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
)

// TestRunModel runs the benchmark's measurement on a tiny model at f32, bf16, q8 and q4 with
// both backends (MLIR checked, LLVM unchecked), with an 8-token prompt, and checks what the
// table reports. The four types fit together, so they are timed side by side.
func TestRunModel(t *testing.T) {
	tools := kerneltest.Tools(t)
	weights := []llama.WeightType{llama.F32, llama.BF16, llama.Q8, llama.Q4}
	var builds []*build
	for i, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		b, err := compileBuild(context.Background(), tools, compiler.Options{Backend: backend, Unchecked: i != 0}, llama.CacheF32, weights, true, newProgress(io.Discard))
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
	o := &options{weights: weights, pages: []loader.Pages{loader.SmallPages}, threads: []int{1, 2}, tokens: 5, prompt: 8, warmup: 1, seed: 1, check: true}
	results, skips, err := runModel(model, builds, map[loader.Pages][]float32{loader.SmallPages: probe}, o, loader.AvailableMemory, newProgress(io.Discard))
	if err != nil || skips != nil {
		t.Fatalf("runModel: %v (skipped %v)", err, skips)
	}
	if len(results) != 16 {
		t.Fatalf("%d results, want 2 backends × 2 thread counts × 4 weight types", len(results))
	}
	for i, r := range results {
		if want := weights[i%4].String(); r.Weights != want {
			t.Errorf("result %d: weights %s, want %s", i, r.Weights, want)
		}
		if !slices.Equal(r.SideBySide, []string{"f32", "bf16", "q8", "q4"}) {
			t.Errorf("result %d: side by side with %v", i, r.SideBySide)
		}
		// × f32: the median of the f32 token's time ÷ this one's, position by position
		f := results[i/4*4]
		ratios := make([]float64, len(r.Steps))
		for k := range r.Steps {
			ratios[k] = f.Steps[k].Ms / r.Steps[k].Ms
		}
		if want := stats.Median(ratios); math.Abs(r.VsF32-want) > 1e-9*want || (r.Weights == "f32" && r.VsF32 != 1) {
			t.Errorf("result %d (%s): × f32 %g, want %g", i, r.Weights, r.VsF32, want)
		}
		// back to back: the 5 tokens twice, the first backToBackSkip of each block untimed
		if len(r.BackToBackMs) != 2*(5-backToBackSkip) || math.Abs(r.BackToBackTokensPerSec-1000/stats.Median(r.BackToBackMs)) > 1e-9*r.BackToBackTokensPerSec {
			t.Errorf("result %d (%s): back to back %g tok/s from %v", i, r.Weights, r.BackToBackTokensPerSec, r.BackToBackMs)
		}
		if want := stats.Median(f.BackToBackMs) / stats.Median(r.BackToBackMs); math.Abs(r.BackToBackVsF32-want) > 1e-9*want || (r.Weights == "f32" && r.BackToBackVsF32 != 1) {
			t.Errorf("result %d (%s): back-to-back × f32 %g, want %g", i, r.Weights, r.BackToBackVsF32, want)
		}
		if !r.Finite || !r.Distinct || !r.RefChecked || r.RefError > 1e-4 || len(r.Steps) != 5 {
			t.Errorf("%s %s %d threads: finite %v distinct %v reference %v (%g), %d steps", r.Weights, r.Backend, r.Threads, r.Finite, r.Distinct, r.RefChecked, r.RefError, len(r.Steps))
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
	// Prompt processing, at every weight type: 8 tokens, 3 timed calls; the prefill of the 5
	// decoded tokens leaves the decode step's logits (on this model within 1e-4 at q8 and q4
	// too: no int8 activation rounds differently).
	for _, r := range results {
		if r.PromptTokens != 8 || !(r.PromptTokensPerSec > 0) || len(r.PromptRunsMs) != promptRuns || r.PromptNote != "" ||
			math.Abs(r.PromptRatio-r.PromptTokensPerSec/r.TokensPerSec) > 1e-9*r.PromptRatio ||
			math.Abs(r.PromptTokensPerSec-8000/r.PromptMs) > 1e-9*r.PromptTokensPerSec {
			t.Errorf("%s %s %d threads: prompt %d tokens, %g tok/s (%g ms, runs %v), pp ÷ tg %g, note %q",
				r.Weights, r.Backend, r.Threads, r.PromptTokens, r.PromptTokensPerSec, r.PromptMs, r.PromptRunsMs, r.PromptRatio, r.PromptNote)
		}
		if !r.PromptChecked || r.PromptError > 1e-4 {
			t.Errorf("%s %s %d threads: prefill against the decode: checked %v, error %g", r.Weights, r.Backend, r.Threads, r.PromptChecked, r.PromptError)
		}
		// The KV cache holds the prompt's 8 positions.
		wt, _ := llama.ParseWeightType(r.Weights)
		if want := mb(runConfig(model.Config, wt, o).KVCacheBytes()); r.KVCacheMB != want || want != mb(2*4*2*8*32) {
			t.Errorf("%s KV cache %g MB, want %g", r.Weights, r.KVCacheMB, want)
		}
	}
	// Greedy decoding is deterministic: both backends pick the same tokens.
	for w := range 4 {
		for i, s := range results[w].Steps {
			if results[w+8].Steps[i].Token != s.Token {
				t.Errorf("%s step %d: mlir fed token %d, llvm %d", results[w].Weights, i, s.Token, results[w+8].Steps[i].Token)
			}
		}
	}
	// Bytes per token (bandwidth ÷ throughput) and memory shrink from f32 to bf16 (about a
	// half), q8 (about a quarter) and q4 (about an eighth), each the quantized layout's.
	f32, bf16, q8, q4 := results[0], results[1], results[2], results[3]
	if f32.GroupSize != 0 || bf16.GroupSize != 0 || q8.GroupSize != llama.DefaultGroupSize || q4.GroupSize != llama.DefaultGroupSize {
		t.Errorf("group sizes: f32 %d, bf16 %d, q8 %d, q4 %d", f32.GroupSize, bf16.GroupSize, q8.GroupSize, q4.GroupSize)
	}
	perToken := func(r Result) float64 { return r.BandwidthGBs / r.TokensPerSec }
	for _, r := range []Result{f32, bf16, q8, q4} {
		wt, _ := llama.ParseWeightType(r.Weights)
		cfg := runConfig(model.Config, wt, o)
		var want int64
		for pos := range o.tokens {
			want += cfg.BytesPerTokenOf(wt, r.GroupSize, pos)
		}
		if got := perToken(r) * float64(o.tokens) * 1e9; math.Abs(got-float64(want)) > 1e-6*float64(want) {
			t.Errorf("%s: %g bytes over the run, want %d", r.Weights, got, want)
		}
	}
	if !(perToken(q4) < perToken(q8) && perToken(q8) < perToken(bf16) && perToken(bf16) < perToken(f32)/1.5) {
		t.Errorf("bytes per token: f32 %g, bf16 %g, q8 %g, q4 %g GB", perToken(f32), perToken(bf16), perToken(q8), perToken(q4))
	}
	if !(q4.MemoryMB < q8.MemoryMB && q8.MemoryMB < bf16.MemoryMB && bf16.MemoryMB < f32.MemoryMB) {
		t.Errorf("memory: f32 %g, bf16 %g, q8 %g, q4 %g MB", f32.MemoryMB, bf16.MemoryMB, q8.MemoryMB, q4.MemoryMB)
	}

	report := &Report{Prompt: 8, Results: results, Skipped: []Skip{
		{Model: "7B", Params: 6738415616, Weights: "f32", EstimateGB: 27.0, AvailableGB: 24},
		{Model: "8B", Params: 8030261248, Weights: "f32", EstimateGB: 32.2, AvailableGB: 100, Reason: "the f32 kernel rotates with RoPE base 10000, the model's is 500000"}}}
	if md := (&Report{KVCache: "f16"}).Markdown(); !strings.Contains(md, "on a cleared KV cache of IEEE halves (-kv f16);") {
		t.Errorf("markdown of an f16 cache's run:\n%s", md)
	}
	md := report.Markdown()
	for _, want := range []string{"on a cleared KV cache of float32;", "| LLaMA tiny | 0M | f32 | mlir | checked | 4k | 2 |", "| LLaMA tiny | 0M | q8/32 | llvm | unchecked | 4k | 1 |",
		"| LLaMA tiny | 0M | bf16 | mlir | checked | 4k | 1 |", "| LLaMA tiny | 0M | q4/32 | llvm | unchecked | 4k | 2 |", "LLaMA tiny, q4/32:",
		"| f32 | 27.0 GB | Skipped (exceeds the 24.0 GB available)", "Skipped (the f32 kernel rotates with RoPE base 10000", "✅ reference", "LLaMA tiny, q8/32:",
		"✅ prefill (", "prompt of 8 tokens (positions 0-7): ", "| Prompt | pp ÷ tg |", "then prompt processing: 8 tokens",
		// × f32: against the f32 row timed side by side with it
		fmt.Sprintf("| %.3f tok/s | 1.00 | %.3f tok/s | 1.00 |", f32.TokensPerSec, f32.BackToBackTokensPerSec),
		fmt.Sprintf("| %.3f tok/s | %.2f | %.3f tok/s | %.2f |", q8.TokensPerSec, q8.VsF32, q8.BackToBackTokensPerSec, q8.BackToBackVsF32),
		fmt.Sprintf("| %.3f tok/s | %.2f |", results[15].TokensPerSec, results[15].VsF32), "| Back to back | b2b × f32 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	data, err := json.Marshal(report)
	if err != nil || !strings.Contains(string(data), `"fraction_of_ceiling"`) || !strings.Contains(string(data), `"back_to_back_tokens_per_s"`) || !strings.Contains(string(data), `"weights":"q8","group_size":32`) ||
		!strings.Contains(string(data), `"weights":"q4","group_size":32`) || !strings.Contains(string(data), `"weights":"bf16","backend"`) {
		t.Errorf("JSON %s (err %v)", data, err)
	}
	// Each row's prompt cells and JSON: a figure; "—" and a note for a row without one.
	for _, r := range append(slices.Clone(results), Result{Weights: "q8", PromptNote: "no prefill kernel for q8 weights yet"}) {
		md := (&Report{Results: []Result{r}}).Markdown()
		if cell := fmt.Sprintf("| %.3f tok/s | — | — | — |", r.TokensPerSec); r.VsF32 == 0 && r.BackToBackTokensPerSec == 0 && !strings.Contains(md, cell) {
			t.Errorf("%s row without an f32 row beside it lacks %q:\n%s", r.Weights, cell, md)
		}
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		js := string(data)
		if r.PromptTokensPerSec > 0 {
			cells := fmt.Sprintf("| %s tok/s | %.1f× |", thousands(r.PromptTokensPerSec), r.PromptRatio)
			if !strings.Contains(md, cells) || !strings.Contains(js, `"prompt_tokens_per_s":`) || !strings.Contains(js, `"pp_over_tg":`) || strings.Contains(js, `"prompt_note"`) {
				t.Errorf("%s row lacks %q or its JSON fields:\n%s\n%s", r.Weights, cells, md, js)
			}
		} else if !strings.Contains(md, "ms | — | — |") || strings.Contains(js, `"prompt_tokens_per_s"`) || !strings.Contains(js, `"prompt_note":"no prefill kernel for `) {
			t.Errorf("%s row: want — cells and a prompt_note in its JSON:\n%s\n%s", r.Weights, md, js)
		}
	}
	// The chart groups bars by model and weight type, a series per configuration.
	c := report.chart()
	if !slices.Equal(c.Groups, []string{"f32", "bf16", "q8", "q4"}) || !slices.Equal(c.Sections, []string{"tiny", "tiny", "tiny", "tiny"}) || len(c.Series) != 5 || c.Series[0].Values[2] != q8.TokensPerSec || c.Series[0].Values[3] != q4.TokensPerSec {
		t.Errorf("chart groups %v, series %v", c.Groups, c.Series)
	}
	// The prompt chart: the same groups, the f32 row's prompt throughput.
	pc, ok := report.promptChart()
	if !ok || !slices.Equal(pc.Groups, c.Groups) || len(pc.Series) != len(c.Series)-1 || pc.Series[0].Values[0] != report.Results[0].PromptTokensPerSec {
		t.Errorf("prompt chart (%v): groups %v, series %v", ok, pc.Groups, pc.Series)
	}
	report.Prompt = 0
	if _, ok := report.promptChart(); ok {
		t.Error("a run without prompts has a prompt chart")
	}
}

// TestSkip checks which weight types a model runs at: the memory of each type, with a KV
// cache of the positions the run reaches, against the memory available, the RoPE base of
// the f32 kernel, and a run longer than the model's seq_len.
func TestSkip(t *testing.T) {
	o := &options{weights: []llama.WeightType{llama.F32, llama.Q8}, tokens: 10, warmup: 3, check: true}
	preset := func(name string) llama.Named {
		cfg, err := llama.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		return llama.Named{Name: name, Config: cfg}
	}
	const gib = 1 << 30
	m7, m8 := preset("7B"), preset("8B")
	if s := skipOf(m7, llama.F32, o, 24*gib); s == nil || s.Reason != "" || s.Weights != "f32" || s.EstimateGB < 26 || s.EstimateGB > 28 {
		t.Errorf("7B f32 on 24 GiB: %+v, want skipped for memory at about 27 GB", s)
	}
	if s := skipOf(m7, llama.Q8, o, 24*gib); s != nil {
		t.Errorf("7B q8 on 24 GiB skipped: %+v", s)
	}
	if s := skipOf(m8, llama.Q8, o, 24*gib); s != nil {
		t.Errorf("8B q8 on 24 GiB skipped: %+v", s)
	}
	// 30B fits in 24 GiB at q4 (about 18 GB) and not at q8; 7B and 8B fit at bf16.
	m30 := preset("30B")
	if s := skipOf(m30, llama.Q4, o, 24*gib); s != nil {
		t.Errorf("30B q4 on 24 GiB skipped: %+v", s)
	}
	if s := skipOf(m30, llama.Q8, o, 24*gib); s == nil || s.Reason != "" || s.EstimateGB < 30 {
		t.Errorf("30B q8 on 24 GiB: %+v, want skipped for memory", s)
	}
	for _, m := range []llama.Named{m7, m8} {
		if s := skipOf(m, llama.BF16, o, 24*gib); s != nil {
			t.Errorf("%s bf16 on 24 GiB skipped: %+v", m.Name, s)
		}
	}
	if s := skipOf(m8, llama.F32, o, 24*gib); s == nil || s.Reason != "" {
		t.Errorf("8B f32 on 24 GiB: %+v, want skipped for memory", s)
	}
	long := *o
	long.tokens = 3000
	if s := skipOf(m7, llama.Q4, &long, 100*gib); s == nil || s.Reason != "-tokens 3000 goes past the model's seq_len 2048" {
		t.Errorf("7B q4 with -tokens 3000: %+v, want skipped for its seq_len", s)
	}
	if s := skipOf(m8, llama.F32, o, 100*gib); s == nil || !strings.Contains(s.Reason, "RoPE base 10000") {
		t.Errorf("8B f32 on 100 GiB: %+v, want skipped for its RoPE base", s)
	}
	// The KV cache holds the 10 positions the run reaches, not seq_len's 2048 (1 GiB at 7B).
	if kv := runConfig(m7.Config, llama.F32, o).KVCacheBytes(); kv != 2*4*32*10*4096 {
		t.Errorf("7B KV cache %d bytes", kv)
	}
	// With a prompt of 128 tokens, f32 and q8 (every type has a prefill kernel) hold its 128
	// positions; a prompt longer than seq_len is cut to it.
	op := *o
	op.prompt = 128
	if kv := runConfig(m7.Config, llama.F32, &op).KVCacheBytes(); kv != 2*4*32*128*4096 {
		t.Errorf("7B f32 KV cache with a 128-token prompt: %d bytes", kv)
	}
	if kv := runConfig(m7.Config, llama.Q8, &op).KVCacheBytes(); kv != 2*4*32*128*4096 {
		t.Errorf("7B q8 KV cache with a 128-token prompt: %d bytes", kv)
	}
	if n := promptLen(llama.Config{SeqLen: 16}, llama.F32, &op); n != 16 {
		t.Errorf("128-token prompt with seq_len 16: %d tokens", n)
	}

	// runModel asks for the memory available before each weight type: a tiny model that fits
	// at q8 but not at f32 runs at q8 only (here with no builds: weights and reference only).
	tiny := llama.Named{Name: "tiny", Config: llama.Config{Dim: 64, HiddenDim: 128, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 300, SeqLen: 16}}
	cfg := runConfig(tiny.Config, llama.Q8, o)
	state := cfg.KVCacheBytes() + cfg.ActivationBytes()
	avail := uint64(float64(cfg.TotalBytesOf(llama.Q8, 0)+state)/0.9) + 1
	if float64(cfg.TotalBytesOf(llama.F32, 0)+state) <= 0.9*float64(avail) {
		t.Fatalf("tiny fits at f32 in %d bytes", avail)
	}
	o.pages = []loader.Pages{loader.SmallPages}
	calls := 0
	results, skips, err := runModel(tiny, nil, nil, o, func() (uint64, error) { calls++; return avail, nil }, newProgress(io.Discard))
	if err != nil || len(results) != 0 || len(skips) != 1 || skips[0].Weights != "f32" || calls != 2 {
		t.Errorf("runModel with %d bytes: %d results, skipped %+v, %d calls, err %v", avail, len(results), skips, calls, err)
	}
}

// TestSideBySide checks how the weight types of a model are grouped to be timed side by side:
// in order, as many together as fit in the memory available.
func TestSideBySide(t *testing.T) {
	m, err := llama.Preset("3B")
	if err != nil {
		t.Fatal(err)
	}
	o := &options{tokens: 10, prompt: 128, warmup: 3}
	types := []llama.WeightType{llama.F32, llama.BF16, llama.Q8, llama.Q4}
	named := llama.Named{Name: "3B", Config: m}
	need := func(ts ...llama.WeightType) (n int64) {
		for _, t := range ts {
			n += needOf(named, t, o)
		}
		return n
	}
	enough := func(n int64) uint64 { return uint64(float64(n)/0.9) + 1 }
	// The cases below rely on 3B's sizes: f32 about twice bf16, q8 and q4 together less than bf16.
	if need(llama.F32) < need(llama.BF16)*3/2 || need(llama.Q8, llama.Q4) >= need(llama.BF16) {
		t.Fatalf("3B needs: f32 %d, bf16 %d, q8 + q4 %d bytes", need(llama.F32), need(llama.BF16), need(llama.Q8, llama.Q4))
	}
	for _, c := range []struct {
		avail uint64
		want  [][]llama.WeightType
	}{
		{enough(need(types...)), [][]llama.WeightType{types}},
		{enough(need(llama.F32, llama.BF16)), [][]llama.WeightType{{llama.F32, llama.BF16}, {llama.Q8, llama.Q4}}},
		{enough(need(llama.F32)), [][]llama.WeightType{{llama.F32}, {llama.BF16, llama.Q8, llama.Q4}}},
		{enough(need(llama.BF16)), [][]llama.WeightType{{llama.F32}, {llama.BF16}, {llama.Q8, llama.Q4}}},
	} {
		got := sideBySide(named, types, o, c.avail)
		if !slices.EqualFunc(got, c.want, slices.Equal) {
			t.Errorf("%.1f GB available: groups %v, want %v", gb(int64(c.avail)), got, c.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil, io.Discard)
	if err != nil || !slices.Equal(o.weights, []llama.WeightType{llama.F32, llama.BF16, llama.Q8, llama.Q4}) {
		t.Errorf("default weights %v (err %v), want f32, bf16, q8, q4", o.weights, err)
	}
	if o.prompt != 128 || o.kv != llama.CacheF32 {
		t.Errorf("default -prompt %d, -kv %v; want 128, f32", o.prompt, o.kv)
	}
	if o, err := parseFlags([]string{"-kv", "f16"}, io.Discard); err != nil || o.kv != llama.CacheF16 {
		t.Errorf("-kv f16: %v (err %v)", o, err)
	}
	if o, err := parseFlags([]string{"-prompt", "0"}, io.Discard); err != nil || o.prompt != 0 {
		t.Errorf("-prompt 0: %v (err %v)", o, err)
	}
	if o, err := parseFlags([]string{"-weights", "q4,bf16,q4"}, io.Discard); err != nil || !slices.Equal(o.weights, []llama.WeightType{llama.Q4, llama.BF16}) {
		t.Errorf("-weights q4,bf16,q4: %v (err %v)", o.weights, err)
	}
	o, err = parseFlags([]string{"-models", "125M,3B", "-weights", "q8", "-threads", "2", "-backend", "mlir,llvm", "-checks", "on,off", "-pages", "4k,huge", "-g"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.models) != 2 || o.models[1].Config.Dim != 2048 || !slices.Equal(o.weights, []llama.WeightType{llama.Q8}) || len(o.backends) != 2 || o.threads[0] != 2 || len(o.checked) != 2 || !o.checked[0] || o.checked[1] ||
		len(o.pages) != 2 || o.pages[0] != loader.SmallPages || o.pages[1] != loader.HugePages || !o.debug {
		t.Errorf("parsed %+v", o)
	}
	for _, args := range [][]string{{"-models", "13B"}, {"-threads", "0"}, {"-backend", "gcc"}, {"-tokens", "1"}, {"-checks", "maybe"}, {"-pages", "64k"}, {"-weights", "q5"}, {"-weights", "f32,q5"}, {"-weights", ""}, {"-prompt", "-1"}, {"-kv", "bf16"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

// TestCheckOut: -out is created, or refused with a message naming it, before any model runs.
func TestCheckOut(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{file, filepath.Join(file, "sub"), "/proc/x", "/proc"} {
		if err := checkOut(bad); err == nil || !strings.Contains(err.Error(), "-out "+bad+":") {
			t.Errorf("checkOut(%s) = %v, want an error naming -out", bad, err)
		}
	}
	// run refuses before it compiles anything: the options name no model.
	if err := run(context.Background(), &options{out: file}, io.Discard, newProgress(io.Discard)); err == nil || !strings.Contains(err.Error(), "-out "+file) {
		t.Errorf("run with -out a regular file: %v, want the -out error", err)
	}
	good := filepath.Join(dir, "a", "b")
	if err := checkOut(good); err != nil {
		t.Fatalf("checkOut(%s): %v", good, err)
	}
	if left, err := os.ReadDir(good); err != nil || len(left) != 0 {
		t.Errorf("checkOut(%s) left %v (%v), want an empty directory", good, left, err)
	}
}

// TestPublishFirst: the table reaches stdout even when the -out files cannot be written.
func TestPublishFirst(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	err := publish(&Report{Tokens: 2}, &options{out: file}, &stdout, newProgress(io.Discard))
	if err == nil || !strings.Contains(err.Error(), "-out "+file) {
		t.Errorf("publish to -out a regular file: %v, want an error naming -out", err)
	}
	if !strings.Contains(stdout.String(), "## Results") {
		t.Errorf("publish printed no table before failing:\n%s", stdout.String())
	}
}

// TestReferenceTolerance checks the bounds of the reference and prefill checks: 1e-4 for f32
// and bf16; 5e-2 for q8 and q4, whose int8 activations may round the other way.
func TestReferenceTolerance(t *testing.T) {
	for _, c := range []struct {
		weights string
		err     float64
		pass    bool
	}{{"f32", 5e-5, true}, {"f32", 2e-4, false}, {"bf16", 2e-4, false}, {"q8/32", 1.4e-2, true}, {"q4/32", 0.1, false}} {
		got := checks(Result{Weights: c.weights, Finite: true, Distinct: true, RefChecked: true, RefError: c.err, PromptChecked: true, PromptError: c.err})
		if strings.Contains(got, "✅ reference") != c.pass || strings.Contains(got, "✅ prefill") != c.pass {
			t.Errorf("%s with error %g: %q, want pass %v", c.weights, c.err, got, c.pass)
		}
	}
}

// TestPromptWhole runs a prompt as long as the tiny model's seq_len (-prompt 128 cut to 16)
// and a decode run of as many tokens: the prefill's logits after the whole prompt, the timed
// one's tokens, equal the decode step's at its last position within 1e-4, for f32 and q8; with
// -prompt 0 no prefill is compiled and neither has a prompt figure. With -kv f16 the kernels
// keep an f16 cache: the decode's position 0 still matches the reference (on the same cache
// type), and the cache and its reads take half the bytes.
func TestPromptWhole(t *testing.T) {
	tools := kerneltest.Tools(t)
	weights := []llama.WeightType{llama.F32, llama.Q8}
	model := llama.Named{Name: "tiny", Config: llama.Config{Dim: 64, HiddenDim: 128, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 300, SeqLen: 16}}
	probe := make([]float32, 1<<20)
	for i := range probe {
		probe[i] = 1
	}
	probes := map[loader.Pages][]float32{loader.SmallPages: probe}
	for _, tc := range []struct {
		prompt int
		kv     llama.CacheType
	}{{128, llama.CacheF32}, {0, llama.CacheF32}, {128, llama.CacheF16}} {
		prompt := tc.prompt
		b, err := compileBuild(context.Background(), tools, compiler.Options{Backend: compiler.MLIR}, tc.kv, weights, prompt > 0, newProgress(io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		defer b.close()
		if want := map[bool]int{true: 2, false: 0}[prompt > 0]; len(b.prefills) != want {
			t.Errorf("-prompt %d: %d prefills compiled, want %d", prompt, len(b.prefills), want)
		}
		o := &options{weights: weights, pages: []loader.Pages{loader.SmallPages}, threads: []int{2}, tokens: 16, prompt: prompt, kv: tc.kv, warmup: 1, seed: 3, check: true}
		results, skips, err := runModel(model, []*build{b}, probes, o, loader.AvailableMemory, newProgress(io.Discard))
		if err != nil || skips != nil || len(results) != 2 {
			t.Fatalf("-prompt %d -kv %v: runModel: %d results, err %v (skipped %v)", prompt, tc.kv, len(results), err, skips)
		}
		for _, r := range results {
			// 2 caches × 2 layers × 16 positions × kv_dim 32, 4 or 2 bytes each
			cache := map[llama.CacheType]int64{llama.CacheF32: 4, llama.CacheF16: 2}[tc.kv] * 2 * 2 * 16 * 32
			if !r.RefChecked || r.RefError > 1e-4 || r.KVCacheMB != mb(cache) {
				t.Errorf("-kv %v %s: reference checked %v (error %g), KV cache %g MB, want %g", tc.kv, r.Weights, r.RefChecked, r.RefError, r.KVCacheMB, mb(cache))
			}
			wt, _ := llama.ParseWeightType(r.Weights)
			f32Reads := runConfig(model.Config, wt, &options{tokens: 16, prompt: prompt, warmup: 1}).BytesPerTokenOf(wt, r.GroupSize, 15)
			if reads := runConfig(model.Config, wt, o).BytesPerTokenOf(wt, r.GroupSize, 15); f32Reads-reads != map[llama.CacheType]int64{llama.CacheF32: 0, llama.CacheF16: cache}[tc.kv] {
				t.Errorf("-kv %v %s: %d bytes read at position 15, %d with an f32 cache", tc.kv, r.Weights, reads, f32Reads)
			}
			if prompt > 0 {
				if r.PromptTokens != 16 || !(r.PromptTokensPerSec > 0) || !r.PromptChecked || r.PromptError > 1e-4 || !r.Finite {
					t.Errorf("%s prompt: %d tokens, %g tok/s, checked %v, error %g, finite %v", r.Weights, r.PromptTokens, r.PromptTokensPerSec, r.PromptChecked, r.PromptError, r.Finite)
				}
				if !strings.Contains(checks(r), "✅ prefill") {
					t.Errorf("%s checks %q", r.Weights, checks(r))
				}
			} else if r.PromptTokens != 0 || r.PromptTokensPerSec != 0 || r.PromptChecked || r.PromptNote != "not measured (-prompt 0)" || strings.Contains(checks(r), "prefill") {
				t.Errorf("%s with -prompt 0: %+v", r.Weights, r)
			}
		}
	}
}

// TestReadBandwidth checks the probe's two shapes on both backends: a buffer of ones gives a
// speed, and a buffer whose sum is off makes the probe report itself broken rather than a
// speed.
func TestReadBandwidth(t *testing.T) {
	tools := kerneltest.Tools(t)
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		b, err := compileBuild(context.Background(), tools, compiler.Options{Backend: backend}, llama.CacheF32, nil, false, newProgress(io.Discard))
		if err != nil {
			t.Fatal(err)
		}
		defer b.close()
		buf := make([]float32, 1<<20)
		for i := range buf {
			buf[i] = 1
		}
		if gbs, err := readBandwidth(b, buf); err != nil || !(gbs > 0) {
			t.Errorf("%v: readBandwidth on ones = %v, %v; want a speed", backend, gbs, err)
		}
		buf[len(buf)-1] = 0
		if _, err := readBandwidth(b, buf); err == nil || !strings.Contains(err.Error(), "probe kernel is broken") {
			t.Errorf("%v: readBandwidth with one zero: error %v, want the probe reported broken", backend, err)
		}
	}
}
