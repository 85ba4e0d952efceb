package llamakernel

import (
	"context"
	"fmt"
	"strings"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

// qKernel describes the SimpLang kernels of one quantized weight type: the files in package
// kernels and the functions of its decode step and its prefill, and how each quantized
// tensor is passed (its values' kind, and its scales' kind, Void when the type has no
// scales). Every quantized decode step takes the same arguments in the same order
// (llama2_q8.sl's): each tensor as its values and scales, the f32 norms and run state, then
// token, pos, dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len, gs (only
// for types with groups) and the f64 RoPE base. Every prefill takes the same with the i64[]
// tokens after the run state and n_tokens in place of token, as llama2_prefill.sl.
type qKernel struct {
	file, name               string
	prefillFile, prefillName string
	values, scales           abi.Kind
}

// qKernels are the quantized weight types that have a kernel.
var qKernels = map[llama.WeightType]qKernel{
	llama.BF16: {file: "llama2_bf16.sl", name: "llama2_bf16_forward",
		prefillFile: "llama2_prefill_bf16.sl", prefillName: "llama2_prefill_bf16", values: abi.BF16},
	llama.Q8: {file: "llama2_q8.sl", name: "llama2_q8_forward",
		prefillFile: "llama2_prefill_q8.sl", prefillName: "llama2_prefill_q8", values: abi.I8, scales: abi.F32},
	llama.Q4: {file: "llama2_q4.sl", name: "llama2_q4_forward",
		prefillFile: "llama2_prefill_q4.sl", prefillName: "llama2_prefill_q4", values: abi.U8, scales: abi.F16},
}

// FileQ and FuncNameQ name the SimpLang decode step on weights of type t (package kernels),
// or return "" when t has no quantized kernel.
func FileQ(t llama.WeightType) string     { return qKernels[t].file }
func FuncNameQ(t llama.WeightType) string { return qKernels[t].name }

// FilePrefillQ and FuncNamePrefillQ name the SimpLang prefill on weights of type t (package
// kernels), or return "" when t has no quantized kernel.
func FilePrefillQ(t llama.WeightType) string     { return qKernels[t].prefillFile }
func FuncNamePrefillQ(t llama.WeightType) string { return qKernels[t].prefillName }

// QTypes lists the quantized weight types that have a kernel, in the order of
// llama.WeightType.
func QTypes() []llama.WeightType {
	var ts []llama.WeightType
	for t := llama.F32; t <= llama.Q4; t++ {
		if _, ok := qKernels[t]; ok {
			ts = append(ts, t)
		}
	}
	return ts
}

func (q qKernel) grouped() bool { return q.scales != abi.Void }

// signature is the decode step's: each quantized tensor as its values (and scales), the f32
// norms and run state, the i64 sizes (gs only with groups) and the f64 RoPE base, returning
// logits[0].
func (q qKernel) signature(cache llama.CacheType) abi.Func {
	return withCache(q.signatureOf(q.name, false), cache)
}

// prefillSignature is the prefill's: the decode step's with the i64[] tokens after the run
// state and n_tokens in place of token.
func (q qKernel) prefillSignature(cache llama.CacheType) abi.Func {
	return withCache(q.signatureOf(q.prefillName, true), cache)
}

func (q qKernel) signatureOf(name string, prefill bool) abi.Func {
	f := abi.Func{Name: name, Result: abi.F32}
	array := func(kind abi.Kind, names ...string) {
		for _, name := range names {
			f.Params = append(f.Params, abi.Param{Name: name, Kind: kind, Array: true})
		}
	}
	tensor := func(names ...string) {
		for _, name := range names {
			array(q.values, name)
			if q.grouped() {
				array(q.scales, name+"_s")
			}
		}
	}
	tensor("token_emb")
	array(abi.F32, "rms_att_w", "rms_ffn_w")
	tensor("wq", "wk", "wv", "wo", "w1", "w2", "w3")
	array(abi.F32, "rms_final_w")
	tensor("wcls")
	array(abi.F32, "x", "xb", "xb2", "q", "k", "v", "att", "hb", "hb2", "logits", "key_cache", "value_cache")
	ints := []string{"token", "pos", "dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"}
	if prefill {
		array(abi.I64, "tokens")
		ints[0] = "n_tokens"
	}
	if q.grouped() {
		ints = append(ints, "gs")
	}
	for _, name := range ints {
		f.Params = append(f.Params, abi.Param{Name: name, Kind: abi.I64})
	}
	f.Params = append(f.Params, abi.Param{Name: "theta", Kind: abi.F64})
	return f
}

// KernelQ is a compiled quantized decode step (llama2_q8_forward, …), loaded and ready to
// decode with llama.QWeights of its Type.
type KernelQ struct {
	Type llama.WeightType // the weights it decodes
	binding
}

// CompileQ compiles the decode step on weights of type t (kernels/llama2_q8.sl for q8, …)
// for a KV cache of type cache with opts, or takes it from the build cache, and loads it.
func CompileQ(ctx context.Context, tools *toolchain.Tools, opts compiler.Options, t llama.WeightType, cache llama.CacheType) (*KernelQ, error) {
	q, err := qKernelOf(t)
	if err != nil {
		return nil, err
	}
	lib, obj, err := load(ctx, tools, q.file, opts, cache)
	if err != nil {
		return nil, err
	}
	k, err := NewQ(lib, t, cache)
	if err != nil {
		lib.Close()
		return nil, err
	}
	k.Object = obj
	return k, nil
}

func qKernelOf(t llama.WeightType) (qKernel, error) {
	q, ok := qKernels[t]
	if !ok {
		var names []string
		for _, t := range QTypes() {
			names = append(names, t.String())
		}
		return q, fmt.Errorf("llamakernel: no quantized kernel decodes %v weights; there are kernels for %s", t, strings.Join(names, ", "))
	}
	return q, nil
}

// NewQ finds the decode step on weights of type t for a KV cache of type cache in lib and
// checks that it has the expected signature. The kernel does not own lib.
func NewQ(lib *loader.Library, t llama.WeightType, cache llama.CacheType) (*KernelQ, error) {
	q, err := qKernelOf(t)
	if err != nil {
		return nil, err
	}
	fn, err := compiler.Lookup(lib, q.signature(cache))
	if err != nil {
		return nil, err
	}
	return &KernelQ{Type: t, binding: binding{lib: lib, fn: fn, Cache: cache}}, nil
}

// Forward runs one decode step with the compiled kernel, with the contract of
// llama.ForwardQ: it checks every buffer's size, the type and group size, and the token and
// position before calling (the kernel itself would return NaN for a bad token, position or
// group size and write nothing), and returns s.Logits. Weights of a type other than the
// kernel's are refused. A caller that decodes many tokens binds the step once (Bind).
func (k *KernelQ) Forward(cfg llama.Config, q *llama.QWeights, s *llama.State, token, pos int) ([]float32, error) {
	st, err := k.Bind(cfg, q, s)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.Forward(token, pos)
}

// Bind checks the weights q and the buffers of s as Forward does, and binds the decode step
// to them.
func (k *KernelQ) Bind(cfg llama.Config, q *llama.QWeights, s *llama.State) (*Step, error) {
	if q == nil {
		return nil, fmt.Errorf("llamakernel: nil weights")
	}
	name := qKernels[k.Type].name
	if q.Type != k.Type {
		return nil, fmt.Errorf("llamakernel: %s takes %v weights, not %v", name, k.Type, q.Type)
	}
	if err := llama.CheckStepQ(cfg, q, s, 0, 0); err != nil {
		return nil, err
	}
	if err := k.checkCache(name, cfg); err != nil {
		return nil, err
	}
	return bind(k.fn, name, cfg, s.Logits, k.args(cfg, q, s, 0, 0, q.GroupSize))
}

// args are the kernel's arguments for one step on q (of the kernel's type), with group size
// gs (passed only to kernels with groups).
func (k *KernelQ) args(cfg llama.Config, q *llama.QWeights, s *llama.State, token, pos, gs int) []any {
	args := weightArgsQ(k.Type, q)
	args = append(args, s.X, s.Xb, s.Xb2, s.Q, s.K, s.V, s.Att, s.Hb, s.Hb2, s.Logits)
	args = append(append(args, caches(cfg, s)...), token, pos)
	return append(args, sizeArgsQ(k.Type, cfg, gs)...)
}

// weightArgsQ are the arguments of the weights q to a kernel of type t: every tensor as its
// values (and scales), and the norms, in the kernels' order.
func weightArgsQ(t llama.WeightType, q *llama.QWeights) []any {
	var args []any
	tensor := func(ts ...*llama.QTensor) {
		for _, qt := range ts {
			switch t {
			case llama.BF16:
				args = append(args, qt.BF16)
			case llama.Q8:
				args = append(args, qt.Q8, qt.Scales)
			case llama.Q4:
				args = append(args, qt.Q4, qt.Half)
			}
		}
	}
	tensor(&q.TokenEmb)
	args = append(args, q.RmsAtt, q.RmsFfn)
	tensor(&q.Wq, &q.Wk, &q.Wv, &q.Wo, &q.W1, &q.W2, &q.W3)
	args = append(args, q.RmsFinal)
	tensor(&q.Wcls)
	return args
}

// sizeArgsQ are the last arguments of a kernel of type t, after token (or n_tokens) and pos:
// the model's sizes, the group size gs for a type with groups, and the RoPE base.
func sizeArgsQ(t llama.WeightType, cfg llama.Config, gs int) []any {
	args := []any{cfg.Dim, cfg.HiddenDim, cfg.NLayers, cfg.NHeads, cfg.NKVHeads, cfg.VocabSize, cfg.SeqLen}
	if qKernels[t].grouped() {
		args = append(args, gs)
	}
	return append(args, cfg.Theta())
}
