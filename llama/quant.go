package llama

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/simplang/simplang/half"
)

// WeightType is how a model's matrices, token embedding and classifier are stored. The RMS-norm
// weights are float32 in every type: they are tiny, and the norm multiplies by them in f32.
type WeightType int

const (
	F32  WeightType = iota // float32: Weights
	BF16                   // bfloat16 (QWeights), widened exactly to f32 for f32 arithmetic
	Q8                     // int8 in groups with a float32 scale (QWeights): llama2.c runq.c, llama.cpp q8_0
	Q4                     // 4-bit in groups with a half scale (QWeights): llama.cpp q4_0
)

var weightTypeNames = []string{"f32", "bf16", "q8", "q4"}

func (t WeightType) String() string { return nameOf(weightTypeNames, t, "WeightType") }

// ParseWeightType reads a weight type by its String name: f32, bf16, q8 or q4.
func ParseWeightType(s string) (WeightType, error) {
	return parseName[WeightType](weightTypeNames, s, "weight type")
}

// nameOf is names[v], or typ(v) for a value without a name.
func nameOf[T ~int](names []string, v T, typ string) string {
	if v < 0 || int(v) >= len(names) {
		return fmt.Sprintf("%s(%d)", typ, int(v))
	}
	return names[v]
}

// parseName is the value whose name in names is s, or an error naming what (a kind of value)
// and the known names.
func parseName[T ~int](names []string, s, what string) (T, error) {
	for i, n := range names {
		if s == n {
			return T(i), nil
		}
	}
	return 0, fmt.Errorf("unknown %s %q; known types: %s", what, s, strings.Join(names, ", "))
}

// DefaultGroupSize is the number of consecutive elements of a row that share one scale in Q8
// and Q4, unless a checkpoint says otherwise: llama.cpp's q8_0 and q4_0 blocks.
const DefaultGroupSize = 32

// QTensor is one tensor of a QWeights, every layer's matrix stacked as in Weights. Element e
// of the tensor is the element at index e of the float32 tensor of the same shape (row-major
// [out][in], layer 0 first): column c of row r of layer l's rows × cols matrix is
// e = (l*rows + r)*cols + c. Every row length (dim or hidden_dim) is a multiple of the group
// size GS, so group g = e / GS holds GS consecutive elements of one row, and a row of n
// elements starting at e0 is groups e0/GS … e0/GS + n/GS - 1. Only the fields of the type are
// set:
//
//	BF16: w[e] = half.BF16(BF16[e]).Float32()
//	Q8:   w[e] = float32(Q8[e]) * Scales[e/GS]     Q8[e] in [-127, 127] (a file may hold -128)
//	Q4:   w[e] = float32(int(n) - 8) * half.F16(Half[e/GS]).Float32(),       n = nibble e of Q4
//	      group g's GS/2 bytes are Q4[g*GS/2 : (g+1)*GS/2]; byte i of a group holds element i of
//	      the group in its low nibble and element i + GS/2 in its high nibble (llama.cpp's
//	      q4_0 order for GS = 32): for i = e mod GS,
//	      n = Q4[e/GS*GS/2 + i mod (GS/2)] >> (4 * (i / (GS/2))) & 15
type QTensor struct {
	BF16   []uint16  // BF16: one bfloat16 per element
	Q8     []int8    // Q8: one int8 per element
	Scales []float32 // Q8: one float32 scale per group
	Q4     []uint8   // Q4: GS/2 bytes per group, two elements per byte
	Half   []uint16  // Q4: one IEEE half scale per group
}

