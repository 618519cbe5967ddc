package linode_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/linode"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
)

// createAndWait creates one instance and waits for it on clock, and
// returns how many API calls that took.
func createAndWait(tb testing.TB, e *env, clock dbaas.Clock, name string, wait dbaas.WaitOptions) int64 {
	tb.Helper()
	ctx := context.Background()
	before := e.sim.TotalCalls()
	inst, err := e.p.Create(ctx, spec(name, dbaas.Postgres))
	require.NoError(tb, err)
	wait.Clock = clock
	_, err = dbaas.Wait(ctx, e.p, inst.ID, wait)
	require.NoError(tb, err)
	return e.sim.TotalCalls() - before
}

// TestCreateWaitCalls: a create plus Wait over Linode's typical 15
// minutes of provisioning (on simulated time) costs at most 12 calls,
// whatever the jitter of the polls.
func TestCreateWaitCalls(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, linodesim.Options{ProvisionDelay: 15 * time.Minute}, nil)
	for i := range 20 {
		calls := createAndWait(t, e, clock, fmt.Sprintf("count-%d", i), dbaas.WaitOptions{})
		require.LessOrEqual(t, calls, int64(12), "run %d", i)
		require.GreaterOrEqual(t, calls, int64(2))
	}
}

// BenchmarkCreateWait reports the API calls of a create plus Wait with a
// simulated 15-minute provisioning: with the provider's
// TypicalProvisioning hint, and the baseline of Wait's plain backoff
// (hint disabled).
func BenchmarkCreateWait(b *testing.B) {
	for _, bc := range []struct {
		name string
		wait dbaas.WaitOptions
	}{
		{"hinted", dbaas.WaitOptions{}},
		{"baseline-no-hint", dbaas.WaitOptions{Expected: -1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			clock := fakeclock.NewAuto(epoch)
			e := newEnv(b, clock, linodesim.Options{ProvisionDelay: 15 * time.Minute}, nil)
			var total, most int64
			for i := 0; b.Loop(); i++ {
				calls := createAndWait(b, e, clock, fmt.Sprintf("bench-%d", i), bc.wait)
				total += calls
				most = max(most, calls)
			}
			b.ReportMetric(float64(total)/float64(b.N), "calls/op")
			b.ReportMetric(float64(most), "max-calls")
		})
	}
}

// syncFleet creates n instances allowing 10.0.0.1/32 and returns their
// ids.
func syncFleet(tb testing.TB, e *env, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			s := spec(fmt.Sprintf("fleet-%d", i), dbaas.MySQL)
			s.Access = []dbaas.Source{dbaas.CIDR("10.0.0.1/32")}
			inst, err := e.p.Create(context.Background(), s)
			if err != nil {
				errs <- err
				return
			}
			ids[i] = inst.ID
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(tb, err)
	}
	return ids
}

// syncAll runs SyncAccess on every id from 8 goroutines, towards
// 10.0.0.(round%2+2)/32, so that every round adds one source and removes
// one. It returns the number of failed calls.
func syncAll(ids []string, p dbaas.Provider, round int) int {
	desired := []dbaas.Source{dbaas.CIDR(fmt.Sprintf("10.0.0.%d/32", round%2+2))}
	work := make(chan string)
	var failed sync.Map
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for id := range work {
				if _, err := dbaas.SyncAccess(context.Background(), p, id, desired); err != nil {
					failed.Store(id, err)
				}
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	n := 0
	failed.Range(func(any, any) bool { n++; return true })
	return n
}

// leastTime is the least time n calls take under limit calls per fixed
// window: the last window starts (ceil(n/limit)-1) windows after the
// first call.
func leastTime(n, limit int64, window time.Duration) time.Duration {
	return time.Duration((n+limit-1)/limit-1) * window
}

// BenchmarkSyncAccess runs SyncAccess over 500 instances from 8
// goroutines under Linode's published limit of 1600 requests a minute,
// on simulated time: the simulator's windows and the provider's pacing
// share an auto-advancing clock, so a minute costs nothing and the figure
// is the simulated time against the least the limit allows.
func BenchmarkSyncAccess(b *testing.B) {
	const instances, limit, window = 500, 1600, time.Minute
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(b, clock, linodesim.Options{RateLimit: simkit.Rate{Limit: limit, Window: window}}, nil)
	ids := syncFleet(b, e, instances)
	var simulated time.Duration
	var calls, round int64
	for b.Loop() {
		b.StopTimer()
		clock.Advance(2 * window) // start on fresh windows
		e.sim.ResetCalls()
		start := clock.Now()
		b.StartTimer()
		if failed := syncAll(ids, e.p, int(round)); failed > 0 {
			b.Fatalf("%d SyncAccess calls failed", failed)
		}
		b.StopTimer()
		simulated += clock.Now().Sub(start)
		calls += e.sim.TotalCalls()
		if n := e.sim.RateLimited(); n > 0 {
			b.Fatalf("%d requests were refused with 429", n)
		}
		round++
		b.StartTimer()
	}
	perRound := calls / round
	least := leastTime(perRound, limit, window)
	b.ReportMetric(float64(perRound), "calls/round")
	b.ReportMetric(simulated.Seconds()/float64(round), "sim-s/round")
	b.ReportMetric(least.Seconds(), "least-sim-s")
	b.ReportMetric(simulated.Seconds()/float64(round)/least.Seconds(), "ratio-to-least")
}

// BenchmarkSyncAccessRealTime scales count and limit down (100 instances,
// 200 requests a second) to run on the real clock, and compares the
// provider's pacing with the baseline of no pacing, where linodego's 429
// retries (Retry-After in whole seconds) carry the load.
func BenchmarkSyncAccessRealTime(b *testing.B) {
	const instances, limit, window = 100, 200, time.Second
	for _, bc := range []struct {
		name string
		rate string
	}{
		{"paced", fmt.Sprintf("%d/%s", limit, window)},
		{"baseline-unpaced", "0"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			clock := dbaas.SystemClock{}
			e := newEnv(b, clock, linodesim.Options{RateLimit: simkit.Rate{Limit: limit, Window: window}}, map[string]string{
				linode.SettingRateLimit: bc.rate, linode.SettingRetries: "20",
				linode.SettingRetryWait: "10ms", linode.SettingRetryMaxWait: "2s"})
			ids := syncFleet(b, e, instances)
			var elapsed time.Duration
			var calls, refused, round int64
			for b.Loop() {
				b.StopTimer()
				time.Sleep(2 * window)
				e.sim.ResetCalls()
				b.StartTimer()
				start := time.Now()
				if failed := syncAll(ids, e.p, int(round)); failed > 0 {
					b.Fatalf("%d SyncAccess calls failed", failed)
				}
				elapsed += time.Since(start)
				b.StopTimer()
				calls += e.sim.TotalCalls() - e.sim.RateLimited()
				refused += e.sim.RateLimited()
				round++
				b.StartTimer()
			}
			least := leastTime(calls/round, limit, window)
			b.ReportMetric(float64(calls/round), "calls/round")
			b.ReportMetric(float64(refused)/float64(round), "429s/round")
			b.ReportMetric(elapsed.Seconds()/float64(round)/least.Seconds(), "ratio-to-least")
		})
	}
}
