// Package llama describes the LLaMA 2 model that the benchmark, the text generator and the
// tests share: it turns a Config (a named preset or a llama2.c checkpoint header) into weight
// and run-state buffers laid out exactly as the compiled SimpLang kernel takes them, and
// computes one decode step in plain Go as the reference the kernel is checked against.
//
// Build a model with Preset (or a Config literal), NewWeights and Randomize, or Load (read
// into memory from an Allocator) or Open (map) a llama2.c checkpoint; make a State with
// NewState; then call Forward once per token with positions 0, 1, 2, … and pick the next
// token from the logits with a Sampler:
//
//	cfg, _ := llama.Preset("125M")
//	w, _ := llama.NewWeights(cfg, nil)
//	w.Randomize(1, nil)
//	s, _ := llama.NewState(cfg, nil)
//	logits, err := llama.Forward(cfg, w, s, token, pos)
//
// Weights may also be quantized (WeightType: bf16, q8, q4): Quantize f32 weights, or
// NewQWeights and QWeights.Randomize, or OpenV2 a llama2.c version-2 (Q8_0) export; ForwardQ
// is the reference step on them, with the arithmetic of the quantized kernels. QTensor
// defines their layout.
//
// The package is pure Go: it compiles, loads and calls no native code (checkpoints are read or
// memory-mapped; an Allocator decides where their weights live). Package llamakernel runs
// the same step through the compiled kernel, on these Config, Weights and State values.
// The file layout, the tensor order and the forward-pass semantics follow Andrej Karpathy's
// llama2.c run.c.
package llama

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Config is the shape of a LLaMA 2 model, as in llama2.c's checkpoint header.
type Config struct {
	Dim       int // transformer dimension (width of the residual stream)
	HiddenDim int // width of the feed-forward hidden layer
	NLayers   int // number of transformer layers
	NHeads    int // number of query heads
	NKVHeads  int // number of key/value heads (fewer than NHeads for grouped-query attention)
	VocabSize int // vocabulary size
	SeqLen    int // maximum sequence length (the KV cache holds this many positions)

	// RopeTheta is the base θ of the rotary position embedding: pair i of a head turns by
	// pos × θ^(-2i/head_size). Zero means 10000, LLaMA 2's value, which llama2.c checkpoints
	// do not store; LLaMA 3 uses 500000.
	RopeTheta float64

	// KVCache is the element type of the key and value caches (State): float32 (the zero
	// value, as llama2.c) or f16. Like SeqLen it is a choice of the run, not of the weights.
	KVCache CacheType
}

// defaultRopeTheta is LLaMA 2's RoPE base, used when Config.RopeTheta is zero.
const defaultRopeTheta = 10000

// Theta is the RoPE base the model uses: RopeTheta, or 10000 when it is zero.
func (c Config) Theta() float64 {
	if c.RopeTheta == 0 {
		return defaultRopeTheta
	}
	return c.RopeTheta
}

// HeadSize is the width of one attention head: Dim / NHeads (0 when NHeads is not positive,
// so that no method of an invalid Config panics).
func (c Config) HeadSize() int {
	if c.NHeads <= 0 {
		return 0
	}
	return c.Dim / c.NHeads
}

// KVDim is the width of a key or value vector: NKVHeads * HeadSize.
func (c Config) KVDim() int { return c.NKVHeads * c.HeadSize() }

// kvGroup is how many query heads share one key/value head.
func (c Config) kvGroup() int { return c.NHeads / c.NKVHeads }

