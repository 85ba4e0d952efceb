package llama

import "fmt"

// Weights holds a model's parameters in the layout the compiled kernel takes (and llama2.c
// uses): matrices are row-major [out][in], and the tensors of all layers are stacked, layer 0
// first. Shapes below use the names of the Config fields.
type Weights struct {
	TokenEmb []float32 // (vocab_size, dim) token embedding table
	RmsAtt   []float32 // (n_layers, dim) RMS-norm weights before attention
	RmsFfn   []float32 // (n_layers, dim) RMS-norm weights before the feed-forward block
	Wq       []float32 // (n_layers, dim, dim) query projection, out = n_heads * head_size
	Wk       []float32 // (n_layers, kv_dim, dim) key projection
	Wv       []float32 // (n_layers, kv_dim, dim) value projection
	Wo       []float32 // (n_layers, dim, dim) attention output projection
	W1       []float32 // (n_layers, hidden_dim, dim) feed-forward gate
	W2       []float32 // (n_layers, dim, hidden_dim) feed-forward down projection
	W3       []float32 // (n_layers, hidden_dim, dim) feed-forward up projection
	RmsFinal []float32 // (dim) RMS-norm weights after the last layer
	Wcls     []float32 // (vocab_size, dim) classifier; may be the same slice as TokenEmb
}

// buffer is one named array of a model: its shape and the field that holds it, a float32
// array (data) or, for an f16 KV cache, an array of half floats' bits (bits).
type buffer struct {
	name  string
	shape []int
	data  *[]float32
	bits  *[]uint16
}

// length is the number of elements the buffer holds now.
func (b buffer) length() int {
	if b.bits != nil {
		return len(*b.bits)
	}
	return len(*b.data)
}

// elementBytes is the size of one element of the buffer, and elementType its name.
func (b buffer) elementBytes() int64 {
	if b.bits != nil {
		return 2
	}
	return 4
}

func (b buffer) elementType() string {
	if b.bits != nil {
		return "f16"
	}
	return "float32"
}

func (b buffer) len() int64 {
	n, _ := product(b.shape...)
	return n
}

// weightTensors lists the weights of a model with configuration c in llama2.c checkpoint
// order, each pointing at its field in w. The classifier comes last, so that a checkpoint
// reader can treat it apart (it is stored after the RoPE tables, and only when unshared).
// c may be the zero Config when only the fields are wanted.
func weightTensors(c Config, w *Weights) []buffer {
	l, d, h, v, kv := c.NLayers, c.Dim, c.HiddenDim, c.VocabSize, c.KVDim()
	return []buffer{
		{"token_embedding_table", []int{v, d}, &w.TokenEmb, nil},
		{"rms_att_weight", []int{l, d}, &w.RmsAtt, nil},
		{"wq", []int{l, d, d}, &w.Wq, nil},
		{"wk", []int{l, kv, d}, &w.Wk, nil},
		{"wv", []int{l, kv, d}, &w.Wv, nil},
		{"wo", []int{l, d, d}, &w.Wo, nil},
		{"rms_ffn_weight", []int{l, d}, &w.RmsFfn, nil},
		{"w1", []int{l, h, d}, &w.W1, nil},
		{"w2", []int{l, d, h}, &w.W2, nil},
		{"w3", []int{l, h, d}, &w.W3, nil},
		{"rms_final_weight", []int{d}, &w.RmsFinal, nil},
		{"wcls", []int{v, d}, &w.Wcls, nil},
	}
}

// Allocator returns a zeroed []float32 of length n; the benchmark passes one that maps huge
// pages outside the Go heap. A nil Allocator means make.
type Allocator func(n int) ([]float32, error)

// allocate fills every buffer in bufs with alloc (make when nil).
func allocate(bufs []buffer, alloc Allocator) error {
	for _, b := range bufs {
		n := int(b.len())
		if b.bits != nil {
			s, err := allocAs[uint16](alloc, b.len())
			if err != nil {
				return fmt.Errorf("allocating %s (%s halves): %w", b.name, shapeString(b.shape), err)
			}
			*b.bits = s
			continue
		}
		if alloc == nil {
			*b.data = make([]float32, n)
			continue
		}
		s, err := alloc(n)
		if err != nil {
			return fmt.Errorf("allocating %s (%s floats): %w", b.name, shapeString(b.shape), err)
		}
		if len(s) != n {
			return fmt.Errorf("allocating %s: allocator returned %d floats, want %d", b.name, len(s), n)
		}
		*b.data = s
	}
	return nil
}

