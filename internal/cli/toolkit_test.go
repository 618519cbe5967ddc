package cli

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// envLines reads the KEY=value lines toolkit apply prints.
func envLines(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		k, v, ok := strings.Cut(l, "=")
		require.True(t, ok, "not KEY=value: %q", l)
		m[k] = v
	}
	return m
}

// TestBinaryToolkitApplyAndAppUsers runs the toolkit's step as its shell
// scripts do, on the local provider's real PostgreSQL: toolkit apply from
// stdin, twice, the port check, the application user's login and its
// limits, then dbaas user and dbaas database on the same instance. The
// password is only ever in the 0600 file.
func TestBinaryToolkitApplyAndAppUsers(t *testing.T) {
	needLocalPostgres(t)
	dir := localStateDir(t)
	work := t.TempDir()
	p := newProc(t)
	set := "--set=state_dir=" + dir
	t.Cleanup(func() {
		for _, id := range strings.Fields(p.run(set, "list", "-q").stdout) {
			p.run(set, "delete", id, "--yes", "--skip-final-backup")
		}
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())

	web := filepath.Join(work, "web.txt")
	require.NoError(t, os.WriteFile(web, []byte("10.0.0.5\n10.0.0.6 # web-2\n"), 0o600))
	pwFile := filepath.Join(work, "db.password")
	line := "Postgres:DBAAS:postgres::tkshop:shopdb:shop_user:"
	apply := func(extra ...string) result {
		t.Helper()
		args := append([]string{set, "toolkit", "apply", "-", "--web-servers", web, "--password-file", pwFile}, extra...)
		return p.runIn(line+"\n", args...)
	}

	r := apply("--port", strconv.Itoa(port))
	require.Equal(t, exitOK, r.code, r.stderr)
	env := envLines(t, r.stdout)
	assert.Equal(t, "127.0.0.1", env["DB_HOST"], "the host alone, never host:port")
	assert.Equal(t, strconv.Itoa(port), env["DB_PORT"], "made on DB_PORT: the local provider lets the port be chosen")
	assert.Equal(t, "shopdb", env["DB_NAME"])
	assert.Equal(t, "shop_user", env["DB_USER"])
	assert.Equal(t, pwFile, env["DB_PASSWORD_FILE"])
	require.NotEmpty(t, env["DB_CA_FILE"])
	fi, err := os.Stat(pwFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	pwBytes, err := os.ReadFile(pwFile)
	require.NoError(t, err)
	pw := strings.TrimSpace(string(pwBytes))
	require.GreaterOrEqual(t, len(pw), 16, "a generated password")
	assert.NotContains(t, r.stdout+r.stderr, pw)

	// The application user logs in to its database, over TLS checked
	// against the CA file, and reaches nothing else.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	connect := func(user, password, db string) (*pgx.Conn, error) {
		cfg, err := pgx.ParseConfig("host=127.0.0.1 port=" + env["DB_PORT"] + " dbname=" + db +
			" sslmode=verify-ca sslrootcert=" + env["DB_CA_FILE"])
		require.NoError(t, err)
		cfg.User, cfg.Password = user, password
		return pgx.ConnectConfig(ctx, cfg)
	}
	app, err := connect("shop_user", pw, "shopdb")
	require.NoError(t, err)
	_, err = app.Exec(ctx, "CREATE TABLE orders (id int PRIMARY KEY)")
	require.NoError(t, err, "the user owns its database")
	var super, createRole bool
	require.NoError(t, app.QueryRow(ctx, "SELECT rolsuper, rolcreaterole FROM pg_roles WHERE rolname = current_user").Scan(&super, &createRole))
	assert.False(t, super)
	assert.False(t, createRole)
	require.NoError(t, app.Close(ctx))

	// Again: nothing changes, the password is read back from its file.
	r = apply("--port", strconv.Itoa(port), "-o", "json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var res struct {
		Created bool   `json:"created"`
		Host    string `json:"host"`
		Port    int    `json:"port"`
		User    string `json:"user"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res), r.stdout)
	assert.False(t, res.Created)
	assert.Equal(t, port, res.Port)
	assert.NotContains(t, r.stdout+r.stderr, pw)
	again, err := os.ReadFile(pwFile)
	require.NoError(t, err)
	assert.Equal(t, pw, strings.TrimSpace(string(again)), "the password is unchanged")
	assert.ElementsMatch(t, []string{"cidr:10.0.0.5/32", "cidr:10.0.0.6/32"}, strings.Fields(p.ok(set, "access", "tkshop", "-q")))

	// A DB_PORT that is not the database's: exit 6, nothing changed.
	require.NoError(t, os.WriteFile(web, []byte("10.0.0.7\n"), 0o600))
	r = apply("--port", strconv.Itoa(port+1))
	assert.Equal(t, exitPortMismatch, r.code, r.stderr)
	assert.Contains(t, r.stderr, "port mismatch")
	assert.ElementsMatch(t, []string{"cidr:10.0.0.5/32", "cidr:10.0.0.6/32"}, strings.Fields(p.ok(set, "access", "tkshop", "-q")))

	// Lines that would show a password in the process list, and a file
	// given where the line goes, are usage errors before anything runs.
	r = p.run(set, "toolkit", "apply", "Postgres:DBAAS:postgres::other:db:u:Secret-pass-1", "--port", "5432", "--password-file", pwFile)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "holds a password")
	assert.NotContains(t, r.stderr, "Secret-pass-1")
	lineFile := filepath.Join(work, "line.txt")
	require.NoError(t, os.WriteFile(lineFile, []byte(line+"\n"), 0o600))
	r = p.run(set, "toolkit", "apply", lineFile, "--port", "5432", "--password-file", pwFile)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "is a file, not a line")
	assert.Len(t, strings.Fields(p.run(set, "list", "-q").stdout), 1, "no instance made by a refused line")

	// dbaas database and dbaas user on the same instance.
	p.ok(set, "database", "ensure", "tkshop", "reports")
	assert.Contains(t, strings.Fields(p.ok(set, "database", "list", "tkshop", "-q")), "reports")
	repPw := filepath.Join(work, "reports.password")
	p.ok(set, "user", "ensure", "tkshop", "reporter", "--database", "reports", "--password-file", repPw)
	b, err := os.ReadFile(repPw)
	require.NoError(t, err)
	first := strings.TrimSpace(string(b))
	c, err := connect("reporter", first, "reports")
	require.NoError(t, err)
	require.NoError(t, c.Close(ctx))
	_, err = connect("reporter", first, "shopdb")
	assert.Error(t, err, "another application's database is closed to it")
	_, err = connect("shop_user", pw, "reports")
	assert.Error(t, err, "and the other way round")

	p.ok(set, "user", "rotate", "tkshop", "reporter", "--password-file", repPw)
	b, err = os.ReadFile(repPw)
	require.NoError(t, err)
	rotated := strings.TrimSpace(string(b))
	assert.NotEqual(t, first, rotated)
	_, err = connect("reporter", first, "reports")
	assert.Error(t, err, "the old password no longer logs in")
	c, err = connect("reporter", rotated, "reports")
	require.NoError(t, err)
	require.NoError(t, c.Close(ctx))

	p.ok(set, "user", "drop", "tkshop", "reporter")
	assert.NotContains(t, strings.Fields(p.ok(set, "user", "list", "tkshop", "-q")), "reporter")
	_, err = connect("reporter", rotated, "reports")
	assert.Error(t, err, "a dropped user no longer logs in")
	p.ok(set, "database", "drop", "tkshop", "reports", "--yes")
	assert.NotContains(t, strings.Fields(p.ok(set, "database", "list", "tkshop", "-q")), "reports")
}
