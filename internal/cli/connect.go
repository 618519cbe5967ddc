package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"

	"github.com/spf13/cobra"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
)

// pickEndpoint chooses the public or private endpoint of an instance.
func pickEndpoint(inst *dbaas.Instance, private bool) (dbaas.Endpoint, error) {
	e := inst.Endpoint
	if private {
		if inst.PrivateEndpoint.IsZero() {
			return e, newError("endpoint", inst.ID, dbaas.ErrUnsupported, fmt.Errorf("instance has no private endpoint"))
		}
		e = inst.PrivateEndpoint
	}
	if e.IsZero() {
		return e, newError("endpoint", inst.ID, dbaas.ErrConflict,
			fmt.Errorf("instance is %s and has no endpoint yet: run 'dbaas wait %s' first", inst.Status, inst.Name))
	}
	return e, nil
}

func (a *app) endpointCommand() *cobra.Command {
	return a.endpointPartCommand("endpoint", "Print the instance's host, without the port",
		`  DB_HOST=$(dbaas endpoint shop)`, "the endpoint inside the private network",
		func(e dbaas.Endpoint) any { return e.Host })
}

func (a *app) portCommand() *cobra.Command {
	return a.endpointPartCommand("port", "Print the port the instance listens on",
		`  DB_PORT=$(dbaas port shop)`, "the port of the private endpoint",
		func(e dbaas.Endpoint) any { return e.Port })
}

// endpointPartCommand is a command that prints one part of the
// instance's endpoint (or private endpoint with --private) for scripts,
// and the whole endpoint as JSON.
func (a *app) endpointPartCommand(name, short, example, privateHelp string, part func(dbaas.Endpoint) any) *cobra.Command {
	var private bool
	cmd := &cobra.Command{
		Use:     name + " ID|NAME",
		Short:   short,
		Example: example,
		GroupID: "connect",
		Args:    args(1, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			_, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			e, err := pickEndpoint(inst, private)
			if err != nil {
				return err
			}
			return a.emitLine(e, part(e))
		}),
	}
	cmd.Flags().BoolVar(&private, "private", false, privateHelp)
	return cmd
}

// connectionResult is the JSON of connection. Password is present only
// with --show-secrets.
type connectionResult struct {
	Engine          dbaas.Engine   `json:"engine"`
	Endpoint        dbaas.Endpoint `json:"endpoint"`
	PrivateEndpoint dbaas.Endpoint `json:"private_endpoint,omitzero"`
	User            string         `json:"user"`
	Password        string         `json:"password,omitempty"`
	Database        string         `json:"database"`
	TLS             dbaas.TLSMode  `json:"tls"`
	URI             string         `json:"uri"`
	CACertPEM       string         `json:"ca_cert_pem,omitempty"`
}

// redactedPassword stands in for the password in printed URIs, so that a
// URI shown without --show-secrets is plainly incomplete rather than
// looking passwordless.
const redactedPassword = "REDACTED"