// QWeights holds a model's parameters in a quantized WeightType, in the layout the quantized
// kernels take: the tensors of Weights, in the same shapes and order (row-major [out][in],
// layers stacked), with every matrix, the token embedding and the classifier a QTensor and the
// RMS-norm weights float32.
//
// The embedding and the classifier are quantized like the matrices. The classifier is a
// mat-vec read in full every token (at 125M it is a sixth of the weights, and when the
// embedding is shared, it is the embedding), so it must shrink like the others for the decode
// to speed up; the embedding is read one row per token but held in memory (1 GB of float32 at
// Llama 3's vocabulary), and the kernel dequantizes the row it needs: x[i] = w[token*dim + i]
// by the formulas of QTensor. llama2.c's version-2 export stores both quantized too.
type QWeights struct {
	Type      WeightType // BF16, Q8 or Q4
	GroupSize int        // GS, elements per scale (Q8, Q4; even for Q4); 0 for BF16

	TokenEmb QTensor   // (vocab_size, dim) token embedding table
	RmsAtt   []float32 // (n_layers, dim) RMS-norm weights before attention
	RmsFfn   []float32 // (n_layers, dim) RMS-norm weights before the feed-forward block
	Wq       QTensor   // (n_layers, dim, dim) query projection
	Wk       QTensor   // (n_layers, kv_dim, dim) key projection
	Wv       QTensor   // (n_layers, kv_dim, dim) value projection
	Wo       QTensor   // (n_layers, dim, dim) attention output projection
	W1       QTensor   // (n_layers, hidden_dim, dim) feed-forward gate
	W2       QTensor   // (n_layers, dim, hidden_dim) feed-forward down projection
	W3       QTensor   // (n_layers, hidden_dim, dim) feed-forward up projection
	RmsFinal []float32 // (dim) RMS-norm weights after the last layer
	Wcls     QTensor   // (vocab_size, dim) classifier; may share its slices with TokenEmb
}

// qbuffer is one quantized tensor of a model: its name, shape and field.
type qbuffer struct {
	name  string
	shape []int
	t     *QTensor
}

func (b qbuffer) len() int64 {
	n, _ := product(b.shape...)
	return n
}

// qTensors lists the quantized tensors of q in llama2.c order (the classifier last), and
// qNorms its float32 norm weights, for configuration c (which may be zero when only the
// fields are wanted).
func qTensors(c Config, q *QWeights) []qbuffer {
	l, d, h, v, kv := c.NLayers, c.Dim, c.HiddenDim, c.VocabSize, c.KVDim()
	return []qbuffer{
		{"token_embedding_table", []int{v, d}, &q.TokenEmb},
		{"wq", []int{l, d, d}, &q.Wq},
		{"wk", []int{l, kv, d}, &q.Wk},
		{"wv", []int{l, kv, d}, &q.Wv},
		{"wo", []int{l, d, d}, &q.Wo},
		{"w1", []int{l, h, d}, &q.W1},
		{"w2", []int{l, d, h}, &q.W2},
		{"w3", []int{l, h, d}, &q.W3},
		{"wcls", []int{v, d}, &q.Wcls},
	}
}

func qNorms(c Config, q *QWeights) []buffer {
	l, d := c.NLayers, c.Dim
	return []buffer{
		{"rms_att_weight", []int{l, d}, &q.RmsAtt, nil},
		{"rms_ffn_weight", []int{l, d}, &q.RmsFfn, nil},
		{"rms_final_weight", []int{d}, &q.RmsFinal, nil},
	}
}

// effectiveGroupSize is the group size a type uses when asked for gs: 0 for BF16, and
// DefaultGroupSize for Q8 and Q4 when gs is 0.
func effectiveGroupSize(t WeightType, gs int) int {
	switch {
	case t == BF16:
		return 0
	case gs == 0:
		return DefaultGroupSize
	}
	return gs
}

// MaxGroupSize bounds the group size so that a group's dot product of int8 activations and
// weights, at most 127 × 127 per element, cannot overflow its int32 sum.
const MaxGroupSize = 1 << 16

// ValidateWeights is Validate, and then whether weights of type t with groups of groupSize
// elements (0 means DefaultGroupSize; ignored for F32 and BF16) fit c: the group size must be
// positive, at most MaxGroupSize, even for Q4 (whose bytes hold two elements), and divide every
// row length, dim and hidden_dim, because a group never spans two rows.
func (c Config) ValidateWeights(t WeightType, groupSize int) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if t < F32 || t > Q4 {
		return fmt.Errorf("unknown weight type %v", t)
	}
	if t == F32 || t == BF16 {
		return nil
	}
	gs := effectiveGroupSize(t, groupSize)
	if gs < 0 || gs > MaxGroupSize {
		return fmt.Errorf("%v: group size %d is outside [1, %d]", t, gs, MaxGroupSize)
	}
	if t == Q4 && gs%2 != 0 {
		return fmt.Errorf("q4: group size %d is odd; a byte holds two elements of a group", gs)
	}
	for _, dim := range []struct {
		name string
		n    int
	}{{"dim", c.Dim}, {"hidden_dim", c.HiddenDim}} {
		if dim.n%gs != 0 {
			return fmt.Errorf("%v: %s %d is not a multiple of the group size %d; a group of one scale must lie within a row", t, dim.name, dim.n, gs)
		}
	}
	return nil
}

