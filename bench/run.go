package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/stats"
	"github.com/simplang/simplang/kernels"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/llamakernel"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

// kernel is a compiled decode step of one weight type: a *llamakernel.Kernel for f32, or a
// quantized one (qKernel).
type kernel interface {
	Library() *loader.Library
	Close() error
}

// qKernel is a compiled decode step on quantized weights, bound to them with the contract of
// llama.ForwardQ.
type qKernel interface {
	kernel
	Bind(cfg llama.Config, q *llama.QWeights, s *llama.State) (*llamakernel.Step, error)
}

// compileFunc compiles (or takes from the build cache) and loads one kernel, for a KV cache of
// type cache.
type compileFunc func(ctx context.Context, tools *toolchain.Tools, opts compiler.Options, cache llama.CacheType) (kernel, *compiler.Object, error)

// kernelOf is how the benchmark compiles the decode step and the prefill of one weight type.
type kernelOf struct {
	file    string // in package kernels
	compile compileFunc
	// fixedTheta is the RoPE base the kernel always rotates with; 0 when it takes the model's.
	fixedTheta float64
	// prefillFile and compilePrefill are the type's prefill kernel (the prompt in one call): a
	// *llamakernel.Prefill for f32, a *llamakernel.PrefillQ for the quantized types; nil when
	// the type has none.
	prefillFile    string
	compilePrefill compileFunc
}

// weightKernels are the weight types that have a compiled decode step. A quantized type's kernel
// is a qKernel.
var weightKernels = map[llama.WeightType]kernelOf{
	llama.F32: {file: llamakernel.File, fixedTheta: llamakernel.Theta,
		compile: func(ctx context.Context, tools *toolchain.Tools, opts compiler.Options, cache llama.CacheType) (kernel, *compiler.Object, error) {
			k, err := llamakernel.Compile(ctx, tools, opts, cache)
			if err != nil {
				return nil, nil, err
			}
			return k, k.Object, nil
		},
		prefillFile: llamakernel.FilePrefill,
		compilePrefill: func(ctx context.Context, tools *toolchain.Tools, opts compiler.Options, cache llama.CacheType) (kernel, *compiler.Object, error) {
			p, err := llamakernel.CompilePrefill(ctx, tools, opts, cache)
			if err != nil {
				return nil, nil, err
			}
			return p, p.Object, nil
		}},
}

// The quantized types with a kernel (llamakernel.QTypes) decode through llamakernel.KernelQ
// and prefill through llamakernel.PrefillQ.
func init() {
	for _, t := range llamakernel.QTypes() {
		weightKernels[t] = kernelOf{file: llamakernel.FileQ(t),
			compile: func(ctx context.Context, tools *toolchain.Tools, opts compiler.Options, cache llama.CacheType) (kernel, *compiler.Object, error) {
				k, err := llamakernel.CompileQ(ctx, tools, opts, t, cache)
				if err != nil {
					return nil, nil, err
				}
				return k, k.Object, nil
			},
			prefillFile: llamakernel.FilePrefillQ(t),
			compilePrefill: func(ctx context.Context, tools *toolchain.Tools, opts compiler.Options, cache llama.CacheType) (kernel, *compiler.Object, error) {
				p, err := llamakernel.CompilePrefillQ(ctx, tools, opts, t, cache)
				if err != nil {
					return nil, nil, err
				}
				return p, p.Object, nil
			}}
	}
}

// build is one backend's compiled kernels: the LLaMA 2 step of every weight type benchmarked,
// checked or not, their prefills and the bandwidth probe.
type build struct {
	backend  compiler.Backend
	checked  bool
	kernels  map[llama.WeightType]kernel
	prefills map[llama.WeightType]kernel // empty when no prompt is timed (-prompt 0)
	probeLib *loader.Library
	probeSum *loader.Func // read_sum
	probeDot *loader.Func // read_dot
}

// hasPrefill reports whether weights of type t have a prefill kernel (the prompt in one call).
func hasPrefill(t llama.WeightType) bool { return weightKernels[t].compilePrefill != nil }

// promptLen is the number of tokens of the timed prompt of model configuration cfg (its own
// seq_len, before runConfig) at weight type t: o.prompt, at most seq_len, and 0 when t has no
// prefill kernel.
func promptLen(cfg llama.Config, t llama.WeightType, o *options) int {
	if !hasPrefill(t) {
		return 0
	}
	return min(o.prompt, cfg.SeqLen)
}

// Prompt processing: a warm-up prefill, then the median of promptRuns timed ones.
const (
	promptWarmup = 1
	promptRuns   = 3
)

// batchBytes is the size of a prefill batch of n tokens for cfg (llamakernel.Batch).
func batchBytes(cfg llama.Config, n int) int64 {
	return 4 * int64(n) * int64(4*cfg.Dim+2*cfg.KVDim()+cfg.SeqLen+2*cfg.HiddenDim)
}

