package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/simplang/simplang/internal/kerneltest"
)

// The pieces of llama2.sl, each called on its own and checked against plain Go written here
// (independently of package llama's reference).

func goMatvec(w []float32, off int, x []float32, rows int) []float64 {
	out := make([]float64, rows)
	for i := range out {
		for j := range x {
			out[i] += float64(w[off+i*len(x)+j]) * float64(x[j])
		}
	}
	return out
}

// goRope rotates pair (i, i+1) of each head by pos / 10000^((i mod head_size)/head_size).
func goRope(v []float32, pos, headSize int) []float64 {
	out := make([]float64, len(v))
	for i := 0; i < len(v); i += 2 {
		angle := float64(pos) / math.Pow(10000, float64(i%headSize)/float64(headSize))
		c, s := math.Cos(angle), math.Sin(angle)
		out[i] = float64(v[i])*c - float64(v[i+1])*s
		out[i+1] = float64(v[i])*s + float64(v[i+1])*c
	}
	return out
}

// goAttention is softmax(q_h · k_t / sqrt(head_size)) weighted values, per query head h,
// over positions 0..pos of one layer's caches (n_kv_heads, seq_len, head_size); query head h
// uses key/value head h/(nh/nkv).
func goAttention(q, keys, values []float32, pos, nHeads, nKV, headSize, seqLen int) []float64 {
	out := make([]float64, nHeads*headSize)
	for h := 0; h < nHeads; h++ {
		kvh := h / (nHeads / nKV)
		row := func(t int) int { return (kvh*seqLen + t) * headSize }
		scores := make([]float64, pos+1)
		m := math.Inf(-1)
		for t := range scores {
			for d := 0; d < headSize; d++ {
				scores[t] += float64(q[h*headSize+d]) * float64(keys[row(t)+d])
			}
			scores[t] /= math.Sqrt(float64(headSize))
			m = math.Max(m, scores[t])
		}
		var sum float64
		for t := range scores {
			scores[t] = math.Exp(scores[t] - m)
			sum += scores[t]
		}
		for t := range scores {
			for d := 0; d < headSize; d++ {
				out[h*headSize+d] += scores[t] / sum * float64(values[row(t)+d])
			}
		}
	}
	return out
}

