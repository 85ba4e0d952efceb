package llama

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/simplang/simplang/half"
)

// quantCfg is a small configuration whose rows split into groups of 32: grouped-query, head
// size 16.
var quantCfg = Config{Dim: 64, HiddenDim: 96, NLayers: 2, NHeads: 4, NKVHeads: 2, VocabSize: 50, SeqLen: 8}

func TestParseWeightType(t *testing.T) {
	for _, typ := range []WeightType{F32, BF16, Q8, Q4} {
		got, err := ParseWeightType(typ.String())
		if err != nil || got != typ {
			t.Errorf("ParseWeightType(%q) = %v, %v", typ.String(), got, err)
		}
	}
	if _, err := ParseWeightType("q5"); err == nil || !strings.Contains(err.Error(), `unknown weight type "q5"; known types: f32, bf16, q8, q4`) {
		t.Errorf("ParseWeightType(q5) error = %v", err)
	}
	if s := WeightType(7).String(); s != "WeightType(7)" {
		t.Errorf("WeightType(7).String() = %q", s)
	}
}

func TestQuantizeQ8Group(t *testing.T) {
	// max|w| = 127 makes the scale exactly 1; halves round away from zero.
	w := []float32{127, -63.5, 2.5, -0.4, 0, 0.5, -126.6, 1.49}
	got := make([]int8, len(w))
	if scale := quantizeQ8(got, w); scale != 1 {
		t.Errorf("scale = %v, want 1", scale)
	}
	if diff := cmp.Diff([]int8{127, -64, 3, 0, 0, 1, -127, 1}, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
	if scale := quantizeQ8(got, make([]float32, 8)); scale != 0 || got[0] != 0 {
		t.Errorf("all-zero group: scale %v, values %v", scale, got)
	}
}

func TestQuantizeQ4Group(t *testing.T) {
	// The element of largest magnitude is -8, so d = -8/-8 = 1 and n = round(w) + 8.
	w := make([]float32, 32)
	w[0], w[1], w[2], w[3], w[4], w[16], w[17], w[31] = -8, 7, 0.5, -0.5, 1.5, 3, -2.5, 7.6
	got := make([]uint8, 16)
	if h := quantizeQ4(got, w); h != 0x3C00 {
		t.Errorf("scale = %#04x, want 1.0 = 0x3c00", h)
	}
	want := make([]uint8, 16)
	for i := range want {
		want[i] = 8 | 8<<4
	}
	// Byte i: element i low, element i+16 high. 7.6 rounds to 8 and clamps to 15.
	want[0] = 0 | 11<<4 // -8 → 0, 3 → 11
	want[1] = 15 | 5<<4 // 7 → 15, -2.5 → -3 → 5
	want[2] = 9 | 8<<4  // 0.5 → 1 → 9
	want[3] = 7 | 8<<4  // -0.5 → -1 → 7
	want[4] = 10 | 8<<4 // 1.5 → 2 → 10
	want[15] = 8 | 15<<4
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bytes (-want +got):\n%s", diff)
	}
	// A positive maximum makes d negative: 4 → d = -0.5, so 4 → -8 → 0 and -4 → 8 → clamped 15.
	w = make([]float32, 32)
	w[0], w[1] = 4, -4
	if h := quantizeQ4(got, w); h != 0xB800 || got[0] != 0x80 || got[1] != 0x8F {
		t.Errorf("positive maximum: scale %#04x (want -0.5 = 0xb800), bytes %#02x, want 0x80 0x8f", h, got[:2])
	}
	// d = 0 / -8 is -0, as in llama.cpp.
	if h := quantizeQ4(got, make([]float32, 32)); half.F16(h).Float32() != 0 || got[0] != 0x88 {
		t.Errorf("all-zero group: scale %#04x, byte %#02x, want zero and 0x88", h, got[0])
	}
}

