// Package llamakernel binds the compiled SimpLang LLaMA 2 decode step (kernels/llama2.sl) to
// package llama's model: it compiles and loads llama2_forward, checks its signature, and runs
// a decode step on a llama.Config, llama.Weights and llama.State with the contract of
// llama.Forward, the pure-Go reference it is tested against. KernelQ does the same for the
// decode steps on quantized weights (kernels/llama2_bf16.sl, llama2_q8.sl, llama2_q4.sl) with
// llama.QWeights and the contract of llama.ForwardQ. Prefill runs kernels/llama2_prefill.sl:
// a whole prompt (or a chunk of it) in one call, with the contract of as many calls of
// Forward, its projections matrix–matrix products; PrefillQ does the same on quantized weights
// (kernels/llama2_prefill_bf16.sl, llama2_prefill_q8.sl, llama2_prefill_q4.sl) with the
// contract of as many calls of KernelQ.Forward.
//
// Every kernel is compiled for one type of KV cache (llama.CacheType): f32, or f16 (Source),
// and runs on a configuration whose Config.KVCache is that type.
//
//	k, err := llamakernel.Compile(ctx, tools, compiler.Options{}, llama.CacheF32)
//	...
//	defer k.Close()
//	logits, err := k.Forward(cfg, w, s, token, pos)
//
//	kq, err := llamakernel.CompileQ(ctx, tools, compiler.Options{}, llama.Q4, llama.CacheF32)
//	...
//	logits, err := kq.Forward(cfg, q, s, token, pos) // q.Type must be kq.Type
//
//	st, err := kq.Bind(cfg, q, s) // checked once, for a run of tokens on the same buffers
//	defer st.Close()
//	logits, err := st.Forward(token, pos)
//
//	p, err := llamakernel.CompilePrefill(ctx, tools, compiler.Options{}, llama.CacheF32)
//	b, err := llamakernel.NewBatch(cfg, 128, nil)     // scratch for up to 128 tokens a call
//	logits, err := p.Forward(cfg, w, s, b, prompt, 0) // prompt []int at positions 0, 1, …
//
//	pq, err := llamakernel.CompilePrefillQ(ctx, tools, compiler.Options{}, llama.Q8, llama.CacheF32)
//	logits, err := pq.Forward(cfg, q, s, b, prompt, 0) // q.Type must be pq.Type
package llamakernel

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/kernels"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

// File and FuncName name the SimpLang LLaMA 2 decode step (package kernels).
const (
	File     = "llama2.sl"
	FuncName = "llama2_forward"
)

// Kernel is the compiled llama2_forward, loaded and ready to decode.
type Kernel struct{ binding }

// binding is a kernel function looked up in a loaded object. The kernel types of this
// package embed it.
type binding struct {
	lib    *loader.Library
	fn     *loader.Func
	Object *compiler.Object // what was compiled, and by which backend; nil when the caller loaded it
	Cache  llama.CacheType  // the type of KV cache it was compiled for
}

// checkCache refuses a configuration whose KV cache is not of the type the kernel (name) was
// compiled for.
func (b *binding) checkCache(name string, cfg llama.Config) error {
	if cfg.KVCache != b.Cache {
		return fmt.Errorf("llamakernel: %s was compiled for an %v KV cache, but the configuration's is %v; compile it for %v", name, b.Cache, cfg.KVCache, cfg.KVCache)
	}
	return nil
}

// caches are s's key and value caches of type cfg.KVCache, as a kernel's arguments.
func caches(cfg llama.Config, s *llama.State) []any {
	if cfg.KVCache == llama.CacheF16 {
		return []any{s.KeyCacheF16, s.ValueCacheF16}
	}
	return []any{s.KeyCache, s.ValueCache}
}

// Library is the loaded object, e.g. to set its thread count.
func (b *binding) Library() *loader.Library { return b.lib }

// Close unloads the object when the kernel compiled and loaded it itself (Object is set).
func (b *binding) Close() error {
	if b.Object == nil {
		return nil
	}
	return b.lib.Close()
}

// Compile compiles kernels/llama2.sl for a KV cache of type cache with opts (or takes it from
// the build cache) and loads it.
func Compile(ctx context.Context, tools *toolchain.Tools, opts compiler.Options, cache llama.CacheType) (*Kernel, error) {
	lib, obj, err := load(ctx, tools, File, opts, cache)
	if err != nil {
		return nil, err
	}
	k, err := New(lib, cache)
	if err != nil {
		lib.Close()
		return nil, err
	}
	k.Object = obj
	return k, nil
}

// load compiles kernel file (package kernels) for a KV cache of type cache with opts, or takes
// it from the build cache, and opens it.
func load(ctx context.Context, tools *toolchain.Tools, file string, opts compiler.Options, cache llama.CacheType) (*loader.Library, *compiler.Object, error) {
	src, err := Source(file, cache)
	if err != nil {
		return nil, nil, err
	}
	return compiler.Load(ctx, tools, "kernels/"+file, src, opts)
}

