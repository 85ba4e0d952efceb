package loader

import (
	"strings"
	"testing"
)

// TestTraceRefused: an object without the recorder (the test kernels carry a hand-written
// run time, as an object of an older simpc would) and a closed one are refused without
// running the call. The recorder itself is tested with generated code (compiler.TestTrace).
func TestTraceRefused(t *testing.T) {
	lib := open(t, "kernels")
	ran := false
	call := func() error { ran = true; return nil }
	if _, err := lib.Trace(call); err == nil || !strings.Contains(err.Error(), "older simpc; rebuild it") {
		t.Errorf("Trace on an object without the recorder: err = %v", err)
	}
	closed, err := Open(build(t, "kernels"))
	if err != nil {
		t.Fatal(err)
	}
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := closed.Trace(call); err == nil || !strings.Contains(err.Error(), "is closed") {
		t.Errorf("Trace on a closed object: err = %v", err)
	}
	if ran {
		t.Error("a refused Trace ran the call")
	}
}
