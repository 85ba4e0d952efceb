package llamakernel

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

// FilePrefill and FuncNamePrefill name the SimpLang LLaMA 2 prefill on f32 weights (package
// kernels): T tokens at positions pos … pos+T−1 in one call, its projections matrix–matrix
// products. It is a file of its own so that the decode step's object (its code, its C ABI
// and its compile time) stays as it is.
const (
	FilePrefill     = "llama2_prefill.sl"
	FuncNamePrefill = "llama2_prefill"
)

// signaturePrefill is llama2_prefill's: the decode step's 24 f32 arrays with the nine run
// buffers sized for the batch, the tokens (i64[]), then n_tokens, pos, dim, hidden_dim,
// n_layers, n_heads, n_kv_heads, vocab_size, seq_len (i64) and the RoPE base (f64), returning
// logits[0] (the two caches f16 arrays in the kernel for an f16 cache).
var signaturePrefill = func() abi.Func {
	f := abi.Func{Name: FuncNamePrefill, Result: abi.F32}
	for _, name := range []string{"token_emb", "rms_att_w", "rms_ffn_w", "wq", "wk", "wv", "wo", "w1", "w2", "w3",
		"rms_final_w", "wcls", "x", "xb", "xb2", "q", "k", "v", "att", "hb", "hb2", "logits", "key_cache", "value_cache"} {
		f.Params = append(f.Params, abi.Param{Name: name, Kind: abi.F32, Array: true})
	}
	f.Params = append(f.Params, abi.Param{Name: "tokens", Kind: abi.I64, Array: true})
	for _, name := range []string{"n_tokens", "pos", "dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"} {
		f.Params = append(f.Params, abi.Param{Name: name, Kind: abi.I64})
	}
	f.Params = append(f.Params, abi.Param{Name: "theta", Kind: abi.F64})
	return f
}()

// Prefill is the compiled llama2_prefill, loaded and ready to feed prompts through the model.
type Prefill struct{ binding }

// CompilePrefill compiles kernels/llama2_prefill.sl for a KV cache of type cache with opts
// (or takes it from the build cache) and loads it.
func CompilePrefill(ctx context.Context, tools *toolchain.Tools, opts compiler.Options, cache llama.CacheType) (*Prefill, error) {
	lib, obj, err := load(ctx, tools, FilePrefill, opts, cache)
	if err != nil {
		return nil, err
	}
	p, err := NewPrefill(lib, cache)
	if err != nil {
		lib.Close()
		return nil, err
	}
	p.Object = obj
	return p, nil
}

// NewPrefill finds llama2_prefill for a KV cache of type cache in lib and checks that it has
// the expected signature. The kernel does not own lib.
func NewPrefill(lib *loader.Library, cache llama.CacheType) (*Prefill, error) {
	fn, err := compiler.Lookup(lib, withCache(signaturePrefill, cache))
	if err != nil {
		return nil, err
	}
	return &Prefill{binding{lib: lib, fn: fn, Cache: cache}}, nil
}

// Batch holds the run buffers of a prefill of up to MaxTokens tokens: the decode step's
// scratch (llama.State's X … Hb2) with one row per token. The KV cache and the logits are the
// llama.State's.
type Batch struct {
	MaxTokens int
	X         []float32 // (max_tokens, dim) the residual stream of every token
	Xb        []float32 // (max_tokens, dim)
	Xb2       []float32 // (max_tokens, dim)
	Q         []float32 // (max_tokens, dim)
	K         []float32 // (max_tokens, kv_dim)
	V         []float32 // (max_tokens, kv_dim)
	Att       []float32 // (max_tokens, seq_len) attention scores, then weights, of one head
	Hb        []float32 // (max_tokens, hidden_dim)
	Hb2       []float32 // (max_tokens, hidden_dim)
}

// batchBuffers lists the buffers of b with the row width of each, in the kernel's order.
func batchBuffers(cfg llama.Config, b *Batch) []struct {
	name  string
	width int
	data  *[]float32
} {
	d, kv, h := cfg.Dim, cfg.KVDim(), cfg.HiddenDim
	return []struct {
		name  string
		width int
		data  *[]float32
	}{
		{"x", d, &b.X}, {"xb", d, &b.Xb}, {"xb2", d, &b.Xb2}, {"q", d, &b.Q},
		{"k", kv, &b.K}, {"v", kv, &b.V}, {"att", cfg.SeqLen, &b.Att},
		{"hb", h, &b.Hb}, {"hb2", h, &b.Hb2},
	}
}

