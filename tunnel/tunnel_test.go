package tunnel

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/sshtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func TestTunnelSharesOneSSHConnection(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	tg := newTarget(t, echo)
	tn := openTunnel(t, f.config(tg.endpoint()))

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := fmt.Sprintf("hello %d", i)
			got, err := roundTrip(t, "tcp", tn.Addr().String(), msg)
			if err == nil && got != msg {
				err = fmt.Errorf("got %q, want %q", got, msg)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, f.srv.SSHConns(), "every forwarded connection must share one SSH connection")
	assert.EqualValues(t, 20, f.srv.Channels())
	// A forward counts its bytes as it ends, which may come just after
	// its client has read the answer: read the counters once every
	// forward has ended.
	require.Eventually(t, func() bool { return tn.Stats().Open == 0 }, 10*time.Second, time.Millisecond)
	st := tn.Stats()
	assert.EqualValues(t, 20, st.Total)
	assert.Positive(t, st.BytesToRemote)
	assert.Equal(t, st.BytesToRemote, st.BytesFromRemote, "echo returns every byte")
	assert.Equal(t, "tester@"+f.srv.Addr, st.Relay)
	assert.True(t, tn.Ready())
}

func TestTunnelCarriesHalfCloseBothWays(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	// The server reads until the client's EOF, then answers with what it
	// counted and closes its side: the answer only arrives if the
	// client's half-close reached it and the tunnel kept the other half
	// open.
	tg := newTarget(t, func(c *net.TCPConn) {
		n, err := io.Copy(io.Discard, c)
		if err != nil {
			return
		}
		_, _ = fmt.Fprintf(c, "got %d bytes", n)
		_ = c.CloseWrite()
	})
	tn := openTunnel(t, f.config(tg.endpoint()))

	c, err := net.Dial("tcp", tn.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	payload := strings.Repeat("x", 100_000)
	_, err = io.WriteString(c, payload)
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	answer, err := io.ReadAll(c)
	require.NoError(t, err, "the server's EOF must arrive as EOF")
	assert.Equal(t, "got 100000 bytes", string(answer))
	require.Eventually(t, func() bool { return tn.Stats().Open == 0 }, 5*time.Second, 10*time.Millisecond,
		"a connection ended by both sides must be closed and forgotten")
}

func TestTunnelRefusedForwardFailsThatConnectionOnly(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	tg := newTarget(t, echo)
	// A port nobody listens on: the relay's connect fails.
	closedPort := sshtest.FreePort(t)
	cfg := f.config(dbaas.Endpoint{Host: "127.0.0.1", Port: closedPort})
	tn := openTunnel(t, cfg)

	_, err := roundTrip(t, "tcp", tn.Addr().String(), "lost")
	require.Error(t, err, "a refused forward must close the local connection")
	st := tn.Stats()
	assert.EqualValues(t, 1, st.FailedDials)
	assert.Contains(t, st.LastError, f.srv.Addr, "the failure names the relay")
	assert.Contains(t, st.LastError, cfg.Remote.Address(), "and the remote address")
	assert.Contains(t, st.LastError, "refused", "and the relay's reason")
	assert.True(t, tn.Ready(), "one failed forward must not take the tunnel down")

	// The same SSH connection still forwards elsewhere.
	cfg.Remote = tg.endpoint()
	tn2 := openTunnel(t, cfg)
	got, err := roundTrip(t, "tcp", tn2.Addr().String(), "still here")
	require.NoError(t, err)
	assert.Equal(t, "still here", got)

	f.srv.RefuseForwards(true)
	_, err = roundTrip(t, "tcp", tn2.Addr().String(), "prohibited")
	require.Error(t, err)
	f.srv.RefuseForwards(false)
	got, err = roundTrip(t, "tcp", tn2.Addr().String(), "allowed again")
	require.NoError(t, err)
	assert.Equal(t, "allowed again", got)
}

func TestTunnelLimitsOpenConnections(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	tg := newTarget(t, echo)
	cfg := f.config(tg.endpoint())
	cfg.MaxConns = 2
	tn := openTunnel(t, cfg)

	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", tn.Addr().String())
		require.NoError(t, err)
		defer c.Close()
		_, err = io.WriteString(c, "hi\n")
		require.NoError(t, err)
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err = bufio.NewReader(c).ReadString('\n')
		require.NoError(t, err)
		held = append(held, c)
	}
	_, err := roundTrip(t, "tcp", tn.Addr().String(), "third")
	require.Error(t, err, "a connection past MaxConns must be closed")
	assert.EqualValues(t, 1, tn.Stats().Refused)

	_ = held[0].Close()
	require.Eventually(t, func() bool {
		got, err := roundTrip(t, "tcp", tn.Addr().String(), "after one left")
		return err == nil && got == "after one left"
	}, 5*time.Second, 20*time.Millisecond)
}

