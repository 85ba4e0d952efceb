package conformance

import (
	"testing"

	"github.com/simplang/simplang/compiler"
	"github.com/simplang/simplang/internal/kerneltest"
)

// balanceHarness drives the run-time functions that split parallel loops (abi.BalanceSymbol)
// as a parallel loop and its threads would, and prints what a test can check.
const balanceHarness = `
#include <stdio.h>
#include <stdint.h>
void simplang_balance(int64_t cut, int64_t n);
int64_t simplang_share(int64_t cut, int64_t trips, int64_t t, int64_t n);
void simplang_measured(int64_t t, int64_t iterations, int64_t ticks);
static double cut[65];
static int64_t share(int64_t trips, int64_t t, int64_t n) { return simplang_share((int64_t)cut, trips, t, n); }
/* the shares of n threads cover 0..trips in order */
static int partition(int64_t trips, int64_t n) {
  if (share(trips, 0, n) != 0 || share(trips, n, n) != trips) return 0;
  for (int64_t t = 0; t < n; t++) if (share(trips, t + 1, n) < share(trips, t, n)) return 0;
  return 1;
}
int main(void) {
  int ok = 1;
  simplang_balance((int64_t)cut, 4); /* nothing measured yet: even */
  printf("even %ld %ld %ld %ld %ld\n", share(100, 0, 4), share(100, 1, 4), share(100, 2, 4), share(100, 3, 4), share(100, 4, 4));
  /* thread 0 takes 10 ticks an iteration, thread 1 takes 20: thread 0's share goes to 2/3 */
  int64_t first = -1;
  for (int r = 0; r < 40; r++) {
    simplang_balance((int64_t)cut, 2);
    ok &= partition(3000, 2) && partition(7, 2) && partition(0, 2) && partition(INT64_MAX, 2);
    int64_t a = share(3000, 1, 2);
    if (r == 1) first = a;
    simplang_measured(0, a, a * 10);
    simplang_measured(1, 3000 - a, (3000 - a) * 20);
  }
  simplang_balance((int64_t)cut, 2);
  printf("moved %d settled %d\n", first > 1500 && first < 2000, share(3000, 1, 2) >= 1990 && share(3000, 1, 2) <= 2010);
  /* a thread without a report (it had no iterations) leaves the speeds as they were */
  simplang_measured(0, 5, 50);
  simplang_balance((int64_t)cut, 2);
  printf("kept %d\n", share(3000, 1, 2) >= 1990 && share(3000, 1, 2) <= 2010);
  /* teams beyond the measured size split evenly; shares past the team give the trip count */
  simplang_balance((int64_t)cut, 100);
  ok &= partition(1000, 100) && partition(99, 100);
  printf("wide %ld %ld %ld %ld\n", share(1000, 1, 100), share(1000, 99, 100), share(1000, 100, 100), share(1000, 101, 100));
  simplang_balance((int64_t)cut, 64);
  ok &= partition(1000, 64) && partition(5, 64);
  printf("partitions %d\n", ok);
  return 0;
}
`

// TestBalancedSplit checks the split of parallel loops among threads of unequal speed: even
// before any measurement, moving towards the measured speeds (a thread twice as fast gets
// two thirds), unchanged by an incomplete measurement, even for teams larger than
// abi.MaxBalanced, and always a partition of the iterations in order.
func TestBalancedSplit(t *testing.T) {
	for _, backend := range []compiler.Backend{compiler.MLIR, compiler.LLVM} {
		t.Run(backend.String(), func(t *testing.T) {
			obj := kerneltest.Compile(t, "one.sl", []byte("fn one() -> i64 { return 1; }\n"), compiler.Options{Backend: backend})
			want := "even 0 25 50 75 100\nmoved 1 settled 1\nkept 1\nwide 10 990 1000 1000\npartitions 1\n"
			if out := runC(t, obj.Path, "one", balanceHarness); out != want {
				t.Errorf("C harness printed\n%s\nwant\n%s", out, want)
			}
		})
	}
}
