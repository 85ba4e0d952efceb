package abi

// The run-time functions that share a parallel loop's iterations among the threads of its
// team (package entry defines them in every object; both generators call them around every
// parallel loop). The vCPUs of a shared machine run at different speeds for seconds at a
// time, and an even split then waits for the slower; and within one loop a thread can start
// late or stall on the memory, which no split made before the loop foresees.
//
// So a loop's iterations are cut into chunks, and the chunks into one run of consecutive
// chunks per thread, in proportion to the threads' measured speeds. Each thread claims the
// chunks of its own run from the front, in order, so that it streams through memory as with
// one contiguous share; when its run is done it takes chunks from the back of the others'
// runs, so that the threads end together.
//
// Before a parallel loop its caller calls BalanceSymbol with its buffer of SplitWords
// 8-byte words (aligned to SplitAlign bytes; the loop's state, which only these functions
// read), the team's size n and the loop's trip count. Each thread t of the loop then asks
// ChunkSymbol once for the chunk size c, and calls ClaimSymbol until it returns -1: each
// other result k is a chunk, iterations k up to min(k + c, trips). At the end it reports
// with MeasuredSymbol the ticks of the time-stamp counter its chunks took; the next split
// follows the speeds of those reports. A team larger than MaxBalanced has MaxBalanced runs;
// its other threads only take chunks from the back of runs.
const (
	BalanceSymbol  = "simplang_balance"  // void (i64 buf, i64 n, i64 trips)
	ChunkSymbol    = "simplang_chunk"    // i64 (i64 buf): the chunk size
	ClaimSymbol    = "simplang_claim"    // i64 (i64 buf, i64 t): thread t's next chunk's first iteration, or -1
	MeasuredSymbol = "simplang_measured" // void (i64 buf, i64 t, i64 ticks)
)

// MaxBalanced is the largest team whose threads each get a run of chunks that follows their
// measured speeds.
const MaxBalanced = 64

// SplitWords is the size of a parallel loop's buffer in 8-byte words, and SplitAlign its
// alignment in bytes: each run's claims have a cache line of their own.
const (
	SplitWords = 128 + 8*MaxBalanced
	SplitAlign = 64
)

// While TraceSymbol has turned it on, an object records its parallel loops: the split
// before each (an event of kind TraceSplit: the team's size, and the time-stamp counter
// then as start and end) and each thread's report at the end of its chunks (TraceShare: the
// thread, and the counter when its first chunk started and its last ended). The events go
// to a table of TraceCap, four i64 words each (kind, thread or team size, start, end), in
// the order they were recorded; TraceReadSymbol copies them out. NowSymbol reads the
// counter, so that a caller can relate its ticks to time.
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
