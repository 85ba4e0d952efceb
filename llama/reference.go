package llama

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/simplang/simplang/half"
)

// rmsEps is the epsilon added to the mean square in RMS normalisation.
const rmsEps = 1e-5

// Forward computes one decode step in plain Go: it feeds token at position pos through the
// model, storing this position's keys and values in s's caches (positions 0..pos-1 must
// already be there), and returns the logits for the next token (s.Logits). It follows
// llama2.c's run.c exactly, but computes in float64 (every dot product and sum, the RoPE
// angles, exponentials and square roots) and rounds to float32 only when it stores a buffer,
// because it is the oracle the compiled kernel is checked against.
//
// It refuses a token outside [0, vocab_size), a position outside [0, seq_len), and weights or
// state whose sizes do not match cfg.
func Forward(cfg Config, w *Weights, s *State, token, pos int) ([]float32, error) {
	if err := CheckStep(cfg, w, s, token, pos); err != nil {
		return nil, err
	}
	return forward(cfg, f32Model{w}, s, token, pos), nil
}

// model is what a decode step reads from the weights, whatever their type: the transformer
// code of forward is shared, and only the embedding lookup and the mat-vecs differ.
type model interface {
	// embed sets x (dim) to the embedding of token.
	embed(x []float32, token int)
	// norms returns the RMS-norm weights: (n_layers, dim) twice and (dim).
	norms() (att, ffn, final []float32)
	// matvec sets out = W x, for W the matrix m of layer l (l is 0 for the classifier).
	matvec(out []float32, m matrix, l int, x []float32)
}

// matrix names the matrices of a model.
type matrix int

const (
	mWq matrix = iota
	mWk
	mWv
	mWo
	mW1
	mW2
	mW3
	mCls
)

// forward is Forward and ForwardQ after their checks.
func forward(cfg Config, m model, s *State, token, pos int) []float32 {
	d, hs := cfg.Dim, cfg.HeadSize()
	rmsAtt, rmsFfn, rmsFinal := m.norms()
	x := s.X
	m.embed(x, token)

	for l := range cfg.NLayers {
		// Attention: normalise, project to q, k, v, rotate q and k by position.
		rmsnorm(s.Xb, x, rmsAtt[l*d:(l+1)*d])
		m.matvec(s.Q, mWq, l, s.Xb)
		m.matvec(s.K, mWk, l, s.Xb)
		m.matvec(s.V, mWv, l, s.Xb)
		rope(s.Q, pos, cfg.HeadSize(), cfg.Theta())
		rope(s.K, pos, cfg.HeadSize(), cfg.Theta())

		// Cache this position's key and value, then attend over positions 0..pos.
		keys, values := layerCaches(cfg, s, l)
		for h := range cfg.NKVHeads {
			at := cacheRow(cfg, h, pos)
			keys.store(at, s.K[h*hs:(h+1)*hs])
			values.store(at, s.V[h*hs:(h+1)*hs])
		}
		attention(cfg, s.Xb, s.Q, s.Att, keys, values, pos)

		// Output projection and residual.
		m.matvec(s.Xb2, mWo, l, s.Xb)
		for i := range x {
			x[i] += s.Xb2[i]
		}

		// Feed-forward: w2(silu(w1 xb) * w3 xb), and residual.
		rmsnorm(s.Xb, x, rmsFfn[l*d:(l+1)*d])
		m.matvec(s.Hb, mW1, l, s.Xb)
		m.matvec(s.Hb2, mW3, l, s.Xb)
		for i, g := range s.Hb {
			g64 := float64(g)
			s.Hb[i] = float32(g64 / (1 + math.Exp(-g64)) * float64(s.Hb2[i]))
		}
		m.matvec(s.Xb, mW2, l, s.Hb)
		for i := range x {
			x[i] += s.Xb[i]
		}
	}

	// Final norm and classifier.
	rmsnorm(x, x, rmsFinal)
	m.matvec(s.Logits, mCls, 0, x)
	return s.Logits
}

