package digitalocean_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestRetriesTransientFailuresOfReads(t *testing.T) {
	tests := []struct {
		name   string
		faults []dosim.Fault
	}{
		{"500", []dosim.Fault{{Status: 500}}},
		{"502 503 504", []dosim.Fault{{Status: 502}, {Status: 503}, {Status: 504}}},
		{"dropped connection", []dosim.Fault{{Drop: true}, {Drop: true}}},
		{"429 then 503", []dosim.Fault{{Status: 429, RetryAfter: time.Second}, {Status: 503}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := fakeclock.NewAuto(epoch)
			e := newEnv(t, dosim.Options{}, digitalocean.Options{Clock: clock})
			inst, err := e.p.Create(context.Background(), spec("retry-me", dbaas.Postgres))
			require.NoError(t, err)
			e.sim.Inject(onRoute("GET /v2/databases/{id}", tt.faults...)...)
			before := e.p.Retries()
			got, err := e.p.Get(context.Background(), inst.ID)
			require.NoError(t, err)
			assert.Equal(t, inst.ID, got.ID)
			assert.Equal(t, int64(len(tt.faults)+1), e.sim.Calls("GET /v2/databases/{id}"))
			// net/http itself resends a GET whose reused connection was
			// closed, so a drop may cost the provider no retry of its own.
			assert.Positive(t, e.p.Retries()-before)
			assert.LessOrEqual(t, e.p.Retries()-before, int64(len(tt.faults)))
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, dosim.Options{}, digitalocean.Options{Clock: clock})
	e.sim.Inject(dosim.Fault{Op: "GET /v2/databases", Status: 429, RetryAfter: 7 * time.Second})
	start := clock.Now()
	_, err := e.p.List(context.Background())
	require.NoError(t, err)
	waited := clock.Now().Sub(start)
	assert.GreaterOrEqual(t, waited, 7*time.Second, "slept at least Retry-After")
	assert.Less(t, waited, 8*time.Second, "and not a backoff on top of it")
	assert.Equal(t, int64(2), e.sim.Calls("GET /v2/databases"))
}

func TestSimulatorRateLimitIsWaitedOut(t *testing.T) {
	// The simulator and the provider share a clock: the provider sleeps
	// out the 429's Retry-After, after which the bucket has a token again.
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, dosim.Options{Clock: clock, RateLimit: simkit.Rate{Limit: 2}}, digitalocean.Options{Clock: clock})
	for range 5 {
		_, err := e.p.List(context.Background())
		require.NoError(t, err)
	}
	assert.Equal(t, int64(5+3), e.sim.Calls("GET /v2/databases"), "three 429s, each retried once")
	assert.GreaterOrEqual(t, clock.Now().Sub(epoch), 90*time.Second, "three waits of 30 s")
}

func TestClientLimiterKeepsUnderTheAccountLimit(t *testing.T) {
	// With the client-side limit equal to the simulator's, no 429 happens.
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, dosim.Options{Clock: clock, RateLimit: simkit.Rate{Limit: 10}}, digitalocean.Options{Clock: clock, RateLimit: 10})
	for range 25 {
		_, err := e.p.List(context.Background())
		require.NoError(t, err)
	}
	assert.Equal(t, int64(25), e.sim.Calls("GET /v2/databases"), "no request was refused")
	assert.Zero(t, e.p.Retries())
	assert.GreaterOrEqual(t, clock.Now().Sub(epoch), 90*time.Second, "15 requests past the burst at 6 s each")
}

