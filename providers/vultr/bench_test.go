package vultr_test

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
	"github.com/agiledeploy/dbaaskit/providers/vultr"
	"github.com/agiledeploy/dbaaskit/providers/vultr/vultrsim"
)

// startBench serves a simulator for a benchmark, without the description
// check (its cost is not the adapter's).
func startBench(b *testing.B, opts vultrsim.Options) (*vultrsim.Server, string, *http.Client) {
	b.Helper()
	sim, url, err := vultrsim.Start(opts)
	require.NoError(b, err)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.Cleanup(func() {
		hc.CloseIdleConnections()
		require.NoError(b, sim.Close())
	})
	return sim, url, hc
}

// BenchmarkCreateWait counts the API calls of Create plus dbaas.Wait for a
// database that takes 10 simulated minutes to come up, on a fake clock
// shared by the simulator, the provider and Wait. Each iteration opens a
// new provider, so its one read of the plans is counted, and the label
// lookup before the create. The baseline is the same Wait without the
// provider's TypicalProvisioning hint.
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
			sim, url, hc := startBench(b, vultrsim.Options{Clock: clock, ProvisionDelay: 10 * time.Minute})
			var total, worst int64
			for i := 0; i < b.N; i++ {
				p, err := vultr.New(context.Background(), dbaas.Config{Token: dbaas.NewSecret("t"), BaseURL: url, HTTPClient: hc, Region: "ewr"}, vultr.WithClock(clock))
				require.NoError(b, err)
				before := sim.TotalCalls()
				inst, err := p.Create(context.Background(), spec(fmt.Sprintf("bench-%d", i), dbaas.Postgres))
				require.NoError(b, err)
				_, err = dbaas.Wait(context.Background(), p, inst.ID, dbaas.WaitOptions{Clock: clock, Expected: bc.expected})
				require.NoError(b, err)
				n := sim.TotalCalls() - before
				total += n
				worst = max(worst, n)
				require.NoError(b, p.Close())
			}
			b.ReportMetric(float64(total)/float64(b.N), "calls/op")
			b.ReportMetric(float64(worst), "max-calls")
		})
	}
}

// BenchmarkSyncAccess runs dbaas.SyncAccess on 500 databases from 8
// goroutines under Vultr's rate limit of 30 requests a second, with time
// scaled 10×: the window is 100 ms (300 requests a second, bursts of 30),
// so a run takes seconds, not minutes. Each sync adds two sources and
// removes one: an Access read, then Allow and Revoke of a read, a write
// and a confirming read each, 7 calls, 3,500 in all; with the burst of
// 30 the least time the limit allows is (3500-30)/300 s. The provider keeps to
// the same rate on its side (rate_limit) with its default burst of 10. Reported: the ratio
// of the time taken to that least time, the calls refused (429), and
// the syncs that failed.
func BenchmarkSyncAccess(b *testing.B) {
	const (
		databases = 500
		workers   = 8
		limit     = 30
		window    = 100 * time.Millisecond
	)
	sim, url, hc := startBench(b, vultrsim.Options{})
	perSecond := float64(limit) / window.Seconds()
	p, err := vultr.New(context.Background(), dbaas.Config{Token: dbaas.NewSecret("t"), BaseURL: url, HTTPClient: hc, Region: "ewr",
		Settings: map[string]string{vultr.SettingRateLimit: fmt.Sprint(perSecond), vultr.SettingRateBurst: "10",
			vultr.SettingRetryWait: "5ms", vultr.SettingRetryMaxWait: "100ms"}})
	require.NoError(b, err)
	b.Cleanup(func() { _ = p.Close() })
	ctx := context.Background()
	ids := make([]string, databases)
	for i := range ids {
		inst, err := p.Create(ctx, spec(fmt.Sprintf("sync-%03d", i), dbaas.MySQL))
		require.NoError(b, err)
		ids[i] = inst.ID
	}
	desired := [][]dbaas.Source{
		{dbaas.CIDR("192.0.2.0/24"), dbaas.CIDR("198.51.100.7/32")},
		spec("", "").Access,
	}
	var ratios []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		want := desired[i%2]
		sim.SetRateLimit(simkit.Rate{Limit: limit, Window: window})
		sim.ResetCalls()
		work := make(chan string, databases)
		for _, id := range ids {
			work <- id
		}
		close(work)
		var failed atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for id := range work {
					if _, err := dbaas.SyncAccess(ctx, p, id, want); err != nil {
						failed.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		took := time.Since(start)
		calls := sim.TotalCalls()
		least := time.Duration(float64(calls-limit) / perSecond * float64(time.Second))
		ratios = append(ratios, took.Seconds()/least.Seconds())
		b.ReportMetric(float64(calls)/databases, "calls/sync")
		b.ReportMetric(float64(sim.RateLimited()), "429s")
		b.ReportMetric(float64(failed.Load()), "failed")
		sim.SetRateLimit(simkit.Rate{})
	}
	var sum float64
	for _, r := range ratios {
		sum += r
	}
	b.ReportMetric(sum/float64(len(ratios)), "time/least")
}
