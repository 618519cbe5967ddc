package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/providers/memory"
)

// cli runs the command in-process against one memory provider shared by
// every call, as a cloud is shared by every invocation of the tool.
type cli struct {
	t        *testing.T
	p        *memory.Provider
	terminal bool        // what the injected terminal check answers
	clock    dbaas.Clock // the tool's clock; nil means the system's
	opened   []dbaas.Config
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	return &cli{t: t, p: memory.New(memory.Options{})}
}

type result struct {
	stdout, stderr string
	code           int
}

// testApp is an app on in-memory streams that sees no environment
// variable of the machine running the tests.
func testApp(stdin string) (a *app, stdout, stderr *bytes.Buffer) {
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	a = newApp(strings.NewReader(stdin), stdout, stderr)
	a.getenv = func(string) string { return "" }
	return a, stdout, stderr
}

// keepOpen is the test's provider as one command sees it: the command
// closes what it opened, and the test's provider lives on for the next.
type keepOpen struct{ *memory.Provider }

func (keepOpen) Close() error { return nil }

func (c *cli) runIn(stdin string, args ...string) result {
	c.t.Helper()
	a, out, errb := testApp(stdin)
	a.isTerminal = func(any) bool { return c.terminal }
	a.open = func(_ context.Context, name string, cfg dbaas.Config) (dbaas.Provider, error) {
		c.opened = append(c.opened, cfg)
		require.Equal(c.t, "memory", name)
		return keepOpen{c.p}, nil
	}
	a.providers = func() []string { return []string{"memory"} }
	if c.clock != nil {
		a.clock = c.clock
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code := a.run(ctx, append([]string{"--provider", "memory"}, args...))
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func (c *cli) run(args ...string) result {
	c.t.Helper()
	return c.runIn("", args...)
}

// ok runs a command that must succeed and returns its stdout.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	require.Equal(c.t, exitOK, r.code, "dbaas %s: %s", strings.Join(args, " "), r.stderr)
	return r.stdout
}

func (c *cli) create(name string, extra ...string) string {
	c.t.Helper()
	id := strings.TrimSpace(c.ok(append([]string{"create", name, "--engine", "postgres", "--size", "small", "-q"}, extra...)...))
	require.NotEmpty(c.t, id)
	return id
}

func TestCreatePrintsIDAndGetShowsIt(t *testing.T) {
	c := newCLI(t)
	r := c.run("create", "shop", "--engine", "postgres", "--size", "small", "--version", "16", "--tag", "env=prod", "--allow", "10.0.0.0/16")
	require.Equal(t, exitOK, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)
	assert.NotContains(t, id, "\n", "create prints the id alone")
	assert.Contains(t, r.stderr, "created shop ("+id+")")

	inst, err := c.p.Get(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, "shop", inst.Name)
	assert.Equal(t, dbaas.Postgres, inst.Engine)
	assert.Equal(t, "prod", inst.Tags["env"])
	access, err := c.p.Access(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, []string{"cidr:10.0.0.0/16"}, sourceStrings(access))

	got := c.ok("get", "shop") // by name
	assert.Regexp(t, `(?m)^id:\s+`+id+`$`, got)
	assert.Regexp(t, `(?m)^engine:\s+postgres 16$`, got)
	assert.Regexp(t, `(?m)^status:\s+available`, got)

	var js map[string]any
	require.NoError(t, json.Unmarshal([]byte(c.ok("get", id, "-o", "json")), &js))
	assert.Equal(t, id, js["id"])
	assert.Equal(t, "available", js["status"])
	assert.Equal(t, "postgres", js["engine"])
}

func TestCreateJSONIsTheInstance(t *testing.T) {
	c := newCLI(t)
	var got struct {
		ID       string         `json:"id"`
		Name     string         `json:"name"`
		Created  bool           `json:"created"`
		Endpoint dbaas.Endpoint `json:"endpoint"`
	}
	require.NoError(t, json.Unmarshal([]byte(c.ok("create", "shop", "--engine", "mysql", "--size", "small", "-o", "json", "--wait", "--poll", "10ms")), &got))
	assert.Equal(t, "shop", got.Name)
	assert.True(t, got.Created)
	assert.NotEmpty(t, got.ID)
	assert.NotZero(t, got.Endpoint.Port)
}

func TestEnsureReusesAndRefusesAnotherEngine(t *testing.T) {
	c := newCLI(t)
	id := c.create("shop")
	r := c.run("ensure", "shop", "--engine", "postgres", "--size", "small")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, id, strings.TrimSpace(r.stdout))
	assert.Contains(t, r.stderr, "reusing shop")

	r = c.run("ensure", "shop", "--engine", "mysql", "--size", "small")
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "exists with engine postgres")
	assert.Empty(t, r.stdout)

	list, err := c.p.List(context.Background())
	require.NoError(t, err)
	assert.Len(t, list, 1, "ensure made no second instance")
}

