package main

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestQuantile(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		q    float64
		want float64
	}{{0.5, 5}, {0.99, 10}, {0.1, 1}, {0.11, 2}, {1, 10}, {0.001, 1}} {
		if got := quantile(s, c.q); got != c.want {
			t.Errorf("quantile(1..10, %v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile(nil) = %v, want 0", got)
	}
}

// TestResampledQuantileMatchesSorting checks the counting shortcut
// against sorting the same resample.
func TestResampledQuantileMatchesSorting(t *testing.T) {
	src := rand.New(rand.NewPCG(7, 8))
	sorted := make([]float64, 257)
	for i := range sorted {
		sorted[i] = src.Float64() * 100
	}
	slices.Sort(sorted)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		for seed := range uint64(20) {
			got := resampledQuantile(sorted, q, rand.New(rand.NewPCG(seed, 1)), make([]int, len(sorted)))
			// The same draws, sorted.
			rng := rand.New(rand.NewPCG(seed, 1))
			re := make([]float64, len(sorted))
			for i := range re {
				re[i] = sorted[rng.IntN(len(sorted))]
			}
			slices.Sort(re)
			if want := quantile(re, q); got != want {
				t.Fatalf("q=%v seed %d: counted %v, sorted %v", q, seed, got, want)
			}
		}
	}
}

// TestRatioCI checks the interval's coverage: over 40 pairs of samples
// of one distribution it holds 1 in at least 34 (about 38 expected of a
// 95% interval), and it leaves 1 out of every pair where one side is 20%
// slower.
func TestRatioCI(t *testing.T) {
	draw := func(seed uint64, scale float64) []float64 {
		rng := rand.New(rand.NewPCG(seed, 3))
		s := make([]float64, 3000)
		for i := range s {
			s[i] = scale * (1000 + rng.ExpFloat64()*200)
		}
		slices.Sort(s)
		return s
	}
	for _, q := range []float64{0.5, 0.99} {
		held := 0
		for i := range uint64(40) {
			b := draw(2*i+1, 1)
			if lo, hi := ratioCI(draw(2*i, 1), b, q, 500); lo <= 1 && hi >= 1 {
				held++
			}
			if lo, hi := ratioCI(draw(2*i, 1.2), b, q, 500); lo <= 1 || hi < lo {
				t.Errorf("20%% slower, q=%v, pair %d: interval [%.3f, %.3f] holds 1", q, i, lo, hi)
			}
		}
		if held < 34 {
			t.Errorf("same distribution, q=%v: the interval held 1 in %d of 40 pairs, want at least 34", q, held)
		}
	}
	if lo, hi := ratioCI(nil, draw(1, 1), 0.5, 100); lo != 0 || hi != 0 {
		t.Errorf("no samples: [%v, %v], want [0, 0]", lo, hi)
	}
}