// The bandwidth probe's two shapes (kernels/bandwidth.sl): read_sum sums a in chunks of
// chunk elements, read_dot takes each chunk's dot product with v; both write each chunk's
// result to partial and return the total.
var (
	probeSumSignature = abi.Func{Name: "read_sum", Result: abi.F32, Params: []abi.Param{
		{Name: "a", Kind: abi.F32, Array: true}, {Name: "partial", Kind: abi.F32, Array: true},
		{Name: "chunks", Kind: abi.I64}, {Name: "chunk", Kind: abi.I64}}}
	probeDotSignature = abi.Func{Name: "read_dot", Result: abi.F32, Params: []abi.Param{
		{Name: "a", Kind: abi.F32, Array: true}, {Name: "v", Kind: abi.F32, Array: true},
		{Name: "partial", Kind: abi.F32, Array: true},
		{Name: "chunks", Kind: abi.I64}, {Name: "chunk", Kind: abi.I64}}}
)

// compileBuild compiles, with opts and for a KV cache of type cache, the decode step of every
// weight type in weights, with prompt the prefill kernel of those that have one, and the probe.
func compileBuild(ctx context.Context, tools *toolchain.Tools, opts compiler.Options, cache llama.CacheType, weights []llama.WeightType, prompt bool, p *progress) (*build, error) {
	backend, checked := opts.Backend, !opts.Unchecked
	b := &build{backend: backend, checked: checked, kernels: map[llama.WeightType]kernel{}, prefills: map[llama.WeightType]kernel{}}
	for _, t := range weights {
		start := time.Now()
		k, obj, err := weightKernels[t].compile(ctx, tools, opts, cache)
		if err != nil {
			b.close()
			return nil, err
		}
		b.kernels[t] = k
		how := "compiled"
		if obj.Cached {
			how = "took from the build cache"
		}
		p.note("%s kernels/%s (%s) with the %v backend in %.2f s (%s)", how, weightKernels[t].file, access(checked), backend, time.Since(start).Seconds(), obj.Path)
		if prompt && hasPrefill(t) {
			start := time.Now()
			pk, obj, err := weightKernels[t].compilePrefill(ctx, tools, opts, cache)
			if err != nil {
				b.close()
				return nil, err
			}
			b.prefills[t] = pk
			how := "compiled"
			if obj.Cached {
				how = "took from the build cache"
			}
			p.note("%s kernels/%s (%s) with the %v backend in %.2f s (%s)", how, weightKernels[t].prefillFile, access(checked), backend, time.Since(start).Seconds(), obj.Path)
		}
	}
	src, err := kernels.Source("bandwidth.sl")
	if err != nil {
		b.close()
		return nil, err
	}
	// The probe measures the machine, not the checks: it is the same for every build.
	lib, _, err := compiler.Load(ctx, tools, "kernels/bandwidth.sl", src, compiler.Options{Backend: backend, Unchecked: true})
	if err != nil {
		b.close()
		return nil, err
	}
	b.probeLib = lib
	if b.probeSum, err = compiler.Lookup(lib, probeSumSignature); err == nil {
		b.probeDot, err = compiler.Lookup(lib, probeDotSignature)
	}
	if err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// access names a build's kind of array access.
func access(checked bool) string {
	if checked {
		return "checked"
	}
	return "unchecked"
}

func (b *build) close() {
	for _, k := range b.kernels {
		k.Close()
	}
	for _, p := range b.prefills {
		p.Close()
	}
	if b.probeLib != nil {
		b.probeLib.Close()
	}
}

// setThreads applies a thread count to the kernel of weight type t (and its prefill) and the
// probe.
func (b *build) setThreads(t llama.WeightType, n int) error {
	if err := b.kernels[t].Library().SetThreads(n); err != nil {
		return err
	}
	if p := b.prefills[t]; p != nil {
		if err := p.Library().SetThreads(n); err != nil {
			return err
		}
	}
	return b.probeLib.SetThreads(n)
}

// Result is one model run with one backend and thread count.
type Result struct {
	Model        string  `json:"model"`
	Params       int64   `json:"params"`
	Weights      string  `json:"weights"`              // f32, bf16, q8 or q4
	GroupSize    int     `json:"group_size,omitempty"` // elements per scale of quantized weights
	Backend      string  `json:"backend"`
	Checked      bool    `json:"checked"` // array accesses checked (language §4.1)
	Pages        string  `json:"pages"`   // where weights and state live: huge or 4k
	Threads      int     `json:"threads"`
	TokensPerSec float64 `json:"tokens_per_sec"`
	MsPerToken   float64 `json:"ms_per_token"`
	GFLOPS       float64 `json:"gflops"`
	MemoryMB     float64 `json:"memory_mb"`           // weights + KV cache + activations
	KVCacheMB    float64 `json:"kv_cache_mb"`         // the cache of the positions the run reaches
	PeakRSSMB    float64 `json:"peak_rss_mb"`         // the process's peak resident memory during the model's run
	BandwidthGBs float64 `json:"bandwidth_gbs"`       // bytes the decode read ÷ its time
	CeilingGBs   float64 `json:"ceiling_gbs"`         // measured read bandwidth, same thread count
	Fraction     float64 `json:"fraction_of_ceiling"` // the median token's Step.Fraction
	Finite       bool    `json:"finite"`
	Distinct     bool    `json:"distinct_across_positions"`
	RefChecked   bool    `json:"reference_checked"`
	RefError     float64 `json:"reference_error"` // max |kernel − reference| ÷ max |reference| at position 0
	Steps        []Step  `json:"steps"`
	// SideBySide are the weight types timed with this one, a token of each in turn (this
	// one's included): their ratios come from the same moments of the machine.
	SideBySide []string `json:"side_by_side"`
	// VsF32 is how many times faster than f32 this row decodes, when f32 ran side by side
	// with it: the median over the positions of the f32 token's time ÷ this row's token's
	// time at the same position. 0 without an f32 row.
	VsF32 float64 `json:"vs_f32,omitempty"`
	// Back to back: the decode's tokens timed in a row, without probes between them, as
	// generate runs them (backToBack). BackToBackMs are the timed tokens, the rate is 1000 ÷
	// their median, and BackToBackVsF32 the f32 row's median ÷ this row's.
	BackToBackMs           []float64 `json:"back_to_back_ms,omitempty"`
	BackToBackTokensPerSec float64   `json:"back_to_back_tokens_per_s,omitempty"`
	BackToBackVsF32        float64   `json:"back_to_back_vs_f32,omitempty"`

	// Prompt processing: PromptTokens tokens from position 0 on a cleared KV
	// cache in one prefill call; PromptTokensPerSec is PromptTokens ÷ the median of the
	// timed calls (PromptRunsMs), PromptRatio that ÷ TokensPerSec (pp ÷ tg). Without a
	// prefill they are zero and PromptNote says why.
	PromptTokens       int       `json:"prompt_tokens,omitempty"`
	PromptTokensPerSec float64   `json:"prompt_tokens_per_s,omitempty"`
	PromptMs           float64   `json:"prompt_ms,omitempty"`
	PromptRunsMs       []float64 `json:"prompt_runs_ms,omitempty"`
	PromptRatio        float64   `json:"pp_over_tg,omitempty"`
	PromptNote         string    `json:"prompt_note,omitempty"`
	// PromptChecked: a prefill of the decode run's first min(tokens, prompt) tokens was
	// compared with the decode step's logits at the last of them; PromptError is the largest
	// difference ÷ the largest decode logit.
	PromptChecked bool    `json:"prompt_checked,omitempty"`
	PromptError   float64 `json:"prompt_error,omitempty"`
	// Time is the mean of the timed tokens' Step.Time (bench -trace).
	Time *TokenTime `json:"time,omitempty"`
}

// Step is one decoded position, as the report's example output shows them.
type Step struct {
	Pos    int     `json:"pos"`
	Token  int     `json:"token"`
	Logit0 float32 `json:"logit0"`
	Ms     float64 `json:"ms"`
	// CeilingGBs is the mean of the bandwidth probes right before and after the token, and
	// Fraction the token's bytes ÷ the bytes that bandwidth would have moved in its time.
	CeilingGBs float64    `json:"ceiling_gbs"`
	Fraction   float64    `json:"fraction_of_ceiling"`
	Time       *TokenTime `json:"time,omitempty"` // with -trace
}

// TokenTime is where a token's time went, from the trace of its parallel loops (bench
// -trace), in ms. InLoops + Between + Outside is the token's time.
type TokenTime struct {
	Loops   float64 `json:"loops"`       // parallel loops run (a mean, in a Result)
	InLoops float64 `json:"in_loops_ms"` // from each loop's split to its last thread's end
	Apart   float64 `json:"apart_ms"`    // of InLoops, the time between the first and the last thread's end
	Between float64 `json:"between_ms"`  // from a loop's last end to the next loop's split: the code on one thread, and the join
	Outside float64 `json:"outside_ms"`  // before the first loop and after the last: the call from Go, and the kernel's code there
}

// tokenTime is where a token of wall time went, by the trace of its loops.
func tokenTime(tr *loader.Trace, wall time.Duration) *TokenTime {
	tt := &TokenTime{Loops: float64(len(tr.Runs)), Outside: ms(wall)}
	var first, previous time.Duration // the first split, the last loop's last end
	started := false
	for _, run := range tr.Runs {
		if len(run.Threads) == 0 { // its shares' events were lost (loader.Trace.Lost)
			continue
		}
		firstEnd, lastEnd := run.Threads[0].End, run.Threads[0].End
		for _, s := range run.Threads {
			firstEnd, lastEnd = min(firstEnd, s.End), max(lastEnd, s.End)
		}
		tt.InLoops += ms(lastEnd - run.Split)
		tt.Apart += ms(lastEnd - firstEnd)
		if started {
			tt.Between += ms(run.Split - previous)
		} else {
			first, started = run.Split, true
		}
		previous = lastEnd
	}
	if started {
		tt.Outside = ms(wall - (previous - first))
	}
	return tt
}

// Skip is a model at a weight type that does not run here: it does not fit this machine's
// memory, or (Reason) the weight type's kernel cannot run it.
type Skip struct {
	Model       string  `json:"model"`
	Params      int64   `json:"params"`
	Weights     string  `json:"weights"`
	EstimateGB  float64 `json:"estimate_gb"` // weights + KV cache + activations
	AvailableGB float64 `json:"available_gb"`
	Reason      string  `json:"reason,omitempty"` // why a model that fits is skipped
}

// firstToken starts every run, as the report's example did (token 50 at position 0).
const firstToken = 50

// probeFloats is the size of the bandwidth probe's buffer: 256 MiB, eight times the last-level
// cache, and a pass short enough to be repeated before every token.
// read_sum takes it in chunks of 64 KiB, read_dot in chunks of 8 KiB (a mat-vec row of 2048,
// its v in the 32 KiB first-level cache).
const (
	probeFloats   = 1 << 26
	probeChunk    = 1 << 14
	probeDotChunk = 1 << 11
)

// runConfig is cfg as the benchmark runs it at weight type t: the KV cache (of type -kv) and
// the attention scores hold only the positions the run reaches (the warm-up's 0..warmup-1, the
// timed run's 0..tokens-1 and, for a type with a prefill kernel, the prompt's 0..prompt-1),
// which changes no logit, FLOP or byte read.
func runConfig(cfg llama.Config, t llama.WeightType, o *options) llama.Config {
	cfg.SeqLen = min(cfg.SeqLen, max(o.warmup, o.tokens, promptLen(cfg, t, o)))
	cfg.KVCache = o.kv
	return cfg
}

// needOf is the memory model m takes at weight type t: weights, KV cache and activations,
// the prefill's batch and, with -check, the reference's own state.
func needOf(m llama.Named, t llama.WeightType, o *options) int64 {
	cfg := runConfig(m.Config, t, o)
	need := cfg.TotalBytesOf(t, 0) + batchBytes(cfg, promptLen(m.Config, t, o))
	if o.check {
		need += cfg.KVCacheBytes() + cfg.ActivationBytes()
	}
	return need
}

// skipOf decides whether model m runs at weight type t with avail bytes of memory available.
// It returns the Skip when the timed run would go past m's seq_len, when m does not fit at t
// (needOf), or when t's kernel cannot run m; nil when m runs.
func skipOf(m llama.Named, t llama.WeightType, o *options, avail uint64) *Skip {
	cfg := runConfig(m.Config, t, o)
	s := &Skip{Model: m.Name, Params: cfg.Params(), Weights: t.String(), EstimateGB: gb(cfg.TotalBytesOf(t, 0)), AvailableGB: gb(int64(avail))}
	if o.tokens > m.Config.SeqLen {
		s.Reason = fmt.Sprintf("-tokens %d goes past the model's seq_len %d", o.tokens, m.Config.SeqLen)
		return s
	}
	if !loader.Fits(float64(needOf(m, t, o)), avail) {
		return s
	}
	if theta := weightKernels[t].fixedTheta; theta != 0 && cfg.Theta() != theta {
		s.Reason = fmt.Sprintf("the %v kernel rotates with RoPE base %g, the model's is %g", t, theta, cfg.Theta())
		return s
	}
	return nil
}

// sideBySide splits the weight types m runs at into groups that fit in avail bytes together,
// in order: the types of a group are timed side by side, a token of each in turn, so that
// their ratios hold whatever the machine's bandwidth does meanwhile.
func sideBySide(m llama.Named, types []llama.WeightType, o *options, avail uint64) [][]llama.WeightType {
	var groups [][]llama.WeightType
	var need int64
	for _, t := range types {
		n := needOf(m, t, o)
		if len(groups) == 0 || !loader.Fits(float64(need+n), avail) {
			groups = append(groups, nil)
			need = 0
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], t)
		need += n
	}
	return groups
}