func TestTunnelCloseDrains(t *testing.T) {
	tests := []struct {
		name    string
		finish  bool // the client ends its connection during the drain
		wantCut int
	}{
		{name: "connection ends in time", finish: true, wantCut: 0},
		{name: "connection outlives the deadline", finish: false, wantCut: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leakCheck(t)
			f := newFixture(t)
			tg := newTarget(t, echo)
			cfg := f.config(tg.endpoint())
			tn, err := Open(context.Background(), cfg)
			require.NoError(t, err)

			c, err := net.Dial("tcp", tn.Addr().String())
			require.NoError(t, err)
			defer c.Close()
			_, err = io.WriteString(c, "hi\n")
			require.NoError(t, err)
			r := bufio.NewReader(c)
			_, err = r.ReadString('\n')
			require.NoError(t, err)

			closed := make(chan error, 1)
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			go func() { closed <- tn.Shutdown(ctx) }()

			// New connections are refused at once while draining.
			require.Eventually(t, func() bool {
				_, err := roundTrip(t, "tcp", tn.Addr().String(), "late")
				return err != nil
			}, 2*time.Second, 10*time.Millisecond)
			// The open one still works during the drain.
			_, err = io.WriteString(c, "during drain\n")
			require.NoError(t, err)
			line, err := r.ReadString('\n')
			require.NoError(t, err)
			assert.Equal(t, "during drain\n", line)

			if tc.finish {
				_ = c.Close()
			}
			err = <-closed
			var de *DrainError
			if tc.wantCut == 0 {
				require.NoError(t, err)
				return
			}
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.wantCut, de.Cut)
			assert.ErrorIs(t, err, dbaas.ErrTimeout)
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err = r.ReadString('\n')
			assert.ErrorIs(t, err, io.EOF, "a cut connection must be closed")
		})
	}
}

func TestTunnelReconnectsAfterRelayRestart(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	tg := newTarget(t, echo)
	tn := openTunnel(t, f.config(tg.endpoint()))
	got, err := roundTrip(t, "tcp", tn.Addr().String(), "before")
	require.NoError(t, err)
	require.Equal(t, "before", got)

	f.srv.Kill()
	require.Eventually(t, func() bool { return !tn.Ready() }, 5*time.Second, 5*time.Millisecond)
	// A connection made while the relay is down waits for the new SSH
	// connection instead of failing.
	answer := make(chan error, 1)
	go func() {
		got, err := roundTrip(t, "tcp", tn.Addr().String(), "during")
		if err == nil && got != "during" {
			err = fmt.Errorf("got %q", got)
		}
		answer <- err
	}()
	time.Sleep(100 * time.Millisecond)
	f.srv.Start()
	require.NoError(t, <-answer)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, tn.WaitReady(ctx))
	assert.GreaterOrEqual(t, tn.Stats().Reconnects, int64(1))
	assert.GreaterOrEqual(t, f.srv.SSHConns(), int64(2), "a new SSH connection after the restart")
}

func TestTunnelKeepaliveDetectsDeadRelayAndFailsOver(t *testing.T) {
	leakCheck(t)
	primary := newFixture(t)
	dir := t.TempDir()
	backup := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: []ssh.PublicKey{primary.key.Public}})
	known := sshtest.WriteKnownHosts(t, dir, primary.srv.KnownHostsLine(), backup.KnownHostsLine())
	tg := newTarget(t, echo)
	cfg := primary.config(tg.endpoint())
	cfg.KnownHosts = []string{known}
	cfg.Relays = append(cfg.Relays, Relay{Hop: Hop{Host: backup.Addr}})
	cfg.DialTimeout = time.Second
	tn := openTunnel(t, cfg)
	assert.EqualValues(t, 0, backup.SSHConns(), "failover must not connect to the backup while the primary is up")

	// Frozen: TCP stays open but nothing answers, as when a relay's host
	// dies behind a firewall. Only keepalives can notice.
	primary.srv.Freeze()
	require.Eventually(t, func() bool { return strings.HasSuffix(tn.Stats().Relay, backup.Addr) },
		10*time.Second, 10*time.Millisecond, "keepalive must declare the frozen relay dead and fail over")
	got, err := roundTrip(t, "tcp", tn.Addr().String(), "via backup")
	require.NoError(t, err)
	assert.Equal(t, "via backup", got)
	assert.EqualValues(t, 1, backup.Channels())

	// When the primary answers again, new connections go back to it.
	primary.srv.Thaw()
	require.Eventually(t, func() bool { return strings.HasSuffix(tn.Stats().Relay, primary.srv.Addr) },
		10*time.Second, 10*time.Millisecond)
	got, err = roundTrip(t, "tcp", tn.Addr().String(), "via primary")
	require.NoError(t, err)
	assert.Equal(t, "via primary", got)
}

