package tunnel

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/agiledeploy/dbaaskit/internal/sshtest"
)

// stream is a long-lived connection through the tunnel to an echo
// target, proving at each call that it still carries data.
type stream struct {
	c net.Conn
	r *bufio.Reader
	n int
}

func openStream(t *testing.T, addr string) *stream {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	s := &stream{c: c, r: bufio.NewReader(c)}
	s.check(t)
	return s
}

// check sends a 64 KiB line and reads it back.
func (s *stream) check(t *testing.T) {
	t.Helper()
	s.n++
	line := fmt.Sprintf("%d %s\n", s.n, strings.Repeat("x", 64*1024))
	_ = s.c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err := io.WriteString(s.c, line)
	require.NoError(t, err, "write #%d", s.n)
	got, err := s.r.ReadString('\n')
	require.NoError(t, err, "read #%d", s.n)
	require.Equal(t, line, got, "echo #%d", s.n)
}

func TestTunnelSetRelaysKeepsOpenConnections(t *testing.T) {
	leakCheck(t)
	rs := startRelays(t, 2)
	tg := newTarget(t, echo)
	tn := openTunnel(t, rs[0].config(tg.endpoint()))
	s := openStream(t, tn.Addr().String())

	require.NoError(t, tn.SetRelays([]Relay{rs[1].relay()}))
	s.check(t) // still flowing through the relay that was removed
	st := tn.Stats()
	require.Len(t, st.Relays, 1)
	assert.Equal(t, rs[1].relay().String(), st.Relays[0].Relay)

	// New connections go through the new relay: with the old one gone,
	// they still work.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, tn.WaitReady(ctx))
	rs[0].sshd.Stop()
	got, err := roundTrip(t, "tcp", tn.Addr().String(), "via the new relay")
	require.NoError(t, err)
	assert.Equal(t, "via the new relay", got)
	assert.Equal(t, rs[1].relay().String(), tn.Stats().Relay)

	// An invalid list is refused and changes nothing.
	err = tn.SetRelays(nil)
	require.ErrorContains(t, err, "relays")
	err = tn.SetRelays([]Relay{rs[1].relay(), rs[1].relay()})
	require.ErrorContains(t, err, "relays[1]")
	assert.Len(t, tn.Stats().Relays, 1)
	require.NoError(t, tn.Close())
	require.ErrorIs(t, tn.SetRelays([]Relay{rs[0].relay()}), net.ErrClosed)
}

func TestTunnelHoldsARelayThatKeepsRefusing(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	key := sshtest.NewKey(t, dir)
	// The first relay may not forward to the database (as when its
	// security group changed): sshd refuses every forward.
	refusing := sshtest.StartSshd(t, sshtest.SshdOptions{AuthorizedKeys: []ssh.PublicKey{key.Public},
		Config: []string{"PermitOpen 127.0.0.1:1"}})
	good := sshtest.StartSshd(t, sshtest.SshdOptions{AuthorizedKeys: []ssh.PublicKey{key.Public}})
	known := sshtest.WriteKnownHosts(t, dir, refusing.KnownHostsLine(), good.KnownHostsLine())
	tg := newTarget(t, echo)
	first := &sshdRelay{key: key, sshd: refusing, known: known}
	second := &sshdRelay{key: key, sshd: good, known: known}
	cfg := first.config(tg.endpoint())
	cfg.Relays = append(cfg.Relays, second.relay())
	cfg.HoldAfter = 2
	cfg.HoldTime = time.Hour
	tn := openTunnel(t, cfg)

	for i := range 5 {
		// Each connection moves on to the second relay when the first
		// refuses; after two refusals the first is skipped.
		got, err := roundTrip(t, "tcp", tn.Addr().String(), fmt.Sprint(i))
		require.NoError(t, err, "connection %d", i)
		require.Equal(t, fmt.Sprint(i), got)
	}
	st := tn.Stats()
	require.Len(t, st.Relays, 2)
	assert.Equal(t, 2, st.Relays[0].Failures, "two refusals, then no more tries")
	assert.False(t, st.Relays[0].HeldUntil.IsZero(), "the refusing relay is on hold")
	assert.True(t, st.Relays[0].Up, "its SSH connection is fine; only its forwards fail")
	assert.Contains(t, st.Relays[0].LastError, "refused to connect to "+tg.endpoint().Address())
	assert.Zero(t, st.Relays[1].Failures)
	assert.EqualValues(t, 0, st.FailedDials)
	assert.GreaterOrEqual(t, st.Failovers, int64(1))
}

func TestTunnelAllRelaysDownNamesEveryRelay(t *testing.T) {
	leakCheck(t)
	rs := startRelays(t, 2)
	tg := newTarget(t, echo)
	cfg := rs[0].config(tg.endpoint())
	cfg.Relays = append(cfg.Relays, rs[1].relay())
	cfg.DialTimeout = time.Second
	tn := openTunnel(t, cfg)
	rs[0].sshd.Stop()
	rs[1].sshd.Stop()

	// The connection waits at most DialTimeout for a relay, then is
	// closed, and the error says what each relay answered.
	c, err := net.Dial("tcp", tn.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = c.Read(make([]byte, 1))
	require.ErrorIs(t, err, io.EOF, "closed, not left hanging")
	st := tn.Stats()
	assert.EqualValues(t, 1, st.FailedDials)
	assert.Contains(t, st.LastError, "no relay up within 1s")
	for _, r := range rs {
		assert.Contains(t, st.LastError, "relay "+r.relay().String()+": ")
	}
	assert.Contains(t, st.LastError, "connection refused")
	for _, r := range st.Relays {
		assert.False(t, r.Up, r.Relay)
		assert.NotEmpty(t, r.LastError, r.Relay)
	}
}