// runModel runs model m at every weight type, on every page size, under every build and
// thread count, the weight types that fit in memory together side by side (sideBySide). For
// each weight type at which m does not run it returns a Skip instead; available tells the
// memory available then (loader.AvailableMemory).
func runModel(m llama.Named, builds []*build, probes map[loader.Pages][]float32, o *options, available func() (uint64, error), p *progress) ([]Result, []Skip, error) {
	var results []Result
	var skips []Skip
	var types []llama.WeightType
	var avail uint64
	for _, t := range o.weights {
		a, err := available()
		if err != nil {
			return nil, nil, err
		}
		if s := skipOf(m, t, o, a); s != nil {
			if s.Reason != "" {
				p.note("%s %v: skipped: %s", m.Name, t, s.Reason)
			} else {
				p.note("%s %v: skipped: needs %.1f GB, %.1f GB available", m.Name, t, s.EstimateGB, s.AvailableGB)
			}
			skips = append(skips, *s)
			continue
		}
		types = append(types, t)
		avail = a
	}
	for _, pages := range o.pages {
		for _, group := range sideBySide(m, types, o, avail) {
			rs, err := runGroup(m, group, pages, builds, probes[pages], o, p)
			if err != nil {
				return nil, nil, err
			}
			results = append(results, rs...)
		}
	}
	return results, skips, nil
}

