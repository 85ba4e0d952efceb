package llama

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/simplang/simplang/half"
)

// runParallel calls do(0) … do(n-1) on GOMAXPROCS goroutines, each call returning how many
// elements it handled. If progress is not nil it is called from the calling goroutine after
// every call, with the elements done so far and total. The first error stops the calls not
// yet started and is returned.
func runParallel(n int, total int64, do func(i int) (int64, error), progress func(done, total int64)) error {
	var next atomic.Int64
	var failed atomic.Bool
	type result struct {
		n   int64
		err error
	}
	results := make(chan result, n)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				k, err := do(i)
				if err != nil {
					failed.Store(true)
				}
				results <- result{k, err}
			}
		})
	}
	go func() { wg.Wait(); close(results) }()
	var done int64
	var first error
	for r := range results {
		if r.err != nil && first == nil {
			first = r.err
		}
		done += r.n
		if progress != nil && first == nil {
			progress(done, total)
		}
	}
	return first
}

// piece is a range of groups of one quantized tensor that one goroutine handles.
type piece struct {
	k          int // index of the tensor in qTensors
	start, end int // element range, multiples of the group size
}

// pieces cuts the tensors of q (per qTensors, skipping a classifier that shares the
// embedding's arrays) into ranges of about randomChunk elements, whole groups each, and
// returns them with their total number of elements.
func (q *QWeights) pieces(cfg Config, chunk int) ([]piece, int64) {
	step := max(1, q.GroupSize)
	step = max(step, chunk/step*step)
	var ps []piece
	var total int64
	bufs := qTensors(cfg, q)
	for k, b := range bufs {
		if k == len(bufs)-1 && q.sharedClassifier() {
			continue
		}
		n := int(b.len())
		for start := 0; start < n; start += step {
			ps = append(ps, piece{k, start, min(start+step, n)})
		}
		total += int64(n)
	}
	return ps, total
}

// sharedClassifier reports whether q's classifier is its embedding's arrays.
func (q *QWeights) sharedClassifier() bool {
	a, b := q.TokenEmb, q.Wcls
	switch q.Type {
	case BF16:
		return len(a.BF16) > 0 && len(a.BF16) == len(b.BF16) && &a.BF16[0] == &b.BF16[0]
	case Q8:
		return len(a.Q8) > 0 && len(a.Q8) == len(b.Q8) && &a.Q8[0] == &b.Q8[0]
	case Q4:
		return len(a.Q4) > 0 && len(a.Q4) == len(b.Q4) && &a.Q4[0] == &b.Q4[0]
	}
	return false
}

// Quantize converts w, weights for cfg, to type t (BF16, Q8 or Q4) with groups of groupSize
// elements (0 means DefaultGroupSize), allocating the result with alloc as NewQWeights does.
// BF16 rounds each weight to nearest even; Q8 and Q4 quantize each group as quantizeQ8 and
// quantizeQ4 describe. The norm weights are copied. A classifier that is the same slice as
// the embedding stays shared. The work is spread over GOMAXPROCS goroutines, and progress,
// if not nil, is called from the calling goroutine as for Weights.Randomize. A weight that
// is not finite, or a Q4 group whose scale overflows a half (|w| ≥ 8 × 65520), is an error.
func Quantize(cfg Config, w *Weights, t WeightType, groupSize int, alloc Allocator, progress func(done, total int64)) (*QWeights, error) {
	return quantize(cfg, w, t, groupSize, alloc, progress, nil)
}

