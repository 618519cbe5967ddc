package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/static"
	"github.com/agiledeploy/dbaaskit/tunnel"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tunnel:", err)
		os.Exit(1)
	}
}

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return fmt.Sprint(*s) }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("tunnel", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var relays, keys, known stringList
	fs.Var(&relays, "relay", "SSH relay user@host[:port] (repeatable: failover in order)")
	fs.Var(&keys, "identity", "private key file (repeatable; default the agent and ~/.ssh/id_*)")
	fs.Var(&known, "known-hosts", "known_hosts file (repeatable; default ~/.ssh/known_hosts)")
	host := fs.String("db-host", "127.0.0.1", "the database's host as the relay sees it")
	port := fs.Int("db-port", 5432, "the database's port")
	user := fs.String("db-user", "postgres", "database user")
	name := fs.String("db-name", "postgres", "database name")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(relays) == 0 {
		return errors.New("-relay user@host[:port] is required")
	}

	// The database exists already; static describes it.
	db, err := static.New(static.Database{Engine: dbaas.Postgres, Endpoint: dbaas.Endpoint{Host: *host, Port: *port},
		User: *user, Database: *name, TLS: dbaas.TLSDisable})
	if err != nil {
		return err
	}
	cfg := tunnel.Config{Auth: tunnel.Auth{KeyFiles: keys}, KnownHosts: known, DrainTimeout: 5 * time.Second}
	for _, r := range relays {
		hop := tunnel.Hop{Host: r}
		if u, h, ok := cut(r); ok {
			hop = tunnel.Hop{User: u, Host: h}
		}
		cfg.Relays = append(cfg.Relays, tunnel.Relay{Hop: hop})
	}
	p, err := tunnel.NewProvider(db, cfg, tunnel.ProviderOptions{})
	if err != nil {
		return err
	}
	defer p.Close()

	// Connection opens the tunnel: the endpoint is its local end.
	conn, err := p.Connection(ctx, static.DefaultName)
	if err != nil {
		return err
	}
	uri, err := conn.PostgresURL(dbaas.DSNOptions{})
	if err != nil {
		return err
	}
	pg, err := pgx.Connect(ctx, uri)
	if err != nil {
		return fmt.Errorf("connect through the tunnel: %w", err)
	}
	defer pg.Close(context.WithoutCancel(ctx))
	var version string
	if err := pg.QueryRow(ctx, "select version()").Scan(&version); err != nil {
		return err
	}
	fmt.Fprintf(out, "through %s via %s: %s\n", conn.Endpoint.Address(), relays[0], version)
	return nil
}

// cut splits "user@host" at its last "@".
func cut(s string) (user, host string, ok bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '@' {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}