// decoder is a model's weights of one type, with the decode steps on them.
type decoder struct {
	weights   llama.WeightType
	groupSize int // elements per scale of quantized weights; 0 for f32
	// bind binds k, the compiled decode step of the weights' type, to them and s; reference
	// is the same step by the pure-Go forward pass.
	bind      func(k kernel, s *llama.State) (*llamakernel.Step, error)
	reference func(s *llama.State, token, pos int) ([]float32, error)
	// prefill feeds tokens from position pos through p, the compiled prefill of the weights'
	// type, in batch b.
	prefill func(p kernel, s *llama.State, b *llamakernel.Batch, tokens []int, pos int) ([]float32, error)
}

// newDecoder allocates weights of type t for cfg from alloc and fills them with random
// values from seed, reporting progress.
func newDecoder(cfg llama.Config, t llama.WeightType, alloc llama.Allocator, seed uint64, progress func(done, total int64)) (*decoder, error) {
	if t == llama.F32 {
		w, err := llama.NewWeights(cfg, alloc)
		if err != nil {
			return nil, err
		}
		w.Randomize(seed, progress)
		return &decoder{weights: t,
			bind: func(k kernel, s *llama.State) (*llamakernel.Step, error) {
				return k.(*llamakernel.Kernel).Bind(cfg, w, s)
			},
			reference: func(s *llama.State, token, pos int) ([]float32, error) { return llama.Forward(cfg, w, s, token, pos) },
			prefill: func(p kernel, s *llama.State, b *llamakernel.Batch, tokens []int, pos int) ([]float32, error) {
				return p.(*llamakernel.Prefill).Forward(cfg, w, s, b, tokens, pos)
			},
		}, nil
	}
	q, err := llama.NewQWeights(cfg, t, 0, alloc)
	if err != nil {
		return nil, err
	}
	if err := q.Randomize(cfg, seed, progress); err != nil {
		return nil, err
	}
	return &decoder{weights: t, groupSize: q.GroupSize,
		bind: func(k kernel, s *llama.State) (*llamakernel.Step, error) {
			return k.(qKernel).Bind(cfg, q, s)
		},
		reference: func(s *llama.State, token, pos int) ([]float32, error) { return llama.ForwardQ(cfg, q, s, token, pos) },
		prefill: func(p kernel, s *llama.State, b *llamakernel.Batch, tokens []int, pos int) ([]float32, error) {
			return p.(*llamakernel.PrefillQ).Forward(cfg, q, s, b, tokens, pos)
		},
	}, nil
}