// quantize is Quantize, calling read (if not nil) with each range of w's elements it has
// quantized, so that a mapped file can drop their pages.
func quantize(cfg Config, w *Weights, t WeightType, groupSize int, alloc Allocator, progress func(done, total int64), read func([]float32)) (*QWeights, error) {
	if err := cfg.ValidateWeights(t, groupSize); err != nil {
		return nil, err
	}
	if w == nil {
		return nil, errors.New("quantize: nil weights")
	}
	if err := check("weights", weightTensors(cfg, w)); err != nil {
		return nil, err
	}
	q, err := newQWeights(cfg, t, groupSize, alloc, aliases(w.Wcls, w.TokenEmb))
	if err != nil {
		return nil, err
	}
	copy(q.RmsAtt, w.RmsAtt)
	copy(q.RmsFfn, w.RmsFfn)
	copy(q.RmsFinal, w.RmsFinal)

	src := []*[]float32{&w.TokenEmb, &w.Wq, &w.Wk, &w.Wv, &w.Wo, &w.W1, &w.W2, &w.W3, &w.Wcls} // qTensors order
	bufs := qTensors(cfg, q)
	ps, total := q.pieces(cfg, randomChunk)
	gs := q.GroupSize
	err = runParallel(len(ps), total, func(i int) (int64, error) {
		p := ps[i]
		in, out := (*src[p.k])[p.start:p.end], bufs[p.k].t
		// A NaN or an infinity makes a group's scale not finite (quantizeQ8, quantizeQ4), so
		// the elements are searched for one only in such a group.
		notFinite := func(start, end int) error {
			for e := start; e < end; e++ {
				if v := in[e-p.start]; math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fmt.Errorf("quantize: %s element %d is %v", bufs[p.k].name, e, v)
				}
			}
			return nil
		}
		switch t {
		case BF16:
			dst := out.BF16[p.start:p.end]
			for j, v := range in {
				if math.Float32bits(v)&0x7F800000 == 0x7F800000 {
					return 0, notFinite(p.start+j, p.start+j+1)
				}
				dst[j] = uint16(half.BF16FromFloat32(v))
			}
		case Q8:
			for g := p.start; g < p.end; g += gs {
				scale := quantizeQ8(out.Q8[g:g+gs], in[g-p.start:g-p.start+gs])
				if math.Float32bits(scale)&0x7F800000 == 0x7F800000 {
					return 0, notFinite(g, g+gs)
				}
				out.Scales[g/gs] = scale
			}
		case Q4:
			for g := p.start; g < p.end; g += gs {
				h := quantizeQ4(out.Q4[g/2:(g+gs)/2], in[g-p.start:g-p.start+gs])
				if h&0x7C00 == 0x7C00 {
					if err := notFinite(g, g+gs); err != nil {
						return 0, err
					}
					return 0, fmt.Errorf("quantize: %s group %d: its scale max|w|/8 overflows a half", bufs[p.k].name, g/gs)
				}
				out.Half[g/gs] = h
			}
		}
		if read != nil {
			read(in)
		}
		return int64(len(in)), nil
	}, progress)
	if err != nil {
		return nil, err
	}
	return q, nil
}

// Dequantize returns float32 weights (allocated with make) holding the value of every element
// of q by the formulas of QTensor: the weights the quantized model computes with. A shared
// classifier stays shared.
func (q *QWeights) Dequantize(cfg Config) (*Weights, error) {
	if err := checkQ(cfg, q); err != nil {
		return nil, err
	}
	shared := q.sharedClassifier()
	w := &Weights{RmsAtt: clone(q.RmsAtt), RmsFfn: clone(q.RmsFfn), RmsFinal: clone(q.RmsFinal)}
	dst := []*[]float32{&w.TokenEmb, &w.Wq, &w.Wk, &w.Wv, &w.Wo, &w.W1, &w.W2, &w.W3, &w.Wcls} // qTensors order
	for k, b := range qTensors(cfg, q) {
		if shared && b.t == &q.Wcls {
			w.Wcls = w.TokenEmb
			continue
		}
		out := make([]float32, b.len())
		q.dequantize(out, b.t, 0)
		*dst[k] = out
	}
	return w, nil
}

// dequantize sets out to the elements of t from element start on.
func (q *QWeights) dequantize(out []float32, t *QTensor, start int) {
	gs := q.GroupSize
	switch q.Type {
	case BF16:
		for i := range out {
			out[i] = half.BF16(t.BF16[start+i]).Float32()
		}
	case Q8:
		for i := range out {
			e := start + i
			out[i] = float32(t.Q8[e]) * t.Scales[e/gs]
		}
	case Q4:
		for i := range out {
			e := start + i
			g, j := e/gs, e%gs
			b := t.Q4[g*gs/2+j%(gs/2)] >> (4 * (j / (gs / 2))) & 15
			out[i] = float32(int(b)-8) * half.F16(t.Half[g]).Float32()
		}
	}
}

