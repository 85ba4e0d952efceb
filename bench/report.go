package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/toolchain"
)

// Report is everything one benchmark run measured.
type Report struct {
	Date    string   `json:"date"`
	Machine string   `json:"machine"`
	Seed    uint64   `json:"seed"`
	Tokens  int      `json:"tokens"`
	Prompt  int      `json:"prompt"` // tokens of the timed prompt processing (-prompt; 0: off)
	Warmup  int      `json:"warmup"`
	KVCache string   `json:"kv_cache"` // the key and value caches' type: f32 or f16 (-kv)
	Results []Result `json:"results"`
	Skipped []Skip   `json:"skipped"`
}

// baseline is the table of the report we reproduce (seed-llama-results.md, 2025-10-24):
// tokens/s, ms/token, GFLOPS and GB/s per model.
var baseline = map[string]struct{ tokPerSec, msPerToken, gflops, gbs float64 }{
	"125M": {12.523, 79.855, 3.131, 8.364},
	"500M": {3.891, 256.973, 3.891, 7.679},
	"1B":   {1.752, 570.860, 3.503, 7.301},
	"3B":   {0.758, 1319.583, 4.547, 7.314},
}

// cacheOf describes a KV cache type (Report.KVCache) for the method line.
func cacheOf(kv string) string {
	if kv == llama.CacheF16.String() {
		return "IEEE halves (-kv f16)"
	}
	return "float32"
}