// contender is model m at one weight type, ready to be timed: its weights, its state and
// prefill batch on the group's pages, and the reference logits at position 0 (nil without
// -check).
type contender struct {
	model     string
	cfg       llama.Config
	d         *decoder
	s         *llama.State
	batch     *llamakernel.Batch // nil without a prefill
	reference []float32
}

// newContender allocates and fills model m's weights of type t, and its state, from mem.
func newContender(m llama.Named, t llama.WeightType, mem *loader.Arena, o *options, p *progress) (*contender, error) {
	cfg := runConfig(m.Config, t, o)
	label := fmt.Sprintf("%s: random %v weights (%.0f MB, %v pages)", m.Name, t, mb(cfg.WeightBytesOf(t, 0)), mem.Pages)
	start := time.Now()
	d, err := newDecoder(cfg, t, mem.Floats, o.seed, func(done, total int64) { p.bar(label, done, total) })
	if err != nil {
		return nil, err
	}
	p.done(label, time.Since(start))
	c := &contender{model: m.Name, cfg: cfg, d: d}
	if c.s, err = llama.NewState(cfg, mem.Floats); err != nil {
		return nil, err
	}
	// The prefill's batch, on the same pages as the weights and the KV cache.
	if n := promptLen(m.Config, t, o); n > 0 {
		if c.batch, err = llamakernel.NewBatch(cfg, n, mem.Floats); err != nil {
			return nil, err
		}
	}
	if o.check {
		label := fmt.Sprintf("%s %v: pure-Go reference at position 0", m.Name, t)
		p.bar(label, 0, 1)
		start := time.Now()
		rs, err := llama.NewState(cfg, nil)
		if err != nil {
			return nil, err
		}
		if c.reference, err = d.reference(rs, firstToken, 0); err != nil {
			return nil, err
		}
		p.done(label, time.Since(start))
	}
	return c, nil
}

// runGroup runs model m at the weight types of group side by side, with their weights and
// state on pages of one size, under every build and thread count. The Peak RSS of its results
// is the group's: their weights are resident together.
func runGroup(m llama.Named, group []llama.WeightType, pages loader.Pages, builds []*build, probe []float32, o *options, p *progress) ([]Result, error) {
	resetPeakRSS()
	mem := loader.Arena{Pages: pages}
	defer mem.Free()
	var cs []*contender
	for _, t := range group {
		c, err := newContender(m, t, &mem, o, p)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", t, err)
		}
		cs = append(cs, c)
	}
	var results []Result
	for _, b := range builds {
		for _, n := range o.threads {
			rs, err := measure(cs, probe, b, n, o, p)
			if err != nil {
				return nil, err
			}
			for _, r := range rs {
				r.Pages = pages.String()
				r.PeakRSSMB = peakRSSMB()
				results = append(results, r)
			}
		}
	}
	return results, nil
}

