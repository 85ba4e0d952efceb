package llama

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// randomModel returns weights for cfg, uniform in [-scale, scale] for a given seed. Tests of
// the forward pass use scale well above Randomize's 0.01 so that activations are not tiny.
func randomModel(t testing.TB, cfg Config, seed uint64, scale float32) *Weights {
	t.Helper()
	w, err := NewWeights(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Randomize(seed, nil)
	for _, b := range weightTensors(cfg, w) {
		for i := range *b.data {
			(*b.data)[i] *= scale / 0.01
		}
	}
	return w
}

func TestNewWeightsShapes(t *testing.T) {
	w, err := NewWeights(tiny, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Lengths from the shapes in the field comments, with tiny's numbers written out.
	got := map[string]int{
		"TokenEmb": len(w.TokenEmb), "RmsAtt": len(w.RmsAtt), "RmsFfn": len(w.RmsFfn),
		"Wq": len(w.Wq), "Wk": len(w.Wk), "Wv": len(w.Wv), "Wo": len(w.Wo),
		"W1": len(w.W1), "W2": len(w.W2), "W3": len(w.W3), "RmsFinal": len(w.RmsFinal), "Wcls": len(w.Wcls),
	}
	want := map[string]int{
		"TokenEmb": 10 * 8, "RmsAtt": 2 * 8, "RmsFfn": 2 * 8,
		"Wq": 2 * 8 * 8, "Wk": 2 * 4 * 8, "Wv": 2 * 4 * 8, "Wo": 2 * 8 * 8,
		"W1": 2 * 16 * 8, "W2": 2 * 8 * 16, "W3": 2 * 16 * 8, "RmsFinal": 8, "Wcls": 10 * 8,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tensor lengths (-want +got):\n%s", diff)
	}
	sum := 0
	for _, n := range got {
		sum += n
	}
	if int64(sum) != tiny.Params() {
		t.Errorf("tensors hold %d floats, Params() = %d", sum, tiny.Params())
	}
	if &w.Wcls[0] == &w.TokenEmb[0] {
		t.Error("NewWeights shares the classifier with the embedding; want a separate one")
	}
}

func TestNewWeightsAllocator(t *testing.T) {
	var sizes []int
	counting := func(n int) ([]float32, error) {
		sizes = append(sizes, n)
		return make([]float32, n), nil
	}
	if _, err := NewWeights(tiny, counting); err != nil {
		t.Fatal(err)
	}
	// One call per tensor, in llama2.c order.
	if diff := cmp.Diff([]int{80, 16, 128, 64, 64, 128, 16, 256, 256, 256, 8, 80}, sizes); diff != "" {
		t.Errorf("allocation sizes (-want +got):\n%s", diff)
	}

	tests := []struct {
		name  string
		alloc Allocator
		want  string
	}{
		{"failing", func(n int) ([]float32, error) { return nil, errors.New("out of huge pages") },
			"weights: allocating token_embedding_table (10 x 8 floats): out of huge pages"},
		{"short", func(n int) ([]float32, error) { return make([]float32, n-1), nil },
			"allocator returned 79 floats, want 80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewWeights(tiny, tt.alloc)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewWeights error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := NewWeights(Config{}, nil); err == nil {
		t.Error("NewWeights(zero Config) succeeded")
	}
}

func TestRandomizeDeterministic(t *testing.T) {
	cfg := Config{Dim: 32, HiddenDim: 40, NLayers: 3, NHeads: 4, NKVHeads: 2, VocabSize: 37, SeqLen: 8}
	fill := func(procs, chunk int) *Weights {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		w, err := NewWeights(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.randomize(42, nil, chunk)
		return w
	}
	// One piece per tensor on one goroutine is the reference; odd chunks split pairs of
	// elements that share one hash.
	want := fill(1, math.MaxInt)
	for _, tt := range []struct{ procs, chunk int }{{1, 7}, {2, 7}, {3, 1}, {4, 64}, {2, randomChunk}} {
		if got := fill(tt.procs, tt.chunk); !cmp.Equal(want, got) {
			t.Errorf("GOMAXPROCS %d, chunk %d: weights differ from a single-threaded fill", tt.procs, tt.chunk)
		}
	}
	other := fill(2, 7)
	other.randomize(43, nil, 7)
	if cmp.Equal(want, other) {
		t.Error("seeds 42 and 43 give the same weights")
	}
	if cmp.Equal(want.Wq, want.Wo) {
		t.Error("wq and wo are equal: tensors share one stream")
	}
}

func TestRandomizeRange(t *testing.T) {
	cfg := Config{Dim: 64, HiddenDim: 128, NLayers: 2, NHeads: 4, NKVHeads: 4, VocabSize: 100, SeqLen: 8}
	w, err := NewWeights(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Randomize(7, nil)
	for _, b := range weightTensors(cfg, w) {
		data := *b.data
		lo, hi, sum := float32(1), float32(-1), 0.0
		for _, v := range data {
			if v < -0.01 || v > 0.01 || math.IsNaN(float64(v)) {
				t.Fatalf("%s holds %v, outside [-0.01, 0.01]", b.name, v)
			}
			lo, hi, sum = min(lo, v), max(hi, v), sum+float64(v)
		}
		// Uniform: the extremes approach ±0.01 and the mean is near 0 (its standard
		// deviation is 0.01/sqrt(3n); allow 5 of them).
		n := float64(len(data))
		edge := 0.01 * (1 - 20/n)
		if float64(lo) > -edge || float64(hi) < edge {
			t.Errorf("%s spans [%v, %v], want close to [-0.01, 0.01]", b.name, lo, hi)
		}
		if mean := sum / n; math.Abs(mean) > 5*0.01/math.Sqrt(3*n) {
			t.Errorf("%s has mean %v, want near 0", b.name, mean)
		}
	}
}

func TestRandomizeProgressAndSharing(t *testing.T) {
	w, err := NewWeights(tiny, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Wcls = w.TokenEmb // shared classifier: filled once, as the embedding
	var calls []int64
	w.randomize(5, func(done, total int64) {
		if total != tiny.Params()-int64(tiny.VocabSize*tiny.Dim) {
			t.Fatalf("progress total %d, want Params minus the shared classifier", total)
		}
		calls = append(calls, done)
	}, 50)
	for i := 1; i < len(calls); i++ {
		if calls[i] <= calls[i-1] {
			t.Fatalf("progress not increasing: %v", calls)
		}
	}
	if len(calls) < 10 || calls[len(calls)-1] != tiny.Params()-80 {
		t.Errorf("progress calls %v, want one per chunk of 50 ending at the total", calls)
	}
	separate, err := NewWeights(tiny, nil)
	if err != nil {
		t.Fatal(err)
	}
	separate.Randomize(5, nil)
	if !cmp.Equal(separate.TokenEmb, w.TokenEmb) || !cmp.Equal(separate.Wq, w.Wq) {
		t.Error("sharing the classifier changed the other tensors' values")
	}
}

// BenchmarkRandomize reports how fast Randomize fills the 125M and 1B presets (the 1B
// weights take 4 GB).
func BenchmarkRandomize(b *testing.B) {
	for _, name := range []string{"125M", "1B"} {
		b.Run(name, func(b *testing.B) {
			cfg, err := Preset(name)
			if err != nil {
				b.Fatal(err)
			}
			w, err := NewWeights(cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(cfg.WeightBytes())
			for b.Loop() {
				w.Randomize(1, nil)
			}
		})
	}
}
