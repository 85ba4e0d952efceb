package llama

import "fmt"

// State holds the run-state buffers of one decode step, as the compiled kernel takes them.
// The key and value caches persist from one position to the next; the rest is scratch.
type State struct {
	X          []float32 // (dim) activation at the current position, the residual stream
	Xb         []float32 // (dim) the same inside a residual branch
	Xb2        []float32 // (dim) a second branch buffer (attention output projection)
	Q          []float32 // (dim) query, n_heads * head_size
	K          []float32 // (kv_dim) key, before it is stored in KeyCache
	V          []float32 // (kv_dim) value, before it is stored in ValueCache
	Att        []float32 // (n_heads, seq_len) attention scores, then weights
	Hb         []float32 // (hidden_dim) feed-forward hidden layer
	Hb2        []float32 // (hidden_dim) feed-forward hidden layer, up projection
	Logits     []float32 // (vocab_size) output logits
	KeyCache   []float32 // (n_layers, n_kv_heads, seq_len, head_size) keys of every position so far
	ValueCache []float32 // (n_layers, n_kv_heads, seq_len, head_size) values of every position so far

	// KeyCacheF16 and ValueCacheF16 are the caches instead of KeyCache and ValueCache when
	// Config.KVCache is CacheF16: the same shape, each element an IEEE half float's bits
	// (half.F16). Only one pair is allocated.
	KeyCacheF16   []uint16
	ValueCacheF16 []uint16
}

// The caches keep each key/value head's positions as one run, not llama2.c's (n_layers,
// seq_len, kv_dim): the attention reads a head's keys and values position after position,
// which then stream, where a head's slice of a (seq_len, kv_dim) row lies a whole row after
// the last (3 KiB at 125M), a stride no hardware prefetcher follows.

// stateBuffers lists the buffers of s for configuration c: the activations, then the two
// caches of c.KVCache.
func stateBuffers(c Config, s *State) []buffer {
	shape := []int{c.NLayers, c.NKVHeads, c.SeqLen, c.HeadSize()}
	if c.KVCache == CacheF16 {
		return append(activationBuffers(c, s), buffer{name: "key_cache", shape: shape, bits: &s.KeyCacheF16},
			buffer{name: "value_cache", shape: shape, bits: &s.ValueCacheF16})
	}
	return append(activationBuffers(c, s), buffer{name: "key_cache", shape: shape, data: &s.KeyCache},
		buffer{name: "value_cache", shape: shape, data: &s.ValueCache})
}

// activationBuffers lists the float32 buffers of s other than the caches.
func activationBuffers(c Config, s *State) []buffer {
	d, h, kv := c.Dim, c.HiddenDim, c.KVDim()
	return []buffer{
		{"x", []int{d}, &s.X, nil},
		{"xb", []int{d}, &s.Xb, nil},
		{"xb2", []int{d}, &s.Xb2, nil},
		{"q", []int{d}, &s.Q, nil},
		{"k", []int{kv}, &s.K, nil},
		{"v", []int{kv}, &s.V, nil},
		{"att", []int{c.NHeads, c.SeqLen}, &s.Att, nil},
		{"hb", []int{h}, &s.Hb, nil},
		{"hb2", []int{h}, &s.Hb2, nil},
		{"logits", []int{c.VocabSize}, &s.Logits, nil},
	}
}

// NewState allocates zeroed run-state buffers for cfg, each with one call to alloc (nil
// means make).
func NewState(cfg Config, alloc Allocator) (*State, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := new(State)
	if err := allocate(stateBuffers(cfg, s), alloc); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	return s, nil
}

// Reset clears the key and value caches, so that decoding can start again at position 0.
func (s *State) Reset() {
	clear(s.KeyCache)
	clear(s.ValueCache)
	clear(s.KeyCacheF16)
	clear(s.ValueCacheF16)
}