func TestTunnelRoundRobin(t *testing.T) {
	leakCheck(t)
	a := newFixture(t)
	b := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: []ssh.PublicKey{a.key.Public}})
	known := sshtest.WriteKnownHosts(t, t.TempDir(), a.srv.KnownHostsLine(), b.KnownHostsLine())
	tg := newTarget(t, echo)
	cfg := a.config(tg.endpoint())
	cfg.KnownHosts = []string{known}
	cfg.Relays = append(cfg.Relays, Relay{Hop: Hop{Host: b.Addr}})
	cfg.Policy = RoundRobin
	tn := openTunnel(t, cfg)
	assert.Equal(t, 2, tn.Stats().RelaysUp)
	for i := range 6 {
		_, err := roundTrip(t, "tcp", tn.Addr().String(), fmt.Sprint(i))
		require.NoError(t, err)
	}
	assert.EqualValues(t, 3, a.srv.Channels())
	assert.EqualValues(t, 3, b.Channels())

	// With one relay gone, everything goes through the other.
	b.Kill()
	require.Eventually(t, func() bool { return tn.Stats().RelaysUp == 1 }, 5*time.Second, 5*time.Millisecond)
	for i := range 4 {
		_, err := roundTrip(t, "tcp", tn.Addr().String(), fmt.Sprint(i))
		require.NoError(t, err)
	}
	assert.EqualValues(t, 7, a.srv.Channels())
}

func TestTunnelJumpHosts(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	jump1 := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: []ssh.PublicKey{f.key.Public}})
	jump2 := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: []ssh.PublicKey{f.key.Public}})
	tg := newTarget(t, echo)
	cfg := f.config(tg.endpoint())
	cfg.Relays[0].Jump = []Hop{{Host: jump1.Addr}, {Host: jump2.Addr}}

	// Each hop's host key is checked: with jump2 unknown, Open fails and
	// names it.
	cfg.KnownHosts = []string{sshtest.WriteKnownHosts(t, t.TempDir(), f.srv.KnownHostsLine(), jump1.KnownHostsLine())}
	_, err := Open(context.Background(), cfg)
	var he *HostKeyError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, jump2.Addr, he.Host)

	cfg.KnownHosts = []string{sshtest.WriteKnownHosts(t, t.TempDir(), f.srv.KnownHostsLine(), jump1.KnownHostsLine(), jump2.KnownHostsLine())}
	before1, before2 := jump1.Channels(), jump2.Channels()
	tn := openTunnel(t, cfg)
	got, err := roundTrip(t, "tcp", tn.Addr().String(), "through two jumps")
	require.NoError(t, err)
	assert.Equal(t, "through two jumps", got)
	assert.EqualValues(t, 1, jump1.Channels()-before1, "jump1 carries the connection to jump2")
	assert.EqualValues(t, 1, jump2.Channels()-before2, "jump2 carries the connection to the relay")
	assert.EqualValues(t, 1, f.srv.Channels(), "the relay carries the connection to the database")
}

func TestTunnelUnixSocket(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	tg := newTarget(t, echo)
	cfg := f.config(tg.endpoint())
	dir := t.TempDir()
	cfg.Listen = PostgresSocket(dir, 5432)
	tn := openTunnel(t, cfg)
	path := filepath.Join(dir, ".s.PGSQL.5432")
	assert.Equal(t, path, tn.Addr().String())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "only the owner may use the socket")
	got, err := roundTrip(t, "unix", path, "over a socket")
	require.NoError(t, err)
	assert.Equal(t, "over a socket", got)
	assert.True(t, tn.Endpoint().IsZero())
	require.NoError(t, tn.Close())
	_, err = os.Stat(path)
	assert.True(t, errors.Is(err, os.ErrNotExist), "Close removes the socket")
}

// A stream cut by the relay's death must reach the client as an error,
// never as a clean EOF that would pass a truncated result for a whole one.
func TestTunnelRelayDeathIsNotACleanEOF(t *testing.T) {
	leakCheck(t)
	f := newFixture(t)
	started := make(chan struct{}, 1)
	tg := newTarget(t, func(c *net.TCPConn) {
		// Stream without end until the connection goes.
		block := make([]byte, 16*1024)
		for i := 0; ; i++ {
			if _, err := c.Write(block); err != nil {
				return
			}
			if i == 4 {
				started <- struct{}{}
			}
			time.Sleep(time.Millisecond)
		}
	})
	tn := openTunnel(t, f.config(tg.endpoint()))
	c, err := net.Dial("tcp", tn.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	readErr := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, c)
		readErr <- err
	}()
	<-started
	f.srv.Kill()
	err = <-readErr
	require.Error(t, err, "io.Copy returned nil: the cut stream looked complete")
	assert.ErrorIs(t, err, syscall.ECONNRESET)
}
