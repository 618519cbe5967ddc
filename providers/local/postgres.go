package local

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"

	"github.com/agiledeploy/dbaaskit/internal/sqlq"
)

// postgres runs PostgreSQL servers as account a.
type postgres struct {
	p *servers
	a account
}

// pgSuperuser is the provider's own superuser, the bootstrap one: it
// logs in through the Unix socket only. "postgres" is a reserved name, so
// no admin user takes it.
const pgSuperuser = "postgres"

// socketDir is the directory of the server's Unix socket: its server
// directory (mode 0700, the instance's user's), or one in the temporary
// directory when that path is too long for a socket.
func (e postgres) socketDir(r *record) string {
	d := e.p.store.serverDir(r.ID)
	if len(d)+len("/.s.PGSQL.65535.lock") > 100 {
		d = filepath.Join(os.TempDir(), "dbaaskit-"+r.ID)
	}
	return d
}

func (e postgres) dataDir(r *record) string { return filepath.Join(e.p.store.serverDir(r.ID), "data") }
func (e postgres) pidFile(r *record) string { return filepath.Join(e.dataDir(r), "postmaster.pid") }
func (postgres) stopSignal() syscall.Signal { return syscall.SIGINT } // fast shutdown

// initialize runs initdb with the provider's superuser as the bootstrap
// one and scram-sha-256 for every connection; the admin user is made on
// the first start. The password reaches initdb through a file only the
// account can read, removed at once.
func (e postgres) initialize(ctx context.Context, r *record, in Installation) error {
	dir := e.p.store.serverDir(r.ID)
	pwfile := filepath.Join(dir, "pwfile")
	if err := e.a.writeOwned(pwfile, []byte(r.SuperPassword+"\n")); err != nil {
		return err
	}
	defer os.Remove(pwfile)
	err := e.p.run(ctx, e.a, nil, filepath.Join(in.BinDir, "initdb"), "-D", e.dataDir(r), "-U", pgSuperuser,
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

// configure writes dbaaskit.conf and pg_hba.conf from the record. Users
// connect over TCP with a password; the provider's superuser over the
// Unix socket, in a directory only the instance's user may enter (none
// for an instance whose admin user is the superuser).
func (e postgres) configure(r *record) error {
	listen := "127.0.0.1"
	if opensWider(r) {
		listen = "*"
	}
	socket := "''"
	if r.confined() {
		if err := e.a.mkdirOwned(e.socketDir(r)); err != nil {
			return err
		}
		socket = sqlq.PGString(e.socketDir(r)) + "\nunix_socket_permissions = 0700"
	}
	conf := fmt.Sprintf("port = %d\nlisten_addresses = '%s'\nunix_socket_directories = %s\npassword_encryption = 'scram-sha-256'\n%s",
		r.Port, listen, socket, pgSizes[r.Size])
	if r.tls() {
		// Written on every start: a restored data directory names this
		// instance's files, never those of the instance it came from.
		conf += fmt.Sprintf("ssl = on\nssl_cert_file = %s\nssl_key_file = %s\nssl_min_protocol_version = 'TLSv1.2'\n",
			sqlq.PGString(e.p.certFile(r)), sqlq.PGString(e.p.keyFile(r)))
	}
	if err := e.a.writeOwned(filepath.Join(e.dataDir(r), "dbaaskit.conf"), []byte(conf)); err != nil {
		return err
	}
	return e.a.writeOwned(filepath.Join(e.dataDir(r), "pg_hba.conf"), []byte(pgHBA(r)))
}

// pgHBA is the whole pg_hba.conf: the provider's superuser through the
// Unix socket only, then loopback always, plus one line per allowed
// source, all with scram-sha-256. When the server speaks TLS, sources
// outside the loopback network must use it (hostssl): passwords and data
// cross the network encrypted.
func pgHBA(r *record) string {
	var b strings.Builder
	b.WriteString("# Managed by dbaaskit: Allow and Revoke rewrite this file.\n")
	b.WriteString("# TYPE  DATABASE     USER  ADDRESS  METHOD\n")
	if r.confined() {
		for _, db := range []string{"all        ", "replication"} {
			fmt.Fprintf(&b, "local   %s  %s        scram-sha-256\n", db, pgSuperuser)
		}
		for _, addr := range []string{"0.0.0.0/0", "::/0"} {
			for _, db := range []string{"all        ", "replication"} {
				fmt.Fprintf(&b, "host    %s  %s  %s  reject\n", db, pgSuperuser, addr)
			}
		}
	}
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

// connect opens a connection to the maintenance database as the
// provider's superuser through the Unix socket or, for an instance whose
// admin user is the superuser, as the admin user with password (the
// record's unless given) over TCP.
func (e postgres) connect(ctx context.Context, r *record, password string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=127.0.0.1 port=%d sslmode=disable connect_timeout=5", r.Port))
	if err != nil {
		return nil, err
	}
	cfg.User, cfg.Password, cfg.Database = r.AdminUser, cmp.Or(password, r.Password), "postgres"
	if r.confined() {
		cfg.Host, cfg.User, cfg.Password = e.socketDir(r), pgSuperuser, r.SuperPassword
	}
	return pgx.ConnectConfig(ctx, cfg)
}

// ping connects as the provider's superuser (or the admin user) to the
// maintenance database.
func (e postgres) ping(ctx context.Context, r *record) error {
	c, err := e.connect(ctx, r, "")
	if err != nil {
		return err
	}
	return c.Close(ctx)
}

// afterStart creates the admin user and its database on the first start.
// The admin user may create databases and roles, as on managed clouds,
// but is no superuser and has none of the predefined roles that reach the
// server's files or programs (pg_read_server_files,
// pg_write_server_files, pg_execute_server_program).
func (e postgres) afterStart(ctx context.Context, r *record, first bool) error {
	if !first {
		return nil
	}
	c, err := e.connect(ctx, r, "")
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	// CREATE ROLE takes no bind parameters: quote the literal.
	_, err = c.Exec(ctx, "CREATE ROLE "+pgx.Identifier{r.AdminUser}.Sanitize()+
		" LOGIN CREATEDB CREATEROLE NOSUPERUSER NOREPLICATION NOBYPASSRLS PASSWORD "+sqlq.PGString(r.Password))
	if err != nil {
		return fmt.Errorf("create admin user %s: %s", r.AdminUser, strings.ReplaceAll(err.Error(), r.Password, "[redacted]"))
	}
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
	c, err := e.connect(ctx, r, "")
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
	host, user, pw := "127.0.0.1", r.AdminUser, r.Password
	if r.confined() {
		host, user, pw = e.socketDir(r), pgSuperuser, r.SuperPassword
	}
	err := e.p.run(ctx, e.a, []string{"PGPASSWORD=" + pw}, filepath.Join(in.BinDir, "pg_basebackup"),
		"-h", host, "-p", fmt.Sprint(r.Port), "-U", user, "--no-password",
		"-D", filepath.Join(dir, "data"), "-Fp", "-Xstream", "--checkpoint=fast")
	return "pg_basebackup", err
}

// restoreFiles copies a base backup into the new instance's data
// directory, then gives it to the instance's user: the backup is this
// process's, not readable by that user.
func (e postgres) restoreFiles(ctx context.Context, b *backupRecord, r *record) error {
	if err := e.p.run(ctx, processAccount, nil, "cp", "-a", filepath.Join(e.p.store.backupFiles(b.ID), "data"), e.dataDir(r)); err != nil {
		return err
	}
	return e.a.chownTree(e.dataDir(r))
}

// setPassword changes the admin password (a restore with a new one); old
// is the admin user's password, for an instance where it is the
// superuser.
func (e postgres) setPassword(ctx context.Context, r *record, old, pw string) error {
	c, err := e.connect(ctx, r, old)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	// ALTER ROLE takes no bind parameters: quote the literal.
	_, err = c.Exec(ctx, "ALTER ROLE "+pgx.Identifier{r.AdminUser}.Sanitize()+" PASSWORD "+sqlq.PGString(pw))
	if err != nil {
		return fmt.Errorf("set admin password: %s", strings.ReplaceAll(err.Error(), pw, "[redacted]"))
	}
	return nil
}

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
