package llamakernel

import (
	"math"
	"strings"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
)

// compileKernelQ compiles and opens the decode step on weights of type wt.
func compileKernelQ(t *testing.T, opts compiler.Options, wt llama.WeightType) *KernelQ {
	return openKernel(t, FileQ(wt), opts, func(lib *loader.Library) (*KernelQ, error) { return NewQ(lib, wt) })
}

// q8Configs cover multi-head and grouped-query attention, head sizes other than 64, both
// RoPE bases and groups of 32 and 16. The last one is big enough for the fused w1/w3 mat-vec
// to run on threads.
var q8Configs = []struct {
	name string
	cfg  llama.Config
	gs   int
}{
	{"mha-head16-gs32", llama.Config{Dim: 64, HiddenDim: 160, NLayers: 2, NHeads: 4, NKVHeads: 4, VocabSize: 97, SeqLen: 16}, 32},
	{"gqa-3to1-head16-gs16-theta500k", llama.Config{Dim: 96, HiddenDim: 208, NLayers: 3, NHeads: 6, NKVHeads: 2, VocabSize: 50, SeqLen: 12, RopeTheta: 500000}, 16},
	{"gqa-2to1-head48-gs32-theta500k", llama.Config{Dim: 96, HiddenDim: 64, NLayers: 2, NHeads: 2, NKVHeads: 1, VocabSize: 33, SeqLen: 10, RopeTheta: 500000}, 32},
	{"mha-head64-gs16", llama.Config{Dim: 128, HiddenDim: 672, NLayers: 2, NHeads: 2, NKVHeads: 2, VocabSize: 600, SeqLen: 10}, 16},
}

// randomQ8Model quantizes randomModel's weights to q8 with groups of gs. The first group of
// layer 0's attention norm weights is zero, so that every position quantizes an all-zero
// group (scale 0).
func randomQ8Model(t *testing.T, cfg llama.Config, gs int, seed uint64) *llama.QWeights {
	t.Helper()
	w := randomModel(t, cfg, seed, 0.3)
	clear(w.RmsAtt[:gs])
	q, err := llama.Quantize(cfg, w, llama.Q8, gs, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// TestKernelQ8MatchesReference runs the compiled llama2_q8_forward and llama.ForwardQ side by
// side over ten positions on both backends: every logit must agree within 1e-4 of the
// largest logit magnitude. The largest difference seen is logged.
func TestKernelQ8MatchesReference(t *testing.T) {
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		k := compileKernelQ(t, compiler.Options{Backend: backend}, llama.Q8)
		for _, qc := range q8Configs {
			t.Run(backend.String()+"/"+qc.name, func(t *testing.T) {
				cfg := qc.cfg
				q := randomQ8Model(t, cfg, qc.gs, 7)
				ks, rs := newTestState(t, cfg), newTestState(t, cfg)
				var worst float64
				for pos := range 10 {
					token := (pos*31 + 5) % cfg.VocabSize
					got, err := k.Forward(cfg, q, ks, token, pos)
					if err != nil {
						t.Fatal(err)
					}
					want, err := llama.ForwardQ(cfg, q, rs, token, pos)
					if err != nil {
						t.Fatal(err)
					}
					if msg := compareLogits(got, want, 1e-4); msg != "" {
						t.Fatalf("pos %d token %d: %s", pos, token, msg)
					}
					worst = max(worst, relativeError(got, want))
				}
				t.Logf("largest difference: %.3g of the largest logit", worst)
			})
		}
	}
}

// relativeError is the largest |got - want| over max|want|.
func relativeError(got, want []float32) float64 {
	var scale, diff float64
	for i := range want {
		scale = math.Max(scale, math.Abs(float64(want[i])))
		diff = math.Max(diff, math.Abs(float64(got[i])-float64(want[i])))
	}
	return diff / scale
}

func TestKernelQ8RefusesBadInput(t *testing.T) {
	k := compileKernelQ(t, compiler.Options{Backend: compiler.MLIR}, llama.Q8)
	qc := q8Configs[0]
	cfg := qc.cfg
	q := randomQ8Model(t, cfg, qc.gs, 1)
	s := newTestState(t, cfg)
	for _, tc := range []struct {
		name       string
		token, pos int
		mutate     func(q *llama.QWeights)
		want       string
	}{
		{"pos = seq_len", 1, cfg.SeqLen, nil, "position 16 out of range"},
		{"token = vocab", cfg.VocabSize, 0, nil, "token 97 out of range"},
		{"short w2 scales", 1, 0, func(q *llama.QWeights) { q.W2.Scales = q.W2.Scales[:1] }, "w2"},
		{"group size", 1, 0, func(q *llama.QWeights) { q.GroupSize = 48 }, "group size 48"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q2 := *q
			if tc.mutate != nil {
				tc.mutate(&q2)
			}
			if _, err := k.Forward(cfg, &q2, s, tc.token, tc.pos); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	w := randomModel(t, cfg, 1, 0.3)
	b, err := llama.Quantize(cfg, w, llama.BF16, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Forward(cfg, b, s, 1, 0); err == nil || !strings.Contains(err.Error(), "takes q8 weights, not bf16") {
		t.Errorf("bf16 weights: err = %v, want a refusal naming the type", err)
	}

	// The kernel itself refuses a group size that does not divide dim: it returns NaN and
	// writes nothing.
	for i := range s.Logits {
		s.Logits[i] = 42
	}
	r, err := k.fn.Call(k.args(cfg, q, s, 1, 0, 48)...)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(float64(r.(float32))) || s.Logits[0] != 42 || s.Logits[len(s.Logits)-1] != 42 {
		t.Errorf("gs = 48: kernel returned %v and logits[0] = %v; want NaN and untouched logits", r, s.Logits[0])
	}
}
