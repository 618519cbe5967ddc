package linode_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/providers/linode"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
)

var epoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// env is a simulator and a provider opened on it.
type env struct {
	sim *linodesim.Server
	p   *linode.Provider
}

// newEnv starts a simulator with opts and opens a provider on it with
// settings, both on clock (the provider's waits and rate gate included).
func newEnv(t testing.TB, clock dbaas.Clock, opts linodesim.Options, settings map[string]string) *env {
	t.Helper()
	opts.Clock = clock
	sim, url, err := linodesim.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	t.Cleanup(tr.CloseIdleConnections)
	set := map[string]string{linode.SettingRetryWait: "1ms", linode.SettingRetryMaxWait: "20ms"}
	for k, v := range settings {
		set[k] = v
	}
	p, err := linode.New(context.Background(), dbaas.Config{
		Token: dbaas.NewSecret("sim-token"), BaseURL: url, Region: "us-east",
		HTTPClient: &http.Client{Transport: tr}, Settings: set,
	}, linode.WithClock(clock))
	require.NoError(t, err)
	return &env{sim: sim, p: p}
}

func spec(name string, engine dbaas.Engine) dbaas.Spec {
	return dbaas.Spec{Name: name, Engine: engine, Size: "g6-nanode-1"}
}

// TestConformance runs the common suite on simulated time: provisioning
// takes Linode's typical 15 minutes, and a deleted database stays deleting
// for a minute, on an auto-advancing clock shared by the simulator, the
// provider and dbaas.Wait.
func TestConformance(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, linodesim.Options{ProvisionDelay: linode.TypicalProvisioning, DeleteDelay: time.Minute}, nil)
	dbaastest.RunConformance(t, dbaastest.Harness{
		Provider: e.p,
		Spec:     spec,
		Engines:  []dbaas.Engine{dbaas.Postgres, dbaas.MySQL},
		Calls:    func() int64 { return int64(e.sim.TotalCalls()) },
		// The timeout is long in simulated time because the concurrency
		// test's sixteen waiters all move the one shared clock.
		Wait:            dbaas.WaitOptions{Clock: clock, Timeout: 7 * 24 * time.Hour},
		MissingID:       "postgresql/1",
		MissingBackupID: "postgresql/1@point-in-time",
		Cleanup: func(ids []string) {
			for _, id := range ids {
				_ = e.p.Delete(context.Background(), id, dbaas.DeleteOptions{SkipFinalBackup: true})
			}
		},
	})
}

// TestCloseReleasesConnections: a provider opened without an HTTP client
// makes its own transport, and Close lets go of its connections.
func TestCloseReleasesConnections(t *testing.T) {
	sim, url, err := linodesim.Start(linodesim.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	ignore := goleak.IgnoreCurrent()
	p, err := dbaas.Open(context.Background(), linode.Name, dbaas.Config{Token: dbaas.NewSecret("t"), BaseURL: url})
	require.NoError(t, err)
	_, err = p.List(context.Background())
	require.NoError(t, err)
	require.NoError(t, p.Close())
	goleak.VerifyNone(t, ignore)
}
