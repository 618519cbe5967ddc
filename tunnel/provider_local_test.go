package tunnel

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/providers/local/localtest"
)

// TestIntegrationProviderOverLocal puts tunnel.Provider, relaying through
// a real sshd on a fixed local port, in front of real local servers that
// name themselves "localhost": the application database and user are made
// over SQL through the tunnel, CheckPort checks the fixed port, and the
// application user logs in there with verify-full against the instance's
// own name and writes its database.
func TestIntegrationProviderOverLocal(t *testing.T) {
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB} {
		t.Run(string(engine), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			lp := localtest.New(t, engine)
			inst, err := lp.Create(ctx, dbaas.Spec{Name: "tunnel-" + string(engine), Engine: engine, Size: "small"})
			require.NoError(t, err)
			_, err = dbaas.Wait(ctx, lp, inst.ID, dbaas.WaitOptions{FirstDelay: 100 * time.Millisecond})
			require.NoError(t, err)

			relay := startRelays(t, 1)[0]
			cfg := relay.config(dbaas.Endpoint{})
			port := freePort(t)
			cfg.Listen = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			p, err := NewProvider(&byName{Provider: lp}, cfg, ProviderOptions{})
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, p.Close()) })

			got, err := p.Get(ctx, inst.ID)
			require.NoError(t, err)
			require.NoError(t, dbaas.CheckPort(got, port), "the configured port is the tunnel's")

			require.NoError(t, p.EnsureDatabase(ctx, inst.ID, "shop"))
			u, err := p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "shopuser", Database: "shop"})
			require.NoError(t, err)
			require.False(t, u.Password.IsZero())

			conn, err := p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, dbaas.Endpoint{Host: "127.0.0.1", Port: port}, conn.Endpoint)
			assert.Equal(t, dbaas.TLSVerifyFull, conn.TLS)
			assert.Equal(t, "localhost", conn.ServerName)
			app := *conn
			app.User, app.Password, app.Database = u.Name, u.Password, "shop"
			db, err := sqlconn.Open(&app, dbaas.DSNOptions{ConnectTimeout: 5 * time.Second})
			require.NoError(t, err)
			defer db.Close()
			_, err = db.ExecContext(ctx, "CREATE TABLE items (id int PRIMARY KEY)")
			require.NoError(t, err, "the application user writes its own database through the tunnel")
			_, err = db.ExecContext(ctx, "INSERT INTO items VALUES (1)")
			require.NoError(t, err)
			var n int
			require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM items").Scan(&n))
			assert.Equal(t, 1, n)
		})
	}
}

// byName reports the local instances by the name their certificates
// carry, as a cloud's do, and asks for verify-full.
type byName struct{ dbaas.Provider }

func (b *byName) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	c, err := b.Provider.Connection(ctx, id)
	if err != nil {
		return nil, err
	}
	c.Endpoint.Host, c.TLS = "localhost", dbaas.TLSVerifyFull
	return c, nil
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
