package cli

import (
	"bufio"
	"context"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/agiledeploy/dbaaskit/internal/sshtest"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
)

// postgresAddr is the PostgreSQL server the test machine runs (trust
// auth), which the tunnel tests reach through a relay.
const postgresAddr = "127.0.0.1:5432"

func needPostgres(t *testing.T) {
	t.Helper()
	c, err := net.DialTimeout("tcp", postgresAddr, time.Second)
	if err != nil {
		testenv.Skip(t, "PostgreSQL is not listening on "+postgresAddr+": install postgresql-15 and start it with trust auth for local connections")
		return
	}
	_ = c.Close()
}

// selectOne connects to the PostgreSQL server at uri and runs "select 1".
func selectOne(t *testing.T, uri string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, uri)
	require.NoError(t, err)
	var one int
	require.NoError(t, conn.QueryRow(ctx, "select 1").Scan(&one))
	assert.Equal(t, 1, one)
	require.NoError(t, conn.Close(ctx))
}

func TestBinaryTunnelToPostgresThroughARelay(t *testing.T) {
	needPostgres(t)
	for name, target := range map[string][]string{
		// Any database, by address.
		"remote": {"tunnel", "--remote", postgresAddr},
		// An instance of a provider, by name: here an existing database
		// described to the static provider.
		"instance": {"--provider", "static", "--set", "engine=postgres", "--set", "host=127.0.0.1",
			"--set", "port=5432", "--set", "user=postgres", "--set", "name=main-db", "tunnel", "main-db"},
	} {
		t.Run(name, func(t *testing.T) { tunnelToPostgres(t, target) })
	}
}

func tunnelToPostgres(t *testing.T, target []string) {
	dir := t.TempDir()
	key := sshtest.NewKey(t, dir)
	relay := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: []ssh.PublicKey{key.Public}})
	known := sshtest.WriteKnownHosts(t, dir, relay.KnownHostsLine())

	cmd, stdout, errb := newProc(t).start(append(target, "--relay", "deploy@"+relay.Addr,
		"--identity", key.Path, "--known-hosts", known, "--drain-timeout", "2s")...)

	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = cmd.Wait()
		t.Fatalf("no address printed: %v: %s", err, errb.String())
	}
	addr := strings.TrimSpace(line)
	host, _, err := net.SplitHostPort(addr)
	require.NoError(t, err, "the first line is the local address")
	assert.Equal(t, "127.0.0.1", host, "loopback only")

	selectOne(t, "postgres://postgres@"+addr+"/postgres?sslmode=disable")
	assert.Positive(t, relay.Channels(), "the connection went through the relay")

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait(), "Ctrl-C drains and exits 0: %s", errb.String())
	assert.Contains(t, errb.String(), "tunnel: closed after 1 connections")
}

func TestBinaryTunnelChecksHostKeys(t *testing.T) {
	dir := t.TempDir()
	key := sshtest.NewKey(t, dir)
	relay := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: []ssh.PublicKey{key.Public}})
	// known_hosts holds another key for the relay's address.
	other := sshtest.NewKey(t, t.TempDir())
	known := sshtest.WriteKnownHosts(t, dir, sshtest.KnownHostsLine(relay.Addr, other.Public))

	p := newProc(t)
	r := p.run("tunnel", "--remote", postgresAddr, "--relay", relay.Addr, "--identity", key.Path, "--known-hosts", known)
	assert.NotEqual(t, exitOK, r.code)
	assert.Empty(t, r.stdout, "no address: nothing listens")
	assert.Contains(t, strings.ToLower(r.stderr), "host key")
	assert.Zero(t, relay.Channels())

	for _, args := range [][]string{
		{"tunnel", "--relay", relay.Addr},
		{"tunnel", "--remote", postgresAddr},
		{"tunnel", "--remote", "nohostport", "--relay", relay.Addr},
		{"tunnel", "--remote", postgresAddr, "--relay", "@"},
		{"tunnel", "--remote", postgresAddr, "--relay", relay.Addr, "--listen", "0.0.0.0:0", "--identity", key.Path, "--known-hosts", known},
	} {
		r := p.run(args...)
		assert.Equal(t, exitUsage, r.code, "%v: %s", args, r.stderr)
	}
}