// Markdown renders the report as the baseline report's tables, with the measured ceiling,
// the validation checks and the speed-up over the baseline added.
func (r *Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# LLaMA 2 decode benchmark: SimpLang kernels/llama2.sl (f32), llama2_bf16.sl (bf16), llama2_q8.sl (q8) and llama2_q4.sl (q4)\n\n")
	prompt := "no prompt processing (-prompt 0)"
	if r.Prompt > 0 {
		prompt = fmt.Sprintf("then prompt processing: %d tokens from position 0 on a cleared KV cache in one call of the weights' prefill kernel (kernels/llama2_prefill.sl, llama2_prefill_bf16.sl, llama2_prefill_q8.sl, llama2_prefill_q4.sl), %d warm-up call and the median of %d timed ones", r.Prompt, promptWarmup, promptRuns)
	}
	fmt.Fprintf(&b, "**Date**: %s  \n**Machine**: %s  \n**Method**: random weights uniform in ±0.01 (seed %d), %d warm-up calls, then a %d-token autoregressive run (next token = argmax) on a cleared KV cache of %s; %s; weights in float32 (f32), bfloat16 (bf16), int8 groups with one float32 scale each (q8) or 4-bit groups, two values a byte, with one IEEE half scale each (q4).\n\n",
		r.Date, r.Machine, r.Seed, r.Warmup, r.Tokens, cacheOf(r.KVCache), prompt)

	b.WriteString("## Results\n\n")
	b.WriteString("| Model | Parameters | Weights | Backend | Access | Pages | Threads | Throughput | × f32 | Back to back | b2b × f32 | Time/Token | Prompt | pp ÷ tg | GFLOPS | Memory | KV Cache | Peak RSS | Bandwidth | Ceiling | of ceiling | vs. report | Checks |\n")
	b.WriteString("|-------|-----------:|---------|---------|--------|-------|--------:|-----------:|------:|-------------:|----------:|-----------:|-------:|--------:|-------:|-------:|---------:|---------:|----------:|--------:|-----------:|-----------:|--------|\n")
	for _, x := range r.Results {
		speedup := "–"
		if base, ok := baseline[x.Model]; ok {
			speedup = fmt.Sprintf("%.1f×", x.TokensPerSec/base.tokPerSec)
		}
		pp, ratio := "—", "—"
		if x.PromptTokensPerSec > 0 {
			pp, ratio = fmt.Sprintf("%s tok/s", thousands(x.PromptTokensPerSec)), fmt.Sprintf("%.1f×", x.PromptRatio)
		}
		vsF32, b2b, b2bVsF32 := "—", "—", "—"
		if x.VsF32 > 0 {
			vsF32 = fmt.Sprintf("%.2f", x.VsF32)
		}
		if x.BackToBackTokensPerSec > 0 {
			b2b = fmt.Sprintf("%.3f tok/s", x.BackToBackTokensPerSec)
		}
		if x.BackToBackVsF32 > 0 {
			b2bVsF32 = fmt.Sprintf("%.2f", x.BackToBackVsF32)
		}
		fmt.Fprintf(&b, "| LLaMA %s | %s | %s | %s | %s | %s | %d | %.3f tok/s | %s | %s | %s | %.3f ms | %s | %s | %.3f | %s MB | %s MB | %s MB | %.2f GB/s | %.2f GB/s | %.0f%% | %s | %s |\n",
			x.Model, humanCount(x.Params), weightsOf(x.Weights, x.GroupSize), x.Backend, access(x.Checked), x.Pages, x.Threads, x.TokensPerSec, vsF32, b2b, b2bVsF32, x.MsPerToken, pp, ratio, x.GFLOPS,
			thousands(x.MemoryMB), thousands(x.KVCacheMB), thousands(x.PeakRSSMB), x.BandwidthGBs, x.CeilingGBs, 100*x.Fraction, speedup, checks(x))
	}

	b.WriteString(r.timeTable())
	b.WriteString("\n### The report's table (baseline)\n\n")
	b.WriteString("| Model | Throughput | Time/Token | GFLOPS | Bandwidth |\n|-------|-----------:|-----------:|-------:|----------:|\n")
	for _, name := range []string{"125M", "500M", "1B", "3B"} {
		base := baseline[name]
		fmt.Fprintf(&b, "| LLaMA %s | %.3f tok/s | %.3f ms | %.3f | %.3f GB/s |\n", name, base.tokPerSec, base.msPerToken, base.gflops, base.gbs)
	}

	if len(r.Skipped) > 0 {
		b.WriteString("\n### Skipped\n\n| Model | Parameters | Weights | Estimated Memory | Status |\n|-------|-----------:|---------|-----------------:|--------|\n")
		for _, s := range r.Skipped {
			status := fmt.Sprintf("exceeds the %.1f GB available", s.AvailableGB)
			if s.Reason != "" {
				status = s.Reason
			}
			fmt.Fprintf(&b, "| LLaMA %s | %s | %s | %.1f GB | Skipped (%s) |\n", s.Model, humanCount(s.Params), s.Weights, s.EstimateGB, status)
		}
	}

	if len(r.Results) > 0 {
		b.WriteString("\n## Autoregressive generation (first configuration of each model and weight type)\n\n")
		seen := map[string]bool{}
		for _, x := range r.Results {
			key := x.Model + " " + x.Weights
			if seen[key] {
				continue
			}
			seen[key] = true
			fmt.Fprintf(&b, "LLaMA %s, %s:\n```\n", x.Model, weightsOf(x.Weights, x.GroupSize))
			for _, s := range x.Steps {
				fmt.Fprintf(&b, "pos %d (token %d): %.9g  [%.2f ms, %.0f%% of %.1f GB/s]\n", s.Pos, s.Token, s.Logit0, s.Ms, 100*s.Fraction, s.CeilingGBs)
			}
			if x.PromptTokens > 0 {
				runs := make([]string, len(x.PromptRunsMs))
				for i, v := range x.PromptRunsMs {
					runs[i] = fmt.Sprintf("%.1f", v)
				}
				fmt.Fprintf(&b, "prompt of %d tokens (positions 0-%d): %.1f ms, the median of %s ms\n", x.PromptTokens, x.PromptTokens-1, x.PromptMs, strings.Join(runs, ", "))
			}
			b.WriteString("```\n")
		}
	}

	b.WriteString("\n## Model configurations\n\n| Model | dim | hidden_dim | n_layers | n_heads | n_kv_heads | vocab_size | seq_len |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range llama.Presets() {
		c := p.Config
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d |\n", p.Name, c.Dim, c.HiddenDim, c.NLayers, c.NHeads, c.NKVHeads, c.VocabSize, c.SeqLen)
	}
	b.WriteString(`
## How the numbers are computed

- **Throughput** = tokens ÷ the summed wall time of the timed kernel calls; **Time/Token** is its inverse.
  The weight types of a model that fit in memory together are timed **side by side**: position by
  position, a token of each type in turn, so that the machine's swings of bandwidth fall on all of them
  alike. **× f32** compares a row with the f32 row timed side by side with it (same build, pages and
  threads; "—" when there is none): the median over the positions of the f32 token's time ÷ this row's
  token's time at the same position, the two timed moments apart. Their weights are resident together, so **Peak RSS** is the
  group's (results.json: side_by_side).
- **Back to back** = the same tokens decoded again in a row, without the bandwidth probe between them, as
  generate runs them: 1000 ÷ the median token's milliseconds, each type in a block of its own (a token of
  another type in between would evict its weights, as the probe does), twice, the second time in the
  reverse order, the first 2 tokens of each block untimed; **b2b × f32** = the f32 row's median ÷ this
  row's (results.json: back_to_back_ms). Throughput and the columns after it time every token right after
  the probe, which streams far more than the last-level cache holds, so each token reads its weights from
  memory, as the Ceiling does. Back to back, a model that is small against that cache keeps part of its
  weights there from one token to the next and can run faster than the Ceiling allows (the Machine line
  gives the last-level cache's size); from a few GB of weights up the two agree.
- **Prompt** = prompt processing (llama.cpp's pp, against its tg for the decode): T tokens (-prompt, 128 by
  default) fed from position 0 on a cleared KV cache in one call of the weights' prefill kernel
  (kernels/llama2_prefill.sl for f32: the projections as matrix–matrix products; llama2_prefill_bf16.sl,
  llama2_prefill_q8.sl, llama2_prefill_q4.sl: each weight row against the T tokens' inputs, with the decode
  step's arithmetic per token; all with causal attention inside the batch, the KV cache filled, the
  classifier for the last token only), on the same weights, pages and thread count as the row's decode; T ÷ the
  median of 3 timed calls after a warm-up. **pp ÷ tg** is that ÷ the row's Throughput. The KV cache then holds
  the T positions as well. A row without a prompt figure shows "—" (results.json: no prompt_tokens_per_s, and a
  prompt_note).
- **GFLOPS** = Σ FLOPs over the timed positions ÷ time, where a position's FLOPs are 2 per multiply-add of every
  mat-vec (wq, wk, wv, wo, w1, w2, w3 for each layer, and the classifier) plus 4·n_layers·dim·(pos+1) for attention
  (norms, RoPE, softmax and SiLU are left out).
- **Bandwidth** = Σ bytes read from memory over the timed positions ÷ time, a position reading every weight once,
  one embedding row, the norm weights, and the cached keys and values of positions 0..pos, in the weights' layout:
  bf16 counts two bytes per matrix and embedding element, q8 one byte plus a 4-byte scale per group, q4 half a
  byte plus a 2-byte scale per group; norms and the KV cache are float32 in every type.
- **Ceiling** = this machine's read bandwidth with the same thread count, measured in the same run by
  kernels/bandwidth.sl: the better of two passes over 256 MiB, one of each of its shapes (a plain sum, and the f32 rows'
  dot-product loop), right before every token and after the last, each
  token held against the mean of the measurements on either side of it (the machine's bandwidth drifts, so a ceiling measured
  once would compare different moments). The column shows the time-weighted mean. **of ceiling** is the median over
  the timed tokens of a token's bytes ÷ the bytes its ceiling would have moved in its time: the bandwidth can swing
  within a second, so now and then a token and the probes around it see different states, which puts that token far
  from the others in either direction. Each token's ceiling and share are in results.json ("steps").
- **Memory** = weights (in their type) + KV cache + activations, the cache and the attention scores holding only
  the positions the run reaches; **Peak RSS** is the process's measured peak resident memory
  while the model ran (weights are on huge pages outside the Go heap).
- **Checks**: finite logits at every position; logits that differ from one position to the next; and the
  largest difference from the pure-Go reference forward pass at position 0 on the same weights (for bf16, q8
  and q4, the quantized reference llama.ForwardQ), relative to the largest logit: within 1e-4 for f32 and
  bf16, 5e-2 for q8 and q4. Those quantize each activation vector to int8, and the kernel's reassociated
  sums can put an activation on the other side of a rounding boundary of the int8 grid; each such flip
  moves the logits, the more the deeper the model (up to 1.4e-2 of the largest at 30B), though less
  than the activations' quantization itself does against f32 (1-2%). Without a flip they agree within 1e-6.
  With a prompt, **prefill**: a prefill of the tokens the decode run was fed (at most T of them) leaves the decode
  step's logits at the last of them, within 1e-4 of the largest (q8 and q4: within the reference check's 5e-2,
  as the prefill's sums, reassociated otherwise than the decode step's, may round an int8 activation the other
  way; without such a flip they agree within 1e-6); and the timed prefills' logits are finite.
`)
	return b.String()
}