func TestListTableAndJSON(t *testing.T) {
	c := newCLI(t)
	assert.Equal(t, "[]\n", c.ok("list", "-o", "json"), "an empty list is [] for programs, not null")
	a := c.create("alpha")
	b := c.create("beta-db")
	out := c.ok("list")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	assert.Regexp(t, `^ID\s+NAME\s+ENGINE\s+STATUS\s+ENDPOINT`, lines[0])
	// Columns line up: each name starts where the header's NAME does.
	col := strings.Index(lines[0], "NAME")
	for _, l := range lines[1:] {
		assert.Contains(t, []string{"alpha", "beta-db"}, strings.Fields(l[col:])[0])
	}
	assert.ElementsMatch(t, []string{a, b}, strings.Fields(c.ok("list", "-q")))

	var js []dbaas.Instance
	require.NoError(t, json.Unmarshal([]byte(c.ok("list", "-o", "json")), &js))
	assert.Len(t, js, 2)
}

func TestEndpointPortAndCheckPort(t *testing.T) {
	c := newCLI(t)
	id := c.create("shop")
	inst, err := c.p.Get(context.Background(), id)
	require.NoError(t, err)

	assert.Equal(t, inst.Endpoint.Host+"\n", c.ok("endpoint", "shop"), "the host alone, never with :port")
	assert.Equal(t, itoa(inst.Endpoint.Port)+"\n", c.ok("port", "shop"))
	assert.JSONEq(t, `{"host":"`+inst.Endpoint.Host+`","port":`+itoa(inst.Endpoint.Port)+`}`, c.ok("endpoint", id, "-o", "json"))

	assert.Equal(t, itoa(inst.Endpoint.Port)+"\n", c.ok("check-port", "shop", "--expect", itoa(inst.Endpoint.Port)))
	r := c.run("check-port", "shop", "--expect", "2035")
	assert.Equal(t, exitPortMismatch, r.code)
	assert.Contains(t, r.stderr, "configured port 2035")
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line")

	r = c.run("endpoint", "shop", "--private")
	if inst.PrivateEndpoint.IsZero() {
		assert.Equal(t, exitUnsupported, r.code, r.stderr)
	} else {
		assert.Equal(t, inst.PrivateEndpoint.Host+"\n", r.stdout)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

func TestConnectionHidesThePasswordUnlessAsked(t *testing.T) {
	c := newCLI(t)
	const pw = "Corr3ctHorseBattery"
	r := c.runIn(pw+"\n", "create", "pgshop", "--engine", "postgres", "--size", "small", "--admin-password-file", "-")
	require.Equal(t, exitOK, r.code, r.stderr)
	r = c.runIn(pw+"\n", "create", "myshop", "--engine", "mysql", "--size", "small", "--admin-password-file", "-")
	require.Equal(t, exitOK, r.code, r.stderr)

	for _, name := range []string{"pgshop", "myshop"} {
		t.Run(name, func(t *testing.T) {
			for _, args := range [][]string{
				{"connection", name}, {"connection", name, "-o", "json"}, {"connection", name, "--format", "uri"},
				{"get", name}, {"get", name, "-o", "json"}, {"list"}, {"list", "-o", "json"},
			} {
				if name == "pgshop" && slicesContains(args, "--format") {
					continue
				}
				r := c.run(args...)
				require.Equal(t, exitOK, r.code, "%v: %s", args, r.stderr)
				assert.NotContains(t, r.stdout+r.stderr, pw, "%v shows the password", args)
			}
			shown := c.ok("connection", name, "--show-secrets")
			assert.Contains(t, shown, pw)
			assert.NotContains(t, c.ok("connection", name), pw)
			assert.Contains(t, c.ok("connection", name), redactedPassword)
			var js connectionResult
			require.NoError(t, json.Unmarshal([]byte(c.ok("connection", name, "-o", "json", "--show-secrets")), &js))
			assert.Equal(t, pw, js.Password)
			assert.Contains(t, js.URI, pw)
		})
	}
	assert.True(t, strings.HasPrefix(c.ok("connection", "pgshop"), "postgres://"))
	assert.True(t, strings.HasPrefix(c.ok("connection", "myshop", "--format", "uri"), "mysql://"))
	assert.Contains(t, c.ok("connection", "myshop"), "@tcp(", "MySQL gets a go-sql-driver DSN")
}

func slicesContains(ss []string, s string) bool {
	for _, v := range ss {
		if v == s {
			return true
		}
	}
	return false
}

func TestAccessCommands(t *testing.T) {
	c := newCLI(t)
	id := c.create("shop")
	assert.Equal(t, "cidr:10.0.0.5/32\ncidr:10.1.0.0/16\n", c.ok("allow", "shop", "10.0.0.5", "10.1.0.0/16"))
	assert.Equal(t, "cidr:10.0.0.5/32\ncidr:10.1.0.0/16\n", c.ok("access", id))
	assert.Equal(t, "cidr:10.1.0.0/16\n", c.ok("revoke", "shop", "10.0.0.5/32"))
	assert.JSONEq(t, `{"id":"`+id+`","sources":["cidr:10.1.0.0/16"]}`, c.ok("access", "shop", "-o", "json"))

	r := c.run("allow", "shop", "0.0.0.0/0")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--allow-world")
	c.ok("allow", "shop", "0.0.0.0/0", "--allow-world")
}

func TestSyncAccessFromArgsFileAndStdin(t *testing.T) {
	c := newCLI(t)
	c.create("shop")
	c.ok("allow", "shop", "10.0.0.1", "10.0.0.2")

	out := c.ok("sync-access", "shop", "10.0.0.2", "10.0.0.3")
	assert.Equal(t, "+ cidr:10.0.0.3/32\n- cidr:10.0.0.1/32\n", out)
	assert.Empty(t, c.ok("sync-access", "shop", "10.0.0.2", "10.0.0.3"), "nothing to change prints nothing")

	file := t.TempDir() + "/webservers"
	require.NoError(t, writeFile(file, "# web servers\n10.0.0.3\n10.0.0.4 10.0.0.5  # two on a line\n\n"))
	out = c.ok("sync-access", "shop", "--file", file, "-o", "json")
	assert.JSONEq(t, `{"id":"`+strings.TrimSpace(c.ok("list", "-q"))+`","added":["cidr:10.0.0.4/32","cidr:10.0.0.5/32"],"removed":["cidr:10.0.0.2/32"]}`, out)

	r := c.runIn("10.0.0.9\n", "sync-access", "shop", "--file", "-", "--dry-run")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, "+ cidr:10.0.0.9/32")
	assert.Equal(t, "cidr:10.0.0.3/32\ncidr:10.0.0.4/32\ncidr:10.0.0.5/32\n", c.ok("access", "shop"), "a dry run changes nothing")

	r = c.runIn("10.0.0.9\nnot-a-source\n", "sync-access", "shop", "--file", "-")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "stdin line 2")
	assert.Contains(t, r.stderr, `"not-a-source"`)

	r = c.runIn("", "sync-access", "shop", "--file", "-")
	assert.Equal(t, exitUsage, r.code, "an empty list locks everyone out")
	assert.Contains(t, r.stderr, "--allow-empty")
	c.ok("sync-access", "shop", "--allow-empty")
	assert.Empty(t, c.ok("access", "shop"))
}

