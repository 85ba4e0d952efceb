package llamakernel

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
	"github.com/simplang/simplang/toolchain"
)

// kernelBuilds are the compiler configurations the kernel must match the reference under.
var kernelBuilds = []struct {
	name string
	opts compiler.Options
}{
	{"mlir", compiler.Options{Backend: compiler.MLIR}},
	{"mlir-strict-fp", compiler.Options{Backend: compiler.MLIR, StrictFP: true}},
	{"mlir-serial", compiler.Options{Backend: compiler.MLIR, Serial: true}},
	{"llvm", compiler.Options{Backend: compiler.LLVM}},
	{"llvm-strict-fp", compiler.Options{Backend: compiler.LLVM, StrictFP: true}},
	{"llvm-opt-llc", compiler.Options{Backend: compiler.LLVM, Route: toolchain.ViaOptLLC}},
}

func compileKernel(t testing.TB, opts compiler.Options) *Kernel {
	return openKernel(t, File, opts, llama.CacheF32, func(lib *loader.Library) (*Kernel, error) { return New(lib, llama.CacheF32) })
}

// openKernel compiles and opens kernels/file and binds it with bind, failing the test on any
// error.
func openKernel[K any](t testing.TB, file string, opts compiler.Options, cache llama.CacheType, bind func(*loader.Library) (K, error)) K {
	t.Helper()
	src, err := Source(file, cache)
	if err != nil {
		t.Fatal(err)
	}
	k, err := bind(kerneltest.Open(t, file, src, opts))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newTestState(t *testing.T, cfg llama.Config) *llama.State {
	t.Helper()
	s, err := llama.NewState(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// randomModel returns weights for cfg, uniform in [-scale, scale] for a given seed: the
// weights package llama's tests make, with scale well above Randomize's 0.01 so that
// activations are not tiny.
func randomModel(t testing.TB, cfg llama.Config, seed uint64, scale float32) *llama.Weights {
	t.Helper()
	w, err := llama.NewWeights(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Randomize(seed, nil)
	for _, tensor := range [][]float32{w.TokenEmb, w.RmsAtt, w.RmsFfn, w.Wq, w.Wk, w.Wv, w.Wo, w.W1, w.W2, w.W3, w.RmsFinal, w.Wcls} {
		for i := range tensor {
			tensor[i] *= scale / 0.01
		}
	}
	return w
}

// referenceConfigs cover multi-head and grouped-query attention and head sizes other than 64.
var referenceConfigs = []struct {
	name string
	cfg  llama.Config
}{
	{"mha-head16", llama.Config{Dim: 64, HiddenDim: 160, NLayers: 2, NHeads: 4, NKVHeads: 4, VocabSize: 97, SeqLen: 16}},
	{"gqa-3to1-head16", llama.Config{Dim: 96, HiddenDim: 200, NLayers: 3, NHeads: 6, NKVHeads: 2, VocabSize: 50, SeqLen: 12}},
	{"gqa-2to1-head48", llama.Config{Dim: 96, HiddenDim: 64, NLayers: 2, NHeads: 2, NKVHeads: 1, VocabSize: 33, SeqLen: 10}},
	{"mha-head64", llama.Config{Dim: 128, HiddenDim: 688, NLayers: 2, NHeads: 2, NKVHeads: 2, VocabSize: 600, SeqLen: 9}}, // big enough for parallel mat-vecs
}

// TestKernelMatchesReference runs the compiled llama2_forward and the Go reference side by
// side over consecutive positions: every logit must agree within 1e-4 of the largest logit
// magnitude.
func TestKernelMatchesReference(t *testing.T) {
	for _, b := range kernelBuilds {
		k := compileKernel(t, b.opts)
		for _, rc := range referenceConfigs {
			t.Run(b.name+"/"+rc.name, func(t *testing.T) {
				cfg := rc.cfg
				w := randomModel(t, cfg, 7, 0.3)
				ks, rs := newTestState(t, cfg), newTestState(t, cfg)
				positions := min(cfg.SeqLen, 10)
				if positions < 8 {
					t.Fatalf("config has seq_len %d: want at least 8 positions", cfg.SeqLen)
				}
				for pos := range positions {
					token := (pos*31 + 5) % cfg.VocabSize
					got, err := k.Forward(cfg, w, ks, token, pos)
					if err != nil {
						t.Fatal(err)
					}
					want, err := llama.Forward(cfg, w, rs, token, pos)
					if err != nil {
						t.Fatal(err)
					}
					if msg := compareLogits(got, want, 1e-4); msg != "" {
						t.Fatalf("pos %d token %d: %s", pos, token, msg)
					}
				}
			})
		}
	}
}

// compareLogits reports the first logit further than tol × max|want| from want, or "".
func compareLogits(got, want []float32, tol float64) string {
	var scale float64
	for _, w := range want {
		scale = math.Max(scale, math.Abs(float64(w)))
	}
	if scale == 0 {
		return "the reference logits are all zero: the test model is degenerate"
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*scale) {
			return fmt.Sprintf("logit %d = %v, reference %v (difference %.3g, allowed %.3g)", i, got[i], want[i], d, tol*scale)
		}
	}
	return ""
}

func TestKernelRefusesBadInput(t *testing.T) {
	k := compileKernel(t, kernelBuilds[0].opts)
	cfg := referenceConfigs[0].cfg
	w := randomModel(t, cfg, 1, 0.01)
	s := newTestState(t, cfg)
	for _, tc := range []struct {
		name       string
		token, pos int
		mutate     func(w *llama.Weights, s *llama.State)
		want       string
	}{
		{"pos = seq_len", 1, cfg.SeqLen, nil, "position 16 out of range"},
		{"negative pos", 1, -1, nil, "position -1"},
		{"token = vocab", cfg.VocabSize, 0, nil, "token 97 out of range"},
		{"short cache", 1, 0, func(w *llama.Weights, s *llama.State) { s.KeyCache = s.KeyCache[:10] }, "key_cache has 10 elements"},
		{"short wq", 1, 0, func(w *llama.Weights, s *llama.State) { w.Wq = w.Wq[:len(w.Wq)-1] }, "wq has"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w2, s2 := *w, *s
			if tc.mutate != nil {
				tc.mutate(&w2, &s2)
			}
			if _, err := k.Forward(cfg, &w2, &s2, tc.token, tc.pos); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	llama3 := cfg
	llama3.RopeTheta = 500000
	if _, err := k.Forward(llama3, w, s, 1, 0); err == nil || !strings.Contains(err.Error(), "RoPE base 10000, but the model's is 500000") {
		t.Errorf("θ = 500000: err = %v, want a refusal naming both RoPE bases", err)
	}

	// The kernel itself refuses a position past the cache: it returns NaN and writes nothing.
	for i := range s.Logits {
		s.Logits[i] = 42
	}
	r, err := k.fn.Call(w.TokenEmb, w.RmsAtt, w.RmsFfn, w.Wq, w.Wk, w.Wv, w.Wo, w.W1, w.W2, w.W3, w.RmsFinal, w.Wcls,
		s.X, s.Xb, s.Xb2, s.Q, s.K, s.V, s.Att, s.Hb, s.Hb2, s.Logits, s.KeyCache, s.ValueCache,
		1, cfg.SeqLen, cfg.Dim, cfg.HiddenDim, cfg.NLayers, cfg.NHeads, cfg.NKVHeads, cfg.VocabSize, cfg.SeqLen)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(float64(r.(float32))) || s.Logits[0] != 42 || s.Logits[len(s.Logits)-1] != 42 {
		t.Errorf("pos = seq_len: kernel returned %v and logits[0] = %v; want NaN and untouched logits", r, s.Logits[0])
	}
}

// TestBackendsAgree checks the two code generators against each other: the LLaMA 2 logits of
// the MLIR and the LLVM IR backends agree within 1e-5 of the largest logit magnitude.
func TestBackendsAgree(t *testing.T) {
	mlir := compileKernel(t, compiler.Options{Backend: compiler.MLIR})
	llvm := compileKernel(t, compiler.Options{Backend: compiler.LLVM})
	for _, rc := range referenceConfigs {
		t.Run(rc.name, func(t *testing.T) {
			cfg := rc.cfg
			w := randomModel(t, cfg, 3, 0.3)
			ms, ls := newTestState(t, cfg), newTestState(t, cfg)
			for pos := range min(cfg.SeqLen, 10) {
				token := (pos*17 + 3) % cfg.VocabSize
				a, err := mlir.Forward(cfg, w, ms, token, pos)
				if err != nil {
					t.Fatal(err)
				}
				b, err := llvm.Forward(cfg, w, ls, token, pos)
				if err != nil {
					t.Fatal(err)
				}
				if msg := compareLogits(b, a, 1e-5); msg != "" {
					t.Fatalf("pos %d: LLVM vs MLIR: %s", pos, msg)
				}
			}
		})
	}
}
