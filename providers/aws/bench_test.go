package aws_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	awsp "github.com/agiledeploy/dbaaskit/providers/aws"
	"github.com/agiledeploy/dbaaskit/providers/aws/awssim"
)

// provisioning is the scenario of the create benchmarks: RDS creating for
// 8 minutes, then its first backup for 4.
const (
	benchProvision = 8 * time.Minute
	benchBackup    = 4 * time.Minute
)

// BenchmarkCreateWait creates an instance and waits for it with
// dbaas.Wait on a simulated 12-minute provisioning (fake clock shared by
// the simulator and Wait). calls/op counts every API call, a fresh
// Provider each time (so the security group lookup is counted);
// late-s/op is how long after the instance became available Wait saw it.
func BenchmarkCreateWait(b *testing.B) {
	clock := fakeclock.NewAuto(start)
	e := newEnv(b, awssim.Options{Clock: clock, ProvisionDelay: benchProvision, BackupDelay: benchBackup}, awsp.Options{})
	ctx := context.Background()
	calls0, describes0 := e.sim.TotalCalls(), e.sim.Calls("DescribeDBInstances")
	var late time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p, err := awsp.New(ctx, awsp.Options{Region: "us-east-1", BaseEndpoint: e.url, Clock: clock,
			Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{AccessKeyID: "AKIDBENCH", SecretAccessKey: "s"}, nil
			})})
		require.NoError(b, err)
		t0 := clock.Now()
		inst, err := p.Create(ctx, spec(fmt.Sprintf("bench-%d", i), dbaas.Postgres))
		require.NoError(b, err)
		_, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{Clock: clock})
		require.NoError(b, err)
		late += clock.Now().Sub(t0) - benchProvision - benchBackup
		require.NoError(b, p.Close())
	}
	n := float64(b.N)
	b.ReportMetric(float64(e.sim.TotalCalls()-calls0)/n, "calls/op")
	b.ReportMetric(float64(e.sim.Calls("DescribeDBInstances")-describes0)/n, "describes/op")
	b.ReportMetric(late.Seconds()/n, "late-s/op")
}

// BenchmarkSDKWaiter is the comparison: the SDK's own
// DBInstanceAvailableWaiter with its default delays (30 s minimum, 1800 s
// maximum) on the same scenario. The waiter sleeps in real time, so
// scenario and delays are scaled down 1000 times (12 minutes become
// 720 ms); the number of polls does not depend on the scale.
func BenchmarkSDKWaiter(b *testing.B) {
	const scale = 1000
	e := newEnv(b, awssim.Options{ProvisionDelay: benchProvision / scale, BackupDelay: benchBackup / scale}, awsp.Options{})
	ctx := context.Background()
	var client *rds.Client
	require.True(b, e.p.As(&client))
	w := rds.NewDBInstanceAvailableWaiter(client, func(o *rds.DBInstanceAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 30*time.Second/scale, 1800*time.Second/scale
	})
	calls0, describes0 := e.sim.TotalCalls(), e.sim.Calls("DescribeDBInstances")
	var late time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		inst, err := e.p.Create(ctx, spec(fmt.Sprintf("sdkw-%d", i), dbaas.Postgres))
		require.NoError(b, err)
		require.NoError(b, w.Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(inst.ID)}, time.Minute))
		late += time.Since(t0) - (benchProvision+benchBackup)/scale
	}
	n := float64(b.N)
	b.ReportMetric(float64(e.sim.TotalCalls()-calls0)/n, "calls/op")
	b.ReportMetric(float64(e.sim.Calls("DescribeDBInstances")-describes0)/n, "describes/op")
	b.ReportMetric(late.Seconds()*scale/n, "late-s/op")
}

// BenchmarkSyncAccess is the toolkit's cron job at scale: each op is one
// round in which 8 goroutines converge the access lists of 500 instances
// to the current web servers (one fixed network and one that changes
// every round). The instances share the toolkit's security group, so the
// goroutines race to add and revoke the same rules: duplicates and
// already-revoked rules must not fail a call. "throttled" runs under a
// simulated rate limit (RDS and EC2 each 300 requests/s, burst 50,
// x-amz-retry-after 50 ms) and must see no failed call; "unthrottled" is
// the baseline.
func BenchmarkSyncAccess(b *testing.B) {
	for _, bc := range []struct {
		name string
		rate int
	}{{"unthrottled", 0}, {"throttled", 300}} {
		b.Run(bc.name, func(b *testing.B) {
			const instances, workers = 500, 8
			e := newEnv(b, awssim.Options{RateLimit: simkit.Rate{Limit: bc.rate, Window: time.Second, Burst: 50}, RetryAfter: 50 * time.Millisecond},
				awsp.Options{MaxBackoff: time.Second})
			ctx := context.Background()
			ids := make([]string, instances)
			for i := range ids {
				var err error
				for {
					// Setup runs under the same rate limit; Wait-style
					// retries of a throttled create are the caller's job.
					var inst *dbaas.Instance
					inst, err = e.p.Create(ctx, spec(fmt.Sprintf("sync-%d", i), dbaas.Postgres))
					if err == nil {
						ids[i] = inst.ID
						break
					}
					if !errors.Is(err, dbaas.ErrRateLimited) {
						break
					}
				}
				require.NoError(b, err)
			}
			throttled0, calls0 := e.sim.RateLimited(), e.sim.TotalCalls()
			var failed atomic.Int64
			b.ResetTimer()
			for round := 0; b.Loop(); round++ {
				desired := []dbaas.Source{dbaas.CIDR("10.0.0.0/24"), dbaas.CIDR(fmt.Sprintf("10.1.%d.0/24", round%250))}
				var wg sync.WaitGroup
				next := make(chan string)
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for id := range next {
							if _, err := dbaas.SyncAccess(ctx, e.p, id, desired); err != nil {
								failed.Add(1)
								b.Errorf("sync %s: %v", id, err)
							}
						}
					}()
				}
				for _, id := range ids {
					next <- id
				}
				close(next)
				wg.Wait()
			}
			n := float64(b.N)
			b.ReportMetric(float64(failed.Load()), "failed")
			b.ReportMetric(float64(e.sim.RateLimited()-throttled0)/n, "throttled/op")
			b.ReportMetric(float64(e.sim.TotalCalls()-calls0)/n, "calls/op")
		})
	}
}