func clone(s []float32) []float32 { return append([]float32(nil), s...) }

// Randomize fills q directly in its type, fast and without a float32 copy of the model:
// the norm weights exactly as Weights.Randomize fills them; BF16 tensors with the bfloat16
// rounding of Weights.Randomize's values; Q8 values uniform in [-127, 127] and Q4 nibbles
// uniform in [0, 15], with each group's scale drawn so that its weights lie within ±0.01 as
// Randomize's do (Q8: uniform in [0.5, 1] × 0.01/127; Q4: ±[0.5, 1] × 0.01/8, as a half).
// Scales differ from group to group, so that a kernel reading the wrong scale is caught.
// The result depends only on seed and the shape, not on GOMAXPROCS; progress is as for
// Weights.Randomize. A shared classifier is filled once, as the embedding.
func (q *QWeights) Randomize(cfg Config, seed uint64, progress func(done, total int64)) error {
	if err := checkQ(cfg, q); err != nil {
		return err
	}
	// The streams of Weights.Randomize: the k-th tensor in llama2.c order has key
	// mix64(seed ^ mix64(k+1)); the scales of a quantized tensor use the key's mix64.
	keyOf := make(map[string]uint64)
	for k, b := range weightTensors(Config{}, &Weights{}) {
		keyOf[b.name] = mix64(seed ^ mix64(uint64(k+1)))
	}
	for _, b := range qNorms(cfg, q) {
		fillUniform(*b.data, keyOf[b.name], 0)
	}
	bufs := qTensors(cfg, q)
	ps, total := q.pieces(cfg, randomChunk)
	gs := q.GroupSize
	return runParallel(len(ps), total, func(i int) (int64, error) {
		p := ps[i]
		t, key := bufs[p.k].t, keyOf[bufs[p.k].name]
		scaleKey := mix64(key)
		switch q.Type {
		case BF16:
			var buf [4096]float32
			for s := p.start; s < p.end; s += len(buf) {
				part := buf[:min(len(buf), p.end-s)]
				fillUniform(part, key, s)
				for j, v := range part {
					t.BF16[s+j] = uint16(half.BF16FromFloat32(v))
				}
			}
		case Q8:
			vals := t.Q8[p.start:p.end]
			fillBytes(int8Bytes(vals), key, p.start)
			for j, v := range vals {
				// A byte b in [0, 255] to (255 b) >> 8 in [0, 254], then down by 127.
				vals[j] = int8(int(uint8(v))*255>>8 - 127)
			}
			for g := p.start / gs; g < p.end/gs; g++ {
				u := float32(mix64(scaleKey+uint64(g)*golden)>>40) * 0x1p-24 // [0, 1)
				t.Scales[g] = (0.5 + 0.5*u) * (0.01 / 127)
			}
		case Q4:
			fillBytes(t.Q4[p.start/2:p.end/2], key, p.start/2)
			for g := p.start / gs; g < p.end/gs; g++ {
				r := mix64(scaleKey + uint64(g)*golden)
				d := (0.5 + 0.5*float32(r>>40)*0x1p-24) * (0.01 / 8)
				if r&1 == 1 {
					d = -d
				}
				t.Half[g] = uint16(half.F16FromFloat32(d))
			}
		}
		return int64(p.end - p.start), nil
	}, progress)
}

// fillBytes sets dst[j] to byte start+j of the stream key: byte i is byte i mod 8 (little
// end first) of mix64(key + (i/8)·golden), eight bytes per hash.
func fillBytes(dst []byte, key uint64, start int) {
	ctr := key + uint64(start/8)*golden
	if skip := start % 8; skip != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], mix64(ctr))
		n := copy(dst, b[skip:])
		dst = dst[n:]
		ctr += golden
	}
	for len(dst) >= 8 {
		binary.LittleEndian.PutUint64(dst, mix64(ctr))
		dst = dst[8:]
		ctr += golden
	}
	if len(dst) > 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], mix64(ctr))
		copy(dst, b[:])
	}
}