// f32Model is the model of float32 Weights.
type f32Model struct{ w *Weights }

func (m f32Model) embed(x []float32, token int) {
	copy(x, m.w.TokenEmb[token*len(x):(token+1)*len(x)])
}

func (m f32Model) norms() (att, ffn, final []float32) { return m.w.RmsAtt, m.w.RmsFfn, m.w.RmsFinal }

func (m f32Model) matvec(out []float32, id matrix, l int, x []float32) {
	w := []*[]float32{&m.w.Wq, &m.w.Wk, &m.w.Wv, &m.w.Wo, &m.w.W1, &m.w.W2, &m.w.W3, &m.w.Wcls}[id]
	n := len(out) * len(x)
	matvec(out, (*w)[l*n:(l+1)*n], x)
}

// CheckStep validates the arguments of a decode step: the configuration, the sizes of every
// weight and state buffer, and the token and position ranges. Forward calls it, and so does
// every other implementation of a step (package llamakernel) before it computes.
func CheckStep(cfg Config, w *Weights, s *State, token, pos int) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if w == nil {
		return errors.New("forward: nil weights")
	}
	if err := check("weights", weightTensors(cfg, w)); err != nil {
		return err
	}
	return checkRun(cfg, s, token, pos)
}

// checkRun validates the state, token and position of a step for a valid cfg.
func checkRun(cfg Config, s *State, token, pos int) error {
	if s == nil {
		return errors.New("forward: nil state")
	}
	if err := check("state", stateBuffers(cfg, s)); err != nil {
		return err
	}
	return CheckToken(cfg, token, pos)
}

// CheckToken validates the token and position of a step for a valid cfg.
func CheckToken(cfg Config, token, pos int) error {
	if token < 0 || token >= cfg.VocabSize {
		return fmt.Errorf("token %d out of range [0, %d) (vocab_size)", token, cfg.VocabSize)
	}
	if pos < 0 || pos >= cfg.SeqLen {
		return fmt.Errorf("position %d out of range [0, %d) (seq_len): the KV cache holds seq_len positions", pos, cfg.SeqLen)
	}
	return nil
}

// rmsnorm sets out = x / sqrt(mean(x²) + eps) * weight; out may be x.
func rmsnorm(out, x, weight []float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	inv := 1 / math.Sqrt(ss/float64(len(x))+rmsEps)
	for i, v := range x {
		out[i] = float32(float64(weight[i]) * (inv * float64(v)))
	}
}

// parallelMin is the matrix size (elements) from which matvec splits rows across goroutines.
const parallelMin = 1 << 18

// matvec sets out = w x for a row-major w of len(out) rows and len(x) columns.
func matvec(out, w, x []float32) {
	parallelRows(len(out), len(x), func(lo, hi int) { matvecRows(out, w, x, lo, hi) })
}

// parallelRows calls rows(lo, hi) on ranges that cover [0, rows) of a mat-vec with cols
// columns: on GOMAXPROCS goroutines when the matrix has at least parallelMin elements.
func parallelRows(rows, cols int, do func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if rows*cols < parallelMin || workers == 1 {
		do(0, rows)
		return
	}
	var wg sync.WaitGroup
	per := (rows + workers - 1) / workers
	for lo := 0; lo < rows; lo += per {
		hi := min(lo+per, rows)
		wg.Go(func() { do(lo, hi) })
	}
	wg.Wait()
}

// matvecRows computes rows lo..hi-1 of out = w x.
func matvecRows(out, w, x []float32, lo, hi int) {
	cols := len(x)
	for r := lo; r < hi; r++ {
		row := w[r*cols : (r+1)*cols]
		var acc float64
		for j, v := range row {
			acc += float64(v) * float64(x[j])
		}
		out[r] = float32(acc)
	}
}

