package llama

import (
	"errors"
	"math"

	"github.com/simplang/simplang/half"
)

// ForwardQ is Forward on quantized weights: the same decode step, with the same checks, whose
// only differences are the embedding lookup, which dequantizes the token's row by the
// formulas of QTensor, and the mat-vecs, which do exactly the arithmetic the quantized
// kernels do:
//
//   - BF16: each weight widened exactly to float32, and the float32 mat-vec of Forward (the
//     products are exact and summed in float64 there, the kernel sums in float32).
//   - Q8 and Q4: the input vector x (n elements) is quantized per group of GS like the weights
//     (quantizeQ8: xs[g] = max|x| / 127 over the group, xq = round(x / xs[g]), half away from
//     zero, float32 division; an all-zero group has scale 0 and values 0). Each row then sums
//     its groups in float32, in order, as llama2.c's runq.c matmul:
//     out[r] = Σ_g float32(isum_g) × ws_g × xs[g], multiplied left to right in float32, where
//     isum_g = Σ_j int32(xq[j]) × int32(wq[j]) over the group's GS elements in int32, and ws_g
//     and wq[j] are the group's scale and values (Q4: n - 8 in [-8, 7], and the half scale
//     widened to float32).
func ForwardQ(cfg Config, q *QWeights, s *State, token, pos int) ([]float32, error) {
	if err := CheckStepQ(cfg, q, s, token, pos); err != nil {
		return nil, err
	}
	return forward(cfg, qModel{q: q, cfg: cfg}, s, token, pos), nil
}

// ForwardQMargin is ForwardQ that also returns the step's rounding margin: the smallest
// |v − (k + ½)| / (1 + |v|), k an integer, over every activation v = x / scale that the step
// rounds to an int8 (+Inf for BF16, which rounds none). A compiled kernel sums in its own
// order (language §4), so its x can differ from this x in the last bits, and an activation
// within that much of a rounding boundary may round the other way there: one int8 apart,
// which moves the logits by up to about 1e-2 of the largest. Comparisons with the kernels
// read the margin to tell such a flip from a wrong result.
func ForwardQMargin(cfg Config, q *QWeights, s *State, token, pos int) ([]float32, float64, error) {
	if err := CheckStepQ(cfg, q, s, token, pos); err != nil {
		return nil, 0, err
	}
	margin := math.Inf(1)
	logits := forward(cfg, qModel{q: q, cfg: cfg, margin: &margin}, s, token, pos)
	return logits, margin, nil
}

// CheckStepQ is CheckStep for quantized weights: the configuration, the type and group size,
// the sizes of every array of q and s, and the token and position ranges.
func CheckStepQ(cfg Config, q *QWeights, s *State, token, pos int) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if q == nil {
		return errors.New("forward: nil weights")
	}
	if err := checkQ(cfg, q); err != nil {
		return err
	}
	return checkRun(cfg, s, token, pos)
}

// roundingMargin is the smallest |v − (k + ½)| / (1 + |v|) over the quotients v = x / scale
// that quantizeQ8 rounds (+Inf for scale 0, which rounds none).
func roundingMargin(x []float32, scale float32) float64 {
	margin := math.Inf(1)
	if scale == 0 {
		return margin
	}
	for _, v := range x {
		a := math.Abs(float64(v / scale)) // the float32 quotient, as quantizeQ8
		margin = min(margin, math.Abs(a-math.Floor(a)-0.5)/(1+a))
	}
	return margin
}

// qModel is the model of quantized weights.
type qModel struct {
	q   *QWeights
	cfg Config
	// margin, when not nil, is lowered to the rounding margin of each quantized activation
	// (ForwardQMargin).
	margin *float64
}

func (m qModel) embed(x []float32, token int) {
	m.q.dequantize(x, &m.q.TokenEmb, token*len(x))
}

func (m qModel) norms() (att, ffn, final []float32) { return m.q.RmsAtt, m.q.RmsFfn, m.q.RmsFinal }

func (m qModel) matvec(out []float32, id matrix, l int, x []float32) {
	q := m.q
	t := []*QTensor{&q.Wq, &q.Wk, &q.Wv, &q.Wo, &q.W1, &q.W2, &q.W3, &q.Wcls}[id]
	rows, cols := len(out), len(x)
	e0 := l * rows * cols // the matrix's first element in the stacked tensor
	if q.Type == BF16 {
		parallelRows(rows, cols, func(lo, hi int) {
			row := make([]float32, cols)
			for r := lo; r < hi; r++ {
				for j := range row {
					row[j] = half.BF16(t.BF16[e0+r*cols+j]).Float32()
				}
				matvecRows(out[r:r+1], row, x, 0, 1)
			}
		})
		return
	}
	gs := q.GroupSize
	xq := make([]int8, cols)
	xs := make([]float32, cols/gs)
	for g := range xs {
		xs[g] = quantizeQ8(xq[g*gs:(g+1)*gs], x[g*gs:(g+1)*gs])
		if m.margin != nil {
			*m.margin = min(*m.margin, roundingMargin(x[g*gs:(g+1)*gs], xs[g]))
		}
	}
	parallelRows(rows, cols, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			var sum float32
			for g := range xs {
				e := e0 + r*cols + g*gs // the group's first element
				xg := xq[g*gs : (g+1)*gs]
				var isum int32
				var ws float32
				if q.Type == Q8 {
					for j, v := range t.Q8[e : e+gs] {
						isum += int32(xg[j]) * int32(v)
					}
					ws = t.Scales[e/gs]
				} else {
					hi := gs / 2 // where the high nibbles' elements start
					for i, b := range t.Q4[e/2 : e/2+hi] {
						isum += int32(xg[i])*(int32(b&15)-8) + int32(xg[i+hi])*(int32(b>>4)-8)
					}
					ws = half.F16(t.Half[e/gs]).Float32()
				}
				// Explicit conversions: each product rounds to float32, never fused.
				sum += float32(float32(float32(isum)*ws) * xs[g])
			}
			out[r] = sum
		}
	})
}
