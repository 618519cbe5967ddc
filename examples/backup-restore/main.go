package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	_ "github.com/go-sql-driver/mysql" // registers the "mysql" database/sql driver
	"github.com/jackc/pgx/v5"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	_ "github.com/agiledeploy/dbaaskit/providers/local"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "backup-restore:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) (err error) {
	fs := flag.NewFlagSet("backup-restore", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	provider := fs.String("provider", "local", "provider to use (one with on-demand backups)")
	stateDir := fs.String("state-dir", "", "state directory of the local provider (default its own)")
	engine := fs.String("engine", "postgres", "postgres or mariadb")
	size := fs.String("size", "small", "the provider's size")
	name := fs.String("name", "backup-demo", "name of the instance to make (the copy gets -copy)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	eng, err := dbaas.ParseEngine(*engine)
	if err != nil {
		return err
	}
	cfg := dbaas.Config{}
	if *stateDir != "" {
		cfg.Settings = map[string]string{"state_dir": *stateDir}
	}
	p, err := dbaas.Open(ctx, *provider, cfg)
	if err != nil {
		return err
	}
	if c, ok := p.(io.Closer); ok {
		defer c.Close()
	}
	if !p.Capabilities().OnDemandBackup {
		return fmt.Errorf("%s has no on-demand backups: %w", *provider, dbaas.ErrUnsupported)
	}
	wait := dbaas.WaitOptions{FirstDelay: 200 * time.Millisecond, MaxDelay: 2 * time.Second, Expected: -1}

	spec := dbaas.Spec{Name: *name, Engine: eng, Size: *size}
	inst, err := p.Create(ctx, spec)
	if err != nil {
		return err
	}
	// Nothing is left behind, whatever happens below.
	defer func() { err = errors.Join(err, remove(context.WithoutCancel(ctx), p, inst.ID)) }()
	if inst, err = dbaas.Wait(ctx, p, inst.ID, wait); err != nil {
		return err
	}
	fmt.Fprintf(out, "created %s (%s) at %s\n", inst.Name, inst.Engine, inst.Endpoint)

	if err := write(ctx, p, inst.ID, "before the backup"); err != nil {
		return err
	}
	b, err := p.Backup(ctx, inst.ID, *name+"-backup")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "backup %s: %s\n", b.ID, b.Status)
	if err := write(ctx, p, inst.ID, "after the backup"); err != nil {
		return err
	}

	spec.Name = *name + "-copy"
	cp, err := p.Restore(ctx, dbaas.FromBackup(b.ID), spec)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, remove(context.WithoutCancel(ctx), p, cp.ID)) }()
	if cp, err = dbaas.Wait(ctx, p, cp.ID, wait); err != nil {
		return err
	}
	rows, err := read(ctx, p, cp.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "restored %s holds: %q\n", cp.Name, rows)
	return nil
}

func remove(ctx context.Context, p dbaas.Provider, id string) error {
	err := p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true})
	if errors.Is(err, dbaas.ErrNotFound) {
		return nil
	}
	return err
}

// session runs statements on an instance: pgx for PostgreSQL,
// database/sql with go-sql-driver/mysql for MySQL and MariaDB.
type session struct {
	pg  *pgx.Conn
	sql *sql.DB
}

func open(ctx context.Context, p dbaas.Provider, id string) (*session, error) {
	conn, err := p.Connection(ctx, id)
	if err != nil {
		return nil, err
	}
	if conn.Engine == dbaas.Postgres {
		// With the server's CA, pgx checks the certificate chain too
		// (sslrootcert); it reads the file while it connects.
		var opts dbaas.DSNOptions
		if len(conn.CACertPEM) > 0 {
			dir, err := os.MkdirTemp("", "backup-restore-ca-")
			if err != nil {
				return nil, err
			}
			defer os.RemoveAll(dir)
			if opts.CAFile, err = conn.WriteCAFile(dir); err != nil {
				return nil, err
			}
		}
		uri, err := conn.PostgresURL(opts)
		if err != nil {
			return nil, err
		}
		pg, err := pgx.Connect(ctx, uri)
		if err != nil {
			return nil, err
		}
		return &session{pg: pg}, nil
	}
	dsn, err := sqlconn.MySQLDSN(conn, "backup-restore", dbaas.DSNOptions{})
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	return &session{sql: db}, nil
}

func (s *session) close(ctx context.Context) {
	if s.pg != nil {
		_ = s.pg.Close(ctx)
		return
	}
	_ = s.sql.Close()
}

func write(ctx context.Context, p dbaas.Provider, id, value string) error {
	s, err := open(ctx, p, id)
	if err != nil {
		return err
	}
	defer s.close(ctx)
	const create = "create table if not exists marker (v varchar(64))"
	if s.pg != nil {
		if _, err = s.pg.Exec(ctx, create); err == nil {
			_, err = s.pg.Exec(ctx, "insert into marker values ($1)", value)
		}
	} else {
		if _, err = s.sql.ExecContext(ctx, create); err == nil {
			_, err = s.sql.ExecContext(ctx, "insert into marker values (?)", value)
		}
	}
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func read(ctx context.Context, p dbaas.Provider, id string) ([]string, error) {
	s, err := open(ctx, p, id)
	if err != nil {
		return nil, err
	}
	defer s.close(ctx)
	const q = "select v from marker order by v"
	var out []string
	if s.pg != nil {
		rows, err := s.pg.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
	rows, err := s.sql.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
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
