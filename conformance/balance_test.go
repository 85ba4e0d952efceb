package conformance

import (
	"strconv"
	"strings"
	"testing"

	"github.com/simplang/simplang/abi"
	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
)

// balanceHarness drives the run-time functions that share parallel loops among threads
// (abi.BalanceSymbol) as a parallel loop and its threads would, the threads taking turns in
// a simulated time, and prints what a test can check. SPLIT_WORDS is abi.SplitWords.
const balanceHarness = `
#include <stdio.h>
#include <stdint.h>
#include <string.h>
void simplang_balance(int64_t buf, int64_t n, int64_t trips);
int64_t simplang_chunk(int64_t buf);
int64_t simplang_claim(int64_t buf, int64_t t);
void simplang_measured(int64_t buf, int64_t t, int64_t ticks);
static int64_t buf[SPLIT_WORDS] __attribute__((aligned(64)));
#define B ((int64_t)buf)
static unsigned char seen[4096];
static int64_t first[128], clock_[128];
/* Runs a loop of trips (at most 4096) iterations on n threads, an iteration taking cost[t]
   ticks on thread t: the thread with the least time claims next, until every thread has been
   told that none are left. Records each thread's first claim (-1: none) and its time, reports
   the times when report is set, and returns 1 when the claims ran every iteration once. */
static int simulate(int64_t n, int64_t trips, const int64_t *cost, int report) {
  int done[128] = {0}, ok = 1, left = n;
  memset(seen, 0, sizeof seen);
  simplang_balance(B, n, trips);
  int64_t c = simplang_chunk(B);
  for (int t = 0; t < n; t++) first[t] = -1, clock_[t] = 0;
  while (left > 0) {
    int t = -1;
    for (int u = 0; u < n; u++) if (!done[u] && (t < 0 || clock_[u] < clock_[t])) t = u;
    int64_t k = simplang_claim(B, t);
    if (k < 0) { done[t] = 1; left--; if (report) simplang_measured(B, t, clock_[t]); continue; }
    if (first[t] < 0) first[t] = k;
    int64_t end = k + (c < trips - k ? c : trips - k);
    if (k >= trips || end <= k) return 0;
    for (int64_t i = k; i < end; i++) ok &= seen[i]++ == 0;
    clock_[t] += (end - k) * cost[t];
  }
  for (int64_t i = 0; i < trips; i++) ok &= seen[i] == 1;
  return ok;
}
static int64_t apart(int64_t n) {
  int64_t lo = clock_[0], hi = clock_[0];
  for (int t = 1; t < n; t++) { if (clock_[t] < lo) lo = clock_[t]; if (clock_[t] > hi) hi = clock_[t]; }
  return hi - lo;
}
int main(void) {
  int64_t ones[128];
  for (int t = 0; t < 128; t++) ones[t] = 1;
  int ok = simulate(100, 1000, ones, 0); /* beyond MaxBalanced: 64 runs of one-iteration chunks */
  printf("wide %ld %ld\n", first[1], first[70]); /* thread 70 starts at the back of run 7 */
  ok &= simulate(4, 100, ones, 0); /* nothing measured yet: runs of 12 or 13 two-iteration chunks */
  printf("even %ld %ld %ld %ld\n", first[0], first[1], first[2], first[3]);
  ok &= simulate(2, 7, ones, 0) && simulate(2, 0, ones, 0) && simulate(1, 50, ones, 0);
  /* thread 0 takes 10 ticks an iteration, thread 1 takes 20: its run goes to 2/3 of the loop */
  int64_t cost[2] = {10, 20}, moved = -1, together = 1;
  for (int r = 0; r < 40; r++) {
    ok &= simulate(2, 3000, cost, 1);
    together &= apart(2) <= 20 * simplang_chunk(B);
    if (r == 1) moved = first[1];
  }
  simulate(2, 3000, cost, 0);
  printf("moved %d settled %d together %ld\n", moved > 1500 && moved < 2000, first[1] >= 1900 && first[1] <= 2100, together);
  /* a report from one thread only (the other ran nothing) leaves the speeds as they were */
  simplang_balance(B, 2, 3000);
  simplang_claim(B, 0);
  simplang_measured(B, 0, 50);
  simulate(2, 3000, cost, 0);
  printf("kept %d\n", first[1] >= 1900 && first[1] <= 2100);
  /* trip counts too large to run: the first claims are in range */
  simplang_balance(B, 2, INT64_MAX);
  int64_t a = simplang_claim(B, 0), b = simplang_claim(B, 1), c = simplang_chunk(B);
  ok &= a == 0 && b > 0 && c > 0 && b < INT64_MAX && INT64_MAX - b >= c;
  printf("partitions %d\n", ok);
  return 0;
}
`

// TestBalancedSplit checks how parallel loops share their iterations among threads: every
// iteration run once, whatever the trip count and team size (beyond abi.MaxBalanced too);
// runs of chunks in proportion to the threads' measured speeds (a thread twice as fast gets
// two thirds), unchanged by an incomplete measurement; and threads of unequal speed ending
// within a chunk of each other.
func TestBalancedSplit(t *testing.T) {
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		t.Run(backend.String(), func(t *testing.T) {
			obj := kerneltest.Compile(t, "one.sl", []byte("fn one() -> i64 { return 1; }\n"), compiler.Options{Backend: backend})
			want := "wide 16 124\neven 0 26 50 76\nmoved 1 settled 1 together 1\nkept 1\npartitions 1\n"
			if out := runC(t, obj.Path, "one", strings.ReplaceAll(balanceHarness, "SPLIT_WORDS", strconv.Itoa(abi.SplitWords))); out != want {
				t.Errorf("C harness printed\n%s\nwant\n%s", out, want)
			}
		})
	}
}
