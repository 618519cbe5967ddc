package main

import (
	"math"
	"math/rand/v2"
	"slices"
)

// quantile returns the q-quantile (0 < q ≤ 1) of sorted by nearest rank:
// the smallest sample with at least q of the samples at or below it.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// resampledQuantile returns the q-quantile of one bootstrap resample of
// sorted (len(sorted) draws with replacement). A resample's k-th
// smallest value is sorted[j] for the k-th smallest index j drawn, so
// counting the draws per index (counts, len(sorted) long, is scratch)
// finds it in linear time, without sorting the resample.
func resampledQuantile(sorted []float64, q float64, rng *rand.Rand, counts []int) float64 {
	n := len(sorted)
	clear(counts)
	for range n {
		counts[rng.IntN(n)]++
	}
	k := min(max(int(math.Ceil(q*float64(n))), 1), n)
	seen := 0
	for j, c := range counts {
		if seen += c; seen >= k {
			return sorted[j]
		}
	}
	return sorted[n-1]
}

// ratioCI returns the 95% percentile-bootstrap interval of
// quantile(a, q) / quantile(b, q), from iters resamples of each. a and b
// must be sorted. The seed is fixed, so the same samples give the same
// interval.
func ratioCI(a, b []float64, q float64, iters int) (lo, hi float64) {
	if len(a) == 0 || len(b) == 0 || iters <= 0 {
		return 0, 0
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ca, cb := make([]int, len(a)), make([]int, len(b))
	ratios := make([]float64, iters)
	for i := range ratios {
		ratios[i] = resampledQuantile(a, q, rng, ca) / resampledQuantile(b, q, rng, cb)
	}
	slices.Sort(ratios)
	return quantile(ratios, 0.025), quantile(ratios, 0.975)
}
