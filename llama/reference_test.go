package llama

import (
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/simplang/simplang/half"
)

// TestForwardMatchesNaive runs Forward position by position and compares every logit with
// naiveLogits, which recomputes the whole prefix from scratch without a KV cache.
func TestForwardMatchesNaive(t *testing.T) {
	for _, cfg := range []Config{
		{Dim: 8, HiddenDim: 16, NLayers: 2, NHeads: 2, NKVHeads: 2, VocabSize: 10, SeqLen: 4},
		{Dim: 8, HiddenDim: 16, NLayers: 2, NHeads: 2, NKVHeads: 1, VocabSize: 10, SeqLen: 4},
		{Dim: 12, HiddenDim: 20, NLayers: 3, NHeads: 6, NKVHeads: 3, VocabSize: 7, SeqLen: 6},
		{Dim: 16, HiddenDim: 20, NLayers: 2, NHeads: 2, NKVHeads: 1, VocabSize: 7, SeqLen: 6, RopeTheta: 500000},
	} {
		t.Run(shapeString([]int{cfg.Dim, cfg.NHeads, cfg.NKVHeads}), func(t *testing.T) {
			w := randomModel(t, cfg, 3, 0.5)
			s, err := NewState(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			tokens := []int{3, 7, 1, 9, 0, 5}[:cfg.SeqLen]
			for i := range tokens {
				tokens[i] %= cfg.VocabSize
			}
			for pos, tok := range tokens {
				got, err := Forward(cfg, w, s, tok, pos)
				if err != nil {
					t.Fatal(err)
				}
				want := naiveLogits(cfg, w, tokens[:pos+1])
				for i := range want {
					if d := math.Abs(float64(got[i]) - want[i]); d > 1e-5*max(1, math.Abs(want[i])) {
						t.Errorf("pos %d: logit %d = %v, naive %v (difference %.2g)", pos, i, got[i], want[i], d)
					}
				}
			}
		})
	}
}

// TestForwardF16Cache runs Forward with an f16 KV cache beside one with the f32 cache: every
// key and value it stores must be close to the f32 run's (in layer 0 at position 0, where the
// two runs have read no cache yet, exactly its rounding to the nearest half), and the logits must stay close to the
// f32 run's without being the same.
func TestForwardF16Cache(t *testing.T) {
	cfg := Config{Dim: 16, HiddenDim: 20, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 7, SeqLen: 5}
	c16 := cfg
	c16.KVCache = CacheF16
	w := randomModel(t, cfg, 3, 0.5)
	s32, s16 := mustState(t, cfg), mustState(t, c16)
	if _, err := Forward(c16, w, s32, 0, 0); err == nil || !strings.Contains(err.Error(), "state: key_cache has 0 elements, want 2 x 2 x 5 x 4 = 80") {
		t.Errorf("Forward(f16 config, f32 state) = %v", err)
	}
	differs := false
	for pos, tok := range []int{3, 6, 1, 4, 0} {
		want, err := Forward(cfg, w, s32, tok, pos)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Forward(c16, w, s16, tok, pos)
		if err != nil {
			t.Fatal(err)
		}
		for h := range cfg.NKVHeads {
			for l := range cfg.NLayers {
				at := l*cfg.SeqLen*cfg.KVDim() + cacheRow(cfg, h, pos)
				for i := range cfg.HeadSize() {
					for _, c := range []struct {
						what string
						f32  float32
						f16  uint16
					}{{"key", s32.KeyCache[at+i], s16.KeyCacheF16[at+i]}, {"value", s32.ValueCache[at+i], s16.ValueCacheF16[at+i]}} {
						stored := half.F16(c.f16).Float32()
						if pos == 0 && l == 0 && c.f16 != uint16(half.F16FromFloat32(c.f32)) {
							t.Fatalf("pos 0 layer %d: %s %d is %v, want %v rounded to a half", l, c.what, i, stored, c.f32)
						}
						if d := math.Abs(float64(stored - c.f32)); d > 1e-2*max(1, math.Abs(float64(c.f32))) {
							t.Fatalf("pos %d layer %d: %s %d is %v in f16, %v in f32", pos, l, c.what, i, stored, c.f32)
						}
					}
				}
			}
		}
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-2*max(1, math.Abs(float64(want[i]))) {
				t.Errorf("pos %d: logit %d = %v with the f16 cache, %v with f32", pos, i, got[i], want[i])
			} else if d > 0 {
				differs = true
			}
		}
	}
	if !differs {
		t.Error("the f16 cache left every logit as the f32 cache's: it was not used")
	}
}

