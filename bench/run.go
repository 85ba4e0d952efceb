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
	"github.com/simplang/simplang/kernels"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/llamakernel"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

// build is one backend's compiled kernels: the LLaMA 2 step, checked or not, and the
// bandwidth probe.
type build struct {
	backend  compiler.Backend
	checked  bool
	kernel   *llamakernel.Kernel
	probeLib *loader.Library
	probe    *loader.Func
}

// probeSignature is the bandwidth probe's (kernels/bandwidth.sl): read_sum sums a in chunks
// of chunk elements, writes each chunk's sum to partial and returns the total.
var probeSignature = abi.Func{Name: "read_sum", Result: abi.F32, Params: []abi.Param{
	{Name: "a", Kind: abi.F32, Array: true}, {Name: "partial", Kind: abi.F32, Array: true},
	{Name: "chunks", Kind: abi.I64}, {Name: "chunk", Kind: abi.I64}}}

func compileBuild(ctx context.Context, tools *toolchain.Tools, backend compiler.Backend, checked bool, p *progress) (*build, error) {
	opts := compiler.Options{Backend: backend, Unchecked: !checked}
	start := time.Now()
	k, err := llamakernel.Compile(ctx, tools, opts)
	if err != nil {
		return nil, err
	}
	how := "compiled"
	if k.Object.Cached {
		how = "took from the build cache"
	}
	p.note("%s kernels/llama2.sl (%s) with the %v backend in %.2f s", how, access(checked), backend, time.Since(start).Seconds())
	src, err := kernels.Source("bandwidth.sl")
	if err != nil {
		k.Close()
		return nil, err
	}
	// The probe measures the machine, not the checks: it is the same for every build.
	lib, _, err := compiler.Load(ctx, tools, "kernels/bandwidth.sl", src, compiler.Options{Backend: backend, Unchecked: true})
	if err != nil {
		k.Close()
		return nil, err
	}
	probe, err := compiler.Lookup(lib, probeSignature)
	if err != nil {
		k.Close()
		lib.Close()
		return nil, err
	}
	return &build{backend: backend, checked: checked, kernel: k, probeLib: lib, probe: probe}, nil
}

// access names a build's kind of array access.
func access(checked bool) string {
	if checked {
		return "checked"
	}
	return "unchecked"
}

func (b *build) close() {
	b.kernel.Close()
	b.probeLib.Close()
}

// setThreads applies a thread count to both kernels.
func (b *build) setThreads(n int) error {
	if err := b.kernel.Library().SetThreads(n); err != nil {
		return err
	}
	return b.probeLib.SetThreads(n)
}

// Result is one model run with one backend and thread count.
type Result struct {
	Model        string  `json:"model"`
	Params       int64   `json:"params"`
	Backend      string  `json:"backend"`
	Checked      bool    `json:"checked"` // array accesses checked (language §4.1)
	Pages        string  `json:"pages"`   // where weights and state live: huge or 4k
	Threads      int     `json:"threads"`
	TokensPerSec float64 `json:"tokens_per_sec"`
	MsPerToken   float64 `json:"ms_per_token"`
	GFLOPS       float64 `json:"gflops"`
	MemoryMB     float64 `json:"memory_mb"`           // weights + KV cache + activations
	KVCacheMB    float64 `json:"kv_cache_mb"`         // the whole cache, seq_len positions
	PeakRSSMB    float64 `json:"peak_rss_mb"`         // the process's peak resident memory during the model's run
	BandwidthGBs float64 `json:"bandwidth_gbs"`       // bytes the decode read ÷ its time
	CeilingGBs   float64 `json:"ceiling_gbs"`         // measured read bandwidth, same thread count
	Fraction     float64 `json:"fraction_of_ceiling"` // the median token's Step.Fraction
	Finite       bool    `json:"finite"`
	Distinct     bool    `json:"distinct_across_positions"`
	RefChecked   bool    `json:"reference_checked"`
	RefError     float64 `json:"reference_error"` // max |kernel − reference| ÷ max |reference| at position 0
	Steps        []Step  `json:"steps"`
}

