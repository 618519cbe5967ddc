package local

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
)

// postgres runs PostgreSQL servers.
type postgres struct{ p *Provider }

func (e postgres) dataDir(r *record) string { return filepath.Join(e.p.store.serverDir(r.ID), "data") }
func (e postgres) pidFile(r *record) string { return filepath.Join(e.dataDir(r), "postmaster.pid") }
func (postgres) stopSignal() syscall.Signal { return syscall.SIGINT } // fast shutdown

// initialize runs initdb with the admin user as the bootstrap superuser
// and scram-sha-256 for every connection. The password reaches initdb
// through a file only the account can read, removed at once.
func (e postgres) initialize(ctx context.Context, r *record, in Installation) error {
	dir := e.p.store.serverDir(r.ID)
	pwfile := filepath.Join(dir, "pwfile")
	if err := e.p.acct.writeOwned(pwfile, []byte(r.Password+"\n")); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	err := e.p.run(ctx, nil, filepath.Join(in.BinDir, "initdb"), "-D", e.dataDir(r), "-U", r.AdminUser,
		"--pwfile="+pwfile, "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-instructions")
	if err != nil {
		return err
	}
	conf := filepath.Join(e.dataDir(r), "postgresql.conf")
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString("\n# Settings managed by dbaaskit (port, listen address, sizes).\ninclude_if_exists = 'dbaaskit.conf'\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// sizes maps a Spec.Size to server memory settings.
var pgSizes = map[string]string{
	"small":  "shared_buffers = 16MB\nmax_connections = 50\n",
	"medium": "shared_buffers = 128MB\nmax_connections = 100\n",
	"large":  "shared_buffers = 512MB\nmax_connections = 200\n",
}

// configure writes dbaaskit.conf and pg_hba.conf from the record. No
// Unix socket: connections are TCP only, with a password.
func (e postgres) configure(r *record) error {
	listen := "127.0.0.1"
	if opensWider(r) {
		listen = "*"
	}
	conf := fmt.Sprintf("port = %d\nlisten_addresses = '%s'\nunix_socket_directories = ''\npassword_encryption = 'scram-sha-256'\n%s",
		r.Port, listen, pgSizes[r.Size])
	if r.tls() {
		// Written on every start: a restored data directory names this
		// instance's files, never those of the instance it came from.
		conf += fmt.Sprintf("ssl = on\nssl_cert_file = %s\nssl_key_file = %s\nssl_min_protocol_version = 'TLSv1.2'\n",
			quoteLiteral(e.p.certFile(r)), quoteLiteral(e.p.keyFile(r)))
	}
	if err := e.p.acct.writeOwned(filepath.Join(e.dataDir(r), "dbaaskit.conf"), []byte(conf)); err != nil {
		return err
	}
	return e.p.acct.writeOwned(filepath.Join(e.dataDir(r), "pg_hba.conf"), []byte(pgHBA(r)))
}

// pgHBA is the whole pg_hba.conf: loopback always, plus one line per
// allowed source, all with scram-sha-256. When the server speaks TLS,
// sources outside the loopback network must use it (hostssl): passwords
// and data cross the network encrypted.
func pgHBA(r *record) string {
	var b strings.Builder
	b.WriteString("# Managed by dbaaskit: Allow and Revoke rewrite this file.\n")
	b.WriteString("# TYPE  DATABASE     USER  ADDRESS  METHOD\n")
	for _, cidr := range append([]string{"127.0.0.1/32", "::1/128"}, r.Access...) {
		typ := "host   "
		if r.tls() && !isLoopback(cidr) {
			typ = "hostssl"
		}
		fmt.Fprintf(&b, "%s all          all   %s  scram-sha-256\n", typ, cidr)
		fmt.Fprintf(&b, "%s replication  all   %s  scram-sha-256\n", typ, cidr)
	}
	return b.String()
}

// isLoopback reports whether a source (CIDR) lies in the loopback
// network; anything unparsable counts as outside.
func isLoopback(cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Addr().IsLoopback() && p.Masked().Addr().IsLoopback()
}

func (e postgres) command(r *record, in Installation, _ bool) (string, []string) {
	return filepath.Join(in.BinDir, "postgres"), []string{"-D", e.dataDir(r)}
}

func (e postgres) connConfig(r *record, database string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d sslmode=disable connect_timeout=5", r.Port))
	if err != nil {
		return nil, err
	}
	cfg.User = r.AdminUser
	cfg.Password = r.Password
	cfg.Database = database
	return cfg, nil
}

// ping connects as the admin user to the maintenance database.
func (e postgres) ping(ctx context.Context, r *record) error {
	cfg, err := e.connConfig(r, "postgres")
	if err != nil {
		return err
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	return c.Close(ctx)
}

// afterStart creates the database on the first start.
func (e postgres) afterStart(ctx context.Context, r *record, first bool) error {
	if !first {
		return nil
	}
	cfg, err := e.connConfig(r, "postgres")
	if err != nil {
		return err
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	_, err = c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{r.Database}.Sanitize()+" OWNER "+pgx.Identifier{r.AdminUser}.Sanitize())
	if err != nil {
		return fmt.Errorf("create database %s: %w", r.Database, err)
	}
	return nil
}

// applyAccess rewrites pg_hba.conf, checks that the server parses it
// (pg_hba_file_rules reads the file on disk) and makes it reload.
func (e postgres) applyAccess(ctx context.Context, r *record) error {
	if err := e.configure(r); err != nil {
		return err
	}
	cfg, err := e.connConfig(r, "postgres")
	if err != nil {
		return err
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	var bad int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL").Scan(&bad); err != nil {
		return err
	}
	if bad > 0 {
		return fmt.Errorf("pg_hba.conf of %s has %d lines the server rejects: see %s", r.ID, bad, filepath.Join(e.dataDir(r), "pg_hba.conf"))
	}
	_, err = c.Exec(ctx, "SELECT pg_reload_conf()")
	return err
}

// backup takes a plain-format base backup with the WAL it needs, so the
// copy starts as a consistent server.
func (e postgres) backup(ctx context.Context, r *record, in Installation, dir string) (string, error) {
	err := e.p.run(ctx, []string{"PGPASSWORD=" + r.Password}, filepath.Join(in.BinDir, "pg_basebackup"),
		"-h", "127.0.0.1", "-p", fmt.Sprint(r.Port), "-U", r.AdminUser, "--no-password",
		"-D", filepath.Join(dir, "data"), "-Fp", "-Xstream", "--checkpoint=fast")
	return "pg_basebackup", err
}

// restoreFiles copies a base backup into the new instance's data directory.
func (e postgres) restoreFiles(ctx context.Context, b *backupRecord, r *record) error {
	return e.p.run(ctx, nil, "cp", "-a", filepath.Join(e.p.store.backupFiles(b.ID), "data"), e.dataDir(r))
}

// setPassword changes the admin password (a restore with a new one).
func (e postgres) setPassword(ctx context.Context, r *record, old, pw string) error {
	rr := *r
	rr.Password = old
	cfg, err := e.connConfig(&rr, "postgres")
	if err != nil {
		return err
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	// ALTER ROLE takes no bind parameters: quote the literal.
	_, err = c.Exec(ctx, "ALTER ROLE "+pgx.Identifier{r.AdminUser}.Sanitize()+" PASSWORD "+quoteLiteral(pw))
	if err != nil {
		return fmt.Errorf("set admin password: %s", strings.ReplaceAll(err.Error(), pw, "[redacted]"))
	}
	return nil
}

// quoteLiteral quotes a string constant; standard_conforming_strings
// (on since PostgreSQL 9.1) keeps backslashes literal.
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// opensWider reports whether the server must listen beyond loopback.
func opensWider(r *record) bool {
	if r.PublicAccess {
		return true
	}
	for _, a := range r.Access {
		if !isLoopback(a) {
			return true
		}
	}
	return false
}
