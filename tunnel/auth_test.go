package tunnel

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/sshtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

func TestTunnelKeyFileErrors(t *testing.T) {
	pass := []byte("correct horse")
	// bcrypt makes encrypting a key slow (seconds under -race): make one
	// and copy it where a case needs it.
	enc := sshtest.NewEncryptedKey(t, t.TempDir(), "enc", pass)
	encIn := func(t *testing.T, dir string) *sshtest.Key {
		data, err := os.ReadFile(enc.Path)
		require.NoError(t, err)
		k := *enc
		k.Path = filepath.Join(dir, "enc")
		require.NoError(t, os.WriteFile(k.Path, data, 0o600))
		return &k
	}
	tests := []struct {
		name       string
		prepare    func(t *testing.T, dir string) (Auth, ssh.PublicKey)
		wantKind   error
		wantSubstr []string
	}{
		{
			name: "missing key file",
			prepare: func(t *testing.T, dir string) (Auth, ssh.PublicKey) {
				return Auth{KeyFiles: []string{filepath.Join(dir, "nope")}}, nil
			},
			wantSubstr: []string{"nope", "no such file"},
		},
		{
			name: "key readable by others",
			prepare: func(t *testing.T, dir string) (Auth, ssh.PublicKey) {
				k := sshtest.NewKey(t, dir)
				require.NoError(t, os.Chmod(k.Path, 0o644))
				return Auth{KeyFiles: []string{k.Path}}, k.Public
			},
			wantKind: dbaas.ErrPermissionDenied, wantSubstr: []string{"0644", "chmod 600"},
		},
		{
			name: "not a key",
			prepare: func(t *testing.T, dir string) (Auth, ssh.PublicKey) {
				p := filepath.Join(dir, "junk")
				require.NoError(t, os.WriteFile(p, []byte("hello"), 0o600))
				return Auth{KeyFiles: []string{p}}, nil
			},
			wantKind: dbaas.ErrInvalidArgument, wantSubstr: []string{"not a private key"},
		},
		{
			name: "encrypted key without passphrase callback",
			prepare: func(t *testing.T, dir string) (Auth, ssh.PublicKey) {
				k := encIn(t, dir)
				return Auth{KeyFiles: []string{k.Path}}, k.Public
			},
			wantKind: dbaas.ErrInvalidArgument, wantSubstr: []string{"encrypted", "Passphrase"},
		},
		{
			name: "wrong passphrase",
			prepare: func(t *testing.T, dir string) (Auth, ssh.PublicKey) {
				k := encIn(t, dir)
				return Auth{KeyFiles: []string{k.Path}, Passphrase: func(string) ([]byte, error) { return []byte("wrong"), nil }}, k.Public
			},
			wantKind: dbaas.ErrPermissionDenied, wantSubstr: []string{"wrong passphrase"},
		},
		{
			name: "right passphrase",
			prepare: func(t *testing.T, dir string) (Auth, ssh.PublicKey) {
				k := encIn(t, dir)
				return Auth{KeyFiles: []string{k.Path}, Passphrase: func(file string) ([]byte, error) {
					if file != k.Path {
						return nil, errors.New("asked for the wrong file")
					}
					return append([]byte(nil), pass...), nil
				}}, k.Public
			},
		},
		{
			name: "key the relay does not accept",
			prepare: func(t *testing.T, dir string) (Auth, ssh.PublicKey) {
				k := sshtest.NewKey(t, dir)
				return Auth{KeyFiles: []string{k.Path}}, nil
			},
			wantKind: dbaas.ErrPermissionDenied, wantSubstr: []string{"handshake", "accepted none of the keys"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			dir := t.TempDir()
			auth, pub := tc.prepare(t, dir)
			keys := []ssh.PublicKey{sshtest.NewKey(t, t.TempDir()).Public}
			if pub != nil {
				keys = append(keys, pub)
			}
			srv := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: keys})
			tg := newTarget(t, echo)
			cfg := (&fixture{srv: srv}).config(tg.endpoint())
			cfg.Auth = auth
			cfg.KnownHosts = []string{sshtest.WriteKnownHosts(t, dir, srv.KnownHostsLine())}
			tn, err := Open(context.Background(), cfg)
			if tc.wantSubstr == nil {
				require.NoError(t, err)
				got, err := roundTrip(t, "tcp", tn.Addr().String(), "ok")
				require.NoError(t, err)
				assert.Equal(t, "ok", got)
				require.NoError(t, tn.Close())
				return
			}
			require.Error(t, err)
			if tc.wantKind != nil {
				assert.ErrorIs(t, err, tc.wantKind)
			}
			for _, s := range tc.wantSubstr {
				assert.Contains(t, err.Error(), s)
			}
		})
	}
}

func TestTunnelAgentAuth(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	key := sshtest.NewKey(t, dir)
	keyring := agent.NewKeyring()
	require.NoError(t, keyring.Add(agent.AddedKey{PrivateKey: key.Raw}))
	sock := filepath.Join(dir, "agent.sock")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = agent.ServeAgent(keyring, c)
				_ = c.Close()
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	t.Setenv("SSH_AUTH_SOCK", sock)

	srv := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: []ssh.PublicKey{key.Public}})
	tg := newTarget(t, echo)
	cfg := (&fixture{srv: srv}).config(tg.endpoint())
	cfg.Auth = Auth{Agent: true}
	cfg.KnownHosts = []string{sshtest.WriteKnownHosts(t, dir, srv.KnownHostsLine())}
	tn := openTunnel(t, cfg)
	got, err := roundTrip(t, "tcp", tn.Addr().String(), "agent")
	require.NoError(t, err)
	assert.Equal(t, "agent", got)

	t.Setenv("SSH_AUTH_SOCK", "")
	_, err = Open(context.Background(), cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "SSH_AUTH_SOCK")
}

func TestTunnelUnreachableRelay(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	// A listener that accepts TCP and never speaks SSH: without a bound
	// on the handshake, Open would hang forever.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var held []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = silent.Close()
		<-done
		mu.Lock()
		for _, c := range held {
			_ = c.Close()
		}
		mu.Unlock()
	})
	closedPort := sshtest.FreePort(t)

	tests := []struct {
		name string
		host string
		want []string
	}{
		{name: "connection refused", host: net.JoinHostPort("127.0.0.1", itoa(closedPort)), want: []string{"dial relay 127.0.0.1:" + itoa(closedPort), "refused"}},
		{name: "handshake never answered", host: silent.Addr().String(), want: []string{"handshake with relay " + silent.Addr().String(), "timeout"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := f.config(dbaas.Endpoint{Host: "127.0.0.1", Port: 5432})
			cfg.Relays = []Relay{{Hop: Hop{Host: tc.host}}}
			cfg.DialTimeout = 300 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := Open(ctx, cfg)
			require.Error(t, err)
			require.NoError(t, ctx.Err(), "Open must give up on its own, within the dial timeout")
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func itoa(n int) string { return (dbaas.Endpoint{Port: n}).Address()[1:] }
