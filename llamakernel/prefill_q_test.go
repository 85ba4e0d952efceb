package llamakernel

import (
	"math"
	"strings"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
)

// compilePrefillQ compiles and opens the prefill on weights of type wt.
func compilePrefillQ(t *testing.T, opts compiler.Options, wt llama.WeightType) *PrefillQ {
	return openKernel(t, FilePrefillQ(wt), opts, llama.CacheF32, func(lib *loader.Library) (*PrefillQ, error) {
		return NewPrefillQ(lib, wt, llama.CacheF32)
	})
}

// prefillQConfigs cover grouped-query and multi-head attention, head sizes 48 and 16, both
// RoPE bases and groups of 32 (the compiled group sums on lanes) and 16 (the loops as
// written), with caches long enough for a prompt of 33 tokens.
var prefillQConfigs = []struct {
	name string
	cfg  llama.Config
	gs   int
}{
	{"gqa-2to1-head48-gs32-theta500k", llama.Config{Dim: 96, HiddenDim: 64, NLayers: 2, NHeads: 2, NKVHeads: 1, VocabSize: 33, SeqLen: 40, RopeTheta: 500000}, 32},
	{"gqa-3to1-head16-gs16", llama.Config{Dim: 96, HiddenDim: 208, NLayers: 2, NHeads: 6, NKVHeads: 2, VocabSize: 50, SeqLen: 36}, 16},
}

// TestPrefillQMatchesDecode feeds prompts through each quantized prefill on both backends, in
// one call (T = 1, 7, 33) and in chunks (a second call at a nonzero position; a batch
// smaller than the prompt), and checks the logits and both KV caches against as many decode
// steps of the compiled decode kernel of the same type (KernelQ): within 1e-4 of the largest
// logit and of the largest cache value, or within flipTolerance after a step that came within
// flipMargin of an int8 rounding boundary (the two kernels sum in different orders; see
// flipMargin). Per token the arithmetic is the decode step's, so they agree closely; the
// largest difference is logged. At least one of the five prompts of each model must be held
// to 1e-4 (the longer ones are clear of every boundary less often).
func TestPrefillQMatchesDecode(t *testing.T) {
	for _, wt := range qTypes {
		for _, b := range prefillBuilds {
			t.Run(wt.String()+"/"+b.name, func(t *testing.T) {
				p := compilePrefillQ(t, b.opts, wt)
				k := compileKernelQ(t, b.opts, wt)
				for _, qc := range prefillQConfigs {
					cfg := qc.cfg
					q := randomQModel(t, cfg, wt, qc.gs, referenceSeed)
					var worst float64
					strict := 0
					for _, tc := range []struct {
						chunks    []int
						maxTokens int // the batch's size; 0: the largest chunk
					}{
						{[]int{1}, 0},
						{[]int{7}, 0},
						{[]int{33}, 0},
						{[]int{3, 4}, 0}, // the second call at pos 3
						{[]int{7}, 2},    // chunks of 2, 2, 2, 1 inside Forward
					} {
						t.Run(chunksName(qc.name, tc.chunks, tc.maxTokens), func(t *testing.T) {
							prefill := func(s *llama.State, b *Batch, tokens []int, pos int) ([]float32, error) {
								return p.Forward(cfg, q, s, b, tokens, pos)
							}
							decode := func(s *llama.State, token, pos int) ([]float32, error) {
								return k.Forward(cfg, q, s, token, pos)
							}
							margin := func(s *llama.State, token, pos int) (float64, error) {
								_, m, err := llama.ForwardQMargin(cfg, q, s, token, pos)
								return m, err
							}
							w, held := matchDecode(t, cfg, tc.chunks, tc.maxTokens, prefill, decode, margin)
							worst = max(worst, w)
							if held == len(tc.chunks) {
								strict++
							}
						})
					}
					if strict < 1 {
						t.Errorf("%s: only %d of 5 prompts clear of rounding boundaries, too few held to 1e-4: pick another referenceSeed", qc.name, strict)
					}
					t.Logf("%s: %d of 5 prompts held to 1e-4, largest logit difference there %.3g of the largest logit", qc.name, strict, worst)
				}
			})
		}
	}
}

// badPrefillQ is a Forward call that must fail: with the tokens at pos, and the weights
// mutate returns (it may change the state and the batch; nil: all unchanged), the error must
// mention want.
type badPrefillQ struct {
	name   string
	tokens []int
	pos    int
	mutate func(q *llama.QWeights, s *llama.State, b *Batch) *llama.QWeights
	want   string
}

// prefillRefusal is a direct call of a prefill kernel, of n_tokens n at position pos with
// group size gs, that the kernel must refuse.
type prefillRefusal struct {
	name   string
	tokens []int64
	n, pos int
	gs     int
}