// sizes returns the lengths of the arrays of a QTensor of n elements of type t with groups
// of gs: values (BF16, Q8 or Q4) and scales (Scales or Half; 0 for BF16).
func sizes(t WeightType, gs int, n int64) (values, scales int64) {
	switch t {
	case BF16:
		return n, 0
	case Q8:
		return n, n / int64(gs)
	default:
		return n / 2, n / int64(gs)
	}
}

// NewQWeights allocates zeroed weights of type t (BF16, Q8 or Q4) with groups of groupSize
// (0 means DefaultGroupSize) for cfg, with a separate classifier. Each array takes one call
// to alloc (nil means make), for as many float32 as cover its bytes, reinterpreted as the
// array's element type: that way the benchmark's huge-page allocator serves every type.
func NewQWeights(cfg Config, t WeightType, groupSize int, alloc Allocator) (*QWeights, error) {
	return newQWeights(cfg, t, groupSize, alloc, false)
}

// newQWeights is NewQWeights; with shared, the classifier is the embedding's arrays.
func newQWeights(cfg Config, t WeightType, groupSize int, alloc Allocator, shared bool) (*QWeights, error) {
	if t == F32 {
		return nil, errors.New("weights: f32 weights are a Weights (NewWeights), not a QWeights")
	}
	if err := cfg.ValidateWeights(t, groupSize); err != nil {
		return nil, err
	}
	q := &QWeights{Type: t, GroupSize: effectiveGroupSize(t, groupSize)}
	if err := allocate(qNorms(cfg, q), alloc); err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	for _, b := range qTensors(cfg, q) {
		if shared && b.t == &q.Wcls {
			q.Wcls = q.TokenEmb
			continue
		}
		if err := q.allocTensor(b, alloc); err != nil {
			return nil, fmt.Errorf("weights: allocating %s (%s %v): %w", b.name, shapeString(b.shape), t, err)
		}
	}
	return q, nil
}

// allocTensor sets the arrays of b's tensor for q's type.
func (q *QWeights) allocTensor(b qbuffer, alloc Allocator) error {
	values, scales := sizes(q.Type, q.GroupSize, b.len())
	var err error
	switch q.Type {
	case BF16:
		b.t.BF16, err = allocAs[uint16](alloc, values)
	case Q8:
		if b.t.Q8, err = allocAs[int8](alloc, values); err == nil {
			b.t.Scales, err = allocAs[float32](alloc, scales)
		}
	case Q4:
		if b.t.Q4, err = allocAs[uint8](alloc, values); err == nil {
			b.t.Half, err = allocAs[uint16](alloc, scales)
		}
	}
	return err
}

// allocAs returns a zeroed []T of length n from alloc (make when nil), which hands out
// float32 slices: 4-byte aligned, so any T of at most 4 bytes may live in them.
func allocAs[T int8 | uint8 | uint16 | float32](alloc Allocator, n int64) ([]T, error) {
	if alloc == nil {
		return make([]T, n), nil
	}
	size := int64(unsafe.Sizeof(T(0)))
	floats := int((n*size + 3) / 4)
	f, err := alloc(floats)
	if err != nil {
		return nil, err
	}
	if len(f) != floats {
		return nil, fmt.Errorf("allocator returned %d floats, want %d", len(f), floats)
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(f))), n), nil
}

