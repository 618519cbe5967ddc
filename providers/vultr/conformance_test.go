package vultr_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
	"github.com/agiledeploy/dbaaskit/internal/simhttp"
	"github.com/agiledeploy/dbaaskit/internal/sqltest"
	"github.com/agiledeploy/dbaaskit/providers/vultr"
	"github.com/agiledeploy/dbaaskit/providers/vultr/internal/vultrspec"
	"github.com/agiledeploy/dbaaskit/providers/vultr/vultrsim"
)

var epoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

const (
	plan      = "vultr-dbaas-startup-cc-1-55-2"
	missingID = "0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11"
)

// env is a simulator, served behind the check of every exchange against
// the official description (strict: every request the adapter sends must
// be one the description allows), and a provider opened on it.
type env struct {
	sim *vultrsim.Server
	p   dbaas.Provider
	url string
}

// newEnv starts a simulator with opts and opens a provider on it with
// settings (fast retries unless given), both on clock.
func newEnv(t testing.TB, clock dbaas.Clock, opts vultrsim.Options, settings map[string]string) *env {
	t.Helper()
	opts.Clock = clock
	sim := vultrsim.New(opts)
	srv, err := simhttp.Start(vultrspec.Handler(t, sim, true))
	require.NoError(t, err)
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		require.NoError(t, srv.Close())
		require.NoError(t, sim.Close())
	})
	set := map[string]string{vultr.SettingRetryWait: "1ms", vultr.SettingRetryMaxWait: "20ms",
		vultr.SettingRateLimit: "100000", vultr.SettingRateBurst: "1000"}
	for k, v := range settings {
		set[k] = v
	}
	p, err := vultr.New(context.Background(), dbaas.Config{
		Token: dbaas.NewSecret("sim-token"), BaseURL: srv.URL, Region: "ewr",
		HTTPClient: &http.Client{Transport: tr}, Settings: set,
	}, vultr.WithClock(clock))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, p.Close()) })
	return &env{sim: sim, p: p, url: srv.URL}
}

// spec is a valid spec: a one-node plan in the default region, open to a
// private range only.
func spec(name string, engine dbaas.Engine) dbaas.Spec {
	return dbaas.Spec{Name: name, Engine: engine, Size: plan, Access: []dbaas.Source{dbaas.CIDR("10.20.0.0/16")}}
}

// harness is the suite's harness for e, on clock.
func harness(e *env, clock dbaas.Clock) dbaastest.Harness {
	return dbaastest.Harness{
		Provider: e.p,
		Spec:     spec,
		Engines:  []dbaas.Engine{dbaas.Postgres, dbaas.MySQL},
		Calls:    e.sim.TotalCalls,
		// Simulated time, long because every waiter moves the one clock.
		Wait:            dbaas.WaitOptions{Clock: clock, Timeout: 7 * 24 * time.Hour},
		Timeout:         4 * time.Minute,
		Concurrency:     4,
		MissingID:       missingID,
		MissingBackupID: missingID + "@2026-03-04T05:06:07Z",
		Cleanup: func(ids []string) {
			for _, id := range ids {
				_ = e.p.Delete(context.Background(), id, dbaas.DeleteOptions{SkipFinalBackup: true})
			}
		},
	}
}

// TestConformance runs the common suite on simulated time: provisioning
// takes Vultr's typical 10 minutes on an auto-advancing clock shared by
// the simulator, the provider and the suite's waits.
func TestConformance(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, vultrsim.Options{ProvisionDelay: vultr.TypicalProvisioning}, nil)
	dbaastest.RunConformance(t, harness(e, clock))
}

// noTLS is a provider whose databases are the machine's plain servers:
// they speak no TLS, so the simulator reports no CA for them, and the
// suite must not expect one.
type noTLS struct{ dbaas.Provider }

func (p noTLS) Capabilities() dbaas.Capabilities {
	c := p.Provider.Capabilities()
	c.CACertificate = false
	return c
}

// TestConformanceWithData runs the suite again with real databases
// behind the simulator (the machine's PostgreSQL and MariaDB), so that
// data is checked through backups, forks and point-in-time restores, and
// the application users made through the API log in.
func TestConformanceWithData(t *testing.T) {
	backend := realdbtest.Open(t, realdb.Options{Prefix: "vultrsim"}, true)
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, vultrsim.Options{ProvisionDelay: vultr.TypicalProvisioning, Backend: backend}, nil)
	h := harness(e, clock)
	h.Provider = noTLS{e.p}
	h.WriteData, h.ReadData = realdb.WriteMarker, realdb.ReadMarkers
	// The API's users are real on the servers: they log in.
	h.Login = sqltest.Ping
	dbaastest.RunConformance(t, h)
}