// TestPrefillQRefusesBadInput checks that each quantized prefill's Forward refuses an empty
// batch, a batch that would run past seq_len, a negative position, a bad token anywhere in the
// batch, short buffers, a bad group size and weights of another type, and writes neither the
// caches nor the logits; and that the kernel itself returns NaN and writes nothing when called
// with a batch past seq_len, a negative position, a bad token or a group size it cannot take.
func TestPrefillQRefusesBadInput(t *testing.T) {
	qc := qConfigs[0]
	cfg := qc.cfg
	for _, wt := range qTypes {
		t.Run(wt.String(), func(t *testing.T) {
			p := compilePrefillQ(t, compiler.Options{Backend: compiler.MLIR}, wt)
			q := randomQModel(t, cfg, wt, qc.gs, 1)
			s := newTestState(t, cfg)
			batch := newTestBatch(t, cfg, 4)
			// A cache already holding two positions, and logits of a marker value.
			if _, err := p.Forward(cfg, q, s, batch, []int{1, 2}, 0); err != nil {
				t.Fatal(err)
			}
			untouched := marked(s)
			other := llama.Q8
			if wt == llama.Q8 {
				other = llama.BF16
			}
			o := randomQModel(t, cfg, other, qc.gs, 1)
			cases := []badPrefillQ{
				{"T = 0", nil, 2, nil, "no tokens"},
				{"past seq_len", []int{1, 2, 3}, cfg.SeqLen - 2, nil, "runs past seq_len 16"},
				{"pos = seq_len", []int{1}, cfg.SeqLen, nil, "position 16 out of range"},
				{"negative pos", []int{1, 2}, -1, nil, "position -1 out of range"},
				{"token = vocab", []int{1, cfg.VocabSize, 2}, 2, nil, "token 97 (prompt position 1) out of range"},
				{"negative token", []int{1, 2, -3}, 2, nil, "token -3 (prompt position 2)"},
				{"first token bad", []int{cfg.VocabSize + 1}, 2, nil, "token 98 out of range"},
				{"short cache", []int{1}, 2, func(q *llama.QWeights, s *llama.State, b *Batch) *llama.QWeights {
					s.KeyCache = s.KeyCache[:10]
					return q
				}, "key_cache has 10 elements"},
				{"short batch", []int{1}, 2, func(q *llama.QWeights, s *llama.State, b *Batch) *llama.QWeights {
					b.Hb = b.Hb[:5]
					return q
				}, "batch: hb has 5 elements"},
				{"other type", []int{1}, 2, func(*llama.QWeights, *llama.State, *Batch) *llama.QWeights { return o },
					FuncNamePrefillQ(wt) + " takes " + wt.String() + " weights, not " + other.String()},
				{"nil weights", []int{1}, 2, func(*llama.QWeights, *llama.State, *Batch) *llama.QWeights { return nil }, "nil weights"},
			}
			switch wt {
			case llama.BF16:
				cases = append(cases, badPrefillQ{"group size", []int{1}, 2, func(q *llama.QWeights, s *llama.State, b *Batch) *llama.QWeights {
					q2 := *q
					q2.GroupSize = 32
					return &q2
				}, "bf16 with group size 32"})
			case llama.Q8, llama.Q4:
				cases = append(cases, badPrefillQ{"group size", []int{1}, 2, func(q *llama.QWeights, s *llama.State, b *Batch) *llama.QWeights {
					q2 := *q
					q2.GroupSize = 48
					return &q2
				}, "group size 48"})
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					q2, s2, b2 := q, *s, *batch
					if tc.mutate != nil {
						q2 = tc.mutate(q, &s2, &b2)
					}
					if _, err := p.Forward(cfg, q2, &s2, &b2, tc.tokens, tc.pos); err == nil || !strings.Contains(err.Error(), tc.want) {
						t.Errorf("err = %v, want it to mention %q", err, tc.want)
					}
					untouched(t)
				})
			}

			// The kernel itself: T < 1, past seq_len, negative pos, a bad last token and a group
			// size it cannot take (q8: one that does not divide dim; q4: an odd one) give NaN and
			// write nothing.
			calls := []prefillRefusal{
				{"T = 0", []int64{1}, 0, 2, q.GroupSize},
				{"T = -1", []int64{1}, -1, 2, q.GroupSize},
				{"past seq_len", []int64{1, 2, 3}, 3, cfg.SeqLen - 2, q.GroupSize},
				{"negative pos", []int64{1}, 1, -1, q.GroupSize},
				{"bad last token", []int64{1, 2, int64(cfg.VocabSize)}, 3, 2, q.GroupSize},
			}
			switch wt {
			case llama.Q8:
				calls = append(calls, prefillRefusal{"gs = 48", []int64{1}, 1, 2, 48})
			case llama.Q4:
				calls = append(calls, prefillRefusal{"gs = 1", []int64{1}, 1, 2, 1})
			}
			for _, c := range calls {
				t.Run("kernel/"+c.name, func(t *testing.T) {
					var rows []any
					for _, buf := range batchBuffers(cfg, batch) {
						rows = append(rows, *buf.data)
					}
					r, err := p.fn.Call(p.args(cfg, q, s, rows, c.tokens, c.n, c.pos, c.gs)...)
					if err != nil {
						t.Fatal(err)
					}
					if !math.IsNaN(float64(r.(float32))) {
						t.Errorf("kernel returned %v, want NaN", r)
					}
					untouched(t)
				})
			}
		})
	}
	if _, err := CompilePrefillQ(t.Context(), nil, compiler.Options{}, llama.F32, llama.CacheF32); err == nil || !strings.Contains(err.Error(), "no quantized kernel decodes f32 weights") {
		t.Errorf("CompilePrefillQ(f32): err = %v", err)
	}
}
