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
}

// The caches keep each key/value head's positions as one run, not llama2.c's (n_layers,
// seq_len, kv_dim): the attention reads a head's keys and values position after position,
// which then stream, where a head's slice of a (seq_len, kv_dim) row lies a whole row after
// the last (3 KiB at 125M), a stride no hardware prefetcher follows.

// stateBuffers lists the buffers of s for configuration c; the two caches come last.
func stateBuffers(c Config, s *State) []buffer {
	d, h, kv := c.Dim, c.HiddenDim, c.KVDim()
	return []buffer{
		{"x", []int{d}, &s.X},
		{"xb", []int{d}, &s.Xb},
		{"xb2", []int{d}, &s.Xb2},
		{"q", []int{d}, &s.Q},
		{"k", []int{kv}, &s.K},
		{"v", []int{kv}, &s.V},
		{"att", []int{c.NHeads, c.SeqLen}, &s.Att},
		{"hb", []int{h}, &s.Hb},
		{"hb2", []int{h}, &s.Hb2},
		{"logits", []int{c.VocabSize}, &s.Logits},
		{"key_cache", []int{c.NLayers, c.NKVHeads, c.SeqLen, c.HeadSize()}, &s.KeyCache},
		{"value_cache", []int{c.NLayers, c.NKVHeads, c.SeqLen, c.HeadSize()}, &s.ValueCache},
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
}