// timeTable is the section on where the traced tokens' time went (bench -trace), or nothing.
func (r *Report) timeTable() string {
	var b strings.Builder
	for _, x := range r.Results {
		if x.Time == nil {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("\n### Where a token's time goes (-trace)\n\n")
			b.WriteString("Means over the timed tokens, from the trace of each token's parallel loops (the split before a loop, each thread's start and end of its share): **in loops** from each loop's split to its last thread's end, of which **threads apart** between the first and the last thread's end; **between loops** from a loop's last end to the next loop's split, the code that runs on one thread and the join; **outside** the rest of the call, before the first loop and after the last, the call from Go included. In loops + between + outside = Time/Token.\n\n")
			b.WriteString("| Model | Weights | Pages | Threads | Time/Token | loops | in loops | threads apart | between loops | outside |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n")
		}
		t := x.Time
		share := func(v float64) string { return fmt.Sprintf("%.3f ms (%.0f%%)", v, 100*v/x.MsPerToken) }
		fmt.Fprintf(&b, "| LLaMA %s | %s | %s | %d | %.3f ms | %.0f | %s | %s | %s | %s |\n", x.Model, weightsOf(x.Weights, x.GroupSize), x.Pages, x.Threads,
			x.MsPerToken, t.Loops, share(t.InLoops), share(t.Apart), share(t.Between), share(t.Outside))
	}
	return b.String()
}

