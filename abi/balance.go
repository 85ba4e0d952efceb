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
