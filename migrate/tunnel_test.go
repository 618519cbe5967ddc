package migrate

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/sqltest"
	"github.com/agiledeploy/dbaaskit/internal/sshtest"
	"github.com/agiledeploy/dbaaskit/tunnel"
)

// TestMigrateThroughTunnel takes the source through an SSH tunnel (host
// key checked), as the toolkit reaches a database with no public
// endpoint: Take and Verify need only the ConnectionInfo, which is the
// tunnel's local end.
func TestMigrateThroughTunnel(t *testing.T) {
	ctx := context.Background()
	p := localProvider(t, dbaas.Postgres)
	insts := instances(t, p, dbaas.Postgres, "src", "dst")
	src, dst := insts[0], insts[1]
	sqltest.Exec(t, connInfo(t, p, src.ID), pgData...)

	dir := t.TempDir()
	key := sshtest.NewKey(t, dir)
	relay := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: []ssh.PublicKey{key.Public}})
	known := sshtest.WriteKnownHosts(t, dir, relay.KnownHostsLine())
	tp, err := tunnel.NewProvider(p, tunnel.Config{
		Relays:     []tunnel.Relay{{Hop: tunnel.Hop{Host: relay.Addr, User: "deploy"}}},
		Auth:       tunnel.Auth{Signers: []ssh.Signer{key.Signer}},
		KnownHosts: []string{known},
	}, tunnel.ProviderOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tp.Close() })

	through, err := tp.Connection(ctx, src.ID)
	require.NoError(t, err)
	direct := connInfo(t, p, src.ID)
	require.NotEqual(t, direct.Endpoint, through.Endpoint, "the source is reached through the tunnel")

	rep, err := Migrate(ctx, Side{Provider: tp, ID: src.ID}, Side{Provider: p, ID: dst.ID}, Options{})
	require.NoError(t, err, "%+v", rep)
	assert.True(t, rep.Complete)
	assert.True(t, rep.Verify.Match)
	assert.Positive(t, relay.Channels(), "the relay forwarded the connections")
}