func TestLlamaPieces(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range compilers {
		t.Run(c.name, func(t *testing.T) {
			lib := kerneltest.Open(t, "llama2.sl", source(t, "llama2.sl"), c.opts)

			// matvec on a 70×48 matrix stored at an offset.
			rows, cols, off := 70, 48, 96
			w, x := randomVector(rng, off+rows*cols, 1), randomVector(rng, cols, 1)
			out := make([]float32, rows)
			kerneltest.Call(t, kerneltest.Func(t, lib, "matvec"), out, w, off, x, rows, cols)
			if msg := near(out, goMatvec(w, off, x, rows), 1e-5); msg != "" {
				t.Errorf("matvec: %s", msg)
			}

			// matvec2 and qkv: several matrices in one pass.
			rows2 := 30
			w2 := randomVector(rng, rows2*cols, 1)
			out1, out2 := make([]float32, rows), make([]float32, rows2)
			kerneltest.Call(t, kerneltest.Func(t, lib, "matvec2"), out1, w, off, rows, out2, w2, 0, rows2, x, cols)
			if msg := near(out1, goMatvec(w, off, x, rows), 1e-5); msg != "" {
				t.Errorf("matvec2 first: %s", msg)
			}
			if msg := near(out2, goMatvec(w2, 0, x, rows2), 1e-5); msg != "" {
				t.Errorf("matvec2 second: %s", msg)
			}
			const qkvDim, qkvKV = 48, 16
			wq, wk, wv := randomVector(rng, 2*qkvDim*qkvDim, 1), randomVector(rng, 2*qkvKV*qkvDim, 1), randomVector(rng, 2*qkvKV*qkvDim, 1)
			xq := x[:qkvDim]
			oq, ok, ov := make([]float32, qkvDim), make([]float32, qkvKV), make([]float32, qkvKV)
			kerneltest.Call(t, kerneltest.Func(t, lib, "qkv"), oq, wq, qkvDim*qkvDim, ok, wk, ov, wv, qkvKV*qkvDim, xq, qkvDim, qkvKV)
			for _, c := range []struct {
				name string
				got  []float32
				want []float64
			}{
				{"q", oq, goMatvec(wq, qkvDim*qkvDim, xq, qkvDim)},
				{"k", ok, goMatvec(wk, qkvKV*qkvDim, xq, qkvKV)},
				{"v", ov, goMatvec(wv, qkvKV*qkvDim, xq, qkvKV)},
			} {
				if msg := near(c.got, c.want, 1e-5); msg != "" {
					t.Errorf("qkv %s: %s", c.name, msg)
				}
			}

			// rope_tables + rope on q (4 heads of 16) and k (2 heads).
			const headSize, nHeads, nKV, pos = 16, 4, 2, 37
			q, k := randomVector(rng, nHeads*headSize, 1), randomVector(rng, nKV*headSize, 1)
			wantQ, wantK := goRope(q, pos, headSize), goRope(k, pos, headSize)
			cosT, sinT := make([]float32, headSize/2), make([]float32, headSize/2)
			kerneltest.Call(t, kerneltest.Func(t, lib, "rope_tables"), cosT, sinT, pos, headSize)
			kerneltest.Call(t, kerneltest.Func(t, lib, "rope"), q, k, cosT, sinT, nHeads*headSize, nKV*headSize, headSize)
			if msg := near(q, wantQ, 1e-5); msg != "" {
				t.Errorf("rope q: %s", msg)
			}
			if msg := near(k, wantK, 1e-5); msg != "" {
				t.Errorf("rope k: %s", msg)
			}

			// attention over 5 cached positions with grouped-query heads, in layer 1 of 2.
			const seqLen, cachePos = 8, 4
			kvDim := nKV * headSize
			keys, values := randomVector(rng, 2*seqLen*kvDim, 2), randomVector(rng, 2*seqLen*kvDim, 2)
			att := make([]float32, nHeads*seqLen)
			attOut := make([]float32, nHeads*headSize)
			layerOff := seqLen * kvDim
			kerneltest.Call(t, kerneltest.Func(t, lib, "attention"), attOut, q, att, keys, values, layerOff, cachePos, nHeads, nKV, headSize, seqLen)
			want := goAttention(q, keys[layerOff:], values[layerOff:], cachePos, nHeads, nKV, headSize, seqLen)
			if msg := near(attOut, want, 1e-5); msg != "" {
				t.Errorf("attention: %s", msg)
			}
			// and over 1,031 positions, enough work (heads × positions × head size ≥
			// loops.ParallelWork) for the heads to run on threads.
			const longSeq, longPos = 1100, 1030
			keys, values = randomVector(rng, longSeq*kvDim, 2), randomVector(rng, longSeq*kvDim, 2)
			att = make([]float32, nHeads*longSeq)
			kerneltest.Call(t, kerneltest.Func(t, lib, "attention"), attOut, q, att, keys, values, 0, longPos, nHeads, nKV, headSize, longSeq)
			if msg := near(attOut, goAttention(q, keys, values, longPos, nHeads, nKV, headSize, longSeq), 1e-5); msg != "" {
				t.Errorf("attention over %d positions: %s", longPos+1, msg)
			}

			// swiglu: hb = silu(hb) * hb2.
			hb, hb2 := randomVector(rng, 100, 4), randomVector(rng, 100, 1)
			wantSwiglu := make([]float64, len(hb))
			for i, g := range hb {
				wantSwiglu[i] = float64(g) / (1 + math.Exp(-float64(g))) * float64(hb2[i])
			}
			kerneltest.Call(t, kerneltest.Func(t, lib, "swiglu"), hb, hb2, len(hb))
			if msg := near(hb, wantSwiglu, 1e-5); msg != "" {
				t.Errorf("swiglu: %s", msg)
			}
		})
	}
}

