package tunnel

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/sshtest"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"
)

// leakCheck fails the test when a goroutine it started outlives it. It
// must be called first so that its cleanup runs last.
func leakCheck(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// target is a TCP server standing in for the database.
type target struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]struct{}
}

// newTarget serves each connection with handle; t.Cleanup stops it and
// waits for every handler.
func newTarget(t *testing.T, handle func(c *net.TCPConn)) *target {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tg := &target{ln: ln, open: map[net.Conn]struct{}{}}
	tg.wg.Add(1)
	go func() {
		defer tg.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tg.mu.Lock()
			tg.open[c] = struct{}{}
			tg.mu.Unlock()
			tg.wg.Add(1)
			go func() {
				defer tg.wg.Done()
				handle(c.(*net.TCPConn))
				_ = c.Close()
				tg.mu.Lock()
				delete(tg.open, c)
				tg.mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		tg.mu.Lock()
		for c := range tg.open {
			_ = c.Close()
		}
		tg.mu.Unlock()
		tg.wg.Wait()
	})
	return tg
}

func (tg *target) endpoint() dbaas.Endpoint {
	a := tg.ln.Addr().(*net.TCPAddr)
	return dbaas.Endpoint{Host: "127.0.0.1", Port: a.Port}
}

// echo answers each line with the same line.
func echo(c *net.TCPConn) {
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := io.WriteString(c, line); err != nil {
			return
		}
	}
}

// fixture is an in-process relay, a key allowed on it and a known_hosts
// file that knows it.
type fixture struct {
	dir   string
	key   *sshtest.Key
	srv   *sshtest.Server
	known string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	key := sshtest.NewKey(t, dir)
	srv := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: []ssh.PublicKey{key.Public}})
	known := sshtest.WriteKnownHosts(t, dir, srv.KnownHostsLine())
	return &fixture{dir: dir, key: key, srv: srv, known: known}
}

// config returns a Config through f's relay to remote with short timers.
func (f *fixture) config(remote dbaas.Endpoint) Config {
	var auth Auth
	if f.key != nil {
		auth.KeyFiles = []string{f.key.Path}
	}
	return Config{
		Relays:      []Relay{{Hop: Hop{Host: f.srv.Addr, User: "tester"}}},
		Remote:      remote,
		Auth:        auth,
		KnownHosts:  []string{f.known},
		DialTimeout: 3 * time.Second,
		// Short enough for the keepalive tests, long enough that a live
		// relay on a loaded CI machine is not declared dead.
		KeepaliveInterval: 250 * time.Millisecond,
		KeepaliveCount:    4,
		MinBackoff:        20 * time.Millisecond,
		MaxBackoff:        200 * time.Millisecond,
		DrainTimeout:      2 * time.Second,
	}
}

func openTunnel(t *testing.T, cfg Config) *Tunnel {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tn, err := Open(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tn.Close() })
	return tn
}

// roundTrip sends one line through addr and returns the answer.
func roundTrip(t *testing.T, network, addr, msg string) (string, error) {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 3*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}
