package abi

// The run-time functions that share a parallel loop's iterations among the threads of its
// team in proportion to their measured speed (package entry defines them in every object;
// both generators call them around every parallel loop). The vCPUs of a shared machine run
// at different speeds for seconds at a time, and an even split then waits for the slower.
//
// Before a parallel loop, its caller asks BalanceSymbol for the split of its team of n
// threads: the shares' boundaries as fractions, written to cut[0..n] (n+1 doubles at the
// address cut; at most MaxBalanced threads get a measured split, more an even one). Thread t
// of the loop runs the iterations from ShareSymbol(cut, trips, t, n) up to
// ShareSymbol(cut, trips, t+1, n), and reports with MeasuredSymbol how many it ran in how
// many ticks of the time-stamp counter; the next split follows those speeds.
const (
	BalanceSymbol  = "simplang_balance"  // void (i64 cut, i64 n)
	ShareSymbol    = "simplang_share"    // i64 (i64 cut, i64 trips, i64 t, i64 n): share t's first iteration
	MeasuredSymbol = "simplang_measured" // void (i64 t, i64 iterations, i64 ticks)
)

// MaxBalanced is the largest team whose split follows measured speeds; cut holds
// MaxBalanced+1 doubles.
const MaxBalanced = 64

// While TraceSymbol has turned it on, an object records its parallel loops: the split
// before each (an event of kind TraceSplit: the team's size, and the time-stamp counter
// then as start and end) and each thread's report at the end of its share (TraceShare: the
// thread, and the counter when its share started and ended). The events go to a table of
// TraceCap, four i64 words each (kind, thread or team size, start, end), in the order they
// were recorded; TraceReadSymbol copies them out. NowSymbol reads the counter, so that a
// caller can relate its ticks to time.
const (
	TraceSymbol     = "simplang_trace"      // void (i32 on): on (nonzero) also empties the table
	TraceReadSymbol = "simplang_trace_read" // i64 (i64 events, i64 cap): copies min(recorded, cap, TraceCap) events; returns how many were recorded
	NowSymbol       = "simplang_now"        // i64 (): the time-stamp counter
)

// TraceCap is how many events the trace table holds; TraceWords the i64 words of an event.
const (
	TraceCap   = 1 << 16
	TraceWords = 4
)

// The kinds of trace events.
const (
	TraceSplit = 0
	TraceShare = 1
)
