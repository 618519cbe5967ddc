package digitalocean_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

// startBench serves a simulator for a benchmark.
func startBench(b *testing.B, opts dosim.Options) (*dosim.Server, string, *http.Client) {
	b.Helper()
	sim, url, err := dosim.Start(opts)
	require.NoError(b, err)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.Cleanup(func() {
		hc.CloseIdleConnections()
		require.NoError(b, sim.Close())
	})
	return sim, url, hc
}

// BenchmarkCreateWait counts the API calls of Create plus dbaas.Wait for a
// cluster that takes 10 simulated minutes to come online, on a fake clock
// shared by the simulator, the provider and Wait. Each iteration uses a
// new provider, so the options (and VPC) reads are counted too. The
// baseline is the same Wait without the provider's TypicalProvisioning
// hint.
func BenchmarkCreateWait(b *testing.B) {
	for _, bc := range []struct {
		name     string
		access   bool
		expected time.Duration
	}{
		{"hint/access-given", true, 0},
		{"hint/default-vpc-rule", false, 0},
		{"baseline-no-hint/access-given", true, -1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			clock := fakeclock.NewAuto(epoch)
			sim, url, hc := startBench(b, dosim.Options{Clock: clock, ProvisionDelay: 10 * time.Minute})
			var total, worst int64
			for i := 0; i < b.N; i++ {
				p, err := digitalocean.New(digitalocean.Options{Token: dbaas.NewSecret("t"), BaseURL: url, HTTPClient: hc, Region: "fra1", Clock: clock})
				require.NoError(b, err)
				sp := spec(fmt.Sprintf("bench-%d", i), dbaas.Postgres)
				if bc.access {
					sp.Access = []dbaas.Source{dbaas.CIDR("10.110.0.0/20")}
				}
				before := sim.TotalCalls()
				inst, err := p.Create(context.Background(), sp)
				require.NoError(b, err)
				_, err = dbaas.Wait(context.Background(), p, inst.ID, dbaas.WaitOptions{Clock: clock, Expected: bc.expected})
				require.NoError(b, err)
				n := sim.TotalCalls() - before
				total += n
				worst = max(worst, n)
			}
			b.ReportMetric(float64(total)/float64(b.N), "calls/op")
			b.ReportMetric(float64(worst), "max-calls")
		})
	}
}

// BenchmarkSyncAccess runs dbaas.SyncAccess on 500 clusters from 8
// goroutines under the account limit of 250 requests a minute, with time
// scaled 60×: the window is one second (250 requests a second), so a run
// takes seconds, not minutes; ratios are the same. Each sync costs 4
// calls (read; read, write, confirm), 2,000 in all; with the burst of 250
// the least time the limit allows is (2000-250)/250 windows = 7 s. The
// metric "x-of-least" is the elapsed time over that. The baseline is the
// same run without the provider's limiter, leaning on 429s and retries.
func BenchmarkSyncAccess(b *testing.B) {
	const (
		clusters   = 500
		workers    = 8
		limit      = 250
		hourly     = 5000
		window     = time.Second
		callsEach  = 4
		totalCalls = clusters * callsEach
	)
	least := time.Duration(float64(totalCalls-limit) / limit * float64(window))
	for _, bc := range []struct {
		name      string
		rateLimit int
	}{
		{"client-limiter", limit},
		{"baseline-no-limiter", -1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			sim, url, hc := startBench(b, dosim.Options{})
			setup, err := digitalocean.New(digitalocean.Options{Token: dbaas.NewSecret("t"), BaseURL: url, HTTPClient: hc, Region: "fra1", RateLimit: -1})
			require.NoError(b, err)
			ids := make([]string, clusters)
			for i := range ids {
				sp := spec(fmt.Sprintf("fleet-%d", i), dbaas.Postgres)
				sp.Access = []dbaas.Source{dbaas.CIDR("10.110.0.0/20")}
				inst, err := setup.Create(context.Background(), sp)
				require.NoError(b, err)
				ids[i] = inst.ID
			}
			b.ResetTimer()
			var elapsed time.Duration
			var refused int64
			for n := 0; n < b.N; n++ {
				b.StopTimer()
				sim.SetRateLimit(simkit.Rate{Limit: limit, Window: window}, simkit.Rate{Limit: hourly, Window: 60 * window})
				sim.ResetCalls()
				p, err := digitalocean.New(digitalocean.Options{Token: dbaas.NewSecret("t"), BaseURL: url, HTTPClient: hc,
					RateLimit: bc.rateLimit, RateWindow: window, MaxRetryWait: time.Minute})
				require.NoError(b, err)
				web := dbaas.CIDR(fmt.Sprintf("198.51.100.%d/32", n%250))
				var next, failed atomic.Int64
				var wg sync.WaitGroup
				b.StartTimer()
				began := time.Now()
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := next.Add(1) - 1
							if i >= clusters {
								return
							}
							if _, err := dbaas.SyncAccess(context.Background(), p, ids[i], []dbaas.Source{dbaas.CIDR("10.110.0.0/20"), web}); err != nil {
								failed.Add(1)
							}
						}
					}()
				}
				wg.Wait()
				elapsed += time.Since(began)
				b.StopTimer()
				require.Zero(b, failed.Load(), "failed syncs")
				refused += p.Retries()
				if bc.rateLimit > 0 {
					require.Equal(b, int64(totalCalls), sim.TotalCalls(), "every call went through once (%d retries, %d refused by the limit)", p.Retries(), sim.RateLimited())
				}
			}
			b.ReportMetric(elapsed.Seconds()/float64(b.N), "s/run")
			b.ReportMetric(float64(elapsed)/float64(b.N)/float64(least), "x-of-least")
			b.ReportMetric(float64(refused)/float64(b.N), "retried-calls/run")
		})
	}
}