// cacheParams is how every kernel's functions that touch the KV cache take it.
var cacheParams = []byte("f32[] key_cache, f32[] value_cache")

// Source is the SimpLang source of kernel file (package kernels) for a KV cache of type
// cache. The files are written for the f32 cache, and every function in them that touches the
// cache takes it as "f32[] key_cache, f32[] value_cache": the f16 kernel is the same source
// with those parameters' type changed, so that its stores into the cache round to halves and
// its loads widen them (language §2.1). A function missed would not compile, since f16[] does
// not pass as f32[].
func Source(file string, cache llama.CacheType) ([]byte, error) {
	src, err := kernels.Source(file)
	if err != nil || cache == llama.CacheF32 {
		return src, err
	}
	if cache != llama.CacheF16 {
		return nil, fmt.Errorf("llamakernel: no kernel keeps a KV cache of type %v", cache)
	}
	if !bytes.Contains(src, cacheParams) {
		return nil, fmt.Errorf("llamakernel: kernels/%s takes no %q", file, cacheParams)
	}
	return bytes.ReplaceAll(src, cacheParams, []byte("f16[] key_cache, f16[] value_cache")), nil
}

// withCache is signature f with its key_cache and value_cache arrays of type cache.
func withCache(f abi.Func, cache llama.CacheType) abi.Func {
	if cache != llama.CacheF16 {
		return f
	}
	f.Params = slices.Clone(f.Params)
	for i, p := range f.Params {
		if p.Name == "key_cache" || p.Name == "value_cache" {
			f.Params[i].Kind = abi.F16
		}
	}
	return f
}

// signature is the report's signature: 24 f32 arrays, then 9 i64, returning logits[0] (the
// two caches f16 arrays in the kernel for an f16 cache).
var signature = func() abi.Func {
	f := abi.Func{Name: FuncName, Result: abi.F32}
	for _, name := range []string{"token_emb", "rms_att_w", "rms_ffn_w", "wq", "wk", "wv", "wo", "w1", "w2", "w3",
		"rms_final_w", "wcls", "x", "xb", "xb2", "q", "k", "v", "att", "hb", "hb2", "logits", "key_cache", "value_cache"} {
		f.Params = append(f.Params, abi.Param{Name: name, Kind: abi.F32, Array: true})
	}
	for _, name := range []string{"token", "pos", "dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"} {
		f.Params = append(f.Params, abi.Param{Name: name, Kind: abi.I64})
	}
	return f
}()

// New finds llama2_forward for a KV cache of type cache in lib and checks that it has the
// expected signature. The kernel does not own lib.
func New(lib *loader.Library, cache llama.CacheType) (*Kernel, error) {
	fn, err := compiler.Lookup(lib, withCache(signature, cache))
	if err != nil {
		return nil, err
	}
	return &Kernel{binding{lib: lib, fn: fn, Cache: cache}}, nil
}

// Theta is the RoPE base kernels/llama2.sl rotates with (rope_tables): llama2_forward keeps
// the report's 129 arguments, so the base is not one of them.
const Theta = 10000.0

// Forward runs one decode step with the compiled kernel, with the contract of llama.Forward:
// it checks every buffer's size and the token and position before calling (the kernel itself
// would return NaN for a bad token or position and write nothing), and the model's RoPE base,
// and returns s.Logits. A caller that decodes many tokens binds the step once (Bind).
func (k *Kernel) Forward(cfg llama.Config, w *llama.Weights, s *llama.State, token, pos int) ([]float32, error) {
	st, err := k.Bind(cfg, w, s)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.Forward(token, pos)
}

// Bind checks the buffers of w and s, the model's RoPE base and the cache's type as Forward
// does, and binds the decode step to them.
func (k *Kernel) Bind(cfg llama.Config, w *llama.Weights, s *llama.State) (*Step, error) {
	if err := llama.CheckStep(cfg, w, s, 0, 0); err != nil {
		return nil, err
	}
	if err := k.checkCache(FuncName, cfg); err != nil {
		return nil, err
	}
	if cfg.Theta() != Theta {
		// llama2_forward keeps the report's 129 arguments, so its RoPE base is fixed.
		return nil, fmt.Errorf("llamakernel: %s rotates with RoPE base %g, but the model's is %g", FuncName, Theta, cfg.Theta())
	}
	args := []any{w.TokenEmb, w.RmsAtt, w.RmsFfn, w.Wq, w.Wk, w.Wv, w.Wo, w.W1, w.W2, w.W3, w.RmsFinal, w.Wcls,
		s.X, s.Xb, s.Xb2, s.Q, s.K, s.V, s.Att, s.Hb, s.Hb2, s.Logits}
	args = append(args, caches(cfg, s)...)
	return bind(k.fn, FuncName, cfg, s.Logits, append(args, 0, 0, cfg.Dim, cfg.HiddenDim, cfg.NLayers, cfg.NHeads, cfg.NKVHeads, cfg.VocabSize, cfg.SeqLen))
}
