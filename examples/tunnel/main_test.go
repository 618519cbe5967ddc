package main

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"

	"github.com/agiledeploy/dbaaskit/internal/sshtest"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
)

func TestTunnelExampleReachesPostgresThroughARelay(t *testing.T) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:5432", time.Second)
	if err != nil {
		testenv.Skip(t, "PostgreSQL is not listening on 127.0.0.1:5432: install postgresql-15 and start it with trust auth")
	}
	_ = c.Close()
	// Registered first, so it runs last: after the relay has stopped.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })

	dir := t.TempDir()
	key := sshtest.NewKey(t, dir)
	relay := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: []ssh.PublicKey{key.Public}})
	known := sshtest.WriteKnownHosts(t, dir, relay.KnownHostsLine())

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"-relay", "deploy@" + relay.Addr, "-identity", key.Path, "-known-hosts", known}, &out))
	assert.Regexp(t, `^through 127\.0\.0\.1:\d+ via deploy@\S+: PostgreSQL \d+`, out.String())
	assert.Positive(t, relay.Channels(), "the connection went through the relay")
}

func TestTunnelExampleRefusesAnUnknownHostKey(t *testing.T) {
	dir := t.TempDir()
	key := sshtest.NewKey(t, dir)
	relay := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: []ssh.PublicKey{key.Public}})
	empty := sshtest.WriteKnownHosts(t, dir)

	err := run(context.Background(), []string{"-relay", relay.Addr, "-identity", key.Path, "-known-hosts", empty}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unknown: no entry in known_hosts")
	assert.Zero(t, relay.Channels())
}