// naiveLogits feeds tokens through the model from scratch, in float64, with no KV cache and
// its own index arithmetic, and returns the logits after the last token.
func naiveLogits(c Config, w *Weights, tokens []int) []float64 {
	D, F, L, NH, NKV := c.Dim, c.HiddenDim, c.NLayers, c.NHeads, c.NKVHeads
	HS := D / NH
	KVD := NKV * HS
	T := len(tokens)

	norm := func(x []float64, weight []float32, off int) []float64 {
		ss := 0.0
		for _, v := range x {
			ss += v * v
		}
		r := 1 / math.Sqrt(ss/float64(len(x))+1e-5)
		out := make([]float64, len(x))
		for i := range x {
			out[i] = x[i] * r * float64(weight[off+i])
		}
		return out
	}
	// mul multiplies the rows×cols row-major matrix starting at W[off] by x.
	mul := func(W []float32, off, rows, cols int, x []float64) []float64 {
		out := make([]float64, rows)
		for r := 0; r < rows; r++ {
			for k := 0; k < cols; k++ {
				out[r] += float64(W[off+r*cols+k]) * x[k]
			}
		}
		return out
	}
	// rotate turns every head's pair (2j, 2j+1) by the angle t / θ^(2j/HS).
	rotate := func(vec []float64, heads, t int) {
		for h := 0; h < heads; h++ {
			for j := 0; j < HS/2; j++ {
				angle := float64(t) * math.Pow(c.Theta(), -float64(2*j)/float64(HS))
				a, b := vec[h*HS+2*j], vec[h*HS+2*j+1]
				vec[h*HS+2*j] = a*math.Cos(angle) - b*math.Sin(angle)
				vec[h*HS+2*j+1] = a*math.Sin(angle) + b*math.Cos(angle)
			}
		}
	}

	x := make([][]float64, T)
	for t, tok := range tokens {
		x[t] = make([]float64, D)
		for i := 0; i < D; i++ {
			x[t][i] = float64(w.TokenEmb[tok*D+i])
		}
	}
	for l := 0; l < L; l++ {
		q, k, v := make([][]float64, T), make([][]float64, T), make([][]float64, T)
		for t := 0; t < T; t++ {
			xn := norm(x[t], w.RmsAtt, l*D)
			q[t] = mul(w.Wq, l*D*D, D, D, xn)
			k[t] = mul(w.Wk, l*KVD*D, KVD, D, xn)
			v[t] = mul(w.Wv, l*KVD*D, KVD, D, xn)
			rotate(q[t], NH, t)
			rotate(k[t], NKV, t)
		}
		for t := 0; t < T; t++ {
			heads := make([]float64, D)
			for h := 0; h < NH; h++ {
				g := h * NKV / NH // the key/value head this query head reads
				scores := make([]float64, t+1)
				top := math.Inf(-1)
				for u := 0; u <= t; u++ {
					for i := 0; i < HS; i++ {
						scores[u] += q[t][h*HS+i] * k[u][g*HS+i]
					}
					scores[u] /= math.Sqrt(float64(HS))
					top = math.Max(top, scores[u])
				}
				total := 0.0
				for u := range scores {
					scores[u] = math.Exp(scores[u] - top)
					total += scores[u]
				}
				for u := range scores {
					for i := 0; i < HS; i++ {
						heads[h*HS+i] += scores[u] / total * v[u][g*HS+i]
					}
				}
			}
			o := mul(w.Wo, l*D*D, D, D, heads)
			for i := range o {
				x[t][i] += o[i]
			}
			xn := norm(x[t], w.RmsFfn, l*D)
			gate := mul(w.W1, l*F*D, F, D, xn)
			up := mul(w.W3, l*F*D, F, D, xn)
			for i := range gate {
				gate[i] = gate[i] / (1 + math.Exp(-gate[i])) * up[i]
			}
			down := mul(w.W2, l*D*F, D, F, gate)
			for i := range down {
				x[t][i] += down[i]
			}
		}
	}
	return mul(w.Wcls, 0, c.VocabSize, D, norm(x[T-1], w.RmsFinal, 0))
}