// NewBatch allocates the buffers of a prefill of up to maxTokens tokens for cfg, each with one
// call to alloc (nil means make). A longer prompt is fed in chunks of maxTokens.
func NewBatch(cfg llama.Config, maxTokens int, alloc llama.Allocator) (*Batch, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if maxTokens < 1 {
		return nil, fmt.Errorf("llamakernel: a batch of %d tokens: want at least 1", maxTokens)
	}
	b := &Batch{MaxTokens: maxTokens}
	for _, buf := range batchBuffers(cfg, b) {
		n := maxTokens * buf.width
		if alloc == nil {
			*buf.data = make([]float32, n)
			continue
		}
		s, err := alloc(n)
		if err != nil {
			return nil, fmt.Errorf("batch: allocating %s (%d×%d floats): %w", buf.name, maxTokens, buf.width, err)
		}
		if len(s) != n {
			return nil, fmt.Errorf("batch: allocating %s: allocator returned %d floats, want %d", buf.name, len(s), n)
		}
		*buf.data = s
	}
	return b, nil
}

// check reports a buffer of b too small for its MaxTokens rows under cfg.
func (b *Batch) check(cfg llama.Config) error {
	if b == nil {
		return errors.New("llamakernel: nil batch")
	}
	if b.MaxTokens < 1 {
		return fmt.Errorf("llamakernel: batch of %d tokens: want at least 1", b.MaxTokens)
	}
	for _, buf := range batchBuffers(cfg, b) {
		if want := b.MaxTokens * buf.width; len(*buf.data) < want {
			return fmt.Errorf("llamakernel: batch: %s has %d elements, want %d×%d = %d", buf.name, len(*buf.data), b.MaxTokens, buf.width, want)
		}
	}
	return nil
}

// Forward feeds tokens through the model at positions pos … pos+len(tokens)−1, storing their
// keys and values in s's caches (positions 0 … pos−1 must already be there), and returns the
// logits after the last token (s.Logits): what len(tokens) calls of Kernel.Forward (or
// llama.Forward) would leave, with the weights read once per batch instead of once per token.
// It runs the kernel on chunks of at most b.MaxTokens tokens.
//
// It checks everything before the first call and then writes nothing on error: every buffer's
// size, an empty batch, a batch that would run past seq_len, a negative pos and every token.
func (p *Prefill) Forward(cfg llama.Config, w *llama.Weights, s *llama.State, b *Batch, tokens []int, pos int) ([]float32, error) {
	check := func(token int) error {
		if err := llama.CheckStep(cfg, w, s, token, pos); err != nil {
			return err
		}
		return p.checkCache(FuncNamePrefill, cfg)
	}
	return runPrefill(cfg, s, b, tokens, pos, FuncNamePrefill, check, func(rows []any, chunk []int64, at int) (any, error) {
		args := append([]any{w.TokenEmb, w.RmsAtt, w.RmsFfn, w.Wq, w.Wk, w.Wv, w.Wo, w.W1, w.W2, w.W3, w.RmsFinal, w.Wcls}, rows...)
		args = append(append(args, s.Logits), caches(cfg, s)...)
		args = append(args, chunk, len(chunk), at)
		return p.fn.Call(append(args, cfg.Dim, cfg.HiddenDim, cfg.NLayers, cfg.NHeads, cfg.NKVHeads, cfg.VocabSize, cfg.SeqLen, cfg.Theta())...)
	})
}

// runPrefill is the Forward of every prefill kernel (name): checkStep checks the weights, the
// state and the first token at pos as a decode step would, and call runs the kernel on one
// chunk of tokens at position at, with rows, the batch's nine buffers cut to the chunk's
// rows, in the kernel's order (x … hb2). Before the first call it checks the rest: an empty
// batch, a batch past seq_len, every token and the batch's buffers, so that nothing is written
// on error.
func runPrefill(cfg llama.Config, s *llama.State, b *Batch, tokens []int, pos int, name string,
	checkStep func(token int) error, call func(rows []any, chunk []int64, at int) (any, error)) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, errors.New("llamakernel: prefill of no tokens")
	}
	if err := checkStep(tokens[0]); err != nil {
		return nil, err
	}
	if pos > cfg.SeqLen-len(tokens) {
		return nil, fmt.Errorf("llamakernel: prefill of %d tokens at position %d runs past seq_len %d: the KV cache holds seq_len positions", len(tokens), pos, cfg.SeqLen)
	}
	for i, t := range tokens {
		if t < 0 || t >= cfg.VocabSize {
			return nil, fmt.Errorf("token %d (prompt position %d) out of range [0, %d) (vocab_size)", t, i, cfg.VocabSize)
		}
	}
	if err := b.check(cfg); err != nil {
		return nil, err
	}
	ids := make([]int64, len(tokens))
	for i, t := range tokens {
		ids[i] = int64(t)
	}
	for start := 0; start < len(ids); start += b.MaxTokens {
		chunk := ids[start:min(start+b.MaxTokens, len(ids))]
		var rows []any
		for _, buf := range batchBuffers(cfg, b) {
			rows = append(rows, (*buf.data)[:len(chunk)*buf.width])
		}
		r, err := call(rows, chunk, pos+start)
		if err != nil {
			return nil, err
		}
		if math.IsNaN(float64(r.(float32))) && !math.IsNaN(float64(s.Logits[0])) {
			return nil, fmt.Errorf("llamakernel: %s refused %d tokens at position %d", name, len(chunk), pos+start)
		}
	}
	return s.Logits, nil
}
