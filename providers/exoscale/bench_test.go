package exoscale_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/exoscale/exoscalesim"
)

// BenchmarkCreateWait counts the API calls of Create plus dbaas.Wait for
// a service that takes 10 simulated minutes to run, whose create
// operation is pending for 30 s, on a fake clock shared by the
// simulator, the provider and Wait. Each iteration uses a new provider.
// The baseline is the same Wait without the provider's
// TypicalProvisioning hint.
func BenchmarkCreateWait(b *testing.B) {
	for _, bc := range []struct {
		name     string
		expected time.Duration
	}{
		{"hint", 0},
		{"baseline-no-hint", -1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			clock := fakeclock.NewAuto(epoch)
			var total, worst int64
			for i := 0; i < b.N; i++ {
				e := newEnv(b, clock, exoscalesim.Options{ProvisionDelay: 10 * time.Minute, OperationDelay: 30 * time.Second}, nil)
				inst, err := e.p.Create(context.Background(), spec(fmt.Sprintf("bench-%d", i), dbaas.Postgres))
				require.NoError(b, err)
				_, err = dbaas.Wait(context.Background(), e.p, inst.ID, dbaas.WaitOptions{Clock: clock, Expected: bc.expected})
				require.NoError(b, err)
				n := e.sim.TotalCalls()
				total += n
				worst = max(worst, n)
			}
			b.ReportMetric(float64(total)/float64(b.N), "calls/op")
			b.ReportMetric(float64(worst), "max-calls")
		})
	}
}

// BenchmarkSyncAccess runs dbaas.SyncAccess on 500 services from 8
// goroutines under a rate limit of 250 requests a second (a bucket of
// 250, refilled continuously). Each sync adds one entry: a read, then a
// read, a write and a confirming read; the first also lists the services
// once to learn their types. The least time the limit allows is
// (calls - 250) / 250 seconds; "x-of-least" is the elapsed time over
// that. The baseline is the same run without the client-side pace,
// leaning on 429s, Retry-After and retries.
func BenchmarkSyncAccess(b *testing.B) {
	const (
		services = 500
		workers  = 8
		limit    = 250
		window   = time.Second
	)
	for _, bc := range []struct {
		name     string
		settings map[string]string
	}{
		{"client-pace", map[string]string{"requests_per_second": strconv.Itoa(limit)}},
		{"baseline-no-pace", map[string]string{"max_retries": "20"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			setup := newEnv(b, nil, exoscalesim.Options{}, nil)
			for i := range services {
				_, err := setup.p.Create(context.Background(), spec(fmt.Sprintf("fleet-%d", i), dbaas.Postgres))
				require.NoError(b, err)
			}
			b.ResetTimer()
			var elapsed, least time.Duration
			var refused int64
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				setup.sim.SetRateLimit(simkit.Rate{Limit: limit, Window: window})
				setup.sim.ResetCalls()
				e := reopen(b, setup, nil, bc.settings)
				web := dbaas.MustParseSource(fmt.Sprintf("198.51.100.%d", n%250+1))
				var next, failed atomic.Int64
				var wg sync.WaitGroup
				b.StartTimer()
				began := time.Now()
				for range workers {
					wg.Go(func() {
						for {
							i := next.Add(1) - 1
							if i >= services {
								return
							}
							if _, err := dbaas.SyncAccess(context.Background(), e, fmt.Sprintf("fleet-%d", i), []dbaas.Source{dbaas.MustParseSource("10.0.0.0/24"), web}); err != nil {
								failed.Add(1)
							}
						}
					})
				}
				wg.Wait()
				elapsed += time.Since(began)
				b.StopTimer()
				require.Zero(b, failed.Load(), "failed syncs")
				calls := setup.sim.TotalCalls() - setup.sim.RateLimited()
				least += time.Duration(float64(calls-limit) / limit * float64(window))
				refused += setup.sim.RateLimited()
				setup.sim.SetRateLimit(simkit.Rate{})
				require.NoError(b, e.Close())
			}
			b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/run")
			b.ReportMetric(float64(elapsed)/float64(least), "x-of-least")
			b.ReportMetric(float64(refused)/float64(b.N), "429s/run")
		})
	}
}
