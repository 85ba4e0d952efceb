package llama

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewSamplerRefuses(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	tests := []struct {
		name        string
		vocab       int
		temperature float32
		topp        float32
		want        string // empty: accepted
	}{
		{"greedy", 10, 0, 0, ""},
		{"plain", 10, 1, 1, ""},
		{"nucleus", 10, 0.8, 0.9, ""},
		{"no vocabulary", 0, 1, 0.9, "vocabulary size 0"},
		{"negative temperature", 10, -0.5, 0.9, "temperature -0.5, must be a finite number >= 0"},
		{"NaN temperature", 10, nan, 0.9, "temperature NaN"},
		{"infinite temperature", 10, inf, 0.9, "temperature +Inf"},
		{"negative topp", 10, 1, -0.1, "top-p -0.1, must be in [0, 1]"},
		{"topp above 1", 10, 1, 1.5, "top-p 1.5"},
		{"NaN topp", 10, 1, nan, "top-p NaN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSampler(tt.vocab, tt.temperature, tt.topp, 1)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("NewSampler = %v, want success", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("NewSampler error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestGreedy(t *testing.T) {
	tests := []struct {
		logits []float32
		want   int
	}{
		{[]float32{0.1, 0.5, 0.2}, 1},
		{[]float32{-3, -1, -2}, 1},
		{[]float32{7, 1, 7}, 0}, // ties: the first
		{[]float32{1, 2, 3, 4, 100}, 4},
	}
	for _, tt := range tests {
		s, err := NewSampler(len(tt.logits), 0, 0.9, 1)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if got := s.Sample(tt.logits); got != tt.want {
				t.Errorf("greedy Sample(%v) = %d, want %d", tt.logits, got, tt.want)
			}
		}
	}
}

func TestSampleReproducible(t *testing.T) {
	logits := make([]float32, 50)
	for i := range logits {
		logits[i] = float32(i%7) * 0.1
	}
	orig := append([]float32(nil), logits...)
	run := func(seed uint64, topp float32) []int {
		s, err := NewSampler(len(logits), 1, topp, seed)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int, 100)
		for i := range out {
			out[i] = s.Sample(logits)
		}
		return out
	}
	for _, topp := range []float32{1, 0.9} {
		a, b := run(7, topp), run(7, topp)
		if !cmp.Equal(a, b) {
			t.Errorf("topp %v: seed 7 gave two different sequences", topp)
		}
		if cmp.Equal(a, run(8, topp)) {
			t.Errorf("topp %v: seeds 7 and 8 gave the same sequence", topp)
		}
	}
	if !cmp.Equal(orig, logits) {
		t.Error("Sample modified the logits")
	}
}

// TestSampleDistribution draws many tokens with a fixed seed and compares their frequencies
// with the distribution the parameters define; 20000 draws put each frequency within
// about 0.004 (one standard deviation), and the tolerance is 0.02.
func TestSampleDistribution(t *testing.T) {
	// Not in order, so that the nucleus has to be found by sorting: from the most likely,
	// tokens 2, 4, 0, 3, 1.
	probs := []float64{0.1, 0.04, 0.5, 0.06, 0.3}
	logits := make([]float32, len(probs))
	for i, p := range probs {
		logits[i] = float32(math.Log(p)) + 3 // softmax ignores the shift
	}
	tests := []struct {
		name        string
		temperature float32
		topp        float32
		want        []float64
	}{
		{"multinomial", 1, 1, probs},
		{"topp 0 is multinomial", 1, 0, probs},
		// Cumulative 0.5, 0.8 > 0.7: the nucleus is tokens 2 and 4, renormalised.
		{"nucleus 0.7", 1, 0.7, []float64{0, 0, 0.5 / 0.8, 0, 0.3 / 0.8}},
		// 0.5, 0.8, 0.9, 0.96 > 0.95: four tokens.
		{"nucleus 0.95", 1, 0.95, []float64{0.1 / 0.96, 0, 0.5 / 0.96, 0.06 / 0.96, 0.3 / 0.96}},
		// 0.5 is not more than 0.5, so the nucleus needs token 4 too.
		{"nucleus 0.5", 1, 0.5, []float64{0, 0, 0.5 / 0.8, 0, 0.3 / 0.8}},
		// Temperature 2 takes square roots before normalising.
		{"temperature 2", 2, 1, normalised(probs, 0.5)},
	}
	const n = 20000
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSampler(len(logits), tt.temperature, tt.topp, 12345)
			if err != nil {
				t.Fatal(err)
			}
			counts := make([]int, len(logits))
			for range n {
				counts[s.Sample(logits)]++
			}
			for i, want := range tt.want {
				got := float64(counts[i]) / n
				if want == 0 && counts[i] != 0 {
					t.Errorf("token %d outside the nucleus drawn %d times", i, counts[i])
				}
				if math.Abs(got-want) > 0.02 {
					t.Errorf("token %d drawn with frequency %.4f, want %.4f", i, got, want)
				}
			}
		})
	}
}

// normalised returns p^e scaled to sum to 1.
func normalised(p []float64, e float64) []float64 {
	out := make([]float64, len(p))
	var sum float64
	for i, v := range p {
		out[i] = math.Pow(v, e)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

func TestSampleEdgeCases(t *testing.T) {
	// One token: nothing to choose.
	s, err := NewSampler(1, 1, 0.9, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sample([]float32{3}); got != 0 {
		t.Errorf("one-token Sample = %d", got)
	}
	// A flat distribution with a tiny topp puts every probability (1/1000) below the cutoff
	// (1-0.0001)/999, which llama2.c does not handle; the nucleus is the top token.
	s, err = NewSampler(1000, 1, 0.0001, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sample(make([]float32, 1000)); got != 0 {
		t.Errorf("flat Sample with tiny topp = %d, want the first most likely token 0", got)
	}
}
