package local

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/sqlq"
)

// mariadb runs MariaDB servers as account a.
type mariadb struct {
	p *servers
	a account
}

func (e mariadb) dir(r *record) string      { return e.p.store.serverDir(r.ID) }
func (e mariadb) dataDir(r *record) string  { return filepath.Join(e.dir(r), "data") }
func (e mariadb) cnf(r *record) string      { return filepath.Join(e.dir(r), "my.cnf") }
func (e mariadb) pidFile(r *record) string  { return filepath.Join(e.dir(r), "mariadbd.pid") }
func (e mariadb) initFile(r *record) string { return filepath.Join(e.dir(r), "init.sql") }

// tmpDir is the server's own temporary directory: bootstraps sharing /tmp
// collide on their temporary table names.
func (e mariadb) tmpDir(r *record) string { return filepath.Join(e.dir(r), "tmp") }

// filesDir is the only directory LOAD_FILE, LOAD DATA INFILE and SELECT
// … INTO OUTFILE may reach (secure-file-priv), whatever the privileges
// of the user: it is empty, in the instance's own directory.
func (e mariadb) filesDir(r *record) string { return filepath.Join(e.dir(r), "files") }

func (mariadb) stopSignal() syscall.Signal { return syscall.SIGTERM }

// socket is the server's Unix socket; a path too long for sun_path moves
// to the temporary directory.
func (e mariadb) socket(r *record) string {
	s := filepath.Join(e.dir(r), "mariadbd.sock")
	if len(s) > 100 {
		s = filepath.Join(os.TempDir(), "dbaaskit-"+r.ID+".sock")
	}
	return s
}

var mariaSizes = map[string]string{
	"small":  "innodb-buffer-pool-size = 16M\ninnodb-log-file-size = 16M\nmax-connections = 50\nperformance-schema = OFF\n",
	"medium": "innodb-buffer-pool-size = 128M\nmax-connections = 100\n",
	"large":  "innodb-buffer-pool-size = 512M\nmax-connections = 200\n",
}

// configure writes my.cnf, read by mariadbd, mariadb-install-db and
// mariadb-backup alike (--defaults-file: nothing from /etc/mysql).
//
// Tools read the [client] section: they log in as the provider's
// superuser (root) through the socket, or as the admin user over TCP for
// an instance whose admin user has every privilege.
func (e mariadb) configure(r *record) error {
	for _, d := range []string{e.tmpDir(r), e.filesDir(r)} {
		if err := e.a.mkdirOwned(d); err != nil {
			return err
		}
	}
	client := fmt.Sprintf("host = 127.0.0.1\nport = %d\nuser = %s\npassword = \"%s\"\n", r.Port, r.AdminUser, cnfEscape(r.Password))
	if r.confined() {
		client = fmt.Sprintf("protocol = SOCKET\nsocket = \"%s\"\nuser = root\npassword = \"%s\"\n", cnfEscape(e.socket(r)), cnfEscape(r.SuperPassword))
	}
	bind := "127.0.0.1"
	if opensWider(r) {
		bind = "*"
	}
	cnf := fmt.Sprintf(`# Managed by dbaaskit.
[mysqld]
datadir = %s
port = %d
bind-address = %s
socket = %s
pid-file = %s
tmpdir = %s
secure-file-priv = %s
skip-name-resolve
character-set-server = utf8mb4
%s%s
[client]
%s`, e.dataDir(r), r.Port, bind, e.socket(r), e.pidFile(r), e.tmpDir(r), e.filesDir(r), mariaSizes[r.Size], e.tlsOptions(r), client)
	return e.a.writeOwned(e.cnf(r), []byte(cnf))
}

// tlsOptions are the server's TLS options, written on every start so that
// a restored data directory gets this instance's files; none for an
// instance made before the servers spoke TLS.
func (e mariadb) tlsOptions(r *record) string {
	if !r.tls() {
		return ""
	}
	return fmt.Sprintf("ssl-ca = \"%s\"\nssl-cert = \"%s\"\nssl-key = \"%s\"\ntls-version = TLSv1.2,TLSv1.3\n",
		cnfEscape(e.p.caFile(r)), cnfEscape(e.p.certFile(r)), cnfEscape(e.p.keyFile(r)))
}

func cnfEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`)
}

// initialize makes the system tables. root, the provider's superuser,
// logs in through the socket only (host localhost, with skip-name-resolve)
// as the OS user root or with its password; the admin user (see
// adminGrants) and the database come from an init file on the first
// start.
func (e mariadb) initialize(ctx context.Context, r *record, in Installation) error {
	if err := e.configure(r); err != nil {
		return err
	}
	if err := e.p.run(ctx, e.a, nil, in.InstallDB, "--defaults-file="+e.cnf(r), "--auth-root-authentication-method=socket",
		"--skip-test-db"); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(%s);\n", sqlq.MyString(r.SuperPassword))
	for _, h := range []string{"localhost", "127.0.0.1", "::1"} {
		fmt.Fprintf(&b, "CREATE USER %s IDENTIFIED BY %s;\n", userAt(r.AdminUser, h), sqlq.MyString(r.Password))
		for _, q := range adminGrants(r, h) {
			b.WriteString(q + ";\n")
		}
	}
	fmt.Fprintf(&b, "CREATE DATABASE `%s`;\n", r.Database)
	return e.a.writeOwned(e.initFile(r), []byte(b.String()))
}

// adminGrants gives the admin user account user@host every privilege but
// those that reach the server's files or its global state: FILE
// (LOAD_FILE, LOAD DATA INFILE, INTO OUTFILE), SUPER and SHUTDOWN, as
// managed clouds withhold them. An instance whose admin user has every
// privilege keeps them.
func adminGrants(r *record, host string) []string {
	q := []string{fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO %s WITH GRANT OPTION", userAt(r.AdminUser, host))}
	if r.confined() {
		q = append(q, fmt.Sprintf("REVOKE FILE, SUPER, SHUTDOWN ON *.* FROM %s", userAt(r.AdminUser, host)))
	}
	return q
}

func (e mariadb) command(r *record, in Installation, first bool) (string, []string) {
	args := []string{"--defaults-file=" + e.cnf(r)}
	if first {
		args = append(args, "--init-file="+e.initFile(r))
	}
	return in.Server, args
}

// open connects as the provider's superuser through the socket or, for
// an instance whose admin user has every privilege, as the admin user
// over TCP.
func (e mariadb) open(r *record) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User = r.AdminUser
	cfg.Passwd = r.Password
	cfg.Net = "tcp"
	cfg.Addr = fmt.Sprintf("127.0.0.1:%d", r.Port)
	if r.confined() {
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = "root", r.SuperPassword, "unix", e.socket(r)
	}
	cfg.Timeout = 5 * time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	return db, nil
}

func (e mariadb) ping(ctx context.Context, r *record) error {
	db, err := e.open(r)
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// afterStart removes the init file (it holds the password) and brings
// the admin accounts in line with the access list.
func (e mariadb) afterStart(ctx context.Context, r *record, first bool) error {
	if first {
		if err := os.Remove(e.initFile(r)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return e.applyAccess(ctx, r)
}

// hostPattern turns a CIDR into a MariaDB account host: an address, or
// address/netmask for an IPv4 network. MariaDB has no IPv6 netmask form.
func hostPattern(cidr string) (string, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return "", err
	}
	if p.IsSingleIP() {
		return p.Addr().String(), nil
	}
	if !p.Addr().Is4() {
		return "", fmt.Errorf("source %s: MariaDB account hosts cannot name an IPv6 network, only single IPv6 addresses", cidr)
	}
	bits := p.Bits()
	var m [4]byte
	for i := range 4 {
		n := min(max(bits-8*i, 0), 8)
		m[i] = byte(0xff << (8 - n))
	}
	return p.Addr().String() + "/" + netip.AddrFrom4(m).String(), nil
}

// applyAccess makes the admin user's accounts exactly loopback plus one
// per allowed source: MariaDB checks the client address against them.
// When the server speaks TLS, the accounts of sources outside the
// loopback network require it (REQUIRE SSL), those restored from a backup
// too.
func (e mariadb) applyAccess(ctx context.Context, r *record) error {
	want := []string{"localhost", "127.0.0.1", "::1"}
	var remote []string
	for _, a := range r.Access {
		h, err := hostPattern(a)
		if err != nil {
			return err
		}
		want = append(want, h)
		if r.tls() && !isLoopback(a) {
			remote = append(remote, h)
		}
	}
	db, err := e.open(r)
	if err != nil {
		return err
	}
	defer db.Close()
	have, err := sqlq.Column(ctx, db, "SELECT Host FROM mysql.user WHERE User = ?", r.AdminUser)
	if err != nil {
		return err
	}
	for _, h := range want {
		if slices.Contains(have, h) {
			continue
		}
		for _, q := range append([]string{fmt.Sprintf("CREATE USER %s IDENTIFIED BY %s", userAt(r.AdminUser, h), sqlq.MyString(r.Password))},
			adminGrants(r, h)...) {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("add account host %s: %s", h, strings.ReplaceAll(err.Error(), r.Password, "[redacted]"))
			}
		}
	}
	for _, h := range remote {
		if _, err := db.ExecContext(ctx, "ALTER USER "+userAt(r.AdminUser, h)+" REQUIRE SSL"); err != nil {
			return fmt.Errorf("require TLS of account host %s: %w", h, err)
		}
	}
	for _, h := range have {
		if !slices.Contains(want, h) {
			if _, err := db.ExecContext(ctx, "DROP USER "+userAt(r.AdminUser, h)); err != nil {
				return fmt.Errorf("remove account host %s: %w", h, err)
			}
		}
	}
	return nil
}

// Backup methods recorded with each MariaDB backup.
const (
	methodMariaBackup = "mariadb-backup"
	methodMariaDump   = "mariadb-dump"
)

// backup takes a physical backup with mariadb-backup and prepares it, so
// that it is a consistent data directory ready to copy back. Without
// mariadb-backup it falls back to a logical dump of the user databases
// (mariadb-dump, one transaction): accounts other than the admin user are
// not in it.
func (e mariadb) backup(ctx context.Context, r *record, in Installation, dir string) (string, error) {
	if in.Backup == "" {
		return e.dump(ctx, r, in, dir)
	}
	target := filepath.Join(dir, "data")
	if err := e.p.run(ctx, e.a, nil, in.Backup, "--defaults-file="+e.cnf(r), "--backup", "--target-dir="+target); err != nil {
		return "", err
	}
	if err := e.p.run(ctx, e.a, nil, in.Backup, "--prepare", "--target-dir="+target); err != nil {
		return "", err
	}
	return methodMariaBackup, nil
}

func (e mariadb) dump(ctx context.Context, r *record, in Installation, dir string) (string, error) {
	if in.Dump == "" || in.Client == "" {
		return "", fail(dbaas.ErrUnsupported, errors.New("neither mariadb-backup nor mariadb-dump is installed: "+installMariaDB))
	}
	db, err := e.open(r)
	if err != nil {
		return "", err
	}
	defer db.Close()
	names, err := sqlq.Column(ctx, db, "SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN ('mysql', 'sys', 'performance_schema', 'information_schema') ORDER BY 1")
	if err != nil {
		return "", err
	}
	args := []string{"--defaults-file=" + e.cnf(r), "--single-transaction", "--routines", "--events", "--triggers",
		"--result-file=" + filepath.Join(dir, "dump.sql"), "--databases"}
	if err := e.p.run(ctx, e.a, nil, in.Dump, append(args, names...)...); err != nil {
		return "", err
	}
	return methodMariaDump, nil
}

// loadDump loads a logical backup into a new, running instance.
func (e mariadb) loadDump(ctx context.Context, b *backupRecord, r *record) error {
	in, err := e.p.installation(dbaas.MariaDB, b.Version)
	if err != nil {
		return err
	}
	if in.Client == "" {
		return fail(dbaas.ErrUnsupported, errors.New("the mariadb client is not installed: "+installMariaDB))
	}
	return e.p.runInput(ctx, e.a, filepath.Join(e.p.store.backupFiles(b.ID), "dump.sql"), in.Client, "--defaults-file="+e.cnf(r))
}

// restoreFiles copies a prepared backup into the new data directory as
// this process (the backup is its own, not readable by the instance's
// user), then gives the copy to the instance's user.
func (e mariadb) restoreFiles(ctx context.Context, b *backupRecord, r *record) error {
	in, err := e.p.installation(dbaas.MariaDB, b.Version)
	if err != nil {
		return err
	}
	if in.Backup == "" {
		return fail(dbaas.ErrUnsupported, errors.New("mariadb-backup is not installed: "+installMariaDB))
	}
	if err := e.configure(r); err != nil {
		return err
	}
	if err := e.p.run(ctx, processAccount, nil, in.Backup, "--defaults-file="+e.cnf(r), "--copy-back",
		"--target-dir="+filepath.Join(e.p.store.backupFiles(b.ID), "data")); err != nil {
		return err
	}
	return e.a.chownTree(e.dataDir(r))
}

// setPassword changes the password of every admin account; old is the
// admin user's password, for an instance where it has every privilege.
func (e mariadb) setPassword(ctx context.Context, r *record, old, pw string) error {
	rr := *r
	rr.Password = old
	db, err := e.open(&rr)
	if err != nil {
		return err
	}
	defer db.Close()
	hosts, err := sqlq.Column(ctx, db, "SELECT Host FROM mysql.user WHERE User = ?", r.AdminUser)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		if _, err := db.ExecContext(ctx, "ALTER USER "+userAt(r.AdminUser, h)+" IDENTIFIED BY "+sqlq.MyString(pw)); err != nil {
			return fmt.Errorf("set admin password: %s", strings.ReplaceAll(err.Error(), pw, "[redacted]"))
		}
	}
	return nil
}

// userAt quotes user@host.
func userAt(user, host string) string { return sqlq.MyString(user) + "@" + sqlq.MyString(host) }
