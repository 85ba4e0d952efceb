package llamakernel

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
)

// prefillBuilds are the backends the prefill must match the decode steps on (the GEMM tiling
// happens on both; under StrictFP nothing is tiled).
var prefillBuilds = []struct {
	name string
	opts compiler.Options
}{
	{"mlir", compiler.Options{Backend: compiler.MLIR}},
	{"llvm", compiler.Options{Backend: compiler.LLVM}},
}

func compilePrefill(t *testing.T, opts compiler.Options) *Prefill {
	return openKernel(t, FilePrefill, opts, llama.CacheF32, func(lib *loader.Library) (*Prefill, error) { return NewPrefill(lib, llama.CacheF32) })
}

func newTestBatch(t *testing.T, cfg llama.Config, maxTokens int) *Batch {
	t.Helper()
	b, err := NewBatch(cfg, maxTokens, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// promptTokens are n tokens of cfg's vocabulary, starting from position from.
func promptTokens(cfg llama.Config, from, n int) []int {
	tokens := make([]int, n)
	for i := range tokens {
		tokens[i] = ((from+i)*31 + 5) % cfg.VocabSize
	}
	return tokens
}

// compareMax reports the first element of got further than tol × max|want| from want, or "".
func compareMax(what string, got, want []float32, tol float64) string {
	var scale float64
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	if scale == 0 {
		return what + ": the reference is all zero"
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*scale) {
			return fmt.Sprintf("%s[%d] = %v, reference %v (difference %.3g, allowed %.3g)", what, i, got[i], want[i], d, tol*scale)
		}
	}
	return ""
}

// chunksName names a subtest of prefix feeding a prompt in chunks with batches of
// maxTokens (0: the largest chunk).
func chunksName(prefix string, chunks []int, maxTokens int) string {
	name := fmt.Sprintf("%s/T=%v", prefix, chunks)
	if maxTokens > 0 {
		name += fmt.Sprintf("/batch=%d", maxTokens)
	}
	return name
}

// marked sets the logits of s to a marker value and returns a check that neither they nor
// the KV cache have been written since.
func marked(s *llama.State) func(t *testing.T) {
	for i := range s.Logits {
		s.Logits[i] = 42
	}
	keys, values := slices.Clone(s.KeyCache), slices.Clone(s.ValueCache)
	return func(t *testing.T) {
		t.Helper()
		if !slices.Equal(s.KeyCache, keys) || !slices.Equal(s.ValueCache, values) {
			t.Error("the KV cache was written")
		}
		if slices.ContainsFunc(s.Logits, func(v float32) bool { return v != 42 }) {
			t.Error("the logits were written")
		}
	}
}

// matchDecode feeds a prompt in chunks (the calls of prefill, with batches of maxTokens; 0:
// the largest chunk) and the same tokens one at a time through decode, each on a state of
// its own, each chunk from the prefill's caches of the earlier ones (checked there), and
// fails unless after every chunk the logits and both KV caches agree within 1e-4 of their
// largest values. With margin (llama.ForwardQMargin on the same model), a chunk whose steps
// come within flipMargin of a rounding boundary is held to flipTolerance instead. It returns
// the largest logit difference, relative to the largest logit, of the chunks held to 1e-4,
// and how many chunks those were.
func matchDecode(t *testing.T, cfg llama.Config, chunks []int, maxTokens int,
	prefill func(s *llama.State, b *Batch, tokens []int, pos int) ([]float32, error),
	decode func(s *llama.State, token, pos int) ([]float32, error),
	margin func(s *llama.State, token, pos int) (float64, error)) (float64, int) {
	t.Helper()
	if maxTokens == 0 {
		maxTokens = slices.Max(chunks)
	}
	batch := newTestBatch(t, cfg, maxTokens)
	ps, ds := newTestState(t, cfg), newTestState(t, cfg)
	var rs *llama.State // the reference's, for margin
	if margin != nil {
		rs = newTestState(t, cfg)
	}
	pos, worst, strict := 0, 0.0, 0
	for _, n := range chunks {
		tokens := promptTokens(cfg, pos, n)
		tol := 1e-4
		if margin != nil {
			copyCaches(rs, ps)
			smallest := math.Inf(1)
			for i, token := range tokens {
				m, err := margin(rs, token, pos+i)
				if err != nil {
					t.Fatal(err)
				}
				smallest = min(smallest, m)
			}
			tol = stepTolerance(smallest)
		}
		copyCaches(ds, ps)
		got, err := prefill(ps, batch, tokens, pos)
		if err != nil {
			t.Fatal(err)
		}
		var want []float32
		for i, token := range tokens {
			if want, err = decode(ds, token, pos+i); err != nil {
				t.Fatal(err)
			}
		}
		msg, flipped := compareCaches(ps, ds, tol)
		if msg != "" {
			t.Fatalf("after %d tokens at pos %d: %s", n, pos, msg)
		}
		if flipped { // an f16 key or value rounded the other way (compareCaches)
			tol = flipTolerance
		}
		if msg := compareMax("logit", got, want, tol); msg != "" {
			t.Fatalf("after %d tokens at pos %d: %s", n, pos, msg)
		}
		if tol < flipTolerance {
			worst = max(worst, relativeError(got, want))
			strict++
		}
		pos += n
	}
	return worst, strict
}

// TestPrefillMatchesDecode feeds prompts through llama2_prefill, in one call and in chunks
// (a second call starting at a nonzero position, and batches smaller than the prompt), and
// checks the logits and both KV caches against as many decode steps of the Go reference:
// within 1e-4 of the largest logit and of the largest cache value.
func TestPrefillMatchesDecode(t *testing.T) {
	for _, b := range prefillBuilds {
		p := compilePrefill(t, b.opts)
		for _, rc := range referenceConfigs {
			cfg := rc.cfg
			w := randomModel(t, cfg, 11, 0.3)
			// chunks are the prompt's calls of Forward; maxTokens the batch size (0: the largest
			// chunk).
			for _, tc := range []struct {
				chunks    []int
				maxTokens int
			}{
				{[]int{1}, 0},
				{[]int{3}, 0},
				{[]int{7}, 0},
				{[]int{cfg.SeqLen}, 0}, // the whole cache, at least two row blocks of the GEMMs
				{[]int{3, 4}, 0},       // the second call at pos 3
				{[]int{1, 5, 1}, 0},
				{[]int{7}, 2},                 // chunks of 2, 2, 2, 1 inside Forward
				{[]int{5, cfg.SeqLen - 5}, 4}, // to the end of the cache in chunks of 4
			} {
				t.Run(chunksName(b.name+"/"+rc.name, tc.chunks, tc.maxTokens), func(t *testing.T) {
					prefill := func(s *llama.State, b *Batch, tokens []int, pos int) ([]float32, error) {
						return p.Forward(cfg, w, s, b, tokens, pos)
					}
					decode := func(s *llama.State, token, pos int) ([]float32, error) {
						return llama.Forward(cfg, w, s, token, pos)
					}
					matchDecode(t, cfg, tc.chunks, tc.maxTokens, prefill, decode, nil)
				})
			}
		}
	}
}

// TestPrefillThenDecode continues with the compiled decode step after a prefill: the logits
// of the following positions match the reference's, so the cache the prefill left is the one
// the decode step reads.
func TestPrefillThenDecode(t *testing.T) {
	p := compilePrefill(t, prefillBuilds[0].opts)
	k := compileKernel(t, prefillBuilds[0].opts)
	rc := referenceConfigs[1] // grouped-query attention
	cfg := rc.cfg
	w := randomModel(t, cfg, 5, 0.3)
	ps, rs := newTestState(t, cfg), newTestState(t, cfg)
	prompt := promptTokens(cfg, 0, 6)
	if _, err := p.Forward(cfg, w, ps, newTestBatch(t, cfg, 6), prompt, 0); err != nil {
		t.Fatal(err)
	}
	for i, token := range prompt {
		if _, err := llama.Forward(cfg, w, rs, token, i); err != nil {
			t.Fatal(err)
		}
	}
	for pos := len(prompt); pos < cfg.SeqLen; pos++ {
		token := (pos*7 + 1) % cfg.VocabSize
		got, err := k.Forward(cfg, w, ps, token, pos)
		if err != nil {
			t.Fatal(err)
		}
		want, err := llama.Forward(cfg, w, rs, token, pos)
		if err != nil {
			t.Fatal(err)
		}
		if msg := compareMax("logit", got, want, 1e-4); msg != "" {
			t.Fatalf("decode at pos %d after the prefill: %s", pos, msg)
		}
	}
}

// TestPrefillRefusesBadInput checks that Forward refuses an empty batch, a batch that would
// run past seq_len, a negative position, a bad token anywhere in the batch and short buffers,
// and writes neither the caches nor the logits; and that the kernel itself returns NaN and
// writes nothing when called with such arguments.
func TestPrefillRefusesBadInput(t *testing.T) {
	for _, b := range prefillBuilds {
		p := compilePrefill(t, b.opts)
		cfg := referenceConfigs[0].cfg
		w := randomModel(t, cfg, 1, 0.3)
		s := newTestState(t, cfg)
		batch := newTestBatch(t, cfg, 4)
		// A cache already holding two positions, and logits of a marker value.
		if _, err := p.Forward(cfg, w, s, batch, []int{1, 2}, 0); err != nil {
			t.Fatal(err)
		}
		untouched := marked(s)
		for _, tc := range []struct {
			name   string
			tokens []int
			pos    int
			mutate func(s *llama.State, b *Batch)
			want   string
		}{
			{"T = 0", nil, 2, nil, "no tokens"},
			{"past seq_len", []int{1, 2, 3}, cfg.SeqLen - 2, nil, "runs past seq_len 16"},
			{"pos = seq_len", []int{1}, cfg.SeqLen, nil, "position 16 out of range"},
			{"negative pos", []int{1, 2}, -1, nil, "position -1 out of range"},
			{"token = vocab", []int{1, cfg.VocabSize, 2}, 2, nil, "token 97 (prompt position 1) out of range"},
			{"negative token", []int{1, 2, -3}, 2, nil, "token -3 (prompt position 2)"},
			{"first token bad", []int{cfg.VocabSize + 1}, 2, nil, "token 98 out of range"},
			{"short cache", []int{1}, 2, func(s *llama.State, b *Batch) { s.KeyCache = s.KeyCache[:10] }, "key_cache has 10 elements"},
			{"short batch", []int{1}, 2, func(s *llama.State, b *Batch) { b.Hb = b.Hb[:5] }, "batch: hb has 5 elements"},
		} {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				s2, b2 := *s, *batch
				if tc.mutate != nil {
					tc.mutate(&s2, &b2)
				}
				if _, err := p.Forward(cfg, w, &s2, &b2, tc.tokens, tc.pos); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %v, want it to mention %q", err, tc.want)
				}
				untouched(t)
			})
		}

		// The kernel itself: T < 1, past seq_len, negative pos and a bad last token give NaN and
		// write nothing.
		d, h := cfg.Dim, cfg.HiddenDim
		for _, tc := range []struct {
			name   string
			tokens []int64
			n, pos int
		}{
			{"T = 0", []int64{1}, 0, 2},
			{"T = -1", []int64{1}, -1, 2},
			{"past seq_len", []int64{1, 2, 3}, 3, cfg.SeqLen - 2},
			{"negative pos", []int64{1}, 1, -1},
			{"bad last token", []int64{1, 2, int64(cfg.VocabSize)}, 3, 2},
		} {
			t.Run(b.name+"/kernel/"+tc.name, func(t *testing.T) {
				r, err := p.fn.Call(w.TokenEmb, w.RmsAtt, w.RmsFfn, w.Wq, w.Wk, w.Wv, w.Wo, w.W1, w.W2, w.W3, w.RmsFinal, w.Wcls,
					batch.X, batch.Xb, batch.Xb2, batch.Q, batch.K, batch.V, batch.Att, batch.Hb, batch.Hb2,
					s.Logits, s.KeyCache, s.ValueCache,
					tc.tokens, tc.n, tc.pos, d, h, cfg.NLayers, cfg.NHeads, cfg.NKVHeads, cfg.VocabSize, cfg.SeqLen, cfg.Theta())
				if err != nil {
					t.Fatal(err)
				}
				if !math.IsNaN(float64(r.(float32))) {
					t.Errorf("kernel returned %v, want NaN", r)
				}
				untouched(t)
			})
		}
	}
}