// int8Bytes is s seen as bytes.
func int8Bytes(s []int8) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// checkQ reports the first array of q whose length does not match cfg and q's type, or a
// type or group size that does not fit cfg.
func checkQ(cfg Config, q *QWeights) error {
	if q.Type != BF16 && q.Type != Q8 && q.Type != Q4 {
		return fmt.Errorf("weights: type %v is not a quantized type", q.Type)
	}
	if q.Type == BF16 && q.GroupSize != 0 {
		return fmt.Errorf("weights: bf16 with group size %d, want 0", q.GroupSize)
	}
	if q.Type != BF16 && q.GroupSize <= 0 {
		return fmt.Errorf("weights: %v with group size %d, want a positive one", q.Type, q.GroupSize)
	}
	if err := cfg.ValidateWeights(q.Type, q.GroupSize); err != nil {
		return err
	}
	if err := check("weights", qNorms(cfg, q)); err != nil {
		return err
	}
	for _, b := range qTensors(cfg, q) {
		values, scales := sizes(q.Type, q.GroupSize, b.len())
		arrays := []struct {
			name string
			got  int
			want int64
		}{{"values", 0, values}, {"scales", 0, scales}}
		switch q.Type {
		case BF16:
			arrays[0].got = len(b.t.BF16)
		case Q8:
			arrays[0].got, arrays[1].got = len(b.t.Q8), len(b.t.Scales)
		case Q4:
			arrays[0].got, arrays[1].got = len(b.t.Q4), len(b.t.Half)
		}
		for _, a := range arrays {
			if int64(a.got) != a.want {
				return fmt.Errorf("weights: %s (%s, %v) has %d %s, want %d", b.name, shapeString(b.shape), q.Type, a.got, a.name, a.want)
			}
		}
	}
	return nil
}

// quantizeQ8 sets dst to the Q8 values of one group w and returns its scale, as llama2.c's
// runq.c quantizes weights and activations: scale = max|w| / 127, q = round(w / scale), half
// away from zero, in float32. An all-zero group has scale 0 and values 0; a group with a NaN
// or an infinity has a scale that is not finite. (llama2.c's export.py rounds weights half to
// even, torch.round; the two differ only on exact ties.)
func quantizeQ8(dst []int8, w []float32) float32 {
	scale := math.Float32frombits(magnitude(w)) / 127
	if scale == 0 {
		clear(dst)
		return 0
	}
	for i, v := range w {
		dst[i] = int8(roundAway(v / scale))
	}
	return scale
}

// quantizeQ4 sets dst (len(w)/2 bytes) to the Q4 values of one group w and returns its half
// scale, as llama.cpp's q4_0: max is the element of largest magnitude (the first one on a tie),
// d = max / -8 rounded to a half, and n = clamp(round(w / d) + 8, 0, 15) with d the rounded
// half, so that (n - 8) × d is the value the kernel sees, nearest to w. The element of
// largest magnitude maps to n = 0. A group whose d rounds to zero stores n = 8 (zero). A
// group with a NaN or an infinity, or whose d overflows a half, gets a scale that is not
// finite (exponent bits all set).
func quantizeQ4(dst []uint8, w []float32) uint16 {
	var mx float32 // the first element of the largest magnitude
	most := magnitude(w)
	for _, v := range w {
		if math.Float32bits(v)&^signBit == most {
			mx = v
			break
		}
	}
	h := uint16(half.F16FromFloat32(mx / -8))
	d := half.F16(h).Float32()
	n := len(w) / 2
	if d == 0 {
		for i := range n {
			dst[i] = 8 | 8<<4
		}
		return h
	}
	nibble := func(v float32) uint8 { return uint8(min(max(roundAway(v/d)+8, 0), 15)) }
	for i := range n {
		dst[i] = nibble(w[i]) | nibble(w[i+n])<<4
	}
	return h
}

const signBit = 1 << 31

// magnitude returns the bits of max|v| over w. Compared as bits, the magnitudes of finite
// floats order as their values, and an infinity or a NaN lies above them all.
func magnitude(w []float32) uint32 {
	var most uint32
	for _, v := range w {
		most = max(most, math.Float32bits(v)&^signBit)
	}
	return most
}

// roundAway is math.Round (halves away from zero) for a finite x of magnitude below 2^31:
// float64(|x|) + 0.5 is exact for such a float32, so truncating it floors it. math.Round is
// not inlined, and took most of the time of quantizing.
func roundAway(x float32) int32 {
	b := math.Float32bits(x)
	r := int32(float64(math.Float32frombits(b&^signBit)) + 0.5)
	s := int32(b) >> 31 // 0, or -1 for a negative x
	return (r ^ s) - s
}