// Step is one decoded position, as the report's example output shows them.
type Step struct {
	Pos    int     `json:"pos"`
	Token  int     `json:"token"`
	Logit0 float32 `json:"logit0"`
	Ms     float64 `json:"ms"`
	// CeilingGBs is the mean of the bandwidth probes right before and after the token, and
	// Fraction the token's bytes ÷ the bytes that bandwidth would have moved in its time.
	CeilingGBs float64 `json:"ceiling_gbs"`
	Fraction   float64 `json:"fraction_of_ceiling"`
}

// Skip is a model that does not fit this machine.
type Skip struct {
	Model       string  `json:"model"`
	Params      int64   `json:"params"`
	EstimateGB  float64 `json:"estimate_gb"`
	AvailableGB float64 `json:"available_gb"`
}

// firstToken starts every run, as the report's example did (token 50 at position 0).
const firstToken = 50

// probeFloats is the size of the bandwidth probe's buffer: 256 MiB, eight times the last-level
// cache, and a pass short enough to be repeated before every token.
const (
	probeFloats = 1 << 26
	probeChunk  = 1 << 14
)

// runModel runs model m on every page size, under every build and thread count. It returns
// a Skip instead when the model does not fit in the memory available.
func runModel(m llama.Named, builds []*build, probes map[loader.Pages][]float32, o *options, p *progress) ([]Result, *Skip, error) {
	cfg := m.Config
	need := cfg.TotalBytes()
	if o.check {
		need += cfg.KVCacheBytes() + cfg.ActivationBytes() // the reference's own state
	}
	avail, err := loader.AvailableMemory()
	if err != nil {
		return nil, nil, err
	}
	if float64(need) > 0.9*float64(avail) {
		p.note("%s: skipped: needs %.1f GB, %.1f GB available", m.Name, gb(need), gb(int64(avail)))
		return nil, &Skip{Model: m.Name, Params: cfg.Params(), EstimateGB: gb(cfg.TotalBytes()), AvailableGB: gb(int64(avail))}, nil
	}
	var results []Result
	for _, pages := range o.pages {
		rs, err := runOnPages(m, pages, builds, probes[pages], o, p)
		if err != nil {
			return nil, nil, err
		}
		results = append(results, rs...)
	}
	return results, nil, nil
}

// runOnPages runs model m with its weights and state on pages of one size.
func runOnPages(m llama.Named, pages loader.Pages, builds []*build, probe []float32, o *options, p *progress) ([]Result, error) {
	cfg := m.Config
	resetPeakRSS()
	mem := loader.Arena{Pages: pages}
	defer mem.Free()
	w, err := llama.NewWeights(cfg, mem.Floats)
	if err != nil {
		return nil, err
	}
	label := fmt.Sprintf("%s: random weights (%.0f MB, %v pages)", m.Name, mb(cfg.WeightBytes()), pages)
	start := time.Now()
	w.Randomize(o.seed, func(done, total int64) { p.bar(label, done, total) })
	p.done(label, time.Since(start))
	s, err := llama.NewState(cfg, mem.Floats)
	if err != nil {
		return nil, err
	}
	var reference []float32
	if o.check {
		label := m.Name + ": pure-Go reference at position 0"
		p.bar(label, 0, 1)
		start := time.Now()
		rs, err := llama.NewState(cfg, nil)
		if err != nil {
			return nil, err
		}
		logits, err := llama.Forward(cfg, w, rs, firstToken, 0)
		if err != nil {
			return nil, err
		}
		reference = append([]float32(nil), logits...)
		p.done(label, time.Since(start))
	}

	var results []Result
	for _, b := range builds {
		for _, n := range o.threads {
			r, err := measure(m, w, s, probe, b, n, reference, o, p)
			if err != nil {
				return nil, err
			}
			r.Pages = pages.String()
			r.PeakRSSMB = peakRSSMB()
			results = append(results, r)
		}
	}
	return results, nil
}

