package llama

import (
	"fmt"
	"math"
	"slices"
)

// Sampler picks the next token from logits as llama2.c does: the most likely token at
// temperature 0; otherwise a draw from softmax(logits / temperature), restricted to the
// nucleus (the most likely tokens whose probabilities first add up to more than topp) when
// 0 < topp < 1. Draws come from a generator seeded by the caller, so a seed reproduces a run.
type Sampler struct {
	vocab       int
	temperature float32
	topp        float32
	rng         uint64    // SplitMix64 state
	probs       []float32 // (vocab) probabilities of the current step
	cands       []uint64  // (vocab) nucleus candidates as sort keys, see candidateKey
}

// candidateKey packs a probability and its token into one integer that sorts most likely
// first, then by token: probabilities are non-negative, so their IEEE bits order as integers.
// Sorting plain integers is several times faster than sorting structs with a comparison
// function, which matters when a flat distribution leaves most of the vocabulary in the nucleus.
func candidateKey(prob float32, token int) uint64 {
	return uint64(^math.Float32bits(prob))<<32 | uint64(token)
}

// candidate unpacks a key made by candidateKey.
func candidate(key uint64) (prob float32, token int) {
	return math.Float32frombits(^uint32(key >> 32)), int(uint32(key))
}

// CheckSampling says what is wrong with a temperature and top-p that NewSampler would refuse,
// so that a command can check its flags before it loads anything.
func CheckSampling(temperature, topp float32) error {
	t, p := float64(temperature), float64(topp)
	if math.IsNaN(t) || math.IsInf(t, 0) || t < 0 {
		return fmt.Errorf("temperature %v, must be a finite number >= 0 (0 picks the most likely token)", temperature)
	}
	if math.IsNaN(p) || p < 0 || p > 1 {
		return fmt.Errorf("top-p %v, must be in [0, 1] (0 or 1 turns nucleus sampling off)", topp)
	}
	return nil
}

// NewSampler returns a sampler over vocab tokens. temperature must be finite and not
// negative (0 means greedy); topp must be in [0, 1] (0 or 1 means no nucleus restriction).
func NewSampler(vocab int, temperature, topp float32, seed uint64) (*Sampler, error) {
	if vocab <= 0 {
		return nil, fmt.Errorf("sampler: vocabulary size %d, must be positive", vocab)
	}
	if err := CheckSampling(temperature, topp); err != nil {
		return nil, fmt.Errorf("sampler: %v", err)
	}
	return &Sampler{
		vocab:       vocab,
		temperature: temperature,
		topp:        topp,
		rng:         seed,
		probs:       make([]float32, vocab),
		cands:       make([]uint64, 0, vocab),
	}, nil
}

// Sample returns the next token for logits, which must have the vocabulary size given to
// NewSampler (Sample panics otherwise, as for an index out of range). logits is not modified.
func (s *Sampler) Sample(logits []float32) int {
	if len(logits) != s.vocab {
		panic(fmt.Sprintf("llama: Sampler.Sample: %d logits for a vocabulary of %d", len(logits), s.vocab))
	}
	if s.temperature == 0 {
		return argmax(logits)
	}
	// Softmax of logits / temperature, max-subtracted.
	maxLogit := float64(slices.Max(logits)) / float64(s.temperature)
	var total float64
	for i, l := range logits {
		e := math.Exp(float64(l)/float64(s.temperature) - maxLogit)
		s.probs[i] = float32(e)
		total += e
	}
	for i := range s.probs {
		s.probs[i] = float32(float64(s.probs[i]) / total)
	}
	coin := s.random()
	if s.topp <= 0 || s.topp >= 1 {
		return sampleMult(s.probs, coin)
	}
	return s.sampleTopP(coin)
}

// random returns a float uniform in [0, 1) with 24 random bits.
func (s *Sampler) random() float32 {
	s.rng += golden
	return float32(mix64(s.rng)>>40) / (1 << 24)
}

// argmax returns the index of the first largest value.
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// sampleMult returns the index at which the running sum of probs first exceeds coin.
func sampleMult(probs []float32, coin float32) int {
	var cdf float32
	for i, p := range probs {
		cdf += p
		if coin < cdf {
			return i
		}
	}
	return len(probs) - 1 // rounding left cdf below coin
}

// sampleTopP draws from the smallest set of most likely tokens whose probabilities add up to
// more than topp. Tokens below (1 - topp)/(vocab - 1) cannot be in that set and are dropped
// before sorting, as llama2.c does.
func (s *Sampler) sampleTopP(coin float32) int {
	if s.vocab == 1 {
		return 0
	}
	cutoff := (1 - s.topp) / float32(s.vocab-1)
	cands := s.cands[:0]
	for i, p := range s.probs {
		if p >= cutoff {
			cands = append(cands, candidateKey(p, i))
		}
	}
	if len(cands) == 0 {
		// Every probability is below the cutoff (a nearly flat distribution with a tiny
		// topp): the nucleus is the single most likely token.
		return argmax(s.probs)
	}
	slices.Sort(cands)
	last := len(cands) - 1
	var cum float32
	for i, key := range cands {
		p, _ := candidate(key)
		cum += p
		if cum > s.topp {
			last = i
			break
		}
	}
	r := coin * cum
	var cdf float32
	for _, key := range cands[:last+1] {
		p, token := candidate(key)
		cdf += p
		if r < cdf {
			return token
		}
	}
	_, token := candidate(cands[last])
	return token
}