// timedRun is the decode of one contender under one build and thread count, token by token.
type timedRun struct {
	c      *contender
	kernel kernel
	bound  *llamakernel.Step // the kernel bound to the contender's weights and state
	label  string
	r      Result
	token  int // the next token to feed: the argmax of the previous logits
	greedy *llama.Sampler
	// previous are the last step's logits, to check that the next ones differ.
	previous []float32
	// decodeAtCheck is the decode's logits at the last position the prompt check's prefill
	// covers, checkLen − 1.
	decodeAtCheck []float32
	checkLen      int
	trace         bool // record each token's parallel loops (Step.Time)
}

// step decodes the run's next position, pos, into a new Step of its result (the caller
// fills in the Step's ceiling).
func (t *timedRun) step(pos int) error {
	var logits []float32
	var elapsed time.Duration
	call := func() error {
		start := time.Now()
		var err error
		logits, err = t.bound.Forward(t.token, pos)
		elapsed = time.Since(start)
		return err
	}
	var spent *TokenTime
	if t.trace {
		tr, err := t.kernel.Library().Trace(call)
		if err != nil {
			return err
		}
		spent = tokenTime(tr, elapsed)
	} else if err := call(); err != nil {
		return err
	}
	r := &t.r
	r.Steps = append(r.Steps, Step{Pos: pos, Token: t.token, Logit0: logits[0], Ms: ms(elapsed), Time: spent})
	for _, v := range logits {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			r.Finite = false
		}
	}
	if t.previous != nil && slices.Equal(t.previous, logits) {
		r.Distinct = false
	}
	if pos == 0 && t.c.reference != nil {
		r.RefChecked = true
		r.RefError = relativeError(logits, t.c.reference)
	}
	if pos == t.checkLen-1 {
		t.decodeAtCheck = slices.Clone(logits)
	}
	t.previous = append(t.previous[:0], logits...)
	t.token = t.greedy.Sample(logits)
	return nil
}

// finish fills the run's speed, bandwidth and share of the ceiling from its Steps.
func (t *timedRun) finish() {
	r, cfg, weights := &t.r, t.c.cfg, t.c.d.weights
	var seconds float64
	var flops, bytes int64
	// The bytes the ceiling would have moved in each token's time. The machine's bandwidth
	// swings within a second, so a token and the probes around it sometimes see different
	// states, in either direction: the median token is the typical one.
	var reachable float64
	fractions := make([]float64, len(r.Steps))
	for i := range r.Steps {
		st := &r.Steps[i]
		seconds += st.Ms / 1000
		flops += cfg.FLOPsPerToken(st.Pos)
		at := cfg.BytesPerTokenOf(weights, t.c.d.groupSize, st.Pos)
		bytes += at
		could := st.CeilingGBs * 1e9 * st.Ms / 1000
		st.Fraction = float64(at) / could
		reachable += could
		fractions[i] = st.Fraction
	}
	r.TokensPerSec = float64(len(r.Steps)) / seconds
	r.MsPerToken = 1000 * seconds / float64(len(r.Steps))
	r.GFLOPS = float64(flops) / seconds / 1e9
	r.BandwidthGBs = float64(bytes) / seconds / 1e9
	r.CeilingGBs = reachable / seconds / 1e9
	r.Fraction = stats.Median(fractions)
	if t.trace && len(r.Steps) > 0 {
		r.Time = &TokenTime{}
		for _, st := range r.Steps {
			r.Time.add(st.Time, 1/float64(len(r.Steps)))
		}
	}
}

// add adds x times w to tt.
func (tt *TokenTime) add(x *TokenTime, w float64) {
	tt.Loops += w * x.Loops
	tt.InLoops += w * x.InLoops
	tt.Apart += w * x.Apart
	tt.Between += w * x.Between
	tt.Outside += w * x.Outside
}

