package llamakernel

import (
	"context"
	"fmt"
	"math"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

// FileQ8 and FuncNameQ8 name the SimpLang LLaMA 2 decode step on q8 weights (package
// kernels).
const (
	FileQ8     = "llama2_q8.sl"
	FuncNameQ8 = "llama2_q8_forward"
)

// KernelQ8 is the compiled llama2_q8_forward, loaded and ready to decode with llama.QWeights
// of type Q8.
type KernelQ8 struct {
	lib    *loader.Library
	fn     *loader.Func
	Object *compiler.Object // what was compiled, and by which backend
}

// CompileQ8 compiles kernels/llama2_q8.sl with opts (or takes it from the build cache) and
// loads it.
func CompileQ8(ctx context.Context, tools *toolchain.Tools, opts compiler.Options) (*KernelQ8, error) {
	lib, obj, err := load(ctx, tools, FileQ8, opts)
	if err != nil {
		return nil, err
	}
	k, err := NewQ8(lib)
	if err != nil {
		lib.Close()
		return nil, err
	}
	k.Object = obj
	return k, nil
}

// signatureQ8 is llama2_q8_forward's: each quantized tensor as its i8 values and f32 scales,
// the f32 norms and run state, 10 i64 and the f64 RoPE base, returning logits[0].
var signatureQ8 = func() abi.Func {
	f := abi.Func{Name: FuncNameQ8, Result: abi.F32}
	array := func(kind abi.Kind, names ...string) {
		for _, name := range names {
			f.Params = append(f.Params, abi.Param{Name: name, Kind: kind, Array: true})
		}
	}
	tensor := func(names ...string) {
		for _, name := range names {
			array(abi.I8, name)
			array(abi.F32, name+"_s")
		}
	}
	tensor("token_emb")
	array(abi.F32, "rms_att_w", "rms_ffn_w")
	tensor("wq", "wk", "wv", "wo", "w1", "w2", "w3")
	array(abi.F32, "rms_final_w")
	tensor("wcls")
	array(abi.F32, "x", "xb", "xb2", "q", "k", "v", "att", "hb", "hb2", "logits", "key_cache", "value_cache")
	for _, name := range []string{"token", "pos", "dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len", "gs"} {
		f.Params = append(f.Params, abi.Param{Name: name, Kind: abi.I64})
	}
	f.Params = append(f.Params, abi.Param{Name: "theta", Kind: abi.F64})
	return f
}()

// NewQ8 finds llama2_q8_forward in lib and checks that it has the expected signature. The
// kernel does not own lib.
func NewQ8(lib *loader.Library) (*KernelQ8, error) {
	fn, err := compiler.Lookup(lib, signatureQ8)
	if err != nil {
		return nil, err
	}
	return &KernelQ8{lib: lib, fn: fn}, nil
}

// Library is the loaded object, e.g. to set its thread count.
func (k *KernelQ8) Library() *loader.Library { return k.lib }

// Close unloads the object when the kernel was made by CompileQ8.
func (k *KernelQ8) Close() error {
	if k.Object == nil {
		return nil
	}
	return k.lib.Close()
}

// Forward runs one decode step with the compiled kernel, with the contract of
// llama.ForwardQ on weights of type Q8: it checks every buffer's size, the type and group
// size, and the token and position before calling (the kernel itself would return NaN for
// a bad token, position or group size and write nothing), and returns s.Logits.
func (k *KernelQ8) Forward(cfg llama.Config, q *llama.QWeights, s *llama.State, token, pos int) ([]float32, error) {
	if err := llama.CheckStepQ(cfg, q, s, token, pos); err != nil {
		return nil, err
	}
	if q.Type != llama.Q8 {
		return nil, fmt.Errorf("llamakernel: %s takes q8 weights, not %v", FuncNameQ8, q.Type)
	}
	r, err := k.fn.Call(q.TokenEmb.Q8, q.TokenEmb.Scales, q.RmsAtt, q.RmsFfn,
		q.Wq.Q8, q.Wq.Scales, q.Wk.Q8, q.Wk.Scales, q.Wv.Q8, q.Wv.Scales, q.Wo.Q8, q.Wo.Scales,
		q.W1.Q8, q.W1.Scales, q.W2.Q8, q.W2.Scales, q.W3.Q8, q.W3.Scales,
		q.RmsFinal, q.Wcls.Q8, q.Wcls.Scales,
		s.X, s.Xb, s.Xb2, s.Q, s.K, s.V, s.Att, s.Hb, s.Hb2, s.Logits, s.KeyCache, s.ValueCache,
		token, pos, cfg.Dim, cfg.HiddenDim, cfg.NLayers, cfg.NHeads, cfg.NKVHeads, cfg.VocabSize, cfg.SeqLen,
		q.GroupSize, cfg.Theta())
	if err != nil {
		return nil, err
	}
	if math.IsNaN(float64(r.(float32))) && !math.IsNaN(float64(s.Logits[0])) {
		return nil, fmt.Errorf("llamakernel: %s refused token %d at position %d", FuncNameQ8, token, pos)
	}
	return s.Logits, nil
}