// TestQuantizeGroupsAsSpecified holds quantizeQ8 and quantizeQ4 against their definitions
// written plainly (math.Round of the float32 quotient, float64 clamps) on random groups of
// every magnitude and on groups of ties, where the rounding of halves decides.
func TestQuantizeGroupsAsSpecified(t *testing.T) {
	specQ8 := func(w []float32) ([]int8, float32) {
		var amax float32
		for _, v := range w {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		scale := amax / 127
		q := make([]int8, len(w))
		if scale != 0 {
			for i, v := range w {
				q[i] = int8(math.Round(float64(v / scale)))
			}
		}
		return q, scale
	}
	specQ4 := func(w []float32) ([]uint8, uint16) {
		var amax, mx float32
		for _, v := range w {
			if a := float32(math.Abs(float64(v))); a > amax {
				amax, mx = a, v
			}
		}
		h := uint16(half.F16FromFloat32(mx / -8))
		d := half.F16(h).Float32()
		nibble := func(v float32) uint8 {
			if d == 0 {
				return 8
			}
			return uint8(min(max(math.Round(float64(v/d))+8, 0), 15))
		}
		q := make([]uint8, len(w)/2)
		for i := range q {
			q[i] = nibble(w[i]) | nibble(w[i+len(q)])<<4
		}
		return q, h
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var groups [][]float32
	for g := range 4000 {
		w := make([]float32, 32)
		scale := math.Pow(10, float64(g%40-30)) // 1e-30 … 1e9
		for i := range w {
			w[i] = float32((rng.Float64()*2 - 1) * scale)
		}
		if g%5 == 0 { // halves and other exact ties of the grid
			for i := range w {
				w[i] = float32(rng.IntN(255)-127) / 2
			}
			w[rng.IntN(32)] = 127
		}
		if g%7 == 0 {
			w[rng.IntN(32)] = float32(math.Copysign(0, -1))
		}
		groups = append(groups, w)
	}
	groups = append(groups, make([]float32, 32))
	for _, w := range groups {
		q8 := make([]int8, len(w))
		want8, wantScale := specQ8(w)
		if scale := quantizeQ8(q8, w); scale != wantScale || !slices.Equal(q8, want8) {
			t.Fatalf("quantizeQ8(%v) = %v, %v; want %v, %v", w, q8, scale, want8, wantScale)
		}
		q4 := make([]uint8, len(w)/2)
		want4, wantHalf := specQ4(w)
		if h := quantizeQ4(q4, w); h != wantHalf || !slices.Equal(q4, want4) {
			t.Fatalf("quantizeQ4(%v) = %v, %#04x; want %v, %#04x", w, q4, h, want4, wantHalf)
		}
	}
}

// TestQuantizeRoundTrip quantizes random weights to every type and checks each dequantized
// element against the bound of its rounding.
func TestQuantizeRoundTrip(t *testing.T) {
	w := randomModel(t, quantCfg, 5, 0.5)
	for _, typ := range []WeightType{BF16, Q8, Q4} {
		t.Run(typ.String(), func(t *testing.T) {
			q, err := Quantize(quantCfg, w, typ, 0, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			dq, err := q.Dequantize(quantCfg)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(w.RmsAtt, dq.RmsAtt); diff != "" {
				t.Errorf("norms changed (-want +got):\n%s", diff)
			}
			gs := q.GroupSize
			var worst float64
			for _, b := range weightTensors(quantCfg, w) {
				orig := *b.data
				got := *weightTensors(quantCfg, dq)[indexOf(b.name)].data
				for e, v := range orig {
					err := math.Abs(float64(got[e]) - float64(v))
					var bound float64
					switch typ {
					case BF16:
						bound = math.Abs(float64(v)) * 0x1p-8 // half a unit in the last of 8 significant bits
					case Q8:
						amax := groupMax(orig, e, gs)
						bound = amax / 127 / 2 * (1 + 1e-4) // and float32 rounding of w/scale
					case Q4:
						// Half a step d ≈ max/8, except the side opposite to the maximum,
						// where w/d up to 8 clamps to 7: a whole step.
						d := groupMax(orig, e, gs) / 8 * (1 + 0x1p-10)
						bound = d / 2
						if err > bound && err <= d {
							bound = d
						}
					}
					if b.name == "rms_att_weight" || b.name == "rms_ffn_weight" || b.name == "rms_final_weight" {
						bound = 0
					}
					if err > bound {
						t.Fatalf("%s[%d] = %v dequantizes to %v: error %.3g above %.3g", b.name, e, v, got[e], err, bound)
					}
					worst = max(worst, err)
				}
			}
			t.Logf("%v: largest error %.3g on weights within ±0.5", typ, worst)
		})
	}
}

// groupMax is max|w| over the group of s that holds element e.
func groupMax(s []float32, e, gs int) float64 {
	var m float64
	for _, v := range s[e/gs*gs : (e/gs+1)*gs] {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// indexOf is the position of a tensor in weightTensors.
func indexOf(name string) int {
	for i, b := range weightTensors(Config{}, &Weights{}) {
		if b.name == name {
			return i
		}
	}
	panic(name)
}

// TestQuantizeLayout checks the element formulas of QTensor on chosen positions: the last
// group of a row, the high nibble, a later layer.
func TestQuantizeLayout(t *testing.T) {
	w := randomModel(t, quantCfg, 6, 0.5)
	for _, typ := range []WeightType{Q8, Q4} {
		q, err := Quantize(quantCfg, w, typ, 16, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		// w2 of layer 1, row 5, column 77: element e of the stacked tensor, group e/16.
		e := 1*64*96 + 5*96 + 77
		g, i := e/16, e%16
		var got float32
		switch typ {
		case Q8:
			got = float32(q.W2.Q8[e]) * q.W2.Scales[g]
			if len(q.W2.Scales) != 2*64*96/16 {
				t.Errorf("q8 w2 has %d scales", len(q.W2.Scales))
			}
		case Q4:
			// i = 13 is in the upper half of the group: the high nibble of byte i - 8.
			n := q.W2.Q4[g*8+i-8] >> 4
			got = float32(int(n)-8) * half.F16(q.W2.Half[g]).Float32()
		}
		dq, err := q.Dequantize(quantCfg)
		if err != nil {
			t.Fatal(err)
		}
		if got != dq.W2[e] || math.Abs(float64(got-w.W2[e])) > 0.5/8 {
			t.Errorf("%v: w2[%d] by the layout formula %v, Dequantize %v, original %v", typ, e, got, dq.W2[e], w.W2[e])
		}
	}
}

func TestQuantizeParallelAndShared(t *testing.T) {
	w := randomModel(t, quantCfg, 7, 0.5)
	w.Wcls = w.TokenEmb
	for _, typ := range []WeightType{BF16, Q8, Q4} {
		var last, total int64
		q1, err := Quantize(quantCfg, w, typ, 0, nil, func(done, n int64) { last, total = done, n })
		if err != nil {
			t.Fatal(err)
		}
		if want := quantCfg.Params() - 50*64 - (2*2+1)*64; last != want || total != want {
			t.Errorf("%v: progress ended at %d of %d, want %d (matrices and one embedding)", typ, last, total, want)
		}
		if !q1.sharedClassifier() {
			t.Errorf("%v: the shared classifier was not kept shared", typ)
		}
		old := runtime.GOMAXPROCS(1)
		q2, err := Quantize(quantCfg, w, typ, 0, nil, nil)
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(q1, q2); diff != "" {
			t.Errorf("%v: one goroutine gives other weights (-many +one):\n%s", typ, diff)
		}
	}
}

func TestQuantizeRefuses(t *testing.T) {
	w := randomModel(t, quantCfg, 1, 0.5)
	nan := randomModel(t, quantCfg, 1, 0.5)
	nan.W3[100] = float32(math.NaN())
	inf := randomModel(t, quantCfg, 1, 0.5)
	inf.Wv[37] = float32(math.Inf(-1))
	huge := randomModel(t, quantCfg, 1, 0.5)
	huge.Wo[3] = 1e6
	odd := quantCfg
	odd.Dim, odd.NHeads, odd.NKVHeads = 80, 5, 5
	short := *w
	short.Wk = short.Wk[1:]
	tests := []struct {
		name string
		cfg  Config
		w    *Weights
		typ  WeightType
		gs   int
		want string
	}{
		{"f32", quantCfg, w, F32, 0, "f32 weights are a Weights"},
		{"unknown type", quantCfg, w, WeightType(9), 0, "unknown weight type WeightType(9)"},
		{"dim", odd, w, Q4, 0, "q4: dim 80 is not a multiple of the group size 32"},
		{"hidden_dim", quantCfg, w, Q8, 64, "q8: hidden_dim 96 is not a multiple of the group size 64"},
		{"odd q4 group", quantCfg, w, Q4, 1, "q4: group size 1 is odd"},
		{"negative group", quantCfg, w, Q8, -32, "q8: group size -32 is outside [1, 65536]"},
		{"short tensor", quantCfg, &short, Q8, 0, "wk has 4095 elements"},
		{"NaN", quantCfg, nan, Q8, 0, "quantize: w3 element 100 is NaN"},
		{"NaN q4", quantCfg, nan, Q4, 0, "quantize: w3 element 100 is NaN"},
		{"NaN bf16", quantCfg, nan, BF16, 0, "quantize: w3 element 100 is NaN"},
		{"infinity q8", quantCfg, inf, Q8, 0, "quantize: wv element 37 is -Inf"},
		{"infinity q4", quantCfg, inf, Q4, 0, "quantize: wv element 37 is -Inf"},
		{"infinity bf16", quantCfg, inf, BF16, 0, "quantize: wv element 37 is -Inf"},
		{"q4 scale overflow", quantCfg, huge, Q4, 0, "quantize: wo group 0: its scale max|w|/8 overflows a half"},
		{"invalid config", Config{}, w, Q8, 0, "config: dim is 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Quantize(tt.cfg, tt.w, tt.typ, tt.gs, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Quantize error = %v, want one containing %q", err, tt.want)
			}
		})
	}
	// Huge weights are fine in q8 and bf16.
	if _, err := Quantize(quantCfg, huge, Q8, 0, nil, nil); err != nil {
		t.Errorf("q8 of a large weight: %v", err)
	}
}

func TestNewQWeightsAllocator(t *testing.T) {
	var sizes []int
	counting := func(n int) ([]float32, error) {
		sizes = append(sizes, n)
		return make([]float32, n), nil
	}
	q, err := NewQWeights(quantCfg, Q4, 0, counting)
	if err != nil {
		t.Fatal(err)
	}
	// Norms, then per tensor its nibbles (n/2 bytes = n/8 floats) and half scales (n/32 halves
	// = n/64 floats): embedding 3200, wq 8192, wk and wv 4096, wo 8192, w1 w2 w3 12288, wcls.
	want := []int{128, 128, 64}
	for _, n := range []int{3200, 8192, 4096, 4096, 8192, 12288, 12288, 12288, 3200} {
		want = append(want, n/8, n/64)
	}
	if diff := cmp.Diff(want, sizes); diff != "" {
		t.Errorf("allocation sizes in floats (-want +got):\n%s", diff)
	}
	if len(q.W1.Q4) != 12288/2 || len(q.W1.Half) != 12288/32 || cap(q.W1.Half) < len(q.W1.Half) {
		t.Errorf("w1: %d bytes, %d halves", len(q.W1.Q4), len(q.W1.Half))
	}
	if q.sharedClassifier() {
		t.Error("NewQWeights shares the classifier")
	}
	_, err = NewQWeights(quantCfg, Q8, 0, func(n int) ([]float32, error) { return make([]float32, n+1), nil })
	if err == nil || !strings.Contains(err.Error(), "allocating rms_att_weight") {
		t.Errorf("allocator returning the wrong size: %v", err)
	}
}

// TestQRandomize checks random quantized weights: reproducible for any GOMAXPROCS, in range,
// bf16 equal to the rounded float32 of Weights.Randomize, and the norms the same as there.
func TestQRandomize(t *testing.T) {
	f32, err := NewWeights(quantCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f32.Randomize(3, nil)
	for _, typ := range []WeightType{BF16, Q8, Q4} {
		t.Run(typ.String(), func(t *testing.T) {
			q, err := NewQWeights(quantCfg, typ, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			var last, total int64
			if err := q.Randomize(quantCfg, 3, func(d, n int64) { last, total = d, n }); err != nil {
				t.Fatal(err)
			}
			if want := quantCfg.Params() - (2*2+1)*64; last != want || total != want {
				t.Errorf("progress ended at %d of %d, want %d", last, total, want)
			}
			q1, _ := NewQWeights(quantCfg, typ, 0, nil)
			old := runtime.GOMAXPROCS(1)
			err = q1.Randomize(quantCfg, 3, nil)
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(q, q1); diff != "" {
				t.Fatalf("one goroutine gives other weights (-many +one):\n%s", diff)
			}
			q2, _ := NewQWeights(quantCfg, typ, 0, nil)
			if err := q2.Randomize(quantCfg, 4, nil); err != nil {
				t.Fatal(err)
			}
			if cmp.Equal(q.W1, q2.W1) {
				t.Error("seeds 3 and 4 give the same w1")
			}
			if diff := cmp.Diff(f32.RmsFfn, q.RmsFfn); diff != "" {
				t.Errorf("norms differ from Weights.Randomize (-want +got):\n%s", diff)
			}
			dq, err := q.Dequantize(quantCfg)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[float32]bool{}
			for _, b := range weightTensors(quantCfg, dq) {
				for i, v := range *b.data {
					if !(math.Abs(float64(v)) <= 0.01*(1+0x1p-8)) { // bf16 rounds 0.01 up
						t.Fatalf("%s[%d] = %v, outside ±0.01", b.name, i, v)
					}
					seen[v] = true
				}
			}
			switch typ {
			case BF16:
				for i, v := range f32.W2 {
					if q.W2.BF16[i] != uint16(half.BF16FromFloat32(v)) {
						t.Fatalf("w2[%d] = %#04x, want ToBF16(%v) = %#04x", i, q.W2.BF16[i], v, uint16(half.BF16FromFloat32(v)))
					}
				}
			case Q8:
				counts := map[int8]int{}
				for _, v := range q.Wq.Q8 {
					counts[v]++
				}
				if len(counts) != 255 || counts[-128] != 0 {
					t.Errorf("wq holds %d distinct values (-128: %d times), want all of [-127, 127]", len(counts), counts[-128])
				}
				if q.Wq.Scales[0] == q.Wq.Scales[1] {
					t.Error("two groups have the same scale")
				}
			case Q4:
				var low, high [16]int
				for _, b := range q.Wq.Q4 {
					low[b&15]++
					high[b>>4]++
				}
				for n := range 16 {
					if low[n] == 0 || high[n] == 0 {
						t.Errorf("nibble %d never appears (low %d, high %d times)", n, low[n], high[n])
					}
				}
			}
			if len(seen) < 1000 {
				t.Errorf("only %d distinct weights", len(seen))
			}
		})
	}
}

// TestFillBytes checks that the byte stream does not depend on where a piece starts.
func TestFillBytes(t *testing.T) {
	whole := make([]byte, 40)
	fillBytes(whole, 9, 0)
	for _, start := range []int{0, 1, 7, 8, 13} {
		for _, end := range []int{start, start + 1, start + 9, 40} {
			part := make([]byte, end-start)
			fillBytes(part, 9, start)
			if !cmp.Equal(part, whole[start:end]) {
				t.Errorf("bytes %d..%d = %v, want %v", start, end, part, whole[start:end])
			}
		}
	}
}

// BenchmarkQuantize reports how fast Quantize converts the 125M preset's float32 weights
// (650 MB, in memory) to each type, in bytes of float32 a second. Every call writes into the
// same buffers, so that fresh memory's page faults (which cost these VMs as much as the
// quantizing) are not timed.
func BenchmarkQuantize(b *testing.B) {
	cfg, err := Preset("125M")
	if err != nil {
		b.Fatal(err)
	}
	w, err := NewWeights(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	w.Randomize(1, nil)
	for _, t := range []WeightType{BF16, Q8, Q4} {
		b.Run(t.String(), func(b *testing.B) {
			var bufs [][]float32 // the first call's, handed out again in the same order
			next := 0
			reuse := func(n int) ([]float32, error) {
				if next == len(bufs) {
					bufs = append(bufs, make([]float32, n))
				}
				next++
				return bufs[next-1], nil
			}
			b.SetBytes(cfg.WeightBytes())
			for b.Loop() {
				next = 0
				if _, err := Quantize(cfg, w, t, 0, reuse, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