// TestGroupedQueryEquivalence checks that a grouped-query model computes the same logits as
// the multi-head model whose key and value heads are copies of the shared ones.
func TestGroupedQueryEquivalence(t *testing.T) {
	gqa := Config{Dim: 16, HiddenDim: 24, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 12, SeqLen: 5}
	mha := gqa
	mha.NKVHeads = gqa.NHeads
	wg := randomModel(t, gqa, 11, 0.5)
	wm := *wg
	hs, group := gqa.HeadSize(), gqa.NHeads/gqa.NKVHeads
	duplicate := func(src []float32) []float32 {
		// Per layer, multi-head key/value head h is grouped head h/group: hs rows of dim.
		dst := make([]float32, 0, mha.NLayers*mha.KVDim()*mha.Dim)
		for l := range gqa.NLayers {
			layer := src[l*gqa.KVDim()*gqa.Dim : (l+1)*gqa.KVDim()*gqa.Dim]
			for h := range mha.NKVHeads {
				g := h / group
				dst = append(dst, layer[g*hs*gqa.Dim:(g+1)*hs*gqa.Dim]...)
			}
		}
		return dst
	}
	wm.Wk, wm.Wv = duplicate(wg.Wk), duplicate(wg.Wv)

	sg, err := NewState(gqa, nil)
	if err != nil {
		t.Fatal(err)
	}
	sm, err := NewState(mha, nil)
	if err != nil {
		t.Fatal(err)
	}
	for pos, tok := range []int{4, 11, 0, 4, 7} {
		lg, err := Forward(gqa, wg, sg, tok, pos)
		if err != nil {
			t.Fatal(err)
		}
		lm, err := Forward(mha, &wm, sm, tok, pos)
		if err != nil {
			t.Fatal(err)
		}
		for i := range lg {
			if lg[i] != lm[i] {
				t.Fatalf("pos %d: logit %d is %v grouped, %v multi-head", pos, i, lg[i], lm[i])
			}
		}
	}
}

// TestAttentionAtPositionZero checks that attending over a single position returns its
// value vector exactly (the softmax of one score is 1), for every query head.
func TestAttentionAtPositionZero(t *testing.T) {
	cfg := Config{Dim: 16, HiddenDim: 8, NLayers: 1, NHeads: 4, NKVHeads: 2, VocabSize: 2, SeqLen: 3}
	kv := cfg.KVDim()
	q := []float32{0.3, -1, 2, 0.5, 1, 1, -0.2, 0.7, 3, -2, 0.1, 0.4, 0.9, -0.6, 1.5, -1.1}
	keys := make([]float32, cfg.SeqLen*kv)
	values := make([]float32, cfg.SeqLen*kv)
	hs := cfg.HeadSize()
	// Position 0 of key/value head g is at cacheRow(g, 0); later positions are garbage that
	// pos 0 must not read.
	for i := range keys {
		keys[i], values[i] = 100, 100
	}
	for g := range cfg.NKVHeads {
		for i := range hs {
			keys[cacheRow(cfg, g, 0)+i] = float32(g*hs+i) - 3.5
			values[cacheRow(cfg, g, 0)+i] = 0.25*float32(g*hs+i) + 0.125
		}
	}
	out := make([]float32, cfg.Dim)
	att := make([]float32, cfg.NHeads*cfg.SeqLen)
	attention(cfg, out, q, att, kvCache{f32: keys}, kvCache{f32: values}, 0)
	for h := range cfg.NHeads {
		g := h / (cfg.NHeads / cfg.NKVHeads)
		for i := range hs {
			if want := values[cacheRow(cfg, g, 0)+i]; out[h*hs+i] != want {
				t.Errorf("head %d element %d = %v, want v = %v", h, i, out[h*hs+i], want)
			}
		}
		if att[h*cfg.SeqLen] != 1 {
			t.Errorf("head %d attention weight %v, want 1", h, att[h*cfg.SeqLen])
		}
	}
}

