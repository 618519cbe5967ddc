package tunnel

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/internal/certs"
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
	assert.Equal(t, dbaas.TLSVerifyFull, conn.TLS, "verify-full is kept through the tunnel")
	assert.Equal(t, tg.endpoint().Host, conn.ServerName, "the certificate is checked against the instance's own host")
	assert.Equal(t, tg.endpoint(), p.Tunnel("shop").cfg.Remote, "the private endpoint is used where there is one")

	got, err := roundTrip(t, "tcp", conn.Endpoint.Address(), "through the provider")
	require.NoError(t, err)
	assert.Equal(t, "through the provider", got)
	// Counted by the server before it serves channels, so exact once a
	// round trip is done.
	assert.EqualValues(t, 1, f.srv.SSHConns())

	// Get gives the address applications use: the tunnel's local end.
	inst, err := p.Get(ctx, "shop")
	require.NoError(t, err)
	assert.Equal(t, conn.Endpoint, inst.Endpoint)
	require.NoError(t, dbaas.CheckPort(inst, conn.Endpoint.Port))
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
		{name: "unix socket", inner: inner, change: func(c *Config) { c.Listen = "unix:/tmp/x" }, want: "Unix socket path is refused"},
		{name: "bad port", inner: inner, change: func(c *Config) { c.Listen = "127.0.0.1:70000" }, want: "listen"},
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

// TestProviderVerifyFullThroughTunnel: an instance whose certificate names
// only its own host ("localhost", not 127.0.0.1) is verified in full
// through the tunnel, because Connection names that host in ServerName;
// without it the same check against the tunnel's address fails.
func TestProviderVerifyFullThroughTunnel(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	ca, err := certs.NewCA("test CA", time.Now(), time.Hour)
	require.NoError(t, err)
	cert, err := ca.Issue([]string{"localhost"}, time.Now(), time.Hour)
	require.NoError(t, err)
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	tg := newTarget(t, func(c *net.TCPConn) {
		s := tls.Server(c, srvCfg)
		defer s.Close()
		if s.Handshake() != nil {
			return
		}
		_, _ = io.Copy(s, s)
	})
	inner, err := static.New(static.Database{Name: "shop", Engine: dbaas.Postgres,
		Endpoint: dbaas.Endpoint{Host: "localhost", Port: tg.endpoint().Port}, User: "app",
		TLS: dbaas.TLSVerifyFull, CACertPEM: ca.PEM})
	require.NoError(t, err)
	p, err := NewProvider(inner, f.config(dbaas.Endpoint{}), ProviderOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := p.Connection(ctx, "shop")
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", conn.Endpoint.Host)

	handshake := func(c *dbaas.ConnectionInfo) error {
		cfg, err := c.TLSConfig("")
		require.NoError(t, err)
		d := tls.Dialer{Config: cfg}
		tc, err := d.DialContext(ctx, "tcp", c.Endpoint.Address())
		if err != nil {
			return err
		}
		defer tc.Close()
		if _, err := tc.Write([]byte("ping")); err != nil {
			return err
		}
		buf := make([]byte, 4)
		_, err = io.ReadFull(tc, buf)
		return err
	}
	require.NoError(t, handshake(conn), "verify-full against the instance's host through the tunnel")
	unnamed := *conn
	unnamed.ServerName = ""
	var verr *tls.CertificateVerificationError
	require.ErrorAs(t, handshake(&unnamed), &verr, "the certificate does not name 127.0.0.1")
}

// TestProviderFixedPortServesOneInstance: with a fixed listen port the
// tunnel of the instance in use listens there, Get reports it so that
// CheckPort checks the port applications use, and a second instance is
// refused until the first is deleted.
func TestProviderFixedPortServesOneInstance(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	tg := newTarget(t, echo)
	inner := memory.New(memory.Options{})
	ctx := context.Background()
	var ids []string
	for _, n := range []string{"shop", "blog"} {
		inst, err := inner.Create(ctx, dbaas.Spec{Name: n, Engine: dbaas.Postgres, Size: "small"})
		require.NoError(t, err)
		_, err = dbaas.Wait(ctx, inner, inst.ID, dbaas.WaitOptions{})
		require.NoError(t, err)
		ids = append(ids, inst.ID)
	}
	port := freePort(t)
	cfg := f.config(dbaas.Endpoint{})
	cfg.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	p, err := NewProvider(&pinned{Provider: inner, to: tg.endpoint()}, cfg, ProviderOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })

	inst, err := p.Get(ctx, ids[0])
	require.NoError(t, err)
	assert.Equal(t, port, inst.Endpoint.Port, "the fixed port is the one applications use, before the tunnel opens")
	require.NoError(t, dbaas.CheckPort(inst, port))

	conn, err := p.Connection(ctx, ids[0])
	require.NoError(t, err)
	assert.Equal(t, dbaas.Endpoint{Host: "127.0.0.1", Port: port}, conn.Endpoint)
	got, err := roundTrip(t, "tcp", conn.Endpoint.Address(), "fixed")
	require.NoError(t, err)
	assert.Equal(t, "fixed", got)

	_, err = p.Connection(ctx, ids[1])
	require.ErrorIs(t, err, dbaas.ErrConflict)
	assert.Contains(t, err.Error(), "already serves instance "+ids[0])
	other, err := p.Get(ctx, ids[1])
	require.NoError(t, err)
	assert.NotEqual(t, port, other.Endpoint.Port, "the port held by another instance is not reported as this one's")

	require.NoError(t, p.Delete(ctx, ids[0], dbaas.DeleteOptions{SkipFinalBackup: true}))
	conn, err = p.Connection(ctx, ids[1])
	require.NoError(t, err)
	assert.Equal(t, port, conn.Endpoint.Port, "the port is free again once its instance is gone")
}

// pinned points every instance of the wrapped provider at one endpoint.
type pinned struct {
	dbaas.Provider
	to dbaas.Endpoint
}

func (p *pinned) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	c, err := p.Provider.Connection(ctx, id)
	if err != nil {
		return nil, err
	}
	c.Endpoint, c.PrivateEndpoint = p.to, dbaas.Endpoint{}
	return c, nil
}
