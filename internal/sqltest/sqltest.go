// Package sqltest opens the database of a ConnectionInfo for a test, the
// way an application would (TLS and CA as the connection says), and runs
// statements on it. Connections close when the test ends.
package sqltest

import (
	"context"
	"database/sql"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
)

// PG connects to conn's PostgreSQL database with pgx, trusting the
// instance's CA when the connection has one.
func PG(t testing.TB, conn *dbaas.ConnectionInfo) *pgx.Conn {
	t.Helper()
	ca, err := conn.WriteCAFile(t.TempDir())
	require.NoError(t, err)
	u, err := conn.PostgresURL(dbaas.DSNOptions{CAFile: ca})
	require.NoError(t, err)
	c, err := pgx.Connect(context.Background(), u)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// MySQL opens conn's MySQL or MariaDB database with go-sql-driver/mysql
// on one connection (so session settings hold), with multi-statement
// strings allowed, and checks that it answers.
func MySQL(t testing.TB, conn *dbaas.ConnectionInfo) *sql.DB {
	t.Helper()
	cfg, err := sqlconn.MySQLConfig(conn, dbaas.DSNOptions{})
	require.NoError(t, err)
	cfg.MultiStatements = true
	c, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.PingContext(context.Background()))
	return db
}

// Exec runs statements, in order, on conn's database as its user; the
// test fails at the first one refused, naming it.
func Exec(t testing.TB, conn *dbaas.ConnectionInfo, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	if !conn.Engine.MySQLFamily() {
		c := PG(t, conn)
		for _, s := range stmts {
			_, err := c.Exec(ctx, s)
			require.NoError(t, err, s)
		}
		return
	}
	db := MySQL(t, conn)
	for _, s := range stmts {
		_, err := db.ExecContext(ctx, s)
		require.NoError(t, err, s)
	}
}