// measure times the decode of the contenders cs with build b on n threads, side by side:
// position by position, a token of each contender in turn, each token between two
// measurements of the machine's bandwidth (the ceiling); then each one's prompt processing.
func measure(cs []*contender, probe []float32, b *build, n int, o *options, p *progress) ([]Result, error) {
	// OpenMP keeps the thread count per OS thread: run everything from this one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var runs []*timedRun
	var f32 *timedRun // the f32 run, if any: × f32 compares with it
	var names []string
	for _, c := range cs {
		t := c.d.weights
		if err := b.setThreads(t, n); err != nil {
			return nil, err
		}
		greedy, err := llama.NewSampler(c.cfg.VocabSize, 0, 0, 0)
		if err != nil {
			return nil, err
		}
		run := &timedRun{c: c, kernel: b.kernels[t], token: firstToken, greedy: greedy, checkLen: o.tokens, trace: o.trace,
			label: fmt.Sprintf("%s %v: %v, %s, %d thread(s)", c.model, t, b.backend, access(b.checked), n),
			r: Result{Model: c.model, Params: c.cfg.Params(), Weights: t.String(), GroupSize: c.d.groupSize,
				Backend: b.backend.String(), Checked: b.checked, Threads: n,
				MemoryMB: mb(c.cfg.TotalBytesOf(t, c.d.groupSize)), KVCacheMB: mb(c.cfg.KVCacheBytes()), Finite: true, Distinct: true}}
		if c.batch != nil {
			run.checkLen = min(o.tokens, c.batch.MaxTokens)
		}
		if run.bound, err = c.d.bind(run.kernel, c.s); err != nil {
			return nil, err
		}
		defer run.bound.Close()
		if t == llama.F32 {
			f32 = run
		}
		runs = append(runs, run)
		names = append(names, t.String())
	}

	// Warm-up, each contender in turn, with the probe before each call as in the timed run.
	for _, run := range runs {
		run.c.s.Reset()
		for i := range o.warmup {
			p.bar(run.label+" warm-up", int64(i), int64(o.warmup))
			if _, err := readBandwidth(b, probe); err != nil {
				return nil, err
			}
			if _, err := run.bound.Forward(firstToken, i%run.c.cfg.SeqLen); err != nil {
				return nil, err
			}
		}
		run.c.s.Reset()
	}

	// The machine's bandwidth drifts while it runs (other tenants, the placement of its
	// cores), so the ceiling is measured between every two tokens and around them all: each
	// token is held against the mean of the probes on either side of it, the estimate of the
	// bandwidth the machine offered while the token ran.
	label := fmt.Sprintf("%s %s side by side: %v, %s, %d thread(s)", cs[0].model, strings.Join(names, ", "), b.backend, access(b.checked), n)
	start := time.Now()
	bw, err := readBandwidth(b, probe)
	if err != nil {
		return nil, err
	}
	for pos := range o.tokens {
		p.bar(label, int64(pos), int64(o.tokens))
		for _, run := range runs {
			if err := run.step(pos); err != nil {
				return nil, fmt.Errorf("%v: %w", run.c.d.weights, err)
			}
			before := bw
			if bw, err = readBandwidth(b, probe); err != nil {
				return nil, err
			}
			run.r.Steps[pos].CeilingGBs = (before + bw) / 2
		}
	}
	p.done(label, time.Since(start))
	if err := backToBack(runs, o.tokens, p); err != nil {
		return nil, err
	}

	var results []Result
	for _, run := range runs {
		run.finish()
		r := &run.r
		r.SideBySide = names
		if f32 != nil {
			r.VsF32 = pairedRatio(f32.r.Steps, r.Steps)
			if r.BackToBackTokensPerSec > 0 {
				r.BackToBackVsF32 = r.BackToBackTokensPerSec / f32.r.BackToBackTokensPerSec
			}
		}
		switch {
		case o.prompt == 0:
			r.PromptNote = "not measured (-prompt 0)"
		case run.c.batch == nil || b.prefills[run.c.d.weights] == nil:
			r.PromptNote = fmt.Sprintf("no prefill kernel for %v weights yet", run.c.d.weights)
		default:
			if err := measurePrompt(r, run.c, b, run.decodeAtCheck, run.label, p); err != nil {
				return nil, err
			}
		}
		results = append(results, *r)
	}
	return results, nil
}

// backToBackSkip is how many tokens of each back-to-back block are left untimed: they find
// the weights of the type that ran before in the caches.
const backToBackSkip = 2

// backToBack times each run's decode again with its tokens in a row, as generate runs them:
// the tokens of the side-by-side run, from position 0 on a cleared KV cache, without probes
// between them. The probe streams far more than the last-level cache holds, so a token timed
// after it reads every weight from memory; back to back, a model that is small against that
// cache (on Sapphire Rapids hosts, the 125M model in q8 or q4) finds some of its weights
// there still. The runs take their turns in blocks of tokens (a run's tokens in turn with
// another type's would evict its weights as the probe does), twice, the second time in the
// reverse order, so that a drift of the machine falls on all of them alike; the first
// backToBackSkip tokens of a block are not timed. Nothing is timed with tokens ≤ backToBackSkip.
func backToBack(runs []*timedRun, tokens int, p *progress) error {
	if tokens <= backToBackSkip {
		return nil
	}
	for round := range 2 {
		for k := range runs {
			run := runs[k]
			if round == 1 {
				run = runs[len(runs)-1-k]
			}
			p.bar(run.label+" back to back", int64(round*len(runs)+k), int64(2*len(runs)))
			run.c.s.Reset()
			for pos, step := range run.r.Steps {
				start := time.Now()
				if _, err := run.bound.Forward(step.Token, pos); err != nil {
					return err
				}
				if pos >= backToBackSkip {
					run.r.BackToBackMs = append(run.r.BackToBackMs, ms(time.Since(start)))
				}
			}
		}
	}
	for _, run := range runs {
		run.c.s.Reset()
		run.r.BackToBackTokensPerSec = 1000 / stats.Median(run.r.BackToBackMs)
	}
	return nil
}