func TestRetriesGiveUp(t *testing.T) {
	t.Run("after MaxRetries", func(t *testing.T) {
		e := newEnv(t, dosim.Options{}, digitalocean.Options{Clock: fakeclock.NewAuto(epoch), MaxRetries: 2})
		e.sim.Inject(dosim.Fault{Op: "GET /v2/databases", Status: 503, Times: 4})
		_, err := e.p.List(context.Background())
		require.Error(t, err)
		var er *godo.ErrorResponse
		require.True(t, errors.As(err, &er))
		assert.Equal(t, 503, er.Response.StatusCode)
		assert.Equal(t, int64(3), e.sim.Calls("GET /v2/databases"))
	})
	t.Run("when Retry-After is too long", func(t *testing.T) {
		e := newEnv(t, dosim.Options{}, digitalocean.Options{Clock: fakeclock.NewAuto(epoch), MaxRetryWait: time.Minute})
		e.sim.Inject(dosim.Fault{Op: "GET /v2/databases", Status: 429, RetryAfter: time.Hour})
		_, err := e.p.List(context.Background())
		require.ErrorIs(t, err, dbaas.ErrRateLimited)
		assert.Equal(t, int64(1), e.sim.Calls("GET /v2/databases"))
	})
	t.Run("when the context ends during a backoff", func(t *testing.T) {
		e := newEnv(t, dosim.Options{}, digitalocean.Options{MaxBackoff: time.Hour})
		e.sim.Inject(dosim.Fault{Op: "GET /v2/databases", Status: 429, RetryAfter: 30 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := e.p.List(ctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestCreateIsNeverDuplicated(t *testing.T) {
	tests := []struct {
		name      string
		faults    []dosim.Fault
		wantPosts int64
		wantErr   bool
	}{
		{"500 after the cluster was made", []dosim.Fault{{Status: 500, AfterHandling: true}}, 1, false},
		{"connection dropped after the cluster was made", []dosim.Fault{{Drop: true, AfterHandling: true}}, 1, false},
		{"connection dropped before", []dosim.Fault{{Drop: true}}, 2, false},
		{"503 before", []dosim.Fault{{Status: 503}}, 2, false},
		{"429 before (safe to resend)", []dosim.Fault{{Status: 429, RetryAfter: time.Second}}, 2, false},
		{"503 every time", []dosim.Fault{{Status: 503}, {Status: 503}, {Status: 503}, {Status: 503}}, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, dosim.Options{}, digitalocean.Options{Clock: fakeclock.NewAuto(epoch)})
			e.sim.Inject(onRoute("POST /v2/databases", tt.faults...)...)
			inst, err := e.p.Create(context.Background(), spec("once-only", dbaas.Postgres))
			assert.Equal(t, tt.wantPosts, e.sim.Calls("POST /v2/databases"), "create requests sent")
			list, lerr := e.p.List(context.Background())
			require.NoError(t, lerr)
			if tt.wantErr {
				require.Error(t, err)
				assert.Empty(t, list)
				return
			}
			require.NoError(t, err)
			require.Len(t, list, 1, "exactly one cluster")
			assert.Equal(t, list[0].ID, inst.ID)
			assert.Equal(t, "once-only", inst.Name)
		})
	}
}

func TestDeleteRetriedAfterLostAnswerSucceeds(t *testing.T) {
	e := newEnv(t, dosim.Options{}, digitalocean.Options{Clock: fakeclock.NewAuto(epoch)})
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec("gone-twice", dbaas.MySQL))
	require.NoError(t, err)
	e.sim.Inject(dosim.Fault{Op: "DELETE /v2/databases/{id}", Drop: true, AfterHandling: true})
	require.NoError(t, e.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
	assert.Equal(t, int64(2), e.sim.Calls("DELETE /v2/databases/{id}"))
	_, err = e.p.Get(ctx, inst.ID)
	assert.ErrorIs(t, err, dbaas.ErrNotFound)
	assert.ErrorIs(t, e.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}), dbaas.ErrNotFound,
		"a first attempt that finds nothing is ErrNotFound")
}

// TestCreateWaitCallBudget: a create and a wait through a 10-minute
// provisioning cost at most 12 calls, thanks to the provider's
// TypicalProvisioning hint (simulated time; see BenchmarkCreateWait).
func TestCreateWaitCallBudget(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, dosim.Options{Clock: clock, ProvisionDelay: 10 * time.Minute}, digitalocean.Options{Clock: clock, RateLimit: 250})
	for i := range 10 {
		p, err := digitalocean.New(digitalocean.Options{Token: dbaas.NewSecret("t"), BaseURL: e.url, Region: "fra1", Clock: clock})
		require.NoError(t, err)
		before := e.sim.TotalCalls()
		inst, err := p.Create(context.Background(), spec(fmt.Sprintf("budget-%d", i), dbaas.Postgres))
		require.NoError(t, err)
		_, err = dbaas.Wait(context.Background(), p, inst.ID, dbaas.WaitOptions{Clock: clock})
		require.NoError(t, err)
		assert.LessOrEqual(t, e.sim.TotalCalls()-before, int64(12), "calls of create %d plus wait", i)
	}
}

func TestCreateCancelledInFlightReportsTheCluster(t *testing.T) {
	e := newEnv(t, dosim.Options{}, digitalocean.Options{})
	e.sim.Inject(dosim.Fault{Op: "POST /v2/databases", AfterHandling: true, Latency: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	inst, err := e.p.Create(ctx, spec("slow-answer", dbaas.Postgres))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotNil(t, inst, "the cluster made before the deadline is reported")
	assert.Equal(t, "slow-answer", inst.Name)
	assert.Contains(t, err.Error(), inst.ID)

	// A create cancelled before it was sent makes no lookup.
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	e.sim.ResetCalls()
	inst, err = e.p.Create(cancelled, spec("never-sent", dbaas.Postgres))
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, inst)
	assert.Zero(t, e.sim.TotalCalls())
}

func TestClientLimiterKeepsUnderTheHourlyQuota(t *testing.T) {
	// A scaled hour (60 windows of a simulated second): a quota of 20 an
	// hour and 10 a minute; 40 requests take at least an hour's refill
	// for the 21 past the hourly burst of 19.
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, dosim.Options{Clock: clock, RateLimit: simkit.Rate{Limit: 10, Window: time.Second}, HourlyRateLimit: simkit.Rate{Limit: 20, Window: time.Minute}},
		digitalocean.Options{Clock: clock, RateLimit: 10, HourlyRateLimit: 20, RateWindow: time.Second})
	for range 40 {
		_, err := e.p.List(context.Background())
		require.NoError(t, err)
	}
	assert.Zero(t, e.sim.RateLimited(), "no request was refused")
	assert.Zero(t, e.p.Retries())
	assert.GreaterOrEqual(t, clock.Now().Sub(epoch), 21*3*time.Second, "one request every 3 s past the burst")
}

// onRoute gives each fault the route it is for, in order.
func onRoute(route string, faults ...dosim.Fault) []dosim.Fault {
	out := make([]dosim.Fault, len(faults))
	for i, f := range faults {
		f.Op = route
		out[i] = f
	}
	return out
}
