package llamakernel

import (
	"slices"
	"strings"
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/llama"
)

// TestStep decodes the same tokens through a Step bound once and through Forward, on f32 and
// q4 weights: the logits must be the same bits at every position, also after the state is
// reset (the bound buffers keep their place); a bad token or position and a closed Step are
// refused with errors, and Bind refuses what Forward refuses.
func TestStep(t *testing.T) {
	cfg := qConfigs[0].cfg
	cfg.RopeTheta = 0 // llama2_forward's fixed base
	w := randomModel(t, cfg, referenceSeed, 0.3)
	q := randomQModel(t, cfg, llama.Q4, 32, referenceSeed)
	f32, q4 := compileKernel(t, compiler.Options{}), compileKernelQ(t, compiler.Options{}, llama.Q4)
	kernels := []struct {
		name    string
		bind    func(s *llama.State) (*Step, error)
		forward func(s *llama.State, token, pos int) ([]float32, error)
	}{
		{"f32", func(s *llama.State) (*Step, error) { return f32.Bind(cfg, w, s) },
			func(s *llama.State, token, pos int) ([]float32, error) { return f32.Forward(cfg, w, s, token, pos) }},
		{"q4", func(s *llama.State) (*Step, error) { return q4.Bind(cfg, q, s) },
			func(s *llama.State, token, pos int) ([]float32, error) { return q4.Forward(cfg, q, s, token, pos) }},
	}
	for _, k := range kernels {
		t.Run(k.name, func(t *testing.T) {
			bound, each := newTestState(t, cfg), newTestState(t, cfg)
			st, err := k.bind(bound)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for round := range 2 {
				bound.Reset()
				each.Reset()
				for pos := range 6 {
					token := (pos*31 + 5) % cfg.VocabSize
					got, err := st.Forward(token, pos)
					if err != nil {
						t.Fatal(err)
					}
					want, err := k.forward(each, token, pos)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got, want) {
						t.Fatalf("round %d, pos %d: the bound step's logits differ from Forward's", round, pos)
					}
				}
			}
			for _, c := range []struct {
				token, pos int
				want       string
			}{
				{cfg.VocabSize, 0, "out of range [0, 97) (vocab_size)"},
				{-1, 0, "token -1 out of range"},
				{0, cfg.SeqLen, "position 16 out of range [0, 16) (seq_len)"},
			} {
				if _, err := st.Forward(c.token, c.pos); err == nil || !strings.Contains(err.Error(), c.want) {
					t.Errorf("Forward(%d, %d): err = %v, want it to say %q", c.token, c.pos, err, c.want)
				}
			}
			st.Close()
			if _, err := st.Forward(1, 0); err == nil || !strings.Contains(err.Error(), "closed; bind again") {
				t.Errorf("Forward after Close: err = %v", err)
			}
			short := newTestState(t, cfg)
			short.Logits = short.Logits[:1]
			if _, err := k.bind(short); err == nil || !strings.Contains(err.Error(), "logits") {
				t.Errorf("Bind with a short logits buffer: err = %v", err)
			}
		})
	}
	q8 := randomQModel(t, cfg, llama.Q8, 32, referenceSeed)
	if _, err := q4.Bind(cfg, q8, newTestState(t, cfg)); err == nil || !strings.Contains(err.Error(), "takes q4 weights, not q8") {
		t.Errorf("Bind of q8 weights to the q4 step: err = %v", err)
	}
}
