package tunnel

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/providers/memory"
	"github.com/agiledeploy/dbaaskit/providers/static"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProviderConnectionGoesThroughTunnel(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	tg := newTarget(t, echo)
	inner, err := static.New(static.Database{Name: "shop", Engine: dbaas.Postgres,
		Endpoint:        dbaas.Endpoint{Host: "public.example.invalid", Port: 5432},
		PrivateEndpoint: tg.endpoint(),
		User:            "app", Password: dbaas.NewSecret("pw-123456"), TLS: dbaas.TLSVerifyFull})
	require.NoError(t, err)
	p, err := NewProvider(inner, f.config(dbaas.Endpoint{}), ProviderOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Callers asking at once share one tunnel and one SSH connection.
	var wg sync.WaitGroup
	conns := make([]*dbaas.ConnectionInfo, 8)
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := p.Connection(ctx, "shop")
			assert.NoError(t, err)
			conns[i] = c
		}()
	}
	wg.Wait()
	for _, c := range conns {
		require.NotNil(t, c)
		assert.Equal(t, conns[0].Endpoint, c.Endpoint)
	}
	conn := conns[0]
	assert.Equal(t, "127.0.0.1", conn.Endpoint.Host)
	assert.True(t, conn.PrivateEndpoint.IsZero())
	assert.Equal(t, "pw-123456", conn.Password.Reveal())
	assert.Equal(t, dbaas.TLSVerifyCA, conn.TLS, "a certificate cannot name 127.0.0.1: verify the chain only")
	assert.Equal(t, tg.endpoint(), p.Tunnel("shop").cfg.Remote, "the private endpoint is used where there is one")

	got, err := roundTrip(t, "tcp", conn.Endpoint.Address(), "through the provider")
	require.NoError(t, err)
	assert.Equal(t, "through the provider", got)
	// Counted by the server before it serves channels, so exact once a
	// round trip is done.
	assert.EqualValues(t, 1, f.srv.SSHConns())

	// Everything else is the wrapped provider's.
	inst, err := p.Get(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, "public.example.invalid", inst.Endpoint.Host)
	assert.False(t, p.Capabilities().Provision)
	_, err = p.Connection(ctx, "nope")
	assert.ErrorIs(t, err, dbaas.ErrNotFound)
	assert.Nil(t, p.Tunnel("nope"))

	require.NoError(t, p.Close())
	_, err = roundTrip(t, "tcp", conn.Endpoint.Address(), "after close")
	assert.Error(t, err, "Close closes the tunnels")
	_, err = p.Connection(ctx, "shop")
	assert.ErrorIs(t, err, dbaas.ErrConflict)
}

func TestProviderPublicEndpointWhenAsked(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	tg := newTarget(t, echo)
	inner, err := static.New(static.Database{Engine: dbaas.MySQL, Endpoint: tg.endpoint(),
		PrivateEndpoint: dbaas.Endpoint{Host: "10.9.9.9", Port: 3306}, User: "u"})
	require.NoError(t, err)
	p, err := NewProvider(inner, f.config(dbaas.Endpoint{}), ProviderOptions{Public: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	conn, err := p.Connection(context.Background(), static.DefaultName)
	require.NoError(t, err)
	got, err := roundTrip(t, "tcp", conn.Endpoint.Address(), "public")
	require.NoError(t, err)
	assert.Equal(t, "public", got)
}

func TestProviderDeleteClosesTunnel(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	inner := memory.New(memory.Options{})
	p, err := NewProvider(inner, f.config(dbaas.Endpoint{}), ProviderOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	ctx := context.Background()
	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"})
	require.NoError(t, err)
	_, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{})
	require.NoError(t, err)
	conn, err := p.Connection(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", conn.Endpoint.Host)
	tn := p.Tunnel(inst.ID)
	require.NotNil(t, tn)

	require.NoError(t, p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
	assert.Nil(t, p.Tunnel(inst.ID))
	assert.False(t, tn.Ready(), "the deleted instance's tunnel is closed")
}

func TestNewProviderRefusesBadConfig(t *testing.T) {
	inner := memory.New(memory.Options{})
	base := Config{Relays: []Relay{{Hop: Hop{Host: "relay"}}}, InsecureIgnoreHostKey: true}
	tests := []struct {
		name   string
		inner  dbaas.Provider
		change func(c *Config)
		want   string
	}{
		{name: "nil provider", inner: nil, change: func(*Config) {}, want: "inner provider"},
		{name: "fixed port", inner: inner, change: func(c *Config) { c.Listen = "127.0.0.1:5432" }, want: "fixed port"},
		{name: "unix socket", inner: inner, change: func(c *Config) { c.Listen = "unix:/tmp/x" }, want: "one instance"},
		{name: "no relay", inner: inner, change: func(c *Config) { c.Relays = nil }, want: "relays"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.change(&c)
			_, err := NewProvider(tc.inner, c, ProviderOptions{})
			require.Error(t, err)
			assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// The read-only part of the conformance suite holds through the tunnel:
// what the static provider answers, tunnel.Provider answers too, with a
// working local endpoint.
func TestProviderConformanceOverStatic(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	tg := newTarget(t, echo)
	inner, err := static.New(static.Database{Name: "shop", Engine: dbaas.Postgres, Endpoint: tg.endpoint(), User: "app"})
	require.NoError(t, err)
	p, err := NewProvider(inner, f.config(dbaas.Endpoint{}), ProviderOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	dbaastest.RunConformance(t, dbaastest.Harness{
		Provider: p,
		Spec: func(name string, engine dbaas.Engine) dbaas.Spec {
			return dbaas.Spec{Name: name, Engine: engine, Size: "fixed"}
		},
	})
	require.NotNil(t, p.Tunnel("shop"), "the suite's Connection call opened a tunnel")
}
