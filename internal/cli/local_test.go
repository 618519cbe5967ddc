package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

// needLocalPostgres skips (fails under DBAAS_INTEGRATION=1) when the
// local provider finds no PostgreSQL installation, wherever its binaries
// live (Debian keeps them off PATH).
func needLocalPostgres(t *testing.T) {
	t.Helper()
	for _, in := range local.Discover(context.Background()) {
		if in.Engine == dbaas.Postgres {
			return
		}
	}
	testenv.Skip(t, "the local provider finds no PostgreSQL: install postgresql-15")
}

// localStateDir is a state directory the local provider's servers can
// enter (t.TempDir's parents are mode 0700).
func localStateDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dbaas-cli-local-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// TestBinaryLocalPostgresLifecycle drives the default provider, real
// PostgreSQL servers on this machine, through separate invocations of the
// tool, as a shell script would: state carries over on disk.
func TestBinaryLocalPostgresLifecycle(t *testing.T) {
	needLocalPostgres(t)
	dir := localStateDir(t)
	p := newProc(t)
	set := "--set=state_dir=" + dir
	t.Cleanup(func() {
		for _, id := range strings.Fields(p.run(set, "list", "-q").stdout) {
			p.run(set, "delete", id, "--yes", "--skip-final-backup")
		}
	})

	// No --wait: the tool still sees the build through, since the server
	// is set up by this very process.
	r := p.run(set, "create", "shop", "--engine", "postgres", "--size", "small")
	require.Equal(t, exitOK, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)
	assert.Regexp(t, `(?m)^status:\s+available`, p.ok(set, "get", "shop"))

	uri := strings.TrimSpace(p.ok(set, "connection", "shop", "--show-secrets"))
	assert.NotContains(t, p.ok(set, "connection", "shop"), passwordOf(t, uri))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sqlExec := func(uri, sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, uri)
		require.NoError(t, err)
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		require.NoError(t, err)
	}
	sqlExec(uri, "create table marker (v text); insert into marker values ('before')")

	port := strings.TrimSpace(p.ok(set, "port", "shop"))
	p.ok(set, "check-port", "shop", "--expect", port)
	assert.Equal(t, "127.0.0.1\n", p.ok(set, "endpoint", id))

	bid := strings.TrimSpace(p.ok(set, "backup", "shop", "--name", "before"))
	sqlExec(uri, "insert into marker values ('after')")
	var backups []map[string]any
	require.NoError(t, json.Unmarshal([]byte(p.ok(set, "backups", "shop", "-o", "json")), &backups))
	require.Len(t, backups, 1)
	assert.Equal(t, bid, backups[0]["id"])

	rid := strings.TrimSpace(p.ok(set, "restore", bid, "shop-copy", "--from", "shop", "--wait", "--poll", "200ms"))
	assert.NotEqual(t, id, rid)
	ruri := strings.TrimSpace(p.ok(set, "connection", rid, "--show-secrets"))
	conn, err := pgx.Connect(ctx, ruri)
	require.NoError(t, err)
	rows, err := conn.Query(ctx, "select v from marker order by v")
	require.NoError(t, err)
	vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.NoError(t, conn.Close(ctx))
	assert.Equal(t, []string{"before"}, vals, "the restore holds what the backup held, nothing after")

	r = p.run(set, "delete", "shop", "--yes", "--final-backup-name", "shop-last", "-o", "json")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"final_backup": "shop-last"`)
	assert.Equal(t, exitNotFound, p.run(set, "get", "shop").code)
}

func passwordOf(t *testing.T, uri string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(uri)
	require.NoError(t, err)
	require.NotEmpty(t, cfg.Password)
	return cfg.Password
}

// TestBinarySimBackedByLocalPostgres proves that "dbaas sim" puts a real
// database behind a simulated cluster, and removes it on Ctrl-C.
func TestBinarySimBackedByLocalPostgres(t *testing.T) {
	needLocalPostgres(t)
	dir := localStateDir(t)
	cmd, stdout, errb := newProc(t).start("sim", "--backend", "local", "--state-dir", dir, "--provision-delay", "0s")

	var env []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		env = append(env, strings.TrimPrefix(sc.Text(), "export "))
		if strings.HasPrefix(sc.Text(), "export "+baseURLEnv("linode")) {
			break
		}
	}
	p := newProc(t, append(env, "DBAAS_PROVIDER=digitalocean")...)
	r := p.run("create", "shop", "--engine", "pg", "--size", "db-s-1vcpu-1gb", "--region", "nyc1", "--wait", "--poll", "200ms", "--timeout", "3m")
	require.Equal(t, exitOK, r.code, r.stderr)
	uri := strings.TrimSpace(p.ok("connection", "shop", "--show-secrets"))
	require.Regexp(t, `@127\.\d+\.\d+\.\d+:25060/`, uri, "the simulated cluster's endpoint: a loopback address of its own, on DigitalOcean's port")

	selectOne(t, uri)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, cmd.Wait(), errb.String())
	c, err := pgx.Connect(ctx, uri)
	if err == nil {
		_ = c.Close(ctx)
	}
	assert.Error(t, err, "the server behind the simulated cluster is gone after Ctrl-C")
}
