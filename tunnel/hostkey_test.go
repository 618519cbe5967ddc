package tunnel

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/sshtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func TestTunnelHostKeyChecks(t *testing.T) {
	other := sshtest.NewKey(t, t.TempDir()).Public
	tests := []struct {
		name     string
		lines    func(f *fixture) []string
		wantErr  bool
		mismatch bool
	}{
		{name: "known [host]:port entry", lines: func(f *fixture) []string { return []string{f.srv.KnownHostsLine()} }},
		{name: "hashed entry", lines: func(f *fixture) []string {
			return []string{"# comment", "", sshtest.HashedKnownHostsLine(f.srv.Addr, f.srv.HostKeys()[0])}
		}},
		{name: "unknown host", lines: func(f *fixture) []string {
			return []string{sshtest.KnownHostsLine("10.1.2.3:22", f.srv.HostKeys()[0])}
		}, wantErr: true},
		{name: "changed host key", lines: func(f *fixture) []string {
			return []string{sshtest.KnownHostsLine(f.srv.Addr, other)}
		}, wantErr: true, mismatch: true},
		{name: "same host on another port is another host", lines: func(f *fixture) []string {
			return []string{sshtest.KnownHostsLine("127.0.0.1:1", f.srv.HostKeys()[0])}
		}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			f := newFixture(t)
			cfg := f.config(dbaas.Endpoint{Host: "127.0.0.1", Port: 5432})
			cfg.KnownHosts = []string{sshtest.WriteKnownHosts(t, t.TempDir(), tc.lines(f)...)}
			tn, err := Open(context.Background(), cfg)
			if !tc.wantErr {
				require.NoError(t, err)
				require.NoError(t, tn.Close())
				return
			}
			require.Error(t, err)
			var he *HostKeyError
			require.ErrorAs(t, err, &he)
			assert.ErrorIs(t, err, dbaas.ErrPermissionDenied)
			assert.Equal(t, tc.mismatch, he.Mismatch)
			fp := ssh.FingerprintSHA256(f.srv.HostKeys()[0])
			msg := err.Error()
			assert.Contains(t, msg, f.srv.Addr, "the error names the host")
			assert.Contains(t, msg, fp, "the error names the offered key's fingerprint")
			if tc.mismatch {
				assert.Contains(t, msg, cfg.KnownHosts[0]+":1", "the error names the file and line of the old key")
			} else {
				assert.Contains(t, msg, cfg.KnownHosts[0], "the error names the file")
			}
			assert.Zero(t, f.srv.Channels())
		})
	}
}

// A server with an ed25519 and an RSA host key, known by its RSA key only,
// must be asked for its RSA key: left to the library's preference it
// offers ed25519, which would look like a changed key.
func TestTunnelHostKeyAlgorithmFromKnownHosts(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	key := sshtest.NewKey(t, dir)
	ed := sshtest.NewKey(t, t.TempDir())
	rsaKey := sshtest.NewRSAKey(t, dir, "host_rsa")
	srv := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: []ssh.PublicKey{key.Public},
		HostKeys: []ssh.Signer{ed.Signer, rsaKey.Signer}})
	tg := newTarget(t, echo)
	f := &fixture{dir: dir, key: key, srv: srv}
	cfg := f.config(tg.endpoint())
	cfg.KnownHosts = []string{sshtest.WriteKnownHosts(t, dir, sshtest.KnownHostsLine(srv.Addr, rsaKey.Public))}
	tn := openTunnel(t, cfg)
	got, err := roundTrip(t, "tcp", tn.Addr().String(), "rsa")
	require.NoError(t, err)
	assert.Equal(t, "rsa", got)
}

func TestTunnelKnownHostsFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		content *string
		want    []string
	}{
		{name: "missing file", content: nil, want: []string{"does not exist", "ssh-keyscan"}},
		{name: "malformed line", content: ptr("# ok\n[127.0.0.1]:22 ssh-ed25519 AAAA-not-base64\n"), want: []string{"line 2 is malformed"}},
		{name: "key type only", content: ptr("host.example.com ssh-ed25519\n"), want: []string{"line 1 is malformed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			f := newFixture(t)
			path := f.dir + "/kh-" + strings.ReplaceAll(tc.name, " ", "-")
			if tc.content != nil {
				require.NoError(t, os.WriteFile(path, []byte(*tc.content), 0o600))
			}
			cfg := f.config(dbaas.Endpoint{Host: "127.0.0.1", Port: 5432})
			cfg.KnownHosts = []string{path}
			_, err := Open(context.Background(), cfg)
			require.Error(t, err)
			assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), path)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Zero(t, f.srv.SSHConns(), "nothing is dialled before the files are read")
		})
	}
}

func TestTunnelInsecureIgnoreHostKey(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	tg := newTarget(t, echo)
	cfg := f.config(tg.endpoint())
	cfg.KnownHosts = nil
	cfg.InsecureIgnoreHostKey = true
	tn := openTunnel(t, cfg)
	got, err := roundTrip(t, "tcp", tn.Addr().String(), "unchecked")
	require.NoError(t, err)
	assert.Equal(t, "unchecked", got)
}

func TestTunnelDefaultKnownHostsIsHomeFile(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	cfg := f.config(dbaas.Endpoint{Host: "127.0.0.1", Port: 5432})
	cfg.KnownHosts = nil
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Open(ctx, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), home+"/.ssh/known_hosts")

	require.NoError(t, os.MkdirAll(home+"/.ssh", 0o700))
	sshtest.WriteKnownHosts(t, home+"/.ssh", f.srv.KnownHostsLine())
	tn, err := Open(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, tn.Close())
}

func ptr[T any](v T) *T { return &v }