func TestBackupBackupsRestore(t *testing.T) {
	c := newCLI(t)
	c.create("shop", "--engine", "mysql")
	bid := strings.TrimSpace(c.ok("backup", "shop", "--name", "nightly"))
	require.NotEmpty(t, bid)
	out := c.ok("backups", "shop")
	assert.Regexp(t, `(?m)^ID\s+NAME\s+KIND\s+STATUS`, out)
	assert.Regexp(t, `(?m)^`+bid+`\s+nightly\s+manual\s+available`, out)
	var bs []dbaas.Backup
	require.NoError(t, json.Unmarshal([]byte(c.ok("backups", "shop", "-o", "json")), &bs))
	require.NotEmpty(t, bs)

	id := strings.TrimSpace(c.ok("restore", bid, "shop-copy", "--from", "shop", "--wait", "--poll", "10ms", "-q"))
	inst, err := c.p.Get(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, "shop-copy", inst.Name)
	assert.Equal(t, dbaas.MySQL, inst.Engine, "engine came from --from")

	// A point-in-time reference has whole seconds: wait for the first
	// whole second inside the restorable window.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 10*time.Millisecond)))
	at := time.Now().UTC().Format(time.RFC3339)
	r := c.run("restore", "--from", "shop", "--at", at, "shop-before")
	require.Equal(t, exitOK, r.code, r.stderr)

	r = c.run("restore", "--from", "shop", "--at", "yesterday", "x-name")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "RFC 3339")
}

