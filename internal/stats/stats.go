// Package stats holds the one statistic the benchmarks and comparisons quote: on these shared
// machines a median, not a mean, says what a run took.
package stats

import (
	"math"
	"slices"
)

// Median is the middle value of xs (the mean of the two middle ones for an even count), and
// NaN for none. xs is left as it was.
func Median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	switch {
	case n == 0:
		return math.NaN()
	case n%2 == 1:
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