// pairedRatio is the median over the positions of base[i].Ms ÷ steps[i].Ms: how many times
// faster than base the steps ran, each against the base step timed next to it.
func pairedRatio(base, steps []Step) float64 {
	ratios := make([]float64, len(steps))
	for i := range steps {
		ratios[i] = base[i].Ms / steps[i].Ms
	}
	return stats.Median(ratios)
}

// measurePrompt times prompt processing of contender c with build b's prefill kernel into r:
// c.batch.MaxTokens tokens from position 0 on a cleared KV cache, promptWarmup calls and then the median of
// promptRuns timed ones. First it checks the prefill against the decode run r.Steps: a prefill
// of the tokens the decode was fed at positions 0 … len(decoded)−1 must leave decoded, the
// decode step's logits at the last of them.
func measurePrompt(r *Result, c *contender, b *build, decoded []float32, label string, p *progress) error {
	cfg, d, s, batch := c.cfg, c.d, c.s, c.batch
	n := batch.MaxTokens
	// The prompt: the decode run's tokens, then a fixed sequence. Which tokens they are
	// changes nothing of the time.
	tokens := make([]int, n)
	for i := range tokens {
		if i < len(r.Steps) {
			tokens[i] = r.Steps[i].Token
		} else {
			tokens[i] = (firstToken + 31*i) % cfg.VocabSize
		}
	}
	label += fmt.Sprintf(" prompt of %d tokens", n)
	p.bar(label, 0, promptWarmup+promptRuns)
	if decoded != nil {
		s.Reset()
		logits, err := d.prefill(b.prefills[d.weights], s, batch, tokens[:min(len(r.Steps), n)], 0)
		if err != nil {
			return err
		}
		r.PromptChecked = true
		r.PromptError = relativeError(logits, decoded)
	}
	var times []float64
	for i := range promptWarmup + promptRuns {
		p.bar(label, int64(i), promptWarmup+promptRuns)
		s.Reset()
		start := time.Now()
		logits, err := d.prefill(b.prefills[d.weights], s, batch, tokens, 0)
		elapsed := time.Since(start)
		if err != nil {
			return err
		}
		for _, v := range logits {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				r.Finite = false
			}
		}
		if i >= promptWarmup {
			times = append(times, elapsed.Seconds())
			r.PromptRunsMs = append(r.PromptRunsMs, 1000*elapsed.Seconds())
		}
	}
	s.Reset()
	mid := stats.Median(times)
	p.done(label, time.Duration(mid*float64(time.Second)))
	r.PromptTokens = n
	r.PromptMs = 1000 * mid
	r.PromptTokensPerSec = float64(n) / mid
	r.PromptRatio = r.PromptTokensPerSec / r.TokensPerSec
	return nil
}

// readBandwidth measures how fast the probe streams its buffer of ones: a pass of each of its
// shapes, the better of the two, in GB/s. Neither shape reads fastest everywhere (on AMD's
// Zen 4 read_dot, the f32 rows' loop, streamed 1.12–1.16 times as fast as read_sum), and a
// pass that another tenant interrupted says little about the memory. It also checks the
// probe's sums, so that a broken probe cannot report a speed.
func readBandwidth(b *build, buf []float32) (float64, error) {
	ones := make([]float32, probeDotChunk)
	for i := range ones {
		ones[i] = 1
	}
	passes := []func() (any, error){
		func() (any, error) {
			return b.probeSum.Call(buf, make([]float32, len(buf)/probeChunk), len(buf)/probeChunk, probeChunk)
		},
		func() (any, error) {
			return b.probeDot.Call(buf, ones, make([]float32, len(buf)/probeDotChunk), len(buf)/probeDotChunk, probeDotChunk)
		},
	}
	best := 0.0
	for _, pass := range passes {
		start := time.Now()
		sum, err := pass()
		elapsed := time.Since(start).Seconds()
		if err != nil {
			return 0, err
		}
		if sum.(float32) != float32(len(buf)) {
			return 0, fmt.Errorf("bandwidth probe summed %v, want %d: the probe kernel is broken", sum, len(buf))
		}
		best = max(best, float64(4*len(buf))/elapsed/1e9)
	}
	return best, nil
}

// relativeError is max |got − want| ÷ max |want|.
func relativeError(got, want []float32) float64 {
	var diff, scale float64
	for i := range want {
		diff = max(diff, math.Abs(float64(got[i])-float64(want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	if scale == 0 {
		return math.Inf(1)
	}
	return diff / scale
}

// resetPeakRSS restarts the kernel's count of this process's peak resident memory.
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMB reads the peak resident memory (VmHWM) of this process, in MB.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb * 1024 / 1e6
		}
	}
	return 0
}

func gb(bytes int64) float64     { return float64(bytes) / 1e9 }
func mb(bytes int64) float64     { return float64(bytes) / 1e6 }
func ms(d time.Duration) float64 { return d.Seconds() * 1000 }