// weightsOf names a weight type with its group size: f32, q8/32.
func weightsOf(t string, groupSize int) string {
	if groupSize == 0 {
		return t
	}
	return fmt.Sprintf("%s/%d", t, groupSize)
}

// checks summarises the validation of one result.
func checks(x Result) string {
	var parts []string
	mark := func(ok bool, what string) {
		if ok {
			parts = append(parts, "✅ "+what)
		} else {
			parts = append(parts, "❌ "+what)
		}
	}
	mark(x.Finite, "finite")
	mark(x.Distinct, "differ by position")
	if x.RefChecked {
		mark(x.RefError < refTolerance(x.Weights), fmt.Sprintf("reference (%.1e)", x.RefError))
	}
	if x.PromptChecked {
		mark(x.PromptError < prefillTolerance(x.Weights), fmt.Sprintf("prefill (%.1e)", x.PromptError))
	}
	return strings.Join(parts, ", ")
}

// refTolerance is the largest reference error, relative to the largest logit, that a result
// of weights (as in Result.Weights) passes with: for q8 and q4 it allows activations
// quantized to the neighbouring int8 value (see the report's notes), and still catches
// wrong arithmetic, which is off by the size of the logits.
func refTolerance(weights string) float64 {
	if strings.HasPrefix(weights, "q") {
		return 5e-2
	}
	return 1e-4
}

// prefillTolerance is the largest difference, relative to the largest logit, between the
// prefill's logits and the decode step's after the same tokens: the bound, 1e-4; for
// q8 and q4 refTolerance's, as the prefill and the decode step sum in different orders and an
// int8 activation at a rounding boundary may go either way in a deep model (see the report's
// notes). Per token the arithmetic is the same: without a flip they agree within 1e-6.
func prefillTolerance(weights string) float64 { return refTolerance(weights) }

// humanCount writes a parameter count as the report does (125M, 1.0B).
func humanCount(n int64) string {
	if n >= 1e9 {
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	}
	return fmt.Sprintf("%.0fM", float64(n)/1e6)
}

// thousands formats a count with thousands separators, as the report's memory column, and
// one decimal below 10 (the KV cache of a short run is a fraction of a MB).
func thousands(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.1f", v)
	}
	s := fmt.Sprintf("%.0f", v)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// writeFiles writes table.md, results.json and throughput.png into dir, and prompt.png when
