// Package sqltest opens the database of a ConnectionInfo for a test, the
// way an application would (TLS and CA as the connection says), and runs
// statements on it. Connections close when the test ends.
package sqltest

import (
	"context"
	"database/sql"
	"testing"
	"time"

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

// As is conn with another login and database.
func As(conn *dbaas.ConnectionInfo, user string, password dbaas.Secret, database string) *dbaas.ConnectionInfo {
	c := *conn
	c.User, c.Password, c.Database = user, password, database
	return &c
}

// Login opens conn as an application would (sqlconn, one connection)
// and requires that it logs in; it closes when the test ends.
func Login(t testing.TB, conn *dbaas.ConnectionInfo) *sql.DB {
	t.Helper()
	db, err := sqlconn.Open(conn, dbaas.DSNOptions{ConnectTimeout: 5 * time.Second})
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Ping(), "%s logs in to %s", conn.User, conn.Database)
	return db
}

// Ping connects with conn and returns the error: whether that login
// reaches that database.
func Ping(ctx context.Context, conn *dbaas.ConnectionInfo) error {
	db, err := sqlconn.Open(conn, dbaas.DSNOptions{ConnectTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// Read connects with conn and counts the rows of table, returning the
// error: whether that login may read it.
func Read(ctx context.Context, conn *dbaas.ConnectionInfo, table string) error {
	db, err := sqlconn.Open(conn, dbaas.DSNOptions{ConnectTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	return db.QueryRowContext(ctx, "SELECT count(*) FROM "+table).Scan(&n)
}