// TestTransformerBlock runs one layer (layer 1 of 2, at position 2 with positions 0 and 1
// already cached) and checks the residual stream against the same layer composed in Go.
func TestTransformerBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const dim, hidden, nHeads, nKV, seqLen, layers, l, pos = 32, 80, 4, 2, 6, 2, 1, 2
	headSize, kvDim := dim/nHeads, dim/nHeads*nKV
	vec := func(n int, scale float64) []float32 { return randomVector(rng, n, scale) }
	rmsAtt, rmsFfn := vec(layers*dim, 1), vec(layers*dim, 1)
	wq, wk, wv, wo := vec(layers*dim*dim, 0.3), vec(layers*kvDim*dim, 0.3), vec(layers*kvDim*dim, 0.3), vec(layers*dim*dim, 0.3)
	w1, w2, w3 := vec(layers*hidden*dim, 0.3), vec(layers*dim*hidden, 0.3), vec(layers*hidden*dim, 0.3)
	x := vec(dim, 1)
	keys, values := vec(layers*seqLen*kvDim, 1), vec(layers*seqLen*kvDim, 1)

	// The layer in Go.
	rms := func(v []float32, w []float32) []float32 {
		var ss float64
		for _, e := range v {
			ss += float64(e) * float64(e)
		}
		r := 1 / math.Sqrt(ss/float64(len(v))+1e-5)
		out := make([]float32, len(v))
		for i := range v {
			out[i] = float32(float64(w[i]) * float64(v[i]) * r)
		}
		return out
	}
	f32s := func(v []float64) []float32 {
		out := make([]float32, len(v))
		for i := range v {
			out[i] = float32(v[i])
		}
		return out
	}
	xb := rms(x, rmsAtt[l*dim:])
	q := f32s(goRope(f32s(goMatvec(wq, l*dim*dim, xb, dim)), pos, headSize))
	k := f32s(goRope(f32s(goMatvec(wk, l*kvDim*dim, xb, kvDim)), pos, headSize))
	v := f32s(goMatvec(wv, l*kvDim*dim, xb, kvDim))
	goKeys, goValues := append([]float32(nil), keys...), append([]float32(nil), values...)
	layerOff := l * seqLen * kvDim
	cached := func(kvh int) int { return layerOff + (kvh*seqLen+pos)*headSize } // this position's row of head kvh
	for kvh := range nKV {
		copy(goKeys[cached(kvh):cached(kvh)+headSize], k[kvh*headSize:])
		copy(goValues[cached(kvh):cached(kvh)+headSize], v[kvh*headSize:])
	}
	att := f32s(goAttention(q, goKeys[layerOff:], goValues[layerOff:], pos, nHeads, nKV, headSize, seqLen))
	want := make([]float64, dim)
	o := goMatvec(wo, l*dim*dim, att, dim)
	for i := range want {
		want[i] = float64(x[i]) + o[i]
	}
	xb = rms(f32s(want), rmsFfn[l*dim:])
	g, u := goMatvec(w1, l*hidden*dim, xb, hidden), goMatvec(w3, l*hidden*dim, xb, hidden)
	h := make([]float64, hidden)
	for i := range h {
		h[i] = g[i] / (1 + math.Exp(-g[i])) * u[i]
	}
	down := goMatvec(w2, l*dim*hidden, f32s(h), dim)
	for i := range want {
		want[i] += down[i]
	}

	for _, c := range compilers {
		t.Run(c.name, func(t *testing.T) {
			lib := kerneltest.Open(t, "llama2.sl", source(t, "llama2.sl"), c.opts)
			kx := append([]float32(nil), x...)
			kKeys, kValues := append([]float32(nil), keys...), append([]float32(nil), values...)
			cosT, sinT := make([]float32, headSize/2), make([]float32, headSize/2)
			kerneltest.Call(t, kerneltest.Func(t, lib, "rope_tables"), cosT, sinT, pos, headSize)
			scratch := func(n int) []float32 { return make([]float32, n) }
			kerneltest.Call(t, kerneltest.Func(t, lib, "transformer_block"), rmsAtt, rmsFfn, wq, wk, wv, wo, w1, w2, w3,
				kx, scratch(dim), scratch(dim), scratch(dim), scratch(kvDim), scratch(kvDim), scratch(nHeads*seqLen),
				scratch(hidden), scratch(hidden), kKeys, kValues, cosT, sinT,
				l, pos, dim, hidden, nHeads, nKV, seqLen)
			if msg := near(kx, want, 1e-5); msg != "" {
				t.Errorf("residual stream after the block: %s", msg)
			}
			for kvh := range nKV {
				if msg := near(kKeys[cached(kvh):cached(kvh)+headSize], widen(k[kvh*headSize:(kvh+1)*headSize]), 1e-5); msg != "" {
					t.Errorf("cached key of head %d: %s", kvh, msg)
				}
			}
		})
	}
}

// widen converts float32s to float64s.
func widen(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, e := range v {
		out[i] = float64(e)
	}
	return out
}
