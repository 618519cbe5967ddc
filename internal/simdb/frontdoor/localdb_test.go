package frontdoor_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/localdb"
	"github.com/agiledeploy/dbaaskit/providers/local/localtest"
)

// TestRealDatabasesOnOnePortAndHostsOfTheirOwn puts a PostgreSQL and a
// MariaDB server of the local provider behind a front door, as `dbaas
// sim` does for DigitalOcean: both are served on the one fixed port, on
// hosts of their own, and take logins there over TLS as their
// connection says; Detach shuts the address of one and leaves the other.
func TestRealDatabasesOnOnePortAndHostsOfTheirOwn(t *testing.T) {
	p := localtest.New(t, dbaas.Postgres, dbaas.MariaDB)
	inner := localdb.New(p)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		assert.NoError(t, inner.Close(ctx))
	})
	port := freePort(t)
	fd := newDoor(t, inner, port)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	engines := map[string]dbaas.Engine{"pg": dbaas.Postgres, "my": dbaas.MySQL}
	conns := map[string]*dbaas.ConnectionInfo{}
	for key, engine := range engines {
		db, err := simdb.Attach(ctx, fd, key, engine, "", simdb.Account{User: "shopadmin", Database: "defaultdb"})
		require.NoError(t, err)
		assert.Equal(t, port, db.Endpoint.Port, "%s: the fixed port", key)
		assert.NotEqual(t, "127.0.0.1", db.Endpoint.Host, "%s: an address of its own", key)
		assert.Equal(t, "shopadmin", db.User, "%s: the cloud's account", key)
		// The TLS the server's own connection asks for, at the front
		// door's endpoint.
		direct, err := fd.(simdb.Admin).AdminConnection(key, engine)
		require.NoError(t, err)
		assert.NotEqual(t, db.Endpoint, direct.Endpoint, "%s: the admin connection goes to the server directly", key)
		require.NotEmpty(t, db.CACertPEM, "%s: the server speaks TLS", key)
		conns[key] = &dbaas.ConnectionInfo{Engine: engine, Endpoint: db.Endpoint, User: db.User, Password: db.Password,
			Database: db.Database, TLS: direct.TLS, CACertPEM: db.CACertPEM}
	}
	require.NotEqual(t, conns["pg"].Endpoint.Host, conns["my"].Endpoint.Host)

	for key, conn := range conns {
		assert.True(t, loginEncrypted(ctx, t, conn), "%s at %s: a login over TLS (%s)", key, conn.Endpoint, conn.TLS)
	}

	require.NoError(t, fd.Detach(ctx, "pg"))
	assert.True(t, refused(conns["pg"].Endpoint), "nothing listens on %s after Detach", conns["pg"].Endpoint)
	assert.True(t, loginEncrypted(ctx, t, conns["my"]), "the other database is still served")
}

// loginEncrypted logs in on conn and reports whether the server sees
// the session encrypted.
func loginEncrypted(ctx context.Context, t *testing.T, conn *dbaas.ConnectionInfo) bool {
	t.Helper()
	db, err := sqlconn.Open(conn, dbaas.DSNOptions{ConnectTimeout: 10 * time.Second})
	require.NoError(t, err)
	defer db.Close()
	if conn.Engine.MySQLFamily() {
		var name, cipher string
		require.NoError(t, db.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher))
		return cipher != ""
	}
	var ssl bool
	require.NoError(t, db.QueryRowContext(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl))
	return ssl
}
