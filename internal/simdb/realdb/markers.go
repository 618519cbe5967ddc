package realdb

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/sqlq"
)

// markerTable holds the values WriteMarker writes.
const markerTable = "dbaaskit_markers"

// WriteMarker stores value in a table of the database conn reaches,
// made when missing. With ReadMarkers it is the data hook pair of
// dbaastest.Harness (WriteData, ReadData) for simulators whose instances
// this package attaches: it goes through the adapter's ConnectionInfo
// and DSN builders, as a user of the SDK would.
func WriteMarker(ctx context.Context, conn *dbaas.ConnectionInfo, value string) error {
	if conn.Engine == dbaas.Postgres {
		c, err := pgConnectInfo(ctx, conn)
		if err != nil {
			return err
		}
		defer c.Close(context.WithoutCancel(ctx))
		if _, err := c.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+markerTable+" (v text NOT NULL)"); err != nil {
			return fmt.Errorf("write marker: %w", err)
		}
		if _, err := c.Exec(ctx, "INSERT INTO "+markerTable+" VALUES ($1)", value); err != nil {
			return fmt.Errorf("write marker: %w", err)
		}
		return nil
	}
	db, err := myConnectInfo(conn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+markerTable+" (v varchar(255) NOT NULL)"); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO "+markerTable+" VALUES (?)", value); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	return nil
}

// ReadMarkers returns the values WriteMarker stored in the database conn
// reaches; none when it never wrote there.
func ReadMarkers(ctx context.Context, conn *dbaas.ConnectionInfo) ([]string, error) {
	if conn.Engine == dbaas.Postgres {
		c, err := pgConnectInfo(ctx, conn)
		if err != nil {
			return nil, err
		}
		defer c.Close(context.WithoutCancel(ctx))
		var exists bool
		if err := c.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", markerTable).Scan(&exists); err != nil || !exists {
			return nil, err
		}
		rows, err := c.Query(ctx, "SELECT v FROM "+markerTable)
		if err != nil {
			return nil, fmt.Errorf("read markers: %w", err)
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
	db, err := myConnectInfo(conn)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?", markerTable).Scan(&n); err != nil || n == 0 {
		return nil, err
	}
	out, err := sqlq.Column(ctx, db, "SELECT v FROM "+markerTable)
	if err != nil {
		return nil, fmt.Errorf("read markers: %w", err)
	}
	return out, nil
}

func pgConnectInfo(ctx context.Context, conn *dbaas.ConnectionInfo) (*pgx.Conn, error) {
	url, err := conn.PostgresURL(dbaas.DSNOptions{})
	if err != nil {
		return nil, err
	}
	return pgx.Connect(ctx, url)
}

// myConnectInfo opens conn with its TLS mode, trusting its CA, without
// registering a TLS configuration by name (go-sql-driver keeps those
// for the life of the process).
func myConnectInfo(conn *dbaas.ConnectionInfo) (*sql.DB, error) {
	cfg, err := sqlconn.MySQLConfig(conn, dbaas.DSNOptions{})
	if err != nil {
		return nil, err
	}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector), nil
}
