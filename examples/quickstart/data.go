package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/providers/memory"
)

// table is the one table quickstart writes its notes to.
const table = "quickstart_notes"

// notes is what quickstart reads and writes in a database: a version
// query and a table of notes. Each call opens its own connection, because
// a step in between (Allow on the local provider) may restart the server.
type notes interface {
	// Server names the server: its version query's answer.
	Server(ctx context.Context) (string, error)
	// Write appends a note.
	Write(ctx context.Context, note string) error
	// Read returns the notes in the order they were written.
	Read(ctx context.Context) ([]string, error)
}

// openNotes returns the notes of instance id, or why there are none:
// memory has a data store instead of a server, and a cloud endpoint may
// not be reachable from this machine (a simulator without a database
// behind it). tmp holds a CA certificate file when the provider gives one.
func openNotes(ctx context.Context, p dbaas.Provider, id, tmp string) (notes, string, error) {
	var mp *memory.Provider
	if p.As(&mp) {
		return memNotes{p: mp, id: id}, "", nil
	}
	conn, err := p.Connection(ctx, id)
	if err != nil {
		return nil, "", err
	}
	addr := conn.Endpoint.Address()
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		return nil, fmt.Sprintf("%s is not reachable from here (%v)", addr, err), nil
	}
	_ = c.Close()
	caFile := ""
	if len(conn.CACertPEM) > 0 {
		if caFile, err = conn.WriteCAFile(tmp); err != nil {
			return nil, "", err
		}
	}
	if conn.Engine.MySQLFamily() {
		return mysqlNotes{conn: conn}, "", nil
	}
	return pgNotes{conn: conn, caFile: caFile}, "", nil
}

// pgNotes reaches PostgreSQL with pgx.
type pgNotes struct {
	conn   *dbaas.ConnectionInfo
	caFile string
}

func (n pgNotes) with(ctx context.Context, f func(*pgx.Conn) error) error {
	url, err := n.conn.PostgresURL(dbaas.DSNOptions{CAFile: n.caFile})
	if err != nil {
		return err
	}
	// The URL holds the password: it goes to pgx and nowhere else. pgx's
	// connect errors name the host, user and database, not the password.
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	return f(c)
}

func (n pgNotes) Server(ctx context.Context) (string, error) {
	var v string
	err := n.with(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT version()").Scan(&v)
	})
	return v, err
}

func (n pgNotes) Write(ctx context.Context, note string) error {
	return n.with(ctx, func(c *pgx.Conn) error {
		if _, err := c.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+table+" (id bigserial PRIMARY KEY, note text NOT NULL)"); err != nil {
			return err
		}
		_, err := c.Exec(ctx, "INSERT INTO "+table+" (note) VALUES ($1)", note)
		return err
	})
}

func (n pgNotes) Read(ctx context.Context) ([]string, error) {
	var out []string
	err := n.with(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, "SELECT note FROM "+table+" ORDER BY id")
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	// No table is no notes: a restored copy without it lacks them all.
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "42P01" {
		return nil, nil
	}
	return out, err
}

// mysqlNotes reaches MySQL and MariaDB with go-sql-driver/mysql.
type mysqlNotes struct{ conn *dbaas.ConnectionInfo }

func (n mysqlNotes) with(ctx context.Context, f func(*sql.DB) error) error {
	cfg, err := sqlconn.MySQLConfig(n.conn, dbaas.DSNOptions{})
	if err != nil {
		return err
	}
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return err
	}
	return f(db)
}

func (n mysqlNotes) Server(ctx context.Context) (string, error) {
	var v string
	err := n.with(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, "SELECT CONCAT('MySQL protocol, server ', VERSION())").Scan(&v)
	})
	return v, err
}

func (n mysqlNotes) Write(ctx context.Context, note string) error {
	return n.with(ctx, func(db *sql.DB) error {
		if _, err := db.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+table+" (id BIGINT AUTO_INCREMENT PRIMARY KEY, note TEXT NOT NULL)"); err != nil {
			return err
		}
		_, err := db.ExecContext(ctx, "INSERT INTO "+table+" (note) VALUES (?)", note)
		return err
	})
}

func (n mysqlNotes) Read(ctx context.Context) ([]string, error) {
	var out []string
	err := n.with(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, "SELECT note FROM "+table+" ORDER BY id")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	// No table (ER_NO_SUCH_TABLE) is no notes, as for PostgreSQL.
	if me := (*mysql.MySQLError)(nil); errors.As(err, &me) && me.Number == 1146 {
		return nil, nil
	}
	return out, err
}

// memNotes uses the memory provider's data store, which stands in for
// the tables of a real database and goes into its backups the same way.
type memNotes struct {
	p  *memory.Provider
	id string
}

func (n memNotes) Server(context.Context) (string, error) {
	return "no SQL server behind memory: its data store stands in for the table", nil
}

func (n memNotes) Write(ctx context.Context, note string) error { return n.p.Put(ctx, n.id, note) }

func (n memNotes) Read(ctx context.Context) ([]string, error) { return n.p.Values(ctx, n.id) }

// compare checks that the restored copy holds the note written before
// the backup and lacks the one written after it.
func compare(restored []string, before, after string) error {
	var hasBefore, hasAfter bool
	for _, s := range restored {
		hasBefore = hasBefore || s == before
		hasAfter = hasAfter || s == after
	}
	switch {
	case hasAfter:
		return fmt.Errorf("the restored copy holds %q, written after the backup: %w", after, errNotPointInTime)
	case !hasBefore:
		return fmt.Errorf("the restored copy lacks %q, written before the backup: %w", before, errNotPointInTime)
	}
	return nil
}

// errNotPointInTime says that a restored copy is not the data of its
// backup's moment.
var errNotPointInTime = errors.New("restore does not match the backup")

// tempDir makes a directory for the run's files (the local provider's
// state, a CA certificate). The servers of the local provider run as
// another user when this process is root: it must be able to enter it.
func tempDir() (string, error) {
	dir, err := os.MkdirTemp("", "dbaaskit-quickstart-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}