func TestDeleteConfirmation(t *testing.T) {
	c := newCLI(t)
	c.create("shop")

	r := c.run("delete", "shop")
	assert.Equal(t, exitUsage, r.code, "no terminal and no --yes")
	assert.Contains(t, r.stderr, "--yes")

	c.terminal = true
	r = c.runIn("nope\n", "delete", "shop")
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "Type the instance name to confirm")
	assert.Contains(t, r.stderr, "not confirmed")
	_, err := dbaas.FindByName(context.Background(), c.p, "shop")
	require.NoError(t, err, "still there")

	r = c.runIn("shop\n", "delete", "shop", "-o", "json", "--final-backup-name", "shop-last")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.JSONEq(t, `{"id":"`+mustFind(t, c, r)+`","name":"shop","deleted":true,"final_backup":"shop-last"}`, r.stdout)

	c.terminal = false
	c.create("other")
	r = c.run("delete", "other", "--yes", "--skip-final-backup")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, "without a final backup")
	r = c.run("get", "other")
	assert.Equal(t, exitNotFound, r.code)
}

func mustFind(t *testing.T, _ *cli, r result) string {
	t.Helper()
	var js deleteResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &js))
	return js.ID
}

func TestWaitProgressOnlyOnATerminal(t *testing.T) {
	for _, term := range []bool{false, true} {
		c := newCLI(t)
		// Simulated time, shared by the provider and the tool's waits,
		// so that the polls see provisioning however slow the machine.
		c.clock = fakeclock.NewAuto(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
		c.p = memory.New(memory.Options{ProvisionDelay: 10 * time.Minute, Clock: c.clock})
		c.terminal = term
		id := c.create("shop")
		r := c.run("wait", id, "--poll", "1m")
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.Equal(t, "available\n", r.stdout)
		if term {
			assert.Contains(t, r.stderr, "\r\033[Kwaiting for shop: provisioning, 0s elapsed", "a live line on a terminal")
			// Polls are a minute apart, give or take their ±10% jitter:
			// about ten of them over the ten minutes of provisioning.
			n := strings.Count(r.stderr, "\r\033[Kwaiting for shop: provisioning, ")
			assert.True(t, n >= 8 && n <= 12, "%d polls while provisioning", n)
			assert.Regexp(t, `\r\033\[Kwaiting for shop: available, 1\dm\d+s elapsed\r\033\[K$`, r.stderr, "erased at the end")
		} else {
			assert.Empty(t, r.stderr, "nothing but results when not a terminal")
		}
	}
}

func TestWaitTimesOut(t *testing.T) {
	c := newCLI(t)
	c.p = memory.New(memory.Options{ProvisionDelay: time.Hour})
	c.create("shop")
	r := c.run("wait", "shop", "--poll", "10ms", "--timeout", "100ms")
	assert.Equal(t, exitTimeout, r.code, r.stderr)
	assert.Regexp(t, `still provisioning (after|when --timeout) 100ms`, r.stderr)
}

func TestNotFoundAndUnsupportedExitCodes(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"get", "nope"}, {"endpoint", "nope"}, {"port", "nope"}, {"connection", "nope"},
		{"access", "nope"}, {"backups", "nope"}, {"wait", "nope"}, {"delete", "nope", "--yes"}} {
		r := c.run(args...)
		assert.Equal(t, exitNotFound, r.code, "%v: %s", args, r.stderr)
	}
}

