package digitalocean_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
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

// TestConformance runs the common suite on the simulator with real
// databases behind its clusters: application users are made through the
// API and given their database over SQL, so the suite's users must log in.
// The machine's servers speak no TLS, so these clusters have no CA
// certificate (the simulator's TLS tests cover it).
func TestConformance(t *testing.T) {
	backend := realdbtest.Open(t, realdb.Options{Prefix: "doconf"}, true)
	e := newEnv(t, dosim.Options{ProvisionDelay: 100 * time.Millisecond, Backend: backend}, digitalocean.Options{})
	dbaastest.RunConformance(t, dbaastest.Harness{
		WriteData:       realdb.WriteMarker,
		ReadData:        realdb.ReadMarkers,
		Login:           login,
		Provider:        plainTLS{e.p},
		Spec:            spec,
		Engines:         []dbaas.Engine{dbaas.Postgres, dbaas.MySQL},
		Calls:           e.p.Calls,
		MissingID:       "0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11",
		MissingBackupID: "0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11/2026-01-01T00:00:00Z",
		Wait:            dbaas.WaitOptions{FirstDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond, Expected: -1, Timeout: 30 * time.Second},
		Timeout:         time.Minute,
	})
}

// plainTLS is a provider whose clusters speak no TLS.
type plainTLS struct{ *digitalocean.Provider }

func (p plainTLS) Capabilities() dbaas.Capabilities {
	c := p.Provider.Capabilities()
	c.CACertificate = false
	return c
}

// login connects with conn and pings the server.
func login(ctx context.Context, conn *dbaas.ConnectionInfo) error {
	db, err := sqlconn.Open(conn, dbaas.DSNOptions{ConnectTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// TestCloseReleasesConnections: a provider opened without an HTTP client
// makes its own transport, and Close lets go of its connections.
func TestCloseReleasesConnections(t *testing.T) {
	sim, url, err := dosim.Start(dosim.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	ignore := goleak.IgnoreCurrent()
	p, err := dbaas.Open(context.Background(), "digitalocean", dbaas.Config{Token: dbaas.NewSecret("t"), BaseURL: url})
	require.NoError(t, err)
	_, err = p.List(context.Background())
	require.NoError(t, err)
	require.NoError(t, p.Close())
	goleak.VerifyNone(t, ignore)
	_, err = p.List(context.Background())
	require.ErrorIs(t, err, dbaas.ErrConflict, "a closed provider refuses calls")
}

// recorder is a dbaas.Observer that keeps what it is told.
type recorder struct {
	mu    sync.Mutex
	calls []dbaas.Call
	errs  []error
}

func (r *recorder) Begin(ctx context.Context, _ dbaas.Call) context.Context { return ctx }

func (r *recorder) End(_ context.Context, c dbaas.Call, _ time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	r.errs = append(r.errs, err)
}

// TestObserverAndErrorShape: Options.Observer hears every call, and a
// failed one arrives in the portable shape "provider: op id: kind: cause".
func TestObserverAndErrorShape(t *testing.T) {
	rec := &recorder{}
	e := newEnv(t, dosim.Options{}, digitalocean.Options{Observer: rec})
	const missing = "0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11"
	_, err := e.p.Get(context.Background(), missing)
	require.ErrorIs(t, err, dbaas.ErrNotFound)
	assert.True(t, strings.HasPrefix(err.Error(), "digitalocean: get "+missing+": not found: "), err.Error())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.calls, 1)
	assert.Equal(t, "digitalocean", rec.calls[0].Provider)
	assert.Equal(t, "get", rec.calls[0].Op)
	assert.Equal(t, missing, rec.calls[0].ID)
	assert.Equal(t, err, rec.errs[0])
}