// the run timed prompts.
func (r *Report) writeFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "table.md"), []byte(r.Markdown()), 0o644); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	if err := r.chart().writePNG(filepath.Join(dir, "throughput.png")); err != nil {
		return err
	}
	if c, ok := r.promptChart(); ok {
		return c.writePNG(filepath.Join(dir, "prompt.png"))
	}
	return nil
}

// chart is the decode throughput of every configuration (backend, access, pages and
// threads) per model and weight type, beside the report's (f32).
func (r *Report) chart() chart {
	c, groups := r.configChart("LLaMA 2 decode throughput ("+r.Machine+")", func(x *Result) float64 { return x.TokensPerSec })
	base := nanValues(len(groups))
	for i, x := range groups {
		if b, ok := baseline[x.Model]; ok && x.Weights == llama.F32.String() {
			base[i] = b.tokPerSec
		}
	}
	c.Series = append(c.Series, chartSeries{Name: "report baseline (f32)", Values: base})
	return c
}

// promptChart is the prompt processing throughput of every configuration per model and
// weight type, or false when the run timed no prompt.
func (r *Report) promptChart() (chart, bool) {
	c, _ := r.configChart(fmt.Sprintf("LLaMA 2 prompt processing, %d tokens a call (%s)", r.Prompt, r.Machine), func(x *Result) float64 { return x.PromptTokensPerSec })
	return c, r.Prompt > 0 && c.validate() == nil
}

// configChart has a bar group per model and weight type, labelled by the weight type over
// the model (groups holds the first result of each), and a series per configuration, of
// value(result).
func (r *Report) configChart(title string, value func(*Result) float64) (c chart, groups []*Result) {
	c = chart{Title: title, YLabel: "tokens/s (log scale)"}
	index := map[string]int{}
	series := map[string]int{}
	for i := range r.Results {
		x := &r.Results[i]
		group := x.Model + " " + x.Weights
		if _, ok := index[group]; !ok {
			index[group] = len(c.Groups)
			c.Groups = append(c.Groups, x.Weights)
			c.Sections = append(c.Sections, x.Model)
			groups = append(groups, x)
			for k := range c.Series {
				c.Series[k].Values = append(c.Series[k].Values, math.NaN())
			}
		}
		name := fmt.Sprintf("SimpLang %s, %s, %s pages, %d thread(s)", strings.ToUpper(x.Backend), access(x.Checked), x.Pages, x.Threads)
		if _, ok := series[name]; !ok {
			series[name] = len(c.Series)
			c.Series = append(c.Series, chartSeries{Name: name, Values: nanValues(len(c.Groups))})
		}
		c.Series[series[name]].Values[index[group]] = value(x)
	}
	return c, groups
}

func nanValues(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

// describeMachine names the CPU, its cores and memory.
func describeMachine() string {
	cpu := "unknown CPU"
	if name := toolchain.CPUInfo("model name")["model name"]; name != "" {
		cpu = name
	}
	mem := ""
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		fmt.Sscanf(string(data), "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
	}
	return fmt.Sprintf("%s, %d cores%s%s, %s/%s", cpu, runtime.NumCPU(), mem, lastLevelCache("/sys/devices/system/cpu/cpu0/cache"), runtime.GOOS, runtime.GOARCH)
}

// lastLevelCache names the last-level cache that sysfs, a CPU's cache directory, describes
// (", 32 MiB L3"), or nothing where it does not tell: it says which models can stay in the
// cache from one token to the next when run back to back.
func lastLevelCache(sysfs string) string {
	dirs, _ := filepath.Glob(filepath.Join(sysfs, "index[0-9]*"))
	level, kib := 0, 0
	for _, d := range dirs {
		l, err1 := os.ReadFile(filepath.Join(d, "level"))
		s, err2 := os.ReadFile(filepath.Join(d, "size"))
		n, err3 := strconv.Atoi(strings.TrimSpace(string(l)))
		k, err4 := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(string(s)), "K"))
		if err1 == nil && err2 == nil && err3 == nil && err4 == nil && n > level {
			level, kib = n, k
		}
	}
	if kib == 0 {
		return ""
	}
	return fmt.Sprintf(", %g MiB L%d", float64(kib)/1024, level)
}