func TestBadInputIsAUsageErrorWithNoCall(t *testing.T) {
	c := newCLI(t)
	tests := []struct {
		args     []string
		contains string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"list", "--frob"}, "unknown flag: --frob"},
		{[]string{"get"}, "missing ID|NAME"},
		{[]string{"get", "a", "b"}, `unexpected argument "b"`},
		{[]string{"create", "shop", "--size", "small"}, "--engine is required"},
		{[]string{"create", "shop", "--engine", "oracle", "--size", "small"}, `--engine "oracle": want postgres, mysql or mariadb`},
		{[]string{"create", "--engine", "postgres", "--size", "small"}, "missing NAME"},
		{[]string{"create", "shop", "--engine", "postgres"}, "--size is required"},
		{[]string{"create", "shop", "--engine", "postgres", "--size", "s", "--allow", "10.0.0.1/8"}, "host bits set"},
		{[]string{"create", "shop", "--engine", "postgres", "--size", "s", "--tag", "novalue"}, "want key=value"},
		{[]string{"create", "--from-toolkit", "MySQL:DBAAS:mysql:lon1:x:db-s-1vcpu-1gb:8:cl:db:u:p:v"}, "field 5 (nodes)"},
		{[]string{"allow", "shop", "bogus:thing"}, `source "bogus:thing"`},
		{[]string{"allow", "shop"}, "missing SOURCE"},
		{[]string{"check-port", "shop"}, "--expect PORT is required"},
		{[]string{"check-port", "shop", "--expect", "99999"}, "from 1 to 65535"},
		{[]string{"check-port", "shop", "--expect", "abc"}, "invalid argument"},
		{[]string{"wait", "shop", "--until", "ready"}, `--until "ready"`},
		{[]string{"list", "-o", "yaml"}, `--output "yaml": want text or json`},
		{[]string{"list", "--timeout", "-5s"}, "--timeout -5s: want 0 (no bound) or more"},
		{[]string{"list", "--base-url", "ftp://sim.example"}, `--base-url (or DBAAS_BASE_URL, DBAAS_BASE_URL_MEMORY): invalid argument: base_url: "ftp://sim.example" is not an http:// or https:// URL`},
		{[]string{"list", "--set", "s3cretvalue"}, "--set number 1 is not key=value"},
		{[]string{"connection", "shop", "--format", "jdbc"}, "want uri or dsn"},
		{[]string{"delete", "shop", "--yes", "--skip-final-backup", "--final-backup-name", "x"}, "contradict"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			before := c.p.Calls()
			r := c.run(tt.args...)
			assert.Equal(t, exitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, tt.contains)
			assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
			assert.True(t, strings.HasPrefix(r.stderr, "dbaas: "))
			assert.Empty(t, r.stdout)
			assert.Equal(t, before, c.p.Calls(), "no call reached the provider")
		})
	}
}

func TestUnknownProviderIsAUsageError(t *testing.T) {
	a, _, errb := testApp("")
	opened := false
	a.open = func(context.Context, string, dbaas.Config) (dbaas.Provider, error) { opened = true; return nil, nil }
	a.providers = func() []string { return []string{"local", "memory"} }
	code := a.run(context.Background(), []string{"--provider", "gcp", "list"})
	assert.Equal(t, exitUsage, code)
	assert.Equal(t, "dbaas: --provider \"gcp\": unknown provider: want one of local, memory\n", errb.String())
	assert.False(t, opened)
}

