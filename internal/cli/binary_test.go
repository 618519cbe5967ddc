package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/cli/simreg"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
	"github.com/agiledeploy/dbaaskit/providers/aws/awssim"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
)

// binary is the dbaas command built once by TestMain, so that tests see
// exit codes, stdin and signals as a shell does.
var binary string

func TestMain(m *testing.M) {
	testenv.NoMetadataService()
	dir, err := os.MkdirTemp("", "dbaas-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// The front and every program it hands commands to, side by side as
	// "go install ./cmd/..." puts them.
	binary = filepath.Join(dir, "dbaas")
	out, err := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "../../cmd/...").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc runs the binary with env added to a clean environment.
type proc struct {
	t   *testing.T
	env []string
}

func newProc(t *testing.T, env ...string) *proc {
	t.Helper()
	// Only what the tool needs: no stray DBAAS_* or cloud tokens of the
	// machine running the tests.
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_EC2_METADATA_DISABLED=true"}
	return &proc{t: t, env: append(base, env...)}
}

// start starts the binary in the background with the proc's
// environment, for commands that run until interrupted. It returns the
// command's stdout to read from and its stderr, safe to read once the
// command has been waited for. The process is killed at the end of the
// test if still running.
func (p *proc) start(args ...string) (*exec.Cmd, io.Reader, *bytes.Buffer) {
	p.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = p.env
	stdout, err := cmd.StdoutPipe()
	require.NoError(p.t, err)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	require.NoError(p.t, cmd.Start())
	p.t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, stdout, &errb
}

func (p *proc) runIn(stdin string, args ...string) result {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = p.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(p.t, ok, "run %v: %v", args, err)
		code = ee.ExitCode()
	}
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func (p *proc) run(args ...string) result {
	p.t.Helper()
	return p.runIn("", args...)
}

func (p *proc) ok(args ...string) string {
	p.t.Helper()
	r := p.run(args...)
	require.Equal(p.t, exitOK, r.code, "dbaas %s: %s", strings.Join(args, " "), r.stderr)
	return r.stdout
}

func TestBinaryHelpVersionAndUsageErrors(t *testing.T) {
	p := newProc(t)
	assert.Contains(t, p.ok("--help"), "Usage:")
	assert.Regexp(t, `^dbaas \S+ go1\.`, p.ok("version"))
	assert.Contains(t, p.ok("help", "exit-codes"), "port mismatch")
	assert.Contains(t, p.ok("completion", "bash"), "bash completion")

	for _, args := range [][]string{{"frob"}, {"list", "--nope"}, {"-p", "gcp", "list"}, {"get"},
		{"-p", "memory", "allow", "x", "10.0.0.1/8"}, {"-p", "memory", "create", "--from-toolkit", "MySQL:DBAAS:x"}} {
		r := p.run(args...)
		assert.Equal(t, exitUsage, r.code, "%v", args)
		assert.Empty(t, r.stdout)
		assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "%v: one line: %q", args, r.stderr)
	}
	r := p.run("-p", "memory", "get", "nope")
	assert.Equal(t, exitNotFound, r.code)

	// DBAAS_PROVIDER chooses the provider; an unknown one is named.
	r = newProc(t, "DBAAS_PROVIDER=nimbus").run("list")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `"nimbus"`)
	assert.Contains(t, r.stderr, "digitalocean, exoscale, linode, local, memory")
}

// TestBinaryProvidersWithoutCredentials lists every registered provider's
// capabilities in an environment with no credentials, region or
// configuration: placeholders stand in, and no row is an error.
func TestBinaryProvidersWithoutCredentials(t *testing.T) {
	p := newProc(t)
	r := p.run("providers", "-o", "json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var ps []providerInfo
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ps))
	byName := map[string]providerInfo{}
	for _, in := range ps {
		assert.Empty(t, in.Error, in.Name)
		require.NotNil(t, in.Capabilities, in.Name)
		byName[in.Name] = in
	}
	for _, name := range []string{"aws", "digitalocean", "linode", "local", "memory", "static"} {
		assert.Contains(t, byName, name)
	}
	aws, static := byName["aws"].Capabilities, byName["static"].Capabilities
	assert.True(t, aws.Provision)
	assert.True(t, aws.PointInTimeRestore)
	assert.Equal(t, []dbaas.SourceKind{dbaas.SourceCIDR, dbaas.SourceSecurityGroup}, aws.SourceKinds)
	assert.False(t, static.Provision, "static only describes databases that exist")
	assert.Empty(t, static.Engines)

	text := p.ok("providers")
	assert.NotContains(t, text, "(", "no error row")
	assert.Regexp(t, `(?m)^aws\s+postgres,mysql,mariadb\s+yes\s+cidr,sg\s+yes`, text)
	assert.Regexp(t, `(?m)^static\s+-\s+no\s+-\s+no\s+no\s+no\s+no\s*$`, text)
}

