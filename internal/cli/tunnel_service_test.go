package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"

	"github.com/agiledeploy/dbaaskit/internal/sshtest"
)

// tunnelLeakCheck fails the test when a goroutine it started outlives it; it
// must come first so that its cleanup runs last.
func tunnelLeakCheck(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// tunnelEchoServer answers every connection with what it sends, until the test
// ends.
func tunnelEchoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	conns := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(c, c)
				_ = c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// notifySocket listens where a service manager would (NOTIFY_SOCKET).
type notifySocket struct {
	path string
	conn *net.UnixConn
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return &notifySocket{path: path, conn: c}
}

// expect reads datagrams until one has the line want, and returns it.
func (n *notifySocket) expect(t *testing.T, want string) string {
	t.Helper()
	buf := make([]byte, 4096)
	_ = n.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		k, err := n.conn.Read(buf)
		require.NoError(t, err, "waiting for %s", want)
		msg := string(buf[:k])
		for _, line := range strings.Split(msg, "\n") {
			if line == want {
				return msg
			}
		}
	}
}

// lineStream is a connection through the tunnel to the echo server that
// proves at each check that it still carries data both ways.
type lineStream struct {
	c net.Conn
	r *bufio.Reader
	n int
}

func openLineStream(t *testing.T, addr string) *lineStream {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	s := &lineStream{c: c, r: bufio.NewReader(c)}
	s.check(t)
	return s
}

func (s *lineStream) check(t *testing.T) {
	t.Helper()
	s.n++
	line := fmt.Sprintf("%d %s\n", s.n, strings.Repeat("d", 256*1024))
	_ = s.c.SetDeadline(time.Now().Add(20 * time.Second))
	_, err := io.WriteString(s.c, line)
	require.NoError(t, err, "write #%d", s.n)
	got, err := s.r.ReadString('\n')
	require.NoError(t, err, "read #%d", s.n)
	require.Equal(t, len(line), len(got), "echo #%d", s.n)
}

// scrapeMetrics returns the metrics served at addr, one "name{labels} value" per
// entry.
func scrapeMetrics(t *testing.T, addr string) map[string]string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
			out[line[:i]] = line[i+1:]
		}
	}
	return out
}

type serviceRelays struct {
	key   *sshtest.Key
	sshds []*sshtest.Sshd
	known string
	file  string
}

func startServiceRelays(t *testing.T, n int) *serviceRelays {
	t.Helper()
	dir := t.TempDir()
	sr := &serviceRelays{key: sshtest.NewKey(t, dir), file: filepath.Join(dir, "relays")}
	var lines []string
	for range n {
		s := sshtest.StartSshd(t, sshtest.SshdOptions{AuthorizedKeys: []ssh.PublicKey{sr.key.Public}})
		sr.sshds = append(sr.sshds, s)
		lines = append(lines, s.KnownHostsLine())
	}
	sr.known = sshtest.WriteKnownHosts(t, dir, lines...)
	return sr
}

func (sr *serviceRelays) name(i int) string { return sr.sshds[i].User + "@" + sr.sshds[i].Addr }

// write makes the relays file list the relays given by index.
func (sr *serviceRelays) write(t *testing.T, idx ...int) {
	t.Helper()
	text := "# relays for the shop database\n"
	for _, i := range idx {
		text += sr.name(i) + "\n"
	}
	require.NoError(t, os.WriteFile(sr.file, []byte(text), 0o600))
}

func relayUp(name string) string { return `dbaas_tunnel_relay_up{relay="` + name + `"}` }

// startTunnelService starts "dbaas tunnel" as systemd would, and returns the
// command, the JSON it printed and its stderr.
func startTunnelService(t *testing.T, sr *serviceRelays, ns *notifySocket, remote string, extra ...string) (*exec.Cmd, tunnelResult, func() string) {
	t.Helper()
	args := append([]string{"--output", "json", "tunnel", "--remote", remote, "--relays-file", sr.file,
		"--identity", sr.key.Path, "--known-hosts", sr.known, "--metrics", "127.0.0.1:0"}, extra...)
	cmd, stdout, errb := newProc(t, "NOTIFY_SOCKET="+ns.path).start(args...)
	var res tunnelResult
	if err := json.NewDecoder(stdout).Decode(&res); err != nil {
		_ = cmd.Wait()
		t.Fatalf("no readiness line: %v: %s", err, errb.String())
	}
	return cmd, res, errb.String
}