// Validate reports the first thing wrong with c: a field that is not positive, a RoPE base
// that is negative or not finite, a dimension
// that does not split into heads, an odd head size (RoPE rotates pairs), or buffers so large
// that their element or byte counts overflow int or int64. The accounting methods and every
// function that takes a Config assume it passed Validate.
func (c Config) Validate() error {
	fields := []struct {
		name string
		v    int
	}{
		{"dim", c.Dim}, {"hidden_dim", c.HiddenDim}, {"n_layers", c.NLayers}, {"n_heads", c.NHeads},
		{"n_kv_heads", c.NKVHeads}, {"vocab_size", c.VocabSize}, {"seq_len", c.SeqLen},
	}
	for _, f := range fields {
		if f.v <= 0 {
			return fmt.Errorf("config: %s is %d, must be positive", f.name, f.v)
		}
	}
	if !(c.RopeTheta >= 0) || math.IsInf(c.RopeTheta, 1) {
		return fmt.Errorf("config: rope_theta is %v, must be positive and finite (or 0 for %d)", c.RopeTheta, defaultRopeTheta)
	}
	if c.KVCache != CacheF32 && c.KVCache != CacheF16 {
		return fmt.Errorf("config: KV cache type %v; want f32 or f16", c.KVCache)
	}
	if c.Dim%c.NHeads != 0 {
		return fmt.Errorf("config: dim %d is not divisible by n_heads %d", c.Dim, c.NHeads)
	}
	if c.NHeads%c.NKVHeads != 0 {
		return fmt.Errorf("config: n_heads %d is not a multiple of n_kv_heads %d", c.NHeads, c.NKVHeads)
	}
	if c.HeadSize()%2 != 0 {
		return fmt.Errorf("config: head size dim/n_heads = %d/%d = %d is odd; RoPE rotates pairs of elements", c.Dim, c.NHeads, c.HeadSize())
	}
	// Every buffer must be addressable as one slice, and the totals must fit int64.
	weights, err := totalBytes(weightTensors(c, &Weights{}))
	if err != nil {
		return err
	}
	state, err := totalBytes(stateBuffers(c, &State{}))
	if err != nil {
		return err
	}
	if _, ok := sum(weights, state); !ok {
		return errTooLarge
	}
	// FLOPsPerToken is at most 2 × Params (= weights/2) plus attention over seq_len positions.
	attn, ok := product(4, c.NLayers, c.Dim, c.SeqLen)
	if _, ok2 := sum(weights/2, attn); !ok || !ok2 {
		return fmt.Errorf("config: FLOPs per token at position seq_len-1 overflow int64")
	}
	return nil
}

var errTooLarge = errors.New("config: weights, KV cache and activations would take more than 2^63 bytes")

// totalBytes adds up the sizes of bufs, failing if one of them cannot be addressed as a
// slice or the total overflows int64.
func totalBytes(bufs []buffer) (int64, error) {
	var total int64
	for _, b := range bufs {
		bytes, ok := product(append([]int{int(b.elementBytes())}, b.shape...)...)
		if !ok || bytes > math.MaxInt {
			return 0, fmt.Errorf("config: %s would hold %s %s elements, more than this platform can address", b.name, shapeString(b.shape), b.elementType())
		}
		if total, ok = sum(total, bytes); !ok {
			return 0, errTooLarge
		}
	}
	return total, nil
}

// product multiplies non-negative factors and reports whether the result fits in int64.
func product(factors ...int) (int64, bool) {
	p := int64(1)
	for _, f := range factors {
		if f != 0 && p > math.MaxInt64/int64(f) {
			return 0, false
		}
		p *= int64(f)
	}
	return p, true
}

// sum adds non-negative terms and reports whether the result fits in int64.
func sum(terms ...int64) (int64, bool) {
	var s int64
	for _, t := range terms {
		if s > math.MaxInt64-t {
			return 0, false
		}
		s += t
	}
	return s, true
}

// shapeString spells a shape as "2 x 8 x 16".
func shapeString(shape []int) string {
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = fmt.Sprint(d)
	}
	return strings.Join(s, " x ")
}

// Named is a configuration with the name the benchmark report gives it.
type Named struct {
	Name   string
	Config Config
}