// check reports the first buffer whose length does not match its shape.
func check(what string, bufs []buffer) error {
	for _, b := range bufs {
		if int64(b.length()) != b.len() {
			return fmt.Errorf("%s: %s has %d elements, want %s = %d for this configuration", what, b.name, b.length(), shapeString(b.shape), b.len())
		}
	}
	return nil
}

// NewWeights allocates zeroed weights for cfg, each tensor with one call to alloc (nil means
// make), with a separate classifier. If an allocation fails, the tensors already allocated are
// left to the allocator's owner.
func NewWeights(cfg Config, alloc Allocator) (*Weights, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := new(Weights)
	if err := allocate(weightTensors(cfg, w), alloc); err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	return w, nil
}

// randomChunk is how many elements one goroutine of Randomize fills at a time (4 MiB).
const randomChunk = 1 << 20

// Randomize fills every tensor, the RMS-norm weights included (as the baseline benchmark
// did), with values uniform in [-0.01, 0.01]. Element i of the k-th tensor (in llama2.c
// order) depends only on seed, k and i, so the result is the same for any GOMAXPROCS; the
// work is spread over GOMAXPROCS goroutines. A classifier that is the same slice as TokenEmb
// is filled once, as the embedding. If progress is not nil it is called from the calling
// goroutine after every chunk of at most 2^20 elements (4 MiB), with the number of elements
// done and the total; the last call has done == total.
func (w *Weights) Randomize(seed uint64, progress func(done, total int64)) {
	w.randomize(seed, progress, randomChunk)
}

func (w *Weights) randomize(seed uint64, progress func(done, total int64), chunk int) {
	type piece struct {
		dst   []float32
		key   uint64
		start int // index of dst[0] in its tensor
	}
	var pieces []piece
	var total int64
	tensors := weightTensors(Config{}, w)
	for k, t := range tensors {
		data := *t.data
		if k == len(tensors)-1 && aliases(data, w.TokenEmb) {
			continue
		}
		key := mix64(seed ^ mix64(uint64(k+1)))
		for start := 0; start < len(data); start += chunk {
			end := min(start+chunk, len(data))
			pieces = append(pieces, piece{data[start:end], key, start})
		}
		total += int64(len(data))
	}
	_ = runParallel(len(pieces), total, func(i int) (int64, error) {
		p := pieces[i]
		fillUniform(p.dst, p.key, p.start)
		return int64(len(p.dst)), nil
	}, progress)
}

// aliases reports whether a and b are the same non-empty slice.
func aliases(a, b []float32) bool {
	return len(a) > 0 && len(a) == len(b) && &a[0] == &b[0]
}

// fillUniform sets dst[j] to the element start+j of the stream key: element i is one 24-bit
// half of mix64(key + (i/2)·golden), scaled to [-0.01, 0.01]. Each hash yields two floats.
func fillUniform(dst []float32, key uint64, start int) {
	// A 24-bit signed integer times 0.01/2^23 is exact up to the final rounding, and its
	// extremes are exactly -float32(0.01) and just below float32(0.01).
	const scale = float32(0.01) / (1 << 23)
	ctr := key + uint64(start/2)*golden
	if start%2 == 1 && len(dst) > 0 {
		dst[0] = float32(int32(mix64(ctr)>>16&0xFFFFFF)-1<<23) * scale
		dst = dst[1:]
		ctr += golden
	}
	for len(dst) >= 2 {
		r := mix64(ctr)
		ctr += golden
		dst[0] = float32(int32(r>>40)-1<<23) * scale
		dst[1] = float32(int32(r>>16&0xFFFFFF)-1<<23) * scale
		dst = dst[2:]
	}
	if len(dst) == 1 {
		dst[0] = float32(int32(mix64(ctr)>>40)-1<<23) * scale
	}
}

// golden is 2^64 / φ, the increment of the SplitMix64 generator.
const golden = 0x9E3779B97F4A7C15

// mix64 is the SplitMix64 finalizer: a fast bijective hash whose outputs for consecutive
// inputs pass statistical tests of randomness. Randomize uses it counter-style; the Sampler
// steps it as a sequential generator.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}
