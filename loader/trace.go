package loader

import (
	"fmt"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"

	"github.com/simplang/simplang/abi"
)

// A LoopRun is one run of a parallel loop in a Trace: when its caller split the iterations,
// just before the threads started, and when each thread started and ended its share.
// Times are from the start of the trace.
type LoopRun struct {
	Split   time.Duration
	Threads []ThreadShare // in the order the threads ended
}

// ThreadShare is one thread's share of a LoopRun.
type ThreadShare struct {
	Thread     int
	Start, End time.Duration
}

// A Trace is what Library.Trace recorded: the runs of the object's parallel loops, in order.
type Trace struct {
	Runs []LoopRun
	// Lost counts the events (a split, or a thread's share) past the recorder's table of
	// abi.TraceCap: the runs cover the start of the call only.
	Lost int
}

// tracer holds the object's recorder functions (abi.TraceSymbol); 0 in an object built
// before it had them.
type tracer struct {
	on, read, now uintptr

	rate     sync.Once
	tickRate float64 // time-stamp counter ticks per second
}

func (tr *tracer) find(handle uintptr) {
	tr.on, _ = purego.Dlsym(handle, abi.TraceSymbol)
	tr.read, _ = purego.Dlsym(handle, abi.TraceReadSymbol)
	tr.now, _ = purego.Dlsym(handle, abi.TicksSymbol)
}

// calibrate measures the time-stamp counter's rate once, over 20 ms.
func (tr *tracer) calibrate() {
	tr.rate.Do(func() {
		start := time.Now()
		t0, _, _ := purego.SyscallN(tr.now)
		time.Sleep(20 * time.Millisecond)
		t1, _, _ := purego.SyscallN(tr.now)
		tr.tickRate = float64(t1-t0) / time.Since(start).Seconds()
	})
}

// Trace runs call with the object recording its parallel loops and returns their runs.
// The recorder is the object's, so it also records the loops of other calls of the object
// running meanwhile: trace one caller at a time. A loop with too little work to start
// threads for runs as plain code and is not recorded.
func (l *Library) Trace(call func() error) (*Trace, error) {
	l.mu.RLock()
	tr, open := &l.tracer, l.handle != 0
	l.mu.RUnlock()
	if !open {
		return nil, fmt.Errorf("loader: trace: %s is closed", l.path)
	}
	if tr.on == 0 || tr.read == 0 || tr.now == 0 {
		return nil, fmt.Errorf("loader: trace: %s has no %s: it was built by an older simpc; rebuild it", l.path, abi.TraceSymbol)
	}
	tr.calibrate()
	start, _, _ := purego.SyscallN(tr.now)
	purego.SyscallN(tr.on, 1)
	err := call()
	purego.SyscallN(tr.on, 0)
	if err != nil {
		return nil, err
	}
	recorded, _, _ := purego.SyscallN(tr.read, 0, 0)
	n := min(int(recorded), abi.TraceCap)
	events := make([]int64, max(n, 1)*abi.TraceWords)
	var pin runtime.Pinner
	pin.Pin(&events[0])
	purego.SyscallN(tr.read, uintptr(unsafe.Pointer(&events[0])), uintptr(n))
	pin.Unpin()
	at := func(ticks int64) time.Duration {
		return time.Duration(float64(ticks-int64(start)) / tr.tickRate * float64(time.Second))
	}
	t := &Trace{Lost: int(recorded) - n}
	for e := range n {
		w := events[e*abi.TraceWords : (e+1)*abi.TraceWords]
		switch {
		case w[0] == abi.TraceSplit:
			t.Runs = append(t.Runs, LoopRun{Split: at(w[2])})
		case w[0] == abi.TraceShare && len(t.Runs) > 0:
			run := &t.Runs[len(t.Runs)-1]
			run.Threads = append(run.Threads, ThreadShare{Thread: int(w[1]), Start: at(w[2]), End: at(w[3])})
		}
	}
	return t, nil
}