// presets are the configurations of the baseline report (125M to 3B, benchmarked; 7B to 30B,
// skipped there for lack of memory), in the report's order. The last three copy real shapes:
// LLaMA 2 7B; Llama 3 8B (grouped-query, 8 key/value heads, vocabulary 128,256, θ = 500,000);
// LLaMA 30B (52 heads of 128 = 6656).
var presets = []Named{
	{"125M", Config{Dim: 768, HiddenDim: 3072, NLayers: 12, NHeads: 12, NKVHeads: 12, VocabSize: 32000, SeqLen: 256}},
	{"500M", Config{Dim: 1024, HiddenDim: 4096, NLayers: 24, NHeads: 16, NKVHeads: 16, VocabSize: 32000, SeqLen: 512}},
	{"1B", Config{Dim: 1536, HiddenDim: 6144, NLayers: 24, NHeads: 16, NKVHeads: 16, VocabSize: 32000, SeqLen: 512}},
	{"3B", Config{Dim: 2048, HiddenDim: 8192, NLayers: 32, NHeads: 32, NKVHeads: 32, VocabSize: 32000, SeqLen: 1024}},
	{"7B", Config{Dim: 4096, HiddenDim: 11008, NLayers: 32, NHeads: 32, NKVHeads: 32, VocabSize: 32000, SeqLen: 2048}},
	{"8B", Config{Dim: 4096, HiddenDim: 14336, NLayers: 32, NHeads: 32, NKVHeads: 8, VocabSize: 128256, SeqLen: 2048, RopeTheta: 500000}},
	{"30B", Config{Dim: 6656, HiddenDim: 17920, NLayers: 60, NHeads: 52, NKVHeads: 52, VocabSize: 32000, SeqLen: 2048}},
}

// Presets returns the named configurations of the benchmark report, in the report's order:
// 125M, 500M, 1B, 3B, 7B, 8B (grouped-query), 30B.
func Presets() []Named {
	return append([]Named(nil), presets...)
}

// Preset returns the configuration called name ("125M", …, "30B").
func Preset(name string) (Config, error) {
	names := make([]string, len(presets))
	for i, p := range presets {
		if p.Name == name {
			return p.Config, nil
		}
		names[i] = p.Name
	}
	return Config{}, fmt.Errorf("unknown model %q; known models: %s", name, strings.Join(names, ", "))
}

// Params counts every weight element: the token embedding (vocab_size × dim), per layer the
// two RMS-norm vectors (2 × dim), wq and wo (2 × dim × dim), wk and wv (2 × kv_dim × dim) and
// the three feed-forward matrices (3 × hidden_dim × dim), the final RMS-norm vector (dim) and a
// separate classifier (vocab_size × dim), even when a checkpoint shares it with the embedding.
func (c Config) Params() int64 {
	var n int64
	for _, t := range weightTensors(c, &Weights{}) {
		n += t.len()
	}
	return n
}

// WeightBytes is the size of all weights in float32: 4 × Params.
func (c Config) WeightBytes() int64 { return 4 * c.Params() }

// KVCacheBytes is the size of the key and value caches, each [n_layers][seq_len][kv_dim] of
// c.KVCache: 2 × (4 or 2) × n_layers × seq_len × kv_dim.
func (c Config) KVCacheBytes() int64 {
	return 2 * c.KVCache.elementBytes() * int64(c.NLayers) * int64(c.SeqLen) * int64(c.KVDim())
}

// ActivationBytes is the size of the float32 run-state buffers other than the KV cache:
// x, xb, xb2 and q (dim each), k and v (kv_dim each), att (n_heads × seq_len), hb and hb2
// (hidden_dim each) and logits (vocab_size).
func (c Config) ActivationBytes() int64 {
	var n int64
	for _, b := range activationBuffers(c, &State{}) {
		n += b.len()
	}
	return 4 * n
}

// TotalBytes is the memory a decoder holds: WeightBytes + KVCacheBytes + ActivationBytes.
func (c Config) TotalBytes() int64 {
	return c.WeightBytes() + c.KVCacheBytes() + c.ActivationBytes()
}

// FLOPsPerToken counts the floating-point operations of one decode step at position pos,
// two per multiply-add: every mat-vec (wq, wk, wv, wo, w1, w2, w3 in each layer and the
// classifier), 2 × (n_layers × (2 × dim × dim + 2 × kv_dim × dim + 3 × hidden_dim × dim) +
// vocab_size × dim), plus attention over the pos+1 cached positions, whose scores (q·k) and
// weighted value sum each take n_heads × head_size = dim multiply-adds per position:
// 4 × n_layers × dim × (pos+1). It neglects the O(dim + hidden_dim + n_heads × pos) work per
// layer of RMS norms, RoPE, softmax, SiLU and residual additions, and the exponentials and
// square roots inside them.
func (c Config) FLOPsPerToken(pos int) int64 {
	return 2*c.matrixParams() + 4*int64(c.NLayers)*int64(c.Dim)*int64(pos+1)
}