// startDO serves a DigitalOcean simulator for the test.
func startDO(t *testing.T, delay time.Duration) (*dosim.Server, *proc) {
	t.Helper()
	sim, u, err := dosim.Start(dosim.Options{ProvisionDelay: delay, Token: "test-token"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	return sim, newProc(t, "DIGITALOCEAN_TOKEN=test-token", "DBAAS_BASE_URL_DIGITALOCEAN="+u, "DBAAS_PROVIDER=digitalocean")
}

func TestBinaryAgainstDigitalOceanSimulator(t *testing.T) {
	sim, p := startDO(t, 300*time.Millisecond)

	r := p.run("create", "shop", "--engine", "mysql", "--size", "db-s-1vcpu-1gb", "--region", "ams3", "--wait", "--poll", "50ms")
	require.Equal(t, exitOK, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)
	assert.NotContains(t, r.stderr, "\r", "no progress line when stderr is not a terminal")
	assert.Contains(t, r.stderr, "created shop ("+id+")")
	assert.Positive(t, sim.Calls("POST /v2/databases"))

	var inst struct {
		ID, Name, Status, Engine string
		Endpoint                 struct {
			Host string
			Port int
		}
	}
	require.NoError(t, json.Unmarshal([]byte(p.ok("get", "shop", "-o", "json")), &inst))
	assert.Equal(t, id, inst.ID)
	assert.Equal(t, "available", inst.Status)
	assert.Equal(t, inst.Endpoint.Host+"\n", p.ok("endpoint", "shop"))
	assert.Equal(t, fmt.Sprintf("%d\n", inst.Endpoint.Port), p.ok("port", id))
	assert.Regexp(t, `(?m)^`+id+`\s+shop\s+mysql`, p.ok("list"))

	// The configured port differs from DigitalOcean's 25060: exit 6.
	r = p.run("check-port", "shop", "--expect", "3306")
	assert.Equal(t, exitPortMismatch, r.code)
	assert.Contains(t, r.stderr, "listens on 25060")
	p.ok("check-port", "shop", "--expect", "25060")

	// The password: only with --show-secrets.
	var conn connectionResult
	require.NoError(t, json.Unmarshal([]byte(p.ok("connection", "shop", "-o", "json", "--show-secrets")), &conn))
	require.NotEmpty(t, conn.Password)
	assert.Contains(t, p.ok("connection", "shop", "--show-secrets"), conn.Password)
	for _, args := range [][]string{{"connection", "shop"}, {"connection", "shop", "-o", "json"}, {"get", "shop"},
		{"get", "shop", "-o", "json"}, {"list", "-o", "json"}} {
		r := p.run(args...)
		require.Equal(t, exitOK, r.code, r.stderr)
		assert.NotContains(t, r.stdout+r.stderr, conn.Password, "%v", args)
	}

	// Access from arguments and from stdin, as the cron job does. The
	// cluster starts open to its VPC's range.
	initial := p.ok("access", "shop")
	assert.Equal(t, initial+"cidr:203.0.113.7/32\n", p.ok("allow", "shop", "203.0.113.7"))
	r = p.runIn("# web servers\n198.51.100.1\n198.51.100.2\n", "sync-access", "shop", "--file", "-")
	require.Equal(t, exitOK, r.code, r.stderr)
	want := "+ cidr:198.51.100.1/32\n+ cidr:198.51.100.2/32\n"
	for _, l := range strings.Fields(initial) {
		want += "- " + l + "\n"
	}
	assert.Equal(t, want+"- cidr:203.0.113.7/32\n", r.stdout)
	assert.Equal(t, "cidr:198.51.100.1/32\ncidr:198.51.100.2/32\n", p.ok("access", "shop"))
	before := sim.TotalCalls()
	r = p.runIn("198.51.100.1\n10.0.0.0/33\n", "sync-access", "shop", "--file", "-")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "stdin line 2")
	assert.Equal(t, before, sim.TotalCalls(), "malformed input: no call to the cloud")
	r = p.run("allow", "shop", "sg:sg-0abc")
	assert.Equal(t, exitUnsupported, r.code, "DigitalOcean has no security groups: %s", r.stderr)

	// DigitalOcean has no on-demand or final backups.
	r = p.run("backup", "shop")
	assert.Equal(t, exitUnsupported, r.code)
	r = p.run("delete", "shop", "--yes")
	assert.Equal(t, exitUnsupported, r.code)
	assert.Contains(t, r.stderr, "final backup")
	r = p.run("delete", "shop")
	assert.Equal(t, exitUsage, r.code, "stdin is not a terminal and there is no --yes")

	r = p.run("delete", "shop", "--yes", "--skip-final-backup", "-o", "json")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.JSONEq(t, `{"id":"`+id+`","name":"shop","deleted":true}`, r.stdout)
	assert.Equal(t, exitNotFound, p.run("get", id).code)
}

func TestBinaryToolkitStringOnDigitalOcean(t *testing.T) {
	_, p := startDO(t, 0)
	const pass = "Sup3rSecretPw"
	s := "Postgres:DBAAS:pg:lon1:1:db-s-1vcpu-1gb:16:tkcluster:tkdb:tkuser:" + pass + ":"
	r := p.runIn(s, "ensure", "--from-toolkit-file", "-", "-o", "json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var got instanceResult
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	assert.Equal(t, "tkcluster", got.Name)
	assert.Equal(t, "lon1", got.Region)
	assert.True(t, got.Created)
	assert.NotContains(t, r.stdout+r.stderr, pass)
	assert.Contains(t, r.stderr, `user "tkuser"`)

	r = p.runIn(s, "ensure", "--from-toolkit-file", "-")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, got.ID+"\n", r.stdout, "the second ensure reuses the first's cluster")

	r = p.run("create", "--from-toolkit", "MySQL:DBAAS:mysql:8:lhr:vultr-dbaas-hobbyist-cc-1-25-1:testdb:test-database:vpc")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "the shape of the vultr form", "a Vultr line given to the digitalocean provider")
}

