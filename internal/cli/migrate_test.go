package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/local"
	"github.com/agiledeploy/dbaaskit/providers/memory"
)

// migrateCLI runs the tool in-process with "local" (real servers in a
// state directory of the test) and "memory" as the providers.
type migrateCLI struct {
	t     *testing.T
	local *local.Provider
	mem   *memory.Provider
}

func newMigrateCLI(t *testing.T) *migrateCLI {
	t.Helper()
	needLocalPostgres(t)
	p, err := local.New(context.Background(), local.Options{StateDir: localStateDir(t)})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		list, _ := p.List(ctx)
		for _, inst := range list {
			assert.NoError(t, p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
		}
		_ = p.Close()
	})
	return &migrateCLI{t: t, local: p, mem: memory.New(memory.Options{})}
}

// noClose is a provider whose Close does nothing, for a test's providers
// that outlive the commands run on them.
type noClose struct{ dbaas.Provider }

func (noClose) Close() error { return nil }

func (c *migrateCLI) run(args ...string) result {
	c.t.Helper()
	a, out, errb := testApp("")
	a.isTerminal = func(any) bool { return false }
	a.open = func(_ context.Context, name string, _ dbaas.Config) (dbaas.Provider, error) {
		// the providers outlive each run: hide their Close from the app
		if name == "memory" {
			return noClose{c.mem}, nil
		}
		return noClose{c.local}, nil
	}
	a.providers = func() []string { return []string{"local", "memory"} }
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := a.run(ctx, args)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func (c *migrateCLI) pgExec(name, sql string) {
	c.t.Helper()
	ctx := context.Background()
	inst, err := dbaas.FindByName(ctx, c.local, name)
	require.NoError(c.t, err)
	conn, err := c.local.Connection(ctx, inst.ID)
	require.NoError(c.t, err)
	ca, err := conn.WriteCAFile(c.t.TempDir())
	require.NoError(c.t, err)
	u, err := conn.PostgresURL(dbaas.DSNOptions{CAFile: ca})
	require.NoError(c.t, err)
	pc, err := pgx.Connect(ctx, u)
	require.NoError(c.t, err)
	defer pc.Close(ctx)
	_, err = pc.Exec(ctx, sql)
	require.NoError(c.t, err)
}

// TestMigrateCommand runs dbaas migrate, dump take and dump load as a
// script would: a copy made with --create and verified, a second copy
// refused, --verify-only after a planted change, and the usage errors
// that must come before any side effect.
func TestMigrateCommand(t *testing.T) {
	c := newMigrateCLI(t)
	r := c.run("create", "shop", "--engine", "postgres", "--size", "small", "--wait", "-q")
	require.Equal(t, exitOK, r.code, r.stderr)
	c.pgExec("shop", `CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders SELECT g, 'n;' || g FROM generate_series(1, 500) g;
CREATE TABLE audit (msg text); INSERT INTO audit VALUES ('x'), (NULL);`)

	r = c.run("migrate", "--from", "local:shop", "--to", "local:shop-copy", "--create")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Regexp(t, `public\.orders\s+match\s+500\s+500\s+checksum`, r.stdout)
	assert.Regexp(t, `public\.audit\s+match\s+2\s+2\s+count only \(no primary key\)`, r.stdout)
	assert.Contains(t, r.stdout, "local:shop to local:shop-copy: complete")
	assert.Contains(t, r.stderr, "created local:shop-copy")

	r = c.run("migrate", "--from", "local:shop", "--to", "local:shop-copy", "-o", "json")
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "target database is not empty: it holds 2 tables")
	var rep struct {
		Complete bool
		Stage    string
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	assert.False(t, rep.Complete)
	assert.Equal(t, "check", rep.Stage)

	r = c.run("migrate", "--from", "local:shop", "--to", "local:shop-copy", "--verify-only")
	assert.Equal(t, exitOK, r.code, r.stderr)
	c.pgExec("shop-copy", "DELETE FROM orders WHERE id = 7")
	r = c.run("migrate", "--from", "local:shop", "--to", "local:shop-copy", "--verify-only")
	assert.Equal(t, exitFailure, r.code)
	assert.Regexp(t, `public\.orders\s+mismatch\s+500\s+499`, r.stdout)
	assert.Contains(t, r.stderr, "table public.orders differs (500 rows in the source, 499 in the target)")

	// take to a file, then load it into a new instance
	file := filepath.Join(t.TempDir(), "shop.sql.gz")
	r = c.run("dump", "take", "shop", "--gzip", "--out", file)
	require.Equal(t, exitOK, r.code, r.stderr)
	fi, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	r = c.run("create", "shop-three", "--engine", "postgres", "--size", "small", "--wait", "-q")
	require.Equal(t, exitOK, r.code, r.stderr)
	r = c.run("dump", "load", "shop-three", file)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "into shop-three:")
	assert.Contains(t, r.stdout, "2 tables")
	r = c.run("migrate", "--from", "local:shop", "--to", "local:shop-three", "--verify-only", "-q")
	assert.Equal(t, exitOK, r.code, r.stderr)
	r = c.run("dump", "load", "shop-three", file)
	assert.Equal(t, exitFailure, r.code)
	assert.Regexp(t, `dump line \d+: ERROR: +relation "audit" already exists \(nothing was committed\)`, r.stderr)

	list := c.run("list", "-q").stdout
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no sides", []string{"migrate"}, "--from and --to are required"},
		{"no provider", []string{"migrate", "--from", "shop", "--to", "local:x"}, `--from "shop": want PROVIDER:INSTANCE`},
		{"unknown provider", []string{"migrate", "--from", "heroku:shop", "--to", "local:x"}, `unknown provider "heroku"`},
		{"size across providers", []string{"migrate", "--from", "local:shop", "--to", "memory:x", "--create"}, "--size is required"},
		{"size without create", []string{"migrate", "--from", "local:shop", "--to", "local:x", "--size", "small"}, "only with --create"},
		{"verify-only creates nothing", []string{"migrate", "--from", "local:shop", "--to", "local:x", "--verify-only", "--create"}, "--verify-only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.run(tc.args...)
			assert.Equal(t, exitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.want)
		})
	}
	r = c.run("migrate", "--from", "local:nope", "--to", "local:shop-copy")
	assert.Equal(t, exitNotFound, r.code, r.stderr)
	assert.Equal(t, list, c.run("list", "-q").stdout, "no instance made by a refused command")
	assert.Empty(t, c.run("--provider", "memory", "list", "-q").stdout)
	assert.False(t, strings.Contains(r.stderr, "password"))
}

