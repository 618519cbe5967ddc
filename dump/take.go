package dump

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// TakeOptions tunes Take.
type TakeOptions struct {
	// Gzip compresses the dump as it is written (Reader reads either).
	Gzip bool
}

// Take writes a logical backup of conn's database to w with the engine's
// own tool: pg_dump (plain SQL, the oldest installed that is not older
// than the server, looked for on PATH and in /usr/lib/postgresql/*/bin)
// or mariadb-dump (mysqldump where it is missing), with routines,
// triggers and events, blobs in hex, in one consistent snapshot. The
// dump streams: memory stays bounded whatever the database's size.
//
// The tool connects as conn says, with its TLS mode and CA; the password
// reaches it through a file only this user can read, never its command
// line. Take works through anything that gives a ConnectionInfo, a
// tunnel.Provider's local forward included. When the tool fails, the
// error holds the end of what it wrote to stderr and w holds a partial
// dump, which Reader reports as truncated.
func Take(ctx context.Context, conn *dbaas.ConnectionInfo, w io.Writer, opts TakeOptions) (err error) {
	setup, err := setupClient(conn)
	if err != nil {
		return fmt.Errorf("dump take: %w", err)
	}
	defer setup.dir.remove()
	var tool string
	var args []string
	if conn.Engine == dbaas.Postgres {
		major, err := pgServerMajor(ctx, conn, setup)
		if err != nil {
			return fmt.Errorf("dump take %s: %w", conn.Endpoint, err)
		}
		if tool, err = pickPgTool(ctx, "pg_dump", major); err != nil {
			return fmt.Errorf("dump take %s: %w", conn.Endpoint, err)
		}
		// the database's own encoding, named in the dump, as pg_dump | psql:
		// asking for another makes both servers convert every row
		args = []string{"--no-password", "--format=plain"}
	} else {
		if tool, err = mysqlTool("mariadb-dump", "mysqldump"); err != nil {
			return fmt.Errorf("dump take %s: %w", conn.Endpoint, err)
		}
		args = []string{"--single-transaction", "--routines", "--triggers", "--events", "--hex-blob",
			"--default-character-set=utf8mb4", "--no-tablespaces", "--", conn.Database}
	}
	out := w
	var gz *gzip.Writer
	if opts.Gzip {
		gz = gzip.NewWriter(w)
		out = gz
	}
	cmd := setup.command(ctx, tool, args...)
	cmd.Stdout = out
	var tail stderrTail
	cmd.Stderr = &tail
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("dump take %s: %w", conn.Endpoint, ctx.Err())
		}
		return fmt.Errorf("dump take %s: %s: %w", conn.Endpoint, toolName(tool), toolError(err, &tail))
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return fmt.Errorf("dump take %s: gzip: %w", conn.Endpoint, err)
		}
	}
	return nil
}

// toolError says why a client program failed: what it wrote to stderr,
// or how it ended.
func toolError(err error, tail *stderrTail) error {
	msg := tail.String()
	if msg == "" {
		return err
	}
	return errors.New(msg)
}

func toolName(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if os.IsPathSeparator(path[i]) {
			return path[i+1:]
		}
	}
	return path
}

// pgServerMajor asks the server its major version, connecting as the
// client program will.
func pgServerMajor(ctx context.Context, conn *dbaas.ConnectionInfo, setup *clientSetup) (int, error) {
	c, err := connectPostgres(ctx, conn, setup)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	var num string
	if err := c.QueryRow(ctx, "SHOW server_version_num").Scan(&num); err != nil {
		return 0, fmt.Errorf("read the server's version: %w", err)
	}
	n, err := strconv.Atoi(num)
	if err != nil {
		return 0, fmt.Errorf("read the server's version %q: %w", num, err)
	}
	return n / 10000, nil
}

// connectPostgres opens a pgx connection as conn says, with the CA file
// setup wrote.
func connectPostgres(ctx context.Context, conn *dbaas.ConnectionInfo, setup *clientSetup) (*pgx.Conn, error) {
	url, err := conn.PostgresURL(dbaas.DSNOptions{CAFile: setup.caFile})
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("connection settings: %w", dbaas.ErrInvalidArgument)
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return c, nil
}

// Roles returns the PostgreSQL roles that conn's user may give objects
// to: every role when it is a superuser, else the roles it is a member of
// (itself included). Set Target.Roles to them so that a load drops OWNER
// TO and GRANT naming any other role and the objects stay the user's.
// It returns nil for MySQL and MariaDB, which have no such roles.
func Roles(ctx context.Context, conn *dbaas.ConnectionInfo) ([]string, error) {
	if conn == nil || conn.Engine != dbaas.Postgres {
		return nil, nil
	}
	setup, err := setupClient(conn)
	if err != nil {
		return nil, fmt.Errorf("dump roles: %w", err)
	}
	defer setup.dir.remove()
	c, err := connectPostgres(ctx, conn, setup)
	if err != nil {
		return nil, fmt.Errorf("dump roles %s: %w", conn.Endpoint, err)
	}
	defer c.Close(context.WithoutCancel(ctx))
	rows, err := c.Query(ctx, `SELECT rolname FROM pg_roles
WHERE rolname !~ '^pg_' AND ((SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR pg_has_role(current_user, oid, 'MEMBER'))
ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("dump roles %s: %w", conn.Endpoint, err)
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("dump roles %s: %w", conn.Endpoint, err)
	}
	return roles, nil
}

// Pipe returns the two ends of an operating-system pipe enlarged for
// dumps: join Take and Load with it (Take writes into the write end, and
// the dump tool then writes into it directly) to copy a database
// without a file and with the fewest copies of its bytes.
func Pipe() (r, w *os.File, err error) {
	r, w, err = os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("dump: pipe: %w", err)
	}
	growPipe(w)
	return r, w, nil
}