func TestBinaryWaitTimeoutAndInterrupt(t *testing.T) {
	sim, p := startDO(t, time.Hour)
	id := strings.TrimSpace(p.ok("create", "slow", "--engine", "pg", "--size", "db-s-1vcpu-1gb", "--region", "nyc1", "-q"))

	r := p.run("wait", id, "--poll", "50ms", "--timeout", "300ms")
	assert.Equal(t, exitTimeout, r.code, r.stderr)
	assert.Contains(t, r.stderr, "300ms", "the message says which limit ran out")

	cmd := exec.Command(binary, "wait", id, "--poll", "50ms")
	cmd.Env = p.env
	var errb bytes.Buffer
	cmd.Stderr = &errb
	polls := sim.Calls("GET /v2/databases/{id}")
	require.NoError(t, cmd.Start())
	// Interrupt it once it is polling (and so has its signal handler).
	require.Eventually(t, func() bool { return sim.Calls("GET /v2/databases/{id}") > polls }, time.Minute, 10*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, exitInterrupted, ee.ExitCode(), errb.String())
}

func TestBinaryAgainstLinodeSimulator(t *testing.T) {
	sim, u, err := linodesim.Start(linodesim.Options{ProvisionDelay: 200 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	p := newProc(t, "LINODE_TOKEN=t", "DBAAS_PROVIDER=linode", "DBAAS_BASE_URL_LINODE="+u)

	r := p.runIn("MySQL:DBAAS:mysql/8:us-east:g6-nanode-1:1:test-cluster:testdb:testdbuser:hfhuf83jfhfu73jd",
		"create", "--from-toolkit-file", "-", "--wait", "--poll", "50ms")
	require.Equal(t, exitOK, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)
	require.NotEmpty(t, id)
	assert.Regexp(t, `(?m)^status:\s+available`, p.ok("get", "test-cluster"))
	port := strings.TrimSpace(p.ok("port", "test-cluster"))
	assert.NotEmpty(t, port)
	assert.Equal(t, port+"\n", p.ok("check-port", "test-cluster", "--expect", port))
	p.ok("allow", "test-cluster", "10.0.0.0/16")
	assert.Equal(t, "cidr:10.0.0.0/16\n", p.ok("access", "test-cluster"))
	r = p.run("backup", "test-cluster")
	assert.Equal(t, exitUnsupported, r.code)
	p.ok("delete", "test-cluster", "--yes", "--skip-final-backup")
}

func TestBinarySimServesUntilInterrupted(t *testing.T) {
	cmd, stdout, errb := newProc(t).start("sim", "--backend", "none", "--provision-delay", "0s")

	want := 0
	for _, s := range simreg.All() {
		want += len(s.Env("", "")) + 1 // and the pace hint
	}
	env := []string{}
	sc := bufio.NewScanner(stdout)
	for len(env) < want && sc.Scan() {
		line := sc.Text()
		require.True(t, strings.HasPrefix(line, "export "), line)
		env = append(env, strings.TrimPrefix(line, "export "))
	}
	if len(env) != want {
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // errb is safe to read once the process is reaped
		t.Fatalf("sim printed %d export lines: %s", len(env), errb.String())
	}
	assert.Contains(t, env, "DBAAS_EXPECTED_PROVISIONING_DIGITALOCEAN=1ms", "waits poll at the simulator's pace")
	p := newProc(t, env...)
	id := strings.TrimSpace(p.ok("-p", "digitalocean", "create", "shop", "--engine", "pg", "--size", "db-s-1vcpu-1gb", "--region", "nyc1"))
	assert.Regexp(t, `(?m)^`+id+`\s+shop`, p.ok("-p", "digitalocean", "list"))
	assert.Equal(t, "[]\n", p.ok("-p", "linode", "list", "-o", "json"))
	assert.Equal(t, "[]\n", p.ok("-p", "aws", "list", "-o", "json"))

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), errb.String())
	assert.Contains(t, errb.String(), "sim: stopping")
}