// matrixParams counts the elements of the matrices a decode step multiplies by: wq, wk, wv,
// wo, w1, w2, w3 in every layer, and the classifier.
func (c Config) matrixParams() int64 {
	d, kv, h := int64(c.Dim), int64(c.KVDim()), int64(c.HiddenDim)
	return int64(c.NLayers)*(2*d*d+2*kv*d+3*h*d) + int64(c.VocabSize)*d
}

// BytesPerToken counts the bytes one decode step at position pos reads from memory, in
// float32: every weight matrix once (wq, wk, wv, wo, w1, w2, w3 in each layer and the
// classifier), one row of the token embedding (dim), all RMS-norm vectors
// ((2 × n_layers + 1) × dim), and the key and value cache rows of positions 0..pos in every
// layer (2 × n_layers × (pos+1) × kv_dim, each of c.KVCache). It does not count writes (the
// new cache row, the activations) or re-reads of the small activation vectors.
func (c Config) BytesPerToken(pos int) int64 {
	d := int64(c.Dim)
	return 4*(c.matrixParams()+d+c.normParams()) + c.cacheBytesRead(pos)
}

// normParams counts the RMS-norm weights: (2 × n_layers + 1) × dim.
func (c Config) normParams() int64 { return (2*int64(c.NLayers) + 1) * int64(c.Dim) }

// cacheBytesRead is what a decode step at position pos reads of the KV cache: every layer's
// keys and values of positions 0..pos.
func (c Config) cacheBytesRead(pos int) int64 {
	return 2 * int64(c.NLayers) * int64(pos+1) * int64(c.KVDim()) * c.KVCache.elementBytes()
}

// WeightBytesOf is the size of all weights stored as type t with groups of groupSize elements
// (0 means DefaultGroupSize; ignored for F32 and BF16), from the layout of QTensor: for every
// matrix, the embedding and a separate classifier, its values (4, 2, 1 or 1/2 bytes an element
// for F32, BF16, Q8, Q4) and its scales (Q8: a float32, Q4: a half per group), plus the
// float32 norm weights. WeightBytesOf(F32, 0) is WeightBytes. It assumes
// c.ValidateWeights(t, groupSize) passed.
func (c Config) WeightBytesOf(t WeightType, groupSize int) int64 {
	var n int64
	for _, b := range qTensors(c, &QWeights{}) {
		n += tensorBytes(t, groupSize, b.len())
	}
	for _, b := range qNorms(c, &QWeights{}) {
		n += 4 * b.len()
	}
	return n
}

// TotalBytesOf is the memory a decoder of weights of type t holds: WeightBytesOf +
// KVCacheBytes + ActivationBytes (the activations are float32 in every type, the cache is
// c.KVCache).
func (c Config) TotalBytesOf(t WeightType, groupSize int) int64 {
	return c.WeightBytesOf(t, groupSize) + c.KVCacheBytes() + c.ActivationBytes()
}

// BytesPerTokenOf is BytesPerToken for weights of type t with groups of groupSize: every
// matrix's values and scales once, one row of the embedding (dim values and, for Q8 and Q4,
// dim/GS scales), the float32 norm weights and the key and value cache rows of
// positions 0..pos (of c.KVCache). BytesPerTokenOf(F32, 0, pos) is BytesPerToken(pos).
func (c Config) BytesPerTokenOf(t WeightType, groupSize, pos int) int64 {
	d := int64(c.Dim)
	return tensorBytes(t, groupSize, c.matrixParams()) + tensorBytes(t, groupSize, d) + 4*c.normParams() + c.cacheBytesRead(pos)
}

// tensorBytes is the size of n elements (whole groups) stored as type t with groups of gs.
func tensorBytes(t WeightType, gs int, n int64) int64 {
	switch t {
	case BF16:
		return 2 * n
	case Q8:
		return n + 4*(n/int64(effectiveGroupSize(t, gs)))
	case Q4:
		return n/2 + 2*(n/int64(effectiveGroupSize(t, gs)))
	}
	return 4 * n
}
