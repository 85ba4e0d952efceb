package llama

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/simplang/simplang/half"
)

// TestForwardQAgainstF32 runs ForwardQ on quantized weights and Forward on the same weights
// dequantized, position by position: bf16 must agree exactly, q8 and q4 differ only by the
// quantization of the activations, which is measured relative to the largest logit.
func TestForwardQAgainstF32(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		scale float32 // of the random weights
		gs    int
		bound float64 // for q8 and q4, relative to the largest logit
	}{
		{"gqa-head16", quantCfg, 0.5, 0, 0.03},
		{"gqa-head48-gs16", Config{Dim: 96, HiddenDim: 160, NLayers: 2, NHeads: 2, NKVHeads: 1, VocabSize: 33, SeqLen: 6}, 0.3, 16, 0.03},
		{"mha-head64-theta", Config{Dim: 256, HiddenDim: 640, NLayers: 3, NHeads: 4, NKVHeads: 4, VocabSize: 300, SeqLen: 8, RopeTheta: 500000}, 0.1, 0, 0.03},
	} {
		w := randomModel(t, tc.cfg, 13, tc.scale)
		for _, typ := range []WeightType{BF16, Q8, Q4} {
			t.Run(tc.name+"/"+typ.String(), func(t *testing.T) {
				q, err := Quantize(tc.cfg, w, typ, tc.gs, nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				dq, err := q.Dequantize(tc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				sq, _ := NewState(tc.cfg, nil)
				sf, _ := NewState(tc.cfg, nil)
				var worst float64
				for pos := range tc.cfg.SeqLen {
					tok := (pos*7 + 3) % tc.cfg.VocabSize
					got, err := ForwardQ(tc.cfg, q, sq, tok, pos)
					if err != nil {
						t.Fatal(err)
					}
					want, err := Forward(tc.cfg, dq, sf, tok, pos)
					if err != nil {
						t.Fatal(err)
					}
					var top, diff float64
					for i := range want {
						top = max(top, math.Abs(float64(want[i])))
						diff = max(diff, math.Abs(float64(got[i]-want[i])))
						if math.IsNaN(float64(got[i])) {
							t.Fatalf("pos %d: logit %d is NaN", pos, i)
						}
					}
					if typ == BF16 && diff != 0 {
						t.Fatalf("pos %d: bf16 logits differ from f32 on the widened weights by %.3g", pos, diff)
					}
					worst = max(worst, diff/top)
				}
				if worst > tc.bound {
					t.Errorf("largest difference %.3g of the largest logit, want at most %.3g", worst, tc.bound)
				}
				t.Logf("%s %v vs f32 on the same weights: largest difference %.2e of the largest logit over %d positions", tc.name, typ, worst, tc.cfg.SeqLen)
			})
		}
	}
}

// TestQMatvec checks the quantized mat-vec against the formula of ForwardQ written out with
// its own indexing, on a layer other than the first and groups of 16, and against the f32
// mat-vec when the activations quantize exactly (integers up to 127: scale 1).
func TestQMatvec(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	cfg := Config{Dim: 64, HiddenDim: 2048, NLayers: 2, NHeads: 4, NKVHeads: 4, VocabSize: 10, SeqLen: 2}
	w := randomModel(t, cfg, 21, 0.5)
	const gs = 16
	x := make([]float32, cfg.HiddenDim) // w2 multiplies hidden_dim vectors: rows above parallelMin
	fillUniform(x, 5, 0)
	exact := make([]float32, len(x))
	for i := range exact {
		exact[i] = float32(int(x[i]*1e4)%128) * float32(1-2*(i%2))
		if i%gs == 0 {
			exact[i] = 127
		}
	}
	for _, typ := range []WeightType{Q8, Q4} {
		q, err := Quantize(cfg, w, typ, gs, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		dq, _ := q.Dequantize(cfg)
		m := qModel{q: q, cfg: cfg}
		got := make([]float32, cfg.Dim)
		m.matvec(got, mW2, 1, x)
		// The formula, element by element.
		xq := make([]int8, len(x))
		xs := make([]float32, len(x)/gs)
		for g := range xs {
			xs[g] = quantizeQ8(xq[g*gs:(g+1)*gs], x[g*gs:(g+1)*gs])
		}
		for r := range cfg.Dim {
			var sum float32
			for g := range xs {
				var isum int32
				var ws float32
				for j := range gs {
					e := cfg.Dim*cfg.HiddenDim + r*cfg.HiddenDim + g*gs + j
					var v int32
					if typ == Q8 {
						v, ws = int32(q.W2.Q8[e]), q.W2.Scales[e/gs]
					} else {
						b := q.W2.Q4[e/gs*gs/2+j%(gs/2)]
						if j >= gs/2 {
							b >>= 4
						}
						v, ws = int32(b&15)-8, half.F16(q.W2.Half[e/gs]).Float32()
					}
					isum += int32(xq[g*gs+j]) * v
				}
				sum += float32(float32(float32(isum)*ws) * xs[g])
			}
			if got[r] != sum {
				t.Fatalf("%v: row %d = %v, the formula gives %v", typ, r, got[r], sum)
			}
		}
		// Exactly quantized activations: the f32 mat-vec of the dequantized weights.
		m.matvec(got, mW2, 1, exact)
		want := make([]float32, cfg.Dim)
		n := cfg.Dim * cfg.HiddenDim
		matvec(want, dq.W2[n:2*n], exact)
		for r := range want {
			// The kernel's float32 sum of the groups against the float64 one: a few units of
			// float32 rounding of the sum of magnitudes.
			var mag float64
			for j, v := range exact {
				mag += math.Abs(float64(v) * float64(dq.W2[n+r*cfg.HiddenDim+j]))
			}
			if d := math.Abs(float64(got[r] - want[r])); d > mag*0x1p-20 {
				t.Errorf("%v: exact activations, row %d = %v, f32 %v", typ, r, got[r], want[r])
			}
		}
	}
}

func TestForwardQRefuses(t *testing.T) {
	q, err := Quantize(quantCfg, randomModel(t, quantCfg, 1, 0.1), Q4, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := NewState(quantCfg, nil)
	short := *q
	short.W3.Half = short.W3.Half[1:]
	regrouped := *q
	regrouped.GroupSize = 16
	bf := *q
	bf.Type = BF16
	tests := []struct {
		name       string
		q          *QWeights
		s          *State
		token, pos int
		want       string
	}{
		{"nil weights", nil, s, 0, 0, "forward: nil weights"},
		{"nil state", q, nil, 0, 0, "forward: nil state"},
		{"short scales", &short, s, 0, 0, "weights: w3 (2 x 96 x 64, q4) has 383 scales, want 384"},
		{"other group size", &regrouped, s, 0, 0, "weights: token_embedding_table (50 x 64, q4) has 100 scales, want 200"},
		{"bf16 with a group size", &bf, s, 0, 0, "weights: bf16 with group size 32, want 0"},
		{"token", q, s, 50, 0, "token 50 out of range [0, 50)"},
		{"position", q, s, 0, 8, "position 8 out of range [0, 8)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ForwardQ(quantCfg, tt.q, tt.s, tt.token, tt.pos)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ForwardQ error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestRoundingMargin checks the margin of a few quotients, and that ForwardQMargin returns
// ForwardQ's logits with a margin that is +Inf for bf16 (which rounds no activation) and
// finite and below ½ for q8 and q4.
func TestRoundingMargin(t *testing.T) {
	for _, tc := range []struct {
		x     []float32
		scale float32
		want  float64
	}{
		{[]float32{127, -3, 2.25}, 1, 0.5 / 128},
		{[]float32{-0.75, 1.25}, 0.5, 0}, // quotients -1.5 and 2.5, both ties
		{[]float32{2.25, 0}, 1, 0.25 / 3.25},
		{[]float32{1, 2}, 0, math.Inf(1)},
	} {
		if got := roundingMargin(tc.x, tc.scale); got != tc.want {
			t.Errorf("roundingMargin(%v, %v) = %v, want %v", tc.x, tc.scale, got, tc.want)
		}
	}
	w := randomModel(t, quantCfg, 13, 0.5)
	for _, typ := range []WeightType{BF16, Q8, Q4} {
		q, err := Quantize(quantCfg, w, typ, 0, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		s1, _ := NewState(quantCfg, nil)
		s2, _ := NewState(quantCfg, nil)
		for pos := range 3 {
			want, err := ForwardQ(quantCfg, q, s1, 5, pos)
			if err != nil {
				t.Fatal(err)
			}
			got, margin, err := ForwardQMargin(quantCfg, q, s2, 5, pos)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%v pos %d: ForwardQMargin's logits differ from ForwardQ's", typ, pos)
			}
			if inf := math.IsInf(margin, 1); inf != (typ == BF16) || margin < 0 || (!inf && margin >= 0.5) {
				t.Errorf("%v pos %d: margin %v", typ, pos, margin)
			}
		}
	}
}