func TestBinaryTunnelAsAService(t *testing.T) {
	tunnelLeakCheck(t)
	sr := startServiceRelays(t, 2)
	sr.write(t, 0, 1)
	ns := newNotifySocket(t)
	echo := tunnelEchoServer(t)
	cmd, res, stderr := startTunnelService(t, sr, ns, echo, "--drain-timeout", "1m")

	// Ready: the address is on stdout, READY=1 on the notify socket, and
	// the first connection is accepted and forwarded at once.
	msg := ns.expect(t, "READY=1")
	assert.Contains(t, msg, "STATUS=forwarding "+res.Listen)
	s := openLineStream(t, res.Listen)
	m := scrapeMetrics(t, res.Metrics)
	assert.Equal(t, "1", m[relayUp(sr.name(0))])
	assert.Equal(t, "0", m[relayUp(sr.name(1))], "failover: the second relay is not dialled while the first is up")
	assert.Equal(t, "1", m["dbaas_tunnel_open_connections"])

	// SIGHUP reloads the relay list; the stream through the removed relay
	// keeps flowing and new connections take the new one.
	sr.write(t, 1)
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	assert.Regexp(t, regexp.MustCompile(`MONOTONIC_USEC=\d+`), ns.expect(t, "RELOADING=1"))
	ns.expect(t, "READY=1")
	s.check(t)
	other := openLineStream(t, res.Listen)
	m = scrapeMetrics(t, res.Metrics)
	assert.Equal(t, "1", m[relayUp(sr.name(1))])
	assert.NotContains(t, m, relayUp(sr.name(0)), "the removed relay is gone from the metrics")
	assert.Equal(t, "2", m["dbaas_tunnel_open_connections"])
	require.NoError(t, other.c.Close())

	// A killed relay shows in the metrics, and so does its return.
	sr.sshds[1].Stop()
	require.Eventually(t, func() bool { return scrapeMetrics(t, res.Metrics)[relayUp(sr.name(1))] == "0" },
		30*time.Second, 20*time.Millisecond)
	sr.sshds[1].Start()
	require.Eventually(t, func() bool { return scrapeMetrics(t, res.Metrics)[relayUp(sr.name(1))] == "1" },
		30*time.Second, 20*time.Millisecond)
	assert.NotEqual(t, "0", scrapeMetrics(t, res.Metrics)["dbaas_tunnel_reconnects_total"])
	s.check(t)

	// SIGTERM: no new connections, the open one finishes, then exit 0.
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	ns.expect(t, "STOPPING=1")
	s.check(t)
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", res.Listen, time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err != nil
	}, 30*time.Second, 20*time.Millisecond, "the listener closes at SIGTERM")
	require.NoError(t, s.c.Close())
	require.NoError(t, cmd.Wait(), stderr())
	assert.Contains(t, stderr(), "tunnel: closed after 2 connections")
	assert.Contains(t, stderr(), "tunnel: reloaded: relays "+sr.name(1))
}

func TestBinaryTunnelDrainIsBounded(t *testing.T) {
	tunnelLeakCheck(t)
	sr := startServiceRelays(t, 1)
	sr.write(t, 0)
	ns := newNotifySocket(t)
	cmd, res, stderr := startTunnelService(t, sr, ns, tunnelEchoServer(t), "--drain-timeout", "500ms")
	ns.expect(t, "READY=1")
	s := openLineStream(t, res.Listen)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err := cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "a cut connection is a failure: %s", stderr())
	assert.Contains(t, stderr(), "1 connection(s) still open after")
	_ = s.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = s.r.ReadByte()
	assert.Error(t, err, "the connection still open was cut")
}

func TestBinaryTunnelReloadKeepsListOnBadFile(t *testing.T) {
	tunnelLeakCheck(t)
	sr := startServiceRelays(t, 1)
	sr.write(t, 0)
	ns := newNotifySocket(t)
	cmd, res, stderr := startTunnelService(t, sr, ns, tunnelEchoServer(t))
	ns.expect(t, "READY=1")
	require.NoError(t, os.WriteFile(sr.file, []byte("deploy@\n"), 0o600))
	require.NoError(t, cmd.Process.Signal(syscall.SIGHUP))
	ns.expect(t, "RELOADING=1")
	ns.expect(t, "READY=1")
	ls := openLineStream(t, res.Listen)
	ls.check(t)
	require.NoError(t, ls.c.Close())
	assert.Equal(t, "1", scrapeMetrics(t, res.Metrics)[relayUp(sr.name(0))])
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())
	assert.Contains(t, stderr(), "relay list kept")
	assert.Contains(t, stderr(), sr.file+":1")
}

// TestBinaryTunnelSystemdUnitExample keeps the example unit in step with
// the command: every flag it passes exists, and it uses the readiness and
// reload protocols the command speaks.
func TestBinaryTunnelSystemdUnitExample(t *testing.T) {
	unit, err := os.ReadFile(filepath.Join("..", "..", "examples", "tunnel", "dbaas-tunnel.service"))
	require.NoError(t, err)
	text := string(unit)
	assert.Contains(t, text, "\nType=notify\n")
	assert.Contains(t, text, "\nExecReload=/bin/kill -HUP $MAINPID\n")
	_, execStart, ok := strings.Cut(text, "\nExecStart=")
	require.True(t, ok, "the unit has ExecStart")
	execStart, _, _ = strings.Cut(execStart, "\n# ")
	help := newProc(t).ok("tunnel", "--help")
	flags := regexp.MustCompile(`\s(--[a-z-]+)`).FindAllStringSubmatch(execStart, -1)
	require.NotEmpty(t, flags)
	for _, f := range flags {
		assert.Contains(t, help, f[1]+" ", "the unit passes %s", f[1])
	}
	relays, err := os.ReadFile(filepath.Join("..", "..", "examples", "tunnel", "relays.example"))
	require.NoError(t, err)
	rl := relayList{file: filepath.Join(t.TempDir(), "relays")}
	require.NoError(t, os.WriteFile(rl.file, relays, 0o600))
	got, err := rl.read()
	require.NoError(t, err)
	assert.Len(t, got, 2)
}
