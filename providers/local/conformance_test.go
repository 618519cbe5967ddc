package local

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
)

// writeMark and readMarks are the harness's data hooks: a table of marker
// values, written and read over real connections with the ConnectionInfo
// given, its TLS mode and CA included. readMarks returns none when the
// table was never made, as for a backup taken before the first write.
func writeMark(ctx context.Context, conn *dbaas.ConnectionInfo, value string) error {
	if conn.Engine == dbaas.Postgres {
		u, err := conn.PostgresURL(dbaas.DSNOptions{})
		if err != nil {
			return err
		}
		c, err := pgx.Connect(ctx, u)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "CREATE TABLE IF NOT EXISTS marks (v text)"); err != nil {
			return err
		}
		_, err = c.Exec(ctx, "INSERT INTO marks VALUES ($1)", value)
		return err
	}
	db, err := mysqlDB(conn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS marks (v varchar(255))"); err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, "INSERT INTO marks VALUES (?)", value)
	return err
}

func readMarks(ctx context.Context, conn *dbaas.ConnectionInfo) ([]string, error) {
	var out []string
	if conn.Engine == dbaas.Postgres {
		u, err := conn.PostgresURL(dbaas.DSNOptions{})
		if err != nil {
			return nil, err
		}
		c, err := pgx.Connect(ctx, u)
		if err != nil {
			return nil, err
		}
		defer c.Close(ctx)
		var exists bool
		if err := c.QueryRow(ctx, "SELECT to_regclass('marks') IS NOT NULL").Scan(&exists); err != nil || !exists {
			return nil, err
		}
		rows, err := c.Query(ctx, "SELECT v FROM marks")
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
	db, err := mysqlDB(conn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'marks'").Scan(&n); err != nil || n == 0 {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, "SELECT v FROM marks")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func mysqlDB(conn *dbaas.ConnectionInfo) (*sql.DB, error) {
	cfg, err := sqlconn.MySQLConfig(conn, dbaas.DSNOptions{})
	if err != nil {
		return nil, err
	}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

func harness(p *Provider, engines ...dbaas.Engine) dbaastest.Harness {
	return dbaastest.Harness{
		Provider: p,
		Spec:     func(name string, e dbaas.Engine) dbaas.Spec { return spec(name, e) },
		Engines:  engines,
		Wait: dbaas.WaitOptions{FirstDelay: 100 * time.Millisecond, MaxDelay: time.Second,
			Timeout: 3 * time.Minute, Expected: -1},
		WriteData: writeMark,
		ReadData:  readMarks,
		Login:     login,
		Timeout:   4 * time.Minute,
	}
}

// login connects and pings with conn: the application user's login.
func login(ctx context.Context, conn *dbaas.ConnectionInfo) error {
	db, err := sqlconn.Open(conn, dbaas.DSNOptions{ConnectTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// TestConformance runs the suite with both engines' life cycles; the
// rest of the suite runs on PostgreSQL, and MariaDB's backups, restores,
// access and restarts are proven by this package's own tests, which keeps
// the run inside its time budget on two cores.
func TestConformance(t *testing.T) {
	t.Parallel()
	p := newProvider(t, dbaas.Postgres, dbaas.MariaDB)
	dbaastest.RunConformance(t, harness(p, dbaas.Postgres, dbaas.MariaDB))
}
