package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/cli"
	_ "github.com/agiledeploy/dbaaskit/internal/cli/clouds"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
)

func TestMain(m *testing.M) {
	testenv.NoMetadataService()
	// The answers are rendered without DBAAS_ variables; so is the
	// command line they are compared with.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "DBAAS_") && k != "DBAAS_INTEGRATION" {
			os.Unsetenv(k)
		}
	}
	os.Exit(m.Run())
}

// TestAnswersAreCurrent: what the front prints itself is what the command
// line with every provider prints; "go generate ./cmd/dbaas" renews it.
func TestAnswersAreCurrent(t *testing.T) {
	for _, args := range answered {
		var out, errb bytes.Buffer
		code := cli.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
		require.Zero(t, code, errb.String())
		got, ok := answer(args, nil)
		require.True(t, ok, args)
		assert.Equal(t, out.String(), got, "dbaas %s: answers.go is stale: run go generate ./cmd/dbaas", strings.Join(args, " "))
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out bytes.Buffer
		require.Zero(t, cli.Run(context.Background(), args, strings.NewReader(""), &out, &out))
		got, ok := answer(args, []string{"HOME=/root"})
		require.True(t, ok)
		assert.Equal(t, out.String(), got, args)
	}
}

// TestAnswerLeavesVariablesToTheCommandLine: a DBAAS_ variable changes
// the defaults help shows, so the front does not answer then, nor for
// anything beyond the rendered invocations.
func TestAnswerLeavesVariablesToTheCommandLine(t *testing.T) {
	_, ok := answer([]string{"--help"}, []string{"HOME=/root", "DBAAS_PROVIDER=aws"})
	assert.False(t, ok)
	_, ok = answer([]string{"version"}, []string{"DBAAS_OUTPUT=json"})
	assert.False(t, ok)
	_, ok = answer([]string{"--help"}, []string{"HOME=/root"})
	assert.True(t, ok)
	for _, args := range [][]string{{"providers", "-o", "json"}, {"version", "-o", "json"}, {"list"}, {"help", "create"}} {
		_, ok := answer(args, nil)
		assert.False(t, ok, args)
	}
}

// TestCloudsAreEveryProvider: every registered provider is a cloud with a
// program of its own or a core one that every program has, so none is
// routed to a program that lacks it.
func TestCloudsAreEveryProvider(t *testing.T) {
	all := slices.Concat(clouds, core)
	slices.Sort(all)
	assert.Equal(t, dbaas.Providers(), all)
	for _, c := range clouds {
		_, err := os.Stat(filepath.Join("..", "dbaas-"+c, "main.go"))
		assert.NoError(t, err, "cmd/dbaas-%s", c)
	}
}

func TestRoute(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, c := range []struct {
		args []string
		env  func(string) string
		want string
	}{
		{[]string{"list"}, env(), "dbaas-core"},
		{[]string{"list", "-p", "memory"}, env(), "dbaas-core"},
		{[]string{"list"}, env("DBAAS_PROVIDER", "linode"), "dbaas-linode"},
		{[]string{"list", "--provider", "local"}, env("DBAAS_PROVIDER", "linode"), "dbaas-core"},
		{[]string{"--provider", "aws", "list"}, env(), "dbaas-aws"},
		{[]string{"--provider=vultr", "get", "x"}, env(), "dbaas-vultr"},
		{[]string{"-pexoscale", "get", "x"}, env(), "dbaas-exoscale"},
		{[]string{"-p=digitalocean", "get", "x"}, env(), "dbaas-digitalocean"},
		{[]string{"--region", "fra1", "-o", "json", "-q", "--timeout", "5m", "-p", "digitalocean", "list"}, env(), "dbaas-digitalocean"},
		{[]string{"migrate", "--from", "local:a", "--to", "local:b"}, env(), "dbaas-core"},
		{[]string{"migrate", "--from", "digitalocean:a", "--to=local:b"}, env(), "dbaas-digitalocean"},
		{[]string{"migrate", "--from", "digitalocean:a", "--to", "aws:b"}, env(), "dbaas-all"},
		{[]string{"-p", "linode", "restore", "--from", "mysql/123", "--at", "2026-01-01T00:00:00Z", "copy"}, env(), "dbaas-linode"},
		{[]string{"dump", "fix", "d.sql", "--target", "aws", "--out", "f.sql"}, env(), "dbaas-aws"},
		{[]string{"-p", "linode", "dump", "check", "d.sql", "--target", "aws"}, env(), "dbaas-all"},
		{[]string{"-p", "nosuch", "list"}, env(), "dbaas-all"},
		{[]string{"sim"}, env(), "dbaas-all"},
		{[]string{"providers", "-o", "json"}, env(), "dbaas-all"},
		{[]string{"-o", "json", "version"}, env(), "dbaas-all"},
		{[]string{"__complete", "-p", ""}, env(), "dbaas-all"},
		{[]string{"--quiet", "sim"}, env(), "dbaas-all"},
		{[]string{"toolkit", "apply", "-", "--port", "5432"}, env(), "dbaas-all"},
		{[]string{"--unknown-flag", "x", "list"}, env(), "dbaas-all"},
		{[]string{"list", "--", "-p", "aws"}, env(), "dbaas-core"},
		{[]string{"create", "sim", "-p", "aws"}, env(), "dbaas-aws"},
	} {
		assert.Equal(t, c.want, route(c.args, c.env), "%q", c.args)
	}
}

// TestFrontWithoutItsPrograms: a front installed alone answers help
// itself and, for a command, names the program it needs and how to
// install it.
func TestFrontWithoutItsPrograms(t *testing.T) {
	dir := t.TempDir()
	front := filepath.Join(dir, "dbaas")
	out, err := exec.Command("go", "build", "-o", front, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)

	cmd := exec.Command(front, "--help")
	cmd.Env = []string{"PATH=" + dir}
	got, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, answers["--help"], string(got))

	cmd = exec.Command(front, "-p", "linode", "list")
	cmd.Env = []string{"PATH=" + dir}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Contains(t, stderr.String(), "dbaas-linode, which is not installed")
	assert.Contains(t, stderr.String(), "go install github.com/agiledeploy/dbaaskit/cmd/...@latest")
}