// measure times the decode of model m with build b on n threads.
func measure(m llama.Named, w *llama.Weights, s *llama.State, probe []float32, b *build, n int, reference []float32, o *options, p *progress) (Result, error) {
	cfg := m.Config
	// OpenMP keeps the thread count per OS thread: run everything from this one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := b.setThreads(n); err != nil {
		return Result{}, err
	}
	label := fmt.Sprintf("%s: %v, %s, %d thread(s)", m.Name, b.backend, access(b.checked), n)
	r := Result{Model: m.Name, Params: cfg.Params(), Backend: b.backend.String(), Checked: b.checked, Threads: n,
		MemoryMB: mb(cfg.TotalBytes()), KVCacheMB: mb(cfg.KVCacheBytes()), Finite: true, Distinct: true}

	// The machine's bandwidth drifts while it runs (other tenants, the placement of its
	// cores), so the ceiling is measured right before every token and once after the last:
	// each token is held against the mean of the probes on either side of it, the estimate
	// of the bandwidth the machine offered while the token ran.
	probes := []float64{}
	probeOnce := func() error {
		bw, err := readBandwidth(b, probe)
		probes = append(probes, bw)
		return err
	}

	s.Reset()
	for i := range o.warmup {
		p.bar(label+" warm-up", int64(i), int64(o.warmup))
		if err := probeOnce(); err != nil {
			return r, err
		}
		if _, err := b.kernel.Forward(cfg, w, s, firstToken, i%cfg.SeqLen); err != nil {
			return r, err
		}
	}
	s.Reset()
	probes = probes[:0]

	var total time.Duration
	var flops, bytes int64
	var previous []float32
	var times []time.Duration
	token := firstToken
	greedy, err := llama.NewSampler(cfg.VocabSize, 0, 0, 0)
	if err != nil {
		return r, err
	}
	for pos := range o.tokens {
		p.bar(label, int64(pos), int64(o.tokens))
		if err := probeOnce(); err != nil {
			return r, err
		}
		start := time.Now()
		logits, err := b.kernel.Forward(cfg, w, s, token, pos)
		elapsed := time.Since(start)
		if err != nil {
			return r, err
		}
		total += elapsed
		times = append(times, elapsed)
		flops += cfg.FLOPsPerToken(pos)
		bytes += cfg.BytesPerToken(pos)
		r.Steps = append(r.Steps, Step{Pos: pos, Token: token, Logit0: logits[0], Ms: ms(elapsed)})
		for _, v := range logits {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				r.Finite = false
			}
		}
		if previous != nil && slices.Equal(previous, logits) {
			r.Distinct = false
		}
		if pos == 0 && reference != nil {
			r.RefChecked = true
			r.RefError = relativeError(logits, reference)
		}
		previous = append(previous[:0], logits...)
		token = greedy.Sample(logits)
	}
	if err := probeOnce(); err != nil {
		return r, err
	}
	p.done(label, total)

	seconds := total.Seconds()
	r.TokensPerSec = float64(o.tokens) / seconds
	r.MsPerToken = 1000 * seconds / float64(o.tokens)
	r.GFLOPS = float64(flops) / seconds / 1e9
	r.BandwidthGBs = float64(bytes) / seconds / 1e9
	// The bytes the ceiling would have moved in each token's time. The machine's bandwidth
	// swings within a second, so a token and the probes around it sometimes see different
	// states, in either direction: the median token is the typical one.
	var reachable float64
	fractions := make([]float64, len(times))
	for i, t := range times {
		st := &r.Steps[i]
		st.CeilingGBs = (probes[i] + probes[i+1]) / 2
		could := st.CeilingGBs * 1e9 * t.Seconds()
		st.Fraction = float64(cfg.BytesPerToken(st.Pos)) / could
		reachable += could
		fractions[i] = st.Fraction
	}
	r.CeilingGBs = reachable / seconds / 1e9
	r.Fraction = median(fractions)
	return r, nil
}

// median returns the middle value of xs (the mean of the two middle ones for an even count),
// reordering xs.
func median(xs []float64) float64 {
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// readBandwidth measures how fast the probe kernel streams its buffer: the better of two
// passes (a pass that another tenant interrupted says little about the memory), in GB/s.
// It also checks the probe's sum, so that a broken probe cannot report a speed.
func readBandwidth(b *build, buf []float32) (float64, error) {
	partial := make([]float32, len(buf)/probeChunk)
	best := 0.0
	for range 2 {
		start := time.Now()
		sum, err := b.probe.Call(buf, partial, len(partial), probeChunk)
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