func TestFromToolkit(t *testing.T) {
	c := newCLI(t)
	const pass = "TkPassw0rd99"
	s := "Postgres:DBAAS:pg:lon1:1:db-s-1vcpu-1gb:16:tkcluster:tkdb:tkuser:" + pass + ":"
	r := c.run("ensure", "--from-toolkit", s, "--size", "small")
	require.Equal(t, exitUsage, r.code, "a line with a password is refused on the command line")
	assert.NotContains(t, r.stderr, pass)
	r = c.runIn(s, "ensure", "--from-toolkit-file", "-", "--size", "small")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stderr, `database "tkdb" and user "tkuser" are not part of the cluster's creation`)
	assert.NotContains(t, r.stderr, pass)
	inst, err := c.p.Get(context.Background(), strings.TrimSpace(r.stdout))
	require.NoError(t, err)
	assert.Equal(t, "tkcluster", inst.Name)
	assert.Equal(t, "small", inst.Size, "a flag overrides the string's field")
	assert.Equal(t, "lon1", inst.Region)
	assert.Equal(t, "16", inst.Version)

	// On AWS the user, password and database are the instance's own.
	aws := "Postgres:DBAAS:postgres:eu-west-1a:db.t3.micro:appdb:app-db-1:20:app_admin:" + pass
	r = c.runIn(aws, "create", "--from-toolkit-file", "-", "-q")
	require.Equal(t, exitOK, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)
	conn, err := c.p.Connection(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, "app_admin", conn.User)
	assert.Equal(t, pass, conn.Password.Reveal())
	assert.Equal(t, "appdb", conn.Database)

	// The Exoscale line names engine, zone, plan and name only.
	id = strings.TrimSpace(c.ok("create", "--from-toolkit", "MySQL:DBAAS:mysql:ch-gva-2:hobbyist-2:testdb1", "-q"))
	inst, err = c.p.Get(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, "testdb1", inst.Name)
	assert.Equal(t, "hobbyist-2", inst.Size)
	assert.Equal(t, "ch-gva-2", inst.Region)

	r = c.run("create", "--from-toolkit", "MySQL:DBAAS:mysql:lon1:9:db-s-1vcpu-1gb:8:cl1:db:u:"+pass+":v")
	assert.Equal(t, exitUsage, r.code)
	assert.NotContains(t, r.stderr, pass, "the toolkit string's password is never echoed")
}

func TestValidationErrorsAreInvalidInput(t *testing.T) {
	c := newCLI(t)
	before := c.p.Calls()
	r := c.run("create", "Bad_Name", "--engine", "postgres", "--size", "small")
	assert.Equal(t, exitInvalid, r.code)
	assert.Contains(t, r.stderr, "name: must be lower-case letters")
	assert.Equal(t, before, c.p.Calls())
}