func TestRoPE(t *testing.T) {
	const headSize = 8
	orig := []float32{1, 2, -0.5, 0.25, 3, -1, 0.75, 0.125, -2, 1.5, 0.5, 4, -3, 0.5, 1, -1}
	norm := func(v []float32) float64 {
		var s float64
		for _, x := range v {
			s += float64(x) * float64(x)
		}
		return math.Sqrt(s)
	}
	for _, pos := range []int{0, 1, 5, 1000} {
		v := append([]float32(nil), orig...)
		rope(v, pos, headSize, 10000)
		if d := math.Abs(norm(v) - norm(orig)); d > 1e-5*norm(orig) {
			t.Errorf("pos %d: norm changed from %v to %v", pos, norm(orig), norm(v))
		}
		for i := range v {
			if pos == 0 && v[i] != orig[i] {
				t.Errorf("pos 0: element %d = %v, want unchanged %v", i, v[i], orig[i])
			}
		}
		// The first pair of every head turns by pos radians (frequency 1); the pair at
		// i mod headSize = 2 by pos/10000^(2/8) = pos/10.
		for _, c := range []struct{ i, head int }{{0, 0}, {8, 1}, {2, 0}, {10, 1}} {
			angle := float64(pos)
			if c.i%headSize == 2 {
				angle /= 10
			}
			a, b := float64(orig[c.i]), float64(orig[c.i+1])
			want0, want1 := a*math.Cos(angle)-b*math.Sin(angle), a*math.Sin(angle)+b*math.Cos(angle)
			if math.Abs(float64(v[c.i])-want0) > 1e-5 || math.Abs(float64(v[c.i+1])-want1) > 1e-5 {
				t.Errorf("pos %d: pair %d of head %d = (%v, %v), want (%v, %v)", pos, c.i%headSize, c.head, v[c.i], v[c.i+1], want0, want1)
			}
		}
	}
}

func TestForwardRefuses(t *testing.T) {
	w := randomModel(t, tiny, 1, 0.01)
	s, err := NewState(tiny, nil)
	if err != nil {
		t.Fatal(err)
	}
	short := *w
	short.W2 = short.W2[:len(short.W2)-1]
	otherState, err := NewState(Config{Dim: 8, HiddenDim: 16, NLayers: 2, NHeads: 2, NKVHeads: 1, VocabSize: 10, SeqLen: 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		w          *Weights
		s          *State
		token, pos int
		want       string
	}{
		{"negative token", w, s, -1, 0, "token -1 out of range [0, 10)"},
		{"token past vocab", w, s, 10, 0, "token 10 out of range [0, 10)"},
		{"negative pos", w, s, 0, -1, "position -1 out of range [0, 4)"},
		{"pos past seq_len", w, s, 0, 4, "position 4 out of range [0, 4)"},
		{"short weights", &short, s, 0, 0, "weights: w2 has 255 elements, want 2 x 8 x 16 = 256"},
		{"state for another config", w, otherState, 0, 0, "state: att has 6 elements, want 2 x 4 = 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Forward(tiny, tt.w, tt.s, tt.token, tt.pos)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Forward error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := Forward(Config{}, w, s, 0, 0); err == nil {
		t.Error("Forward accepted an invalid config")
	}
	// The last valid position still works.
	if _, err := Forward(tiny, w, s, 9, 3); err != nil {
		t.Errorf("Forward(token 9, pos 3) = %v", err)
	}
}

// TestMatvecParallel checks that a mat-vec large enough to be split across goroutines gives
// the same rows as a serial one.
func TestMatvecParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(3))
	const rows, cols = 601, 500 // above parallelMin, not divisible by 3
	w := make([]float32, rows*cols)
	fillUniform(w, 1, 0)
	x := make([]float32, cols)
	fillUniform(x, 2, 0)
	got, want := make([]float32, rows), make([]float32, rows)
	matvec(got, w, x)
	matvecRows(want, w, x, 0, rows)
	for r := range want {
		if got[r] != want[r] || want[r] == 0 {
			t.Fatalf("row %d: parallel %v, serial %v", r, got[r], want[r])
		}
	}
}