func TestBinaryAgainstAWSSimulator(t *testing.T) {
	sim, u, err := awssim.Start(awssim.Options{ProvisionDelay: 100 * time.Millisecond, BackupDelay: 50 * time.Millisecond, Token: "AKIDTEST"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	p := newProc(t, "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret", "AWS_REGION=us-east-1",
		"DBAAS_PROVIDER=aws", "DBAAS_BASE_URL_AWS="+u)

	const pass = "Secr3tPassw0rd"
	toolkitString := "Postgres:DBAAS:postgres:us-east-1a:db.t3.micro:appdb:app-db-1:20:app_admin:" + pass
	r := p.runIn(toolkitString, "ensure", "--from-toolkit-file", "-", "--wait", "--poll", "50ms")
	require.Equal(t, exitOK, r.code, r.stderr)
	id := strings.TrimSpace(r.stdout)
	assert.NotContains(t, r.stdout+r.stderr, pass)

	p.ok("check-port", id, "--expect", "5432")
	conn := p.ok("connection", id)
	// RDS cannot read the master password back: the URI has none.
	assert.Contains(t, conn, "postgres://app_admin@")
	assert.Contains(t, conn, "/appdb?")
	assert.NotContains(t, conn, pass)

	// Access goes through the instance's EC2 security group.
	assert.Contains(t, p.ok("allow", id, "10.0.0.0/16"), "cidr:10.0.0.0/16")

	bid := strings.TrimSpace(p.ok("backup", id, "--name", "before-upgrade"))
	assert.Regexp(t, `(?m)^`+bid+`\s+before-upgrade\s+manual`, p.ok("backups", id))
	// RDS restores only from an available snapshot, as the simulator
	// does: wait for it as a script would.
	require.Eventually(t, func() bool {
		return regexp.MustCompile(`(?m)^` + bid + `\s+before-upgrade\s+manual\s+available`).MatchString(p.ok("backups", id))
	}, time.Minute, 50*time.Millisecond)
	rid := strings.TrimSpace(p.ok("restore", bid, "app-db-copy", "--from", id, "--wait", "--poll", "50ms"))
	assert.Regexp(t, `(?m)^status:\s+available`, p.ok("get", rid))

	r = p.run("delete", rid, "--yes", "--final-backup-name", "app-db-copy-last", "-o", "json")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Contains(t, r.stdout, `"final_backup": "app-db-copy-last"`)
}