// rope applies rotary position embedding for position pos to vec, a concatenation of heads
// of headSize elements: each pair (i, i+1) is rotated by pos × theta^(-(i mod headSize)/headSize).
func rope(vec []float32, pos, headSize int, theta float64) {
	for i := 0; i+1 < len(vec); i += 2 {
		headDim := i % headSize
		freq := 1 / math.Pow(theta, float64(headDim)/float64(headSize))
		sin, cos := math.Sincos(float64(pos) * freq)
		v0, v1 := float64(vec[i]), float64(vec[i+1])
		vec[i] = float32(v0*cos - v1*sin)
		vec[i+1] = float32(v0*sin + v1*cos)
	}
}

// kvCache is one layer's key or value cache, of either CacheType: float32 (f32) or the bits
// of IEEE half floats (f16).
type kvCache struct {
	f32 []float32
	f16 []uint16
}

// layerCaches are layer l's key and value caches in s, of type cfg.KVCache.
func layerCaches(cfg Config, s *State, l int) (keys, values kvCache) {
	off := l * cfg.SeqLen * cfg.KVDim()
	if cfg.KVCache == CacheF16 {
		return kvCache{f16: s.KeyCacheF16[off:]}, kvCache{f16: s.ValueCacheF16[off:]}
	}
	return kvCache{f32: s.KeyCache[off:]}, kvCache{f32: s.ValueCache[off:]}
}

// store writes v at element at, rounded to the nearest half (ties to even) in an f16 cache,
// as the kernels' stores into f16 arrays (language §2.1).
func (c kvCache) store(at int, v []float32) {
	if c.f16 == nil {
		copy(c.f32[at:], v)
		return
	}
	for i, x := range v {
		c.f16[at+i] = uint16(half.F16FromFloat32(x))
	}
}

// at is element i, widened exactly.
func (c kvCache) at(i int) float64 {
	if c.f16 == nil {
		return float64(c.f32[i])
	}
	return half.F16(c.f16[i]).Float64()
}

// cacheRow is where one layer's key (or value) cache keeps key/value head h at position
// pos: the cache is (n_kv_heads, seq_len, head_size), each head's positions one run, so that
// the attention streams them (State).
func cacheRow(cfg Config, h, pos int) int { return (h*cfg.SeqLen + pos) * cfg.HeadSize() }

// attention sets out (dim) to multi-head attention of q (dim) over positions 0..pos of one
// layer's key and value caches (n_kv_heads, seq_len, head_size), using att (n_heads,
// seq_len) for the weights. Query head h reads key/value head h / (n_heads / n_kv_heads).
func attention(cfg Config, out, q, att []float32, keys, values kvCache, pos int) {
	hs := cfg.HeadSize()
	scale := 1 / math.Sqrt(float64(hs))
	scores := make([]float64, pos+1)
	for h := range cfg.NHeads {
		qh := q[h*hs : (h+1)*hs]
		kvh := h / cfg.kvGroup()
		a := att[h*cfg.SeqLen : h*cfg.SeqLen+pos+1]

		// Scores q·k / sqrt(head_size), then a max-subtracted softmax.
		maxScore := math.Inf(-1)
		for t := range scores {
			k := cacheRow(cfg, kvh, t)
			var dot float64
			for i, v := range qh {
				dot += float64(v) * keys.at(k+i)
			}
			scores[t] = dot * scale
			maxScore = max(maxScore, scores[t])
		}
		var total float64
		for t, sc := range scores {
			scores[t] = math.Exp(sc - maxScore)
			total += scores[t]
		}
		for t := range scores {
			scores[t] /= total
			a[t] = float32(scores[t])
		}

		// Weighted sum of the values.
		oh := out[h*hs : (h+1)*hs]
		for i := range oh {
			var acc float64
			for t, p := range scores {
				acc += p * values.at(cacheRow(cfg, kvh, t)+i)
			}
			oh[i] = float32(acc)
		}
	}
}