func (a *app) connectionCommand() *cobra.Command {
	var showSecrets, private bool
	var format, caFile string
	cmd := &cobra.Command{
		Use:   "connection ID|NAME [--show-secrets] [--format uri|dsn]",
		Short: "Print how to connect: a URI (PostgreSQL) or DSN (MySQL, MariaDB)",
		Long: `Print how to connect to the instance: a postgres:// URI for PostgreSQL, a
go-sql-driver/mysql DSN for MySQL and MariaDB (--format uri gives a
mysql:// URI instead). The password is shown only with --show-secrets;
otherwise it reads REDACTED. --ca-file writes the CA certificate to a file
and refers to it.`,
		Example: `  psql "$(dbaas connection shop --show-secrets)"`,
		GroupID: "connect",
		Args:    args(1, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			if format != "" && format != "uri" && format != "dsn" {
				return usageErrorf("--format %q: want uri or dsn", clip(format))
			}
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			conn, err := p.Connection(ctx, inst.ID)
			if err != nil {
				return err
			}
			if conn.Engine == "" {
				conn.Engine = inst.Engine
			}
			shown := *conn
			if !showSecrets && !conn.Password.IsZero() {
				shown.Password = dbaas.NewSecret(redactedPassword)
			}
			opts := dbaas.DSNOptions{Private: private}
			if caFile != "" && len(conn.CACertPEM) > 0 {
				if err := os.WriteFile(caFile, conn.CACertPEM, 0o600); err != nil {
					return fmt.Errorf("connection: write --ca-file: %w", err)
				}
				opts.CAFile = caFile
			}
			uri, err := connectionString(&shown, format, opts)
			if err != nil {
				return err
			}
			res := connectionResult{Engine: conn.Engine, Endpoint: conn.Endpoint, PrivateEndpoint: conn.PrivateEndpoint,
				User: conn.User, Database: conn.Database, TLS: conn.TLS, URI: uri, CACertPEM: string(conn.CACertPEM)}
			if showSecrets {
				res.Password = conn.Password.Reveal()
			}
			return a.emitLine(res, uri)
		}),
	}
	cmd.Flags().BoolVar(&showSecrets, "show-secrets", false, "include the password")
	cmd.Flags().BoolVar(&private, "private", false, "connect through the private endpoint")
	cmd.Flags().StringVar(&format, "format", "", "uri or dsn (default: uri for PostgreSQL, dsn for MySQL and MariaDB)")
	cmd.Flags().StringVar(&caFile, "ca-file", "", "write the CA certificate to this file and refer to it")
	return cmd
}

// connectionString renders conn as a URI or DSN for its engine.
func connectionString(conn *dbaas.ConnectionInfo, format string, opts dbaas.DSNOptions) (string, error) {
	if conn.Engine == dbaas.Postgres {
		if format == "dsn" {
			return "", usageErrorf("--format dsn: PostgreSQL connections are URIs: use --format uri")
		}
		return conn.PostgresURL(opts)
	}
	if format == "uri" {
		e := conn.Endpoint
		if opts.Private {
			e = conn.PrivateEndpoint
		}
		u := url.URL{Scheme: "mysql", Host: e.Address(), Path: "/" + conn.Database}
		if conn.Password.IsZero() {
			u.User = url.User(conn.User)
		} else {
			u.User = url.UserPassword(conn.User, conn.Password.Reveal())
		}
		if conn.TLS != "" && conn.TLS != dbaas.TLSDisable {
			u.RawQuery = "ssl-mode=REQUIRED"
		}
		return u.String(), nil
	}
	tlsName := ""
	if conn.TLS != "" && conn.TLS != dbaas.TLSDisable {
		tlsName = "dbaas"
	}
	return sqlconn.MySQLDSN(conn, tlsName, opts)
}

// checkPortResult is the JSON of check-port.
type checkPortResult struct {
	ID         string `json:"id"`
	Configured int    `json:"configured"`
	Actual     int    `json:"actual"`
	OK         bool   `json:"ok"`
}

func (a *app) checkPortCommand() *cobra.Command {
	var expect int
	cmd := &cobra.Command{
		Use:   "check-port ID|NAME --expect PORT",
		Short: "Fail (exit code 6) when the instance listens on another port than PORT",
		Long: `check-port compares the port a deployment is configured with (DB_PORT)
with the port the database really listens on. It prints the real port and
exits 0 when they agree, and exits 6 with a message saying what to change
when they differ, so that a wrong port fails loudly at once.`,
		Example: `  dbaas check-port shop --expect "$DB_PORT" || exit`,
		GroupID: "connect",
		Args:    args(1, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("expect") {
				return usageErrorf("check-port: --expect PORT is required: usage: %s", cmd.UseLine())
			}
			if expect < 1 || expect > 65535 {
				return usageErrorf("--expect %d: want a port from 1 to 65535", expect)
			}
			_, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			if err := dbaas.CheckPort(inst, expect); err != nil {
				if a.output == "json" && inst.Endpoint.Port != 0 {
					_ = a.emit(checkPortResult{ID: inst.ID, Configured: expect, Actual: inst.Endpoint.Port}, nil)
				}
				return err
			}
			return a.emitLine(checkPortResult{ID: inst.ID, Configured: expect, Actual: inst.Endpoint.Port, OK: true}, inst.Endpoint.Port)
		}),
	}
	cmd.Flags().IntVar(&expect, "expect", 0, "the configured port (required)")
	return cmd
}
