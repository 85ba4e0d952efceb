package llamakernel

import (
	"context"
	"errors"
	"fmt"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

// PrefillQ is a compiled prefill on quantized weights (llama2_prefill_q8, …), loaded and
// ready to feed prompts through a model of llama.QWeights of its Type: T tokens in one call,
// with the arithmetic of T calls of the decode step of the same type (KernelQ), each weight
// row read once per batch.
type PrefillQ struct {
	Type llama.WeightType // the weights it runs on
	binding
}

// CompilePrefillQ compiles the prefill on weights of type t (kernels/llama2_prefill_q8.sl for
// q8, …) for a KV cache of type cache with opts, or takes it from the build cache, and loads
// it.
func CompilePrefillQ(ctx context.Context, tools *toolchain.Tools, opts compiler.Options, t llama.WeightType, cache llama.CacheType) (*PrefillQ, error) {
	q, err := qKernelOf(t)
	if err != nil {
		return nil, err
	}
	lib, obj, err := load(ctx, tools, q.prefillFile, opts, cache)
	if err != nil {
		return nil, err
	}
	p, err := NewPrefillQ(lib, t, cache)
	if err != nil {
		lib.Close()
		return nil, err
	}
	p.Object = obj
	return p, nil
}

// NewPrefillQ finds the prefill on weights of type t for a KV cache of type cache in lib and
// checks that it has the expected signature. The kernel does not own lib.
func NewPrefillQ(lib *loader.Library, t llama.WeightType, cache llama.CacheType) (*PrefillQ, error) {
	q, err := qKernelOf(t)
	if err != nil {
		return nil, err
	}
	fn, err := compiler.Lookup(lib, q.prefillSignature(cache))
	if err != nil {
		return nil, err
	}
	return &PrefillQ{Type: t, binding: binding{lib: lib, fn: fn, Cache: cache}}, nil
}

// Forward is Prefill.Forward on quantized weights: it feeds tokens through the model at
// positions pos … pos+len(tokens)−1, in chunks of at most b.MaxTokens tokens, storing their
// keys and values in s's caches, and returns the logits after the last token (s.Logits): what
// len(tokens) calls of KernelQ.Forward would leave. It checks what KernelQ.Forward checks and
// what Prefill.Forward checks before the first call, and then writes nothing on error; weights
// of a type other than the kernel's are refused.
func (p *PrefillQ) Forward(cfg llama.Config, q *llama.QWeights, s *llama.State, b *Batch, tokens []int, pos int) ([]float32, error) {
	if q == nil {
		return nil, errors.New("llamakernel: nil weights")
	}
	name := qKernels[p.Type].prefillName
	if q.Type != p.Type {
		return nil, fmt.Errorf("llamakernel: %s takes %v weights, not %v", name, p.Type, q.Type)
	}
	check := func(token int) error {
		if err := llama.CheckStepQ(cfg, q, s, token, pos); err != nil {
			return err
		}
		return p.checkCache(name, cfg)
	}
	return runPrefill(cfg, s, b, tokens, pos, name, check, func(rows []any, chunk []int64, at int) (any, error) {
		return p.fn.Call(p.args(cfg, q, s, rows, chunk, len(chunk), at, q.GroupSize)...)
	})
}

// args are the kernel's arguments for the first n tokens of chunk at position at, with the
// batch's rows (see runPrefill) and group size gs (passed only to kernels with groups).
func (p *PrefillQ) args(cfg llama.Config, q *llama.QWeights, s *llama.State, rows []any, chunk []int64, n, at, gs int) []any {
	args := append(weightArgsQ(p.Type, q), rows...)
	args = append(append(args, s.Logits), caches(cfg, s)...)
	args = append(args, chunk, n, at)
	return append(args, sizeArgsQ(p.Type, cfg, gs)...)
}
