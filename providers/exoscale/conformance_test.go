package exoscale_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
	"github.com/agiledeploy/dbaaskit/internal/simhttp"
	"github.com/agiledeploy/dbaaskit/internal/sqltest"
	"github.com/agiledeploy/dbaaskit/providers/exoscale"
	"github.com/agiledeploy/dbaaskit/providers/exoscale/exoscalesim"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// env is a simulator and a provider talking to it.
type env struct {
	sim *exoscalesim.Server
	url string
	p   dbaas.Provider
}

// newEnv starts a simulator with opts and opens the provider on it, both
// on clock (nil: the system clock), with settings.
func newEnv(t testing.TB, clock dbaas.Clock, opts exoscalesim.Options, settings map[string]string) *env {
	t.Helper()
	opts.Clock = clock
	sim, url, err := exoscalesim.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, sim.Close()) })
	e := &env{sim: sim, url: url}
	e.p = reopen(t, e, clock, settings)
	return e
}

// reopen opens another provider on e's simulator.
func reopen(t testing.TB, e *env, clock dbaas.Clock, settings map[string]string) dbaas.Provider {
	t.Helper()
	var popts []exoscale.Option
	if clock != nil {
		popts = append(popts, exoscale.WithClock(clock))
	}
	popts = append(popts, exoscale.WithAPISecret(dbaas.NewSecret(exoscalesim.DefaultAPISecret)))
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	p, err := exoscale.New(context.Background(), dbaas.Config{
		Token: dbaas.NewSecret(exoscalesim.DefaultAPIKey), BaseURL: e.url, Settings: settings,
		HTTPClient: &http.Client{Transport: tr},
	}, popts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, p.Close())
		tr.CloseIdleConnections()
	})
	return p
}

func spec(name string, engine dbaas.Engine) dbaas.Spec {
	return dbaas.Spec{Name: name, Engine: engine, Size: "startup-4", Access: []dbaas.Source{dbaas.MustParseSource("10.0.0.0/24")}}
}

func harness(e *env, clock dbaas.Clock) dbaastest.Harness {
	return dbaastest.Harness{
		Provider: e.p,
		Spec:     spec,
		Engines:  []dbaas.Engine{dbaas.Postgres, dbaas.MySQL},
		Calls:    func() int64 { return e.sim.TotalCalls() },
		// Long in simulated time: the concurrency test's waiters all move
		// the one shared clock.
		Wait:            dbaas.WaitOptions{Clock: clock, Timeout: 7 * 24 * time.Hour},
		MissingID:       "no-such-service",
		MissingBackupID: "no-such-service/2026-01-01_00-00_0.00000000.pghoard",
		Cleanup: func(ids []string) {
			for _, id := range ids {
				_ = e.p.Delete(context.Background(), id, dbaas.DeleteOptions{SkipFinalBackup: true})
			}
		},
	}
}

// TestConformance runs the suite on the simulator with Exoscale's pace:
// services take ten minutes, operations half a minute, on an
// auto-advancing clock shared by the simulator, the provider and the
// waits. Every request and answer of the run goes through the checker
// of the official description.
func TestConformance(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	sim := exoscalesim.New(exoscalesim.Options{Clock: clock, ProvisionDelay: 10 * time.Minute, OperationDelay: 30 * time.Second})
	t.Cleanup(func() { assert.NoError(t, sim.Close()) })
	c := newChecker(t, sim)
	srv, err := simhttp.Start(c)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	e := &env{sim: sim, url: srv.URL + "/v2"}
	e.p = reopen(t, e, clock, nil)
	dbaastest.RunConformance(t, harness(e, clock))
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Empty(t, c.problems, "requests and answers that break the description")
	assert.NotEmpty(t, c.routes)
}

// TestConformanceWithData runs the suite with a real database behind
// every service (the machine's PostgreSQL and MariaDB), so that restores
// are checked with the data written before and after the backup, and the
// application users made through the API log in. The
// simulator keeps no log of writes: a point-in-time restore brings back
// the last backup before the time, so that check is off.
func TestConformanceWithData(t *testing.T) {
	backend := realdbtest.Open(t, realdb.Options{Prefix: "exosim"}, true)
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, exoscalesim.Options{Backend: backend, ProvisionDelay: 10 * time.Minute, OperationDelay: 30 * time.Second}, nil)
	h := harness(e, clock)
	h.WriteData = realdb.WriteMarker
	h.ReadData = realdb.ReadMarkers
	h.NoPointInTimeData = true
	h.Concurrency = 4
	// The API's users are real on the servers: they log in.
	h.Login = sqltest.Ping
	dbaastest.RunConformance(t, h)
}
