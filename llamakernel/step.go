package llamakernel

import (
	"fmt"
	"math"

	"github.com/simplang/simplang/llama"
	"github.com/simplang/simplang/loader"
)

// Step is a decode step bound to one model's weights and run state (Kernel.Bind,
// KernelQ.Bind): their buffers are checked once, and each Forward passes the kernel only the
// token and the position. The weights and the state must keep their buffers (the contents
// may change: State.Reset, new weights read into them) until Close. A Step is for one
// goroutine at a time.
type Step struct {
	call   *loader.Bound
	name   string // the kernel's
	cfg    llama.Config
	logits []float32
	token  int // the kernel's parameter index of token; pos follows it
}

// bind binds fn's args, whose token and pos are parameters token and token+1, for cfg's
// steps writing logits.
func bind(fn *loader.Func, name string, cfg llama.Config, logits []float32, args []any) (*Step, error) {
	token := -1
	for i, p := range fn.Signature().Params {
		if p.Name == "token" {
			token = i
		}
	}
	if token < 0 {
		return nil, fmt.Errorf("llamakernel: %s has no token parameter", name)
	}
	call, err := fn.Bind(args...)
	if err != nil {
		return nil, err
	}
	return &Step{call: call, name: name, cfg: cfg, logits: logits, token: token}, nil
}

// Forward runs the step on token at position pos and returns the state's logits, with the
// contract of the kernel's Forward.
func (st *Step) Forward(token, pos int) ([]float32, error) {
	if err := llama.CheckToken(st.cfg, token, pos); err != nil {
		return nil, err
	}
	if err := st.call.Set(st.token, token); err != nil {
		return nil, err
	}
	if err := st.call.Set(st.token+1, pos); err != nil {
		return nil, err
	}
	r, err := st.call.Call()
	if err != nil {
		return nil, err
	}
	if math.IsNaN(float64(r.(float32))) && !math.IsNaN(float64(st.logits[0])) {
		return nil, fmt.Errorf("llamakernel: %s refused token %d at position %d", st.name, token, pos)
	}
	return st.logits, nil
}

// Close releases the bound buffers; the Step cannot run after it.
func (st *Step) Close() { st.call.Close() }
