package realdb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgConnect connects as the admin user to database, or to the admin URL's
// own database when empty.
func (b *Backend) pgConnect(ctx context.Context, database string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(b.pgURL)
	if err != nil {
		return nil, err
	}
	if database != "" {
		cfg.Database = database
	}
	return pgx.ConnectConfig(ctx, cfg)
}

func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// pgExec runs statements in order; an error names what failed without
// the statement, which may hold a password.
func pgExec(ctx context.Context, c *pgx.Conn, what string, stmts ...string) error {
	for _, q := range stmts {
		if _, err := c.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// objectInUse is PostgreSQL's "source database is being accessed by
// other users".
func objectInUse(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "55006"
}

// pgCreateFrom makes database name as a copy of template, retrying while
// a connection that is going away still holds the template.
func pgCreateFrom(ctx context.Context, c *pgx.Conn, name, template, owner string) error {
	q := "CREATE DATABASE " + ident(name) + " TEMPLATE " + ident(template)
	if owner != "" {
		q += " OWNER " + ident(owner)
	}
	for attempt := 0; ; attempt++ {
		_, err := c.Exec(ctx, q)
		if err == nil || !objectInUse(err) || attempt == 5 {
			if err != nil {
				return fmt.Errorf("copy database %s: %w", template, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pgAttach makes login e.user and its database e.name, empty or a copy of
// snapshot from. The snapshot's objects belong to its owner role (of the
// same name); the copy's are handed to the new login.
func (b *Backend) pgAttach(ctx context.Context, e entry, password, from string) error {
	c, err := b.pgConnect(ctx, "")
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	if err := pgExec(ctx, c, "create login", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", ident(e.user), password)); err != nil {
		return err
	}
	if from == "" {
		return pgExec(ctx, c, "create database", "CREATE DATABASE "+ident(e.name)+" OWNER "+ident(e.user))
	}
	if err := pgCreateFrom(ctx, c, e.name, from, e.user); err != nil {
		return err
	}
	in, err := b.pgConnect(ctx, e.name)
	if err != nil {
		return err
	}
	defer in.Close(context.WithoutCancel(ctx))
	return pgExec(ctx, in, "hand the restored objects to the new login",
		"REASSIGN OWNED BY "+ident(from)+" TO "+ident(e.user))
}

// pgSnapshot copies src into snap. CREATE DATABASE … TEMPLATE needs the
// source to have no session, so new ones are refused and the open ones
// ended for the copy, as a cloud's snapshot briefly interrupts I/O. The
// copy's objects are handed to a role of its own so that the source's
// login can be dropped while the snapshot lives on.
func (b *Backend) pgSnapshot(ctx context.Context, src, snap entry) (err error) {
	c, err := b.pgConnect(ctx, "")
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	if err := pgExec(ctx, c, "create snapshot owner", "CREATE ROLE "+ident(snap.user)+" NOLOGIN"); err != nil {
		return err
	}
	if err := pgExec(ctx, c, "close the source to new sessions", "ALTER DATABASE "+ident(src.name)+" ALLOW_CONNECTIONS false"); err != nil {
		return err
	}
	defer func() {
		err = errors.Join(err, pgExec(context.WithoutCancel(ctx), c, "reopen the source", "ALTER DATABASE "+ident(src.name)+" ALLOW_CONNECTIONS true"))
	}()
	if _, err := c.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", src.name); err != nil {
		return fmt.Errorf("end the source's sessions: %w", err)
	}
	if err := pgCreateFrom(ctx, c, snap.name, src.name, ""); err != nil {
		return err
	}
	in, err := b.pgConnect(ctx, snap.name)
	if err != nil {
		return err
	}
	defer in.Close(context.WithoutCancel(ctx))
	if err := pgExec(ctx, in, "hand the snapshot's objects to its owner",
		"REASSIGN OWNED BY "+ident(src.user)+" TO "+ident(snap.user),
		"DROP OWNED BY "+ident(src.user)); err != nil {
		return err
	}
	// REASSIGN OWNED also hands over the databases the login owns, the
	// source among them: give it back.
	return pgExec(ctx, c, "give the source back to its login", "ALTER DATABASE "+ident(src.name)+" OWNER TO "+ident(src.user))
}

// pgDrop drops e's database, ending its sessions, then its role.
func (b *Backend) pgDrop(ctx context.Context, e entry) error {
	c, err := b.pgConnect(ctx, "")
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	stmts := []string{"DROP DATABASE IF EXISTS " + ident(e.name) + " WITH (FORCE)"}
	if e.user != "" {
		stmts = append(stmts, "DROP ROLE IF EXISTS "+ident(e.user))
	}
	return pgExec(ctx, c, "drop "+e.name, stmts...)
}
