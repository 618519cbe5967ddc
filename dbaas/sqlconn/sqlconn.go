// Package sqlconn turns a dbaas.ConnectionInfo into a connection of the
// database drivers dbaaskit works with: pgx for PostgreSQL and
// go-sql-driver/mysql for MySQL and MariaDB. It is apart from dbaas so
// that importing dbaas brings in no database driver, and it never changes
// a driver's global state: each configuration carries its own *tls.Config
// (dbaas.ConnectionInfo.TLSConfig, one meaning of every TLS mode on both
// engines).
//
//	conn, _ := p.Connection(ctx, id)
//	db, err := sqlconn.Open(conn, dbaas.DSNOptions{})
package sqlconn

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// MySQLConfig returns a go-sql-driver/mysql configuration for c, with its
// own TLS configuration (Config.TLS; nothing is registered globally).
// Parameters are interpolated on the client so that statements such as
// CREATE USER … IDENTIFIED BY ? can take a password as a parameter.
func MySQLConfig(c *dbaas.ConnectionInfo, opts dbaas.DSNOptions) (*mysql.Config, error) {
	e, err := endpoint(c, opts)
	if err != nil {
		return nil, err
	}
	if c.Engine != "" && !c.Engine.MySQLFamily() {
		return nil, fmt.Errorf("mysql config: engine is %s: %w", c.Engine, dbaas.ErrInvalidArgument)
	}
	cfg := mysql.NewConfig()
	cfg.User = c.User
	cfg.Passwd = c.Password.Reveal()
	cfg.Net = "tcp"
	cfg.Addr = e.Address()
	cfg.DBName = c.Database
	cfg.ParseTime = true
	cfg.InterpolateParams = true
	cfg.Timeout = timeout(opts)
	tc, err := c.TLSConfig(serverName(c, opts))
	if err != nil {
		return nil, err
	}
	cfg.TLS = tc
	return cfg, nil
}

// MySQLDSN returns a go-sql-driver/mysql DSN for c. A DSN names a TLS
// configuration rather than holding one, so when TLS is on DSN registers
// c's under tlsName with mysql.RegisterTLSConfig — an explicit call with
// a process-wide effect, which MySQLConfig avoids. The DSN holds the
// password: treat it as a secret.
func MySQLDSN(c *dbaas.ConnectionInfo, tlsName string, opts dbaas.DSNOptions) (string, error) {
	cfg, err := MySQLConfig(c, opts)
	if err != nil {
		return "", err
	}
	if cfg.TLS != nil {
		if tlsName == "" {
			return "", fmt.Errorf("mysql dsn: tlsName: is required when TLS is on: %w", dbaas.ErrInvalidArgument)
		}
		if err := mysql.RegisterTLSConfig(tlsName, cfg.TLS); err != nil {
			return "", fmt.Errorf("mysql dsn: register TLS config %q: %w", tlsName, err)
		}
		cfg.TLS, cfg.TLSConfig = nil, tlsName
	}
	return cfg.FormatDSN(), nil
}

// PgxConfig returns a pgx configuration for c with its TLS configuration
// set directly, so verify-full checks ServerName even where the endpoint
// is a tunnel's local address.
func PgxConfig(c *dbaas.ConnectionInfo, opts dbaas.DSNOptions) (*pgx.ConnConfig, error) {
	if _, err := endpoint(c, opts); err != nil {
		return nil, err
	}
	plain := *c
	plain.TLS = dbaas.TLSDisable
	u, err := plain.PostgresURL(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		// pgx's message can quote the URL, password included.
		return nil, fmt.Errorf("pgx config: the connection information does not parse: %w", dbaas.ErrInvalidArgument)
	}
	tc, err := c.TLSConfig(serverName(c, opts))
	if err != nil {
		return nil, err
	}
	cfg.TLSConfig = tc
	cfg.Fallbacks = nil
	return cfg, nil
}

// Connect opens a pgx connection to a PostgreSQL instance.
func Connect(ctx context.Context, c *dbaas.ConnectionInfo, opts dbaas.DSNOptions) (*pgx.Conn, error) {
	cfg, err := PgxConfig(c, opts)
	if err != nil {
		return nil, err
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// Open returns a *sql.DB for c, PostgreSQL (pgx's database/sql driver) or
// MySQL and MariaDB, by c.Engine.
func Open(c *dbaas.ConnectionInfo, opts dbaas.DSNOptions) (*sql.DB, error) {
	if c == nil {
		return nil, fmt.Errorf("open: connection info is nil: %w", dbaas.ErrInvalidArgument)
	}
	if c.Engine.MySQLFamily() {
		cfg, err := MySQLConfig(c, opts)
		if err != nil {
			return nil, err
		}
		conn, err := mysql.NewConnector(cfg)
		if err != nil {
			return nil, err
		}
		return sql.OpenDB(conn), nil
	}
	cfg, err := PgxConfig(c, opts)
	if err != nil {
		return nil, err
	}
	return stdlib.OpenDB(*cfg), nil
}

func endpoint(c *dbaas.ConnectionInfo, opts dbaas.DSNOptions) (dbaas.Endpoint, error) {
	if c == nil {
		return dbaas.Endpoint{}, fmt.Errorf("connection info is nil: %w", dbaas.ErrInvalidArgument)
	}
	e := c.Endpoint
	if opts.Private {
		if c.PrivateEndpoint.IsZero() {
			return dbaas.Endpoint{}, fmt.Errorf("connection info: no private endpoint: %w", dbaas.ErrUnsupported)
		}
		e = c.PrivateEndpoint
	}
	return e, e.Validate()
}

// serverName is the name verify-full checks: ServerName, or the host of
// the endpoint connected to.
func serverName(c *dbaas.ConnectionInfo, opts dbaas.DSNOptions) string {
	switch {
	case c.ServerName != "":
		return c.ServerName
	case opts.Private:
		return c.PrivateEndpoint.Host
	}
	return c.Endpoint.Host
}

func timeout(opts dbaas.DSNOptions) time.Duration {
	if opts.ConnectTimeout > 0 {
		return opts.ConnectTimeout
	}
	return 10 * time.Second
}