func TestJSONErrors(t *testing.T) {
	c := newCLI(t)
	r := c.run("get", "nope", "-o", "json")
	assert.Equal(t, exitNotFound, r.code)
	var e struct {
		Error string `json:"error"`
		Kind  string `json:"kind"`
		Code  int    `json:"exit_code"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stderr), &e))
	assert.Equal(t, "not_found", e.Kind)
	assert.Equal(t, exitNotFound, e.Code)
	assert.Contains(t, e.Error, "nope")
}

func TestProvidersAndVersion(t *testing.T) {
	c := newCLI(t)
	out := c.ok("providers")
	assert.Regexp(t, `(?m)^PROVIDER\s+ENGINES\s+PROVISION`, out)
	assert.Regexp(t, `(?m)^memory\s+postgres,mysql,mariadb\s+yes`, out)
	var ps []providerInfo
	require.NoError(t, json.Unmarshal([]byte(c.ok("providers", "-o", "json")), &ps))
	require.Len(t, ps, 1)
	assert.True(t, ps[0].Capabilities.Provision)
	assert.Empty(t, c.opened, "providers opens no provider")

	assert.Regexp(t, `^dbaas \S+ go1\.\d+`, c.ok("version"))
	var v versionResult
	require.NoError(t, json.Unmarshal([]byte(c.ok("version", "-o", "json")), &v))
	assert.Equal(t, []string{"memory"}, v.Providers)
	assert.Contains(t, c.ok("help", "exit-codes"), "6    port mismatch")
}

func TestProviderSettingsReachTheConfig(t *testing.T) {
	c := newCLI(t)
	tok := t.TempDir() + "/token"
	require.NoError(t, writeFile(tok, "s3cr3t-token\n"))
	c.ok("list", "--set", "provision_delay=1s", "--set", "x=a=b", "--region", "ams3", "--base-url", "http://127.0.0.1:9", "--token-file", tok)
	cfg := c.opened[len(c.opened)-1]
	assert.Equal(t, map[string]string{"provision_delay": "1s", "x": "a=b"}, cfg.Settings)
	assert.Equal(t, "ams3", cfg.Region)
	assert.Equal(t, "http://127.0.0.1:9", cfg.BaseURL)
	assert.Equal(t, "s3cr3t-token", cfg.Token.Reveal())
}

func TestExitCodesAreDistinct(t *testing.T) {
	codes := []int{exitOK, exitFailure, exitUsage, exitNotFound, exitTimeout, exitUnsupported, exitPortMismatch, exitInvalid, exitInterrupted}
	seen := map[int]bool{}
	for _, c := range codes {
		assert.False(t, seen[c], "code %d used twice", c)
		seen[c] = true
		assert.Contains(t, exitCodesHelp, "\n  "+itoa(c)+" ", "code %d documented", c)
	}
	tests := []struct {
		err  error
		want int
	}{
		{newError("get", "x", dbaas.ErrNotFound, nil), exitNotFound},
		{newError("wait", "x", dbaas.ErrTimeout, nil), exitTimeout},
		{context.DeadlineExceeded, exitTimeout},
		{context.Canceled, exitInterrupted},
		{unsupported("p", "backup", "no"), exitUnsupported},
		{&dbaas.PortMismatchError{Configured: 1, Actual: 2}, exitPortMismatch},
		{dbaas.InvalidField("size", "bad"), exitInvalid},
		{newError("create", "x", dbaas.ErrConflict, nil), exitFailure},
		{usageErrorf("bad"), exitUsage},
		{withExitCode(9, dbaas.ErrNotFound), 9},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, exitCode(tt.err), "%v", tt.err)
	}
}

func TestRegisteredCommandsRunWithTheirExitCodes(t *testing.T) {
	registerCommand(func() *cobra.Command {
		return &cobra.Command{
			Use:    "hooked [fail]",
			Hidden: true,
			RunE: func(cmd *cobra.Command, args []string) error {
				out, _ := cmd.Flags().GetString("output")
				fmt.Fprintln(cmd.OutOrStdout(), "hooked "+out)
				if len(args) > 0 {
					return withExitCode(9, errors.New("hooked failed"))
				}
				return nil
			},
		}
	})
	c := newCLI(t)
	assert.Equal(t, "hooked json\n", c.ok("hooked", "-o", "json"))
	r := c.run("hooked", "fail")
	assert.Equal(t, 9, r.code)
	assert.Equal(t, "dbaas: hooked failed\n", r.stderr)
}

// TestProvidersOpenNothing proves that listing providers reads their
// registered capabilities and opens none, and that a provider whose
// capabilities cannot be read is named with its error rather than
// dropped.
func TestProvidersOpenNothing(t *testing.T) {
	a, out, errb := testApp("")
	a.providers = func() []string { return []string{"aws", "broken"} }
	a.open = func(context.Context, string, dbaas.Config) (dbaas.Provider, error) {
		t.Fatal("providers opened a provider")
		return nil, nil
	}
	a.capsOf = func(name string) (dbaas.Capabilities, error) {
		if name == "broken" {
			return dbaas.Capabilities{}, errors.New("unknown provider")
		}
		return dbaas.CapabilitiesOf(name)
	}
	code := a.run(context.Background(), []string{"providers", "-o", "json"})
	require.Equal(t, exitOK, code, errb.String())
	var ps []providerInfo
	require.NoError(t, json.Unmarshal(out.Bytes(), &ps))
	require.Len(t, ps, 2)
	require.NotNil(t, ps[0].Capabilities)
	assert.True(t, ps[0].Capabilities.PointInTimeRestore)
	assert.Nil(t, ps[1].Capabilities)
	assert.Equal(t, "unknown provider", ps[1].Error)
}