// TestMigrateSidesOwnRegionAndAccess checks that --from-region and
// --to-region open each side's provider in its own region (over
// --region), and that --create makes the target with the access list
// --allow gives, not the source's.
func TestMigrateSidesOwnRegionAndAccess(t *testing.T) {
	ctx := context.Background()
	mem := memory.New(memory.Options{})
	src, err := mem.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small",
		Access: []dbaas.Source{dbaas.MustParseSource("10.9.0.0/16")}})
	require.NoError(t, err)
	run := func(args ...string) ([]string, result) {
		a, out, errb := testApp("")
		a.isTerminal = func(any) bool { return false }
		var opened []string
		a.open = func(_ context.Context, name string, cfg dbaas.Config) (dbaas.Provider, error) {
			opened = append(opened, name+"@"+cfg.Region)
			return noClose{mem}, nil
		}
		a.providers = func() []string { return []string{"local", "memory"} }
		code := a.run(ctx, args)
		return opened, result{stdout: out.String(), stderr: errb.String(), code: code}
	}

	opened, r := run("--region", "r0", "migrate", "--from", "memory:shop", "--from-region", "r1", "--to", "memory:nope", "--to-region", "r2")
	assert.Equal(t, exitNotFound, r.code, r.stderr)
	assert.Equal(t, []string{"memory@r1", "memory@r2"}, opened, "each side in its own region")
	opened, r = run("--region", "r0", "migrate", "--from", "memory:shop", "--to", "memory:nope")
	assert.Equal(t, exitNotFound, r.code, r.stderr)
	assert.Equal(t, []string{"memory@r0"}, opened, "one provider and region: opened once")

	_, r = run("migrate", "--from", "memory:shop", "--to", "memory:x", "--allow", "203.0.113.7/32")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "only with --create")
	_, r = run("migrate", "--from", "memory:shop", "--to", "memory:x", "--create", "--allow", "not-a-source")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--allow")

	// The memory provider has no server to copy from, so the copy fails
	// after the create: the target exists with the access --allow gave.
	_, r = run("migrate", "--from", "memory:shop", "--to", "memory:shop-copy", "--create", "--allow", "203.0.113.7/32")
	assert.NotEqual(t, exitOK, r.code)
	dst, err := dbaas.FindByName(ctx, mem, "shop-copy")
	require.NoError(t, err, r.stderr)
	access, err := mem.Access(ctx, dst.ID)
	require.NoError(t, err)
	assert.Equal(t, []dbaas.Source{dbaas.MustParseSource("203.0.113.7/32")}, access)
	assert.NotEqual(t, src.ID, dst.ID)
}
