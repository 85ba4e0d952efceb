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
	tr.now, _ = purego.Dlsym(handle, abi.NowSymbol)
}

// recorder calls one of the recorder's functions, unless the object was closed.
func (l *Library) recorder(fn uintptr, args ...uintptr) (uintptr, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.handle == 0 {
		return 0, fmt.Errorf("loader: trace: %s is closed", l.path)
	}
	r, _, _ := purego.SyscallN(fn, args...)
	return r, nil
}

// calibrate measures the time-stamp counter's rate once, over 20 ms.
func (l *Library) calibrate() {
	tr := &l.tracer
	tr.rate.Do(func() {
		start := time.Now()
		t0, _ := l.recorder(tr.now)
		time.Sleep(20 * time.Millisecond)
		t1, _ := l.recorder(tr.now)
		tr.tickRate = float64(t1-t0) / time.Since(start).Seconds()
	})
}

// Trace runs call with the object recording its parallel loops and returns their runs.
// The recorder is the object's, so it also records the loops of other calls of the object
// running meanwhile: trace one caller at a time. A loop with too little work to start
// threads for runs as plain code and is not recorded.
func (l *Library) Trace(call func() error) (*Trace, error) {
	l.mu.RLock()
	closed := l.handle == 0
	l.mu.RUnlock()
	if closed {
		return nil, fmt.Errorf("loader: trace: %s is closed", l.path)
	}
	tr := &l.tracer
	if tr.on == 0 || tr.read == 0 || tr.now == 0 {
		return nil, fmt.Errorf("loader: trace: %s has no %s: it was built by an older simpc; rebuild it", l.path, abi.TraceSymbol)
	}
	l.calibrate()
	start, err := l.recorder(tr.now)
	if err != nil {
		return nil, err
	}
	if _, err := l.recorder(tr.on, 1); err != nil {
		return nil, err
	}
	recording := true
	defer func() { // a call that panics leaves the recorder off too
		if recording {
			l.recorder(tr.on, 0)
		}
	}()
	err = call()
	recording = false
	if _, offErr := l.recorder(tr.on, 0); offErr != nil {
		return nil, offErr
	}
	if err != nil {
		return nil, err
	}
	recorded, err := l.recorder(tr.read, 0, 0)
	if err != nil {
		return nil, err
	}
	n := min(int(recorded), abi.TraceCap)
	events := make([]int64, max(n, 1)*abi.TraceWords)
	var pin runtime.Pinner
	pin.Pin(&events[0])
	_, err = l.recorder(tr.read, uintptr(unsafe.Pointer(&events[0])), uintptr(n))
	pin.Unpin()
	if err != nil {
		return nil, err
	}
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
