package digitalocean_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a provider on a simulator.
type env struct {
	sim *dosim.Server
	url string
	p   *digitalocean.Provider
}

// newEnv starts a simulator and a provider on it. The provider's own
// limiter is off unless opts set it: the tests that need it say so.
func newEnv(t *testing.T, simOpts dosim.Options, opts digitalocean.Options) *env {
	t.Helper()
	sim, url, err := dosim.Start(simOpts)
	require.NoError(t, err)
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		hc.CloseIdleConnections()
		require.NoError(t, sim.Close())
	})
	if opts.Token.IsZero() {
		opts.Token = dbaas.NewSecret("test-token")
	}
	if opts.RateLimit == 0 {
		opts.RateLimit = -1
	}
	opts.BaseURL, opts.HTTPClient = url, hc
	if opts.Region == "" {
		opts.Region = "fra1"
	}
	p, err := digitalocean.New(opts)
	require.NoError(t, err)
	return &env{sim: sim, url: url, p: p}
}

func spec(name string, engine dbaas.Engine) dbaas.Spec {
	version := "16"
	if engine == dbaas.MySQL {
		version = "8.0"
	}
	return dbaas.Spec{Name: name, Engine: engine, Version: version, Size: "db-s-1vcpu-1gb"}
}

func TestConformance(t *testing.T) {
	e := newEnv(t, dosim.Options{ProvisionDelay: 100 * time.Millisecond}, digitalocean.Options{})
	dbaastest.RunConformance(t, dbaastest.Harness{
		Provider:        e.p,
		Spec:            spec,
		Engines:         []dbaas.Engine{dbaas.Postgres, dbaas.MySQL},
		Calls:           e.p.Calls,
		MissingID:       "0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11",
		MissingBackupID: "0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11/2026-01-01T00:00:00Z",
		Wait:            dbaas.WaitOptions{FirstDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, Expected: -1, Timeout: 30 * time.Second},
		Timeout:         time.Minute,
	})
}
