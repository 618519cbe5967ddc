package sshtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/agiledeploy/dbaaskit/internal/testenv"
	"golang.org/x/crypto/ssh"
)

// SshdOptions configures a real OpenSSH sshd.
type SshdOptions struct {
	// AuthorizedKeys may log in as the current user. Required.
	AuthorizedKeys []ssh.PublicKey
	// Config holds extra sshd_config lines (for example "Ciphers …").
	Config []string
}

// Sshd is OpenSSH's sshd run by a test on a loopback port with a
// temporary host key, authorized_keys and configuration.
type Sshd struct {
	// Addr is 127.0.0.1:port.
	Addr string
	// Port is the port it listens on.
	Port int
	// User is the user to log in as (the current user).
	User string
	// HostKey is the host key sshd offers.
	HostKey ssh.PublicKey

	t      TB
	bin    string
	dir    string
	config string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	stderr *bytes.Buffer
}

// StartSshd starts sshd, skipping the test (failing it under
// DBAAS_INTEGRATION=1) when OpenSSH's server is not installed. t.Cleanup
// stops it.
func StartSshd(t TB, opts SshdOptions) *Sshd {
	t.Helper()
	const install = "install OpenSSH's server (Debian: apt-get install openssh-server)"
	bin := "/usr/sbin/sshd"
	if _, err := os.Stat(bin); err != nil {
		if tb, ok := t.(testing.TB); ok {
			bin = testenv.LookPath(tb, "sshd", install)
		} else if bin, err = exec.LookPath("sshd"); err != nil {
			t.Fatalf("sshtest: sshd is not installed: %s", install)
		}
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshtest: current user: %v", err)
	}
	if os.Geteuid() == 0 {
		// sshd running as root refuses to start without its
		// privilege-separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatalf("sshtest: sshd needs /run/sshd: %v", err)
		}
	}
	dir := t.TempDir()
	host := NewKey(t, dir)
	if err := os.Rename(host.Path, filepath.Join(dir, "host_ed25519")); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	var ak bytes.Buffer
	for _, k := range opts.AuthorizedKeys {
		ak.Write(ssh.MarshalAuthorizedKey(k))
	}
	if err := os.WriteFile(filepath.Join(dir, "authorized_keys"), ak.Bytes(), 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	port := FreePort(t)
	lines := []string{
		"Port " + strconv.Itoa(port),
		"ListenAddress 127.0.0.1",
		"HostKey " + filepath.Join(dir, "host_ed25519"),
		"AuthorizedKeysFile " + filepath.Join(dir, "authorized_keys"),
		"PidFile none",
		// The temporary directory's owner and modes are not what
		// StrictModes wants for a home directory.
		"StrictModes no",
		"UsePAM no",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PubkeyAuthentication yes",
		"PermitRootLogin prohibit-password",
		"AllowTcpForwarding yes",
		"MaxStartups 100:30:200",
		"LogLevel ERROR",
	}
	lines = append(lines, opts.Config...)
	config := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(config, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	s := &Sshd{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, User: u.Username,
		HostKey: host.Public, t: t, bin: bin, dir: dir, config: config}
	t.Cleanup(s.Stop)
	s.Start()
	return s
}

// KnownHostsLine is the known_hosts line for this sshd.
func (s *Sshd) KnownHostsLine() string { return KnownHostsLine(s.Addr, s.HostKey) }

// Start starts sshd (again, after Stop) on the same port with the same
// host key and waits until it answers.
func (s *Sshd) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	var lastErr error
	// A just-killed sshd's port can stay busy for a moment.
	for range 50 {
		stderr := &bytes.Buffer{}
		cmd := exec.Command(s.bin, "-D", "-e", "-f", s.config)
		cmd.Stderr = stderr
		// A session child that escaped must not hold Wait forever.
		cmd.WaitDelay = 2 * time.Second
		if err := cmd.Start(); err != nil {
			s.t.Fatalf("sshtest: start sshd: %v", err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		if err := waitBanner(s.Addr, done); err == nil {
			s.cmd, s.done, s.stderr = cmd, done, stderr
			return
		} else {
			lastErr = fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
		}
		killTree(cmd.Process.Pid)
		<-done
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("sshtest: sshd did not start on %s: %v", s.Addr, lastErr)
}

// Stop kills sshd and every connection it serves.
func (s *Sshd) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	killTree(s.cmd.Process.Pid)
	<-s.done
	s.cmd = nil
}

// killTree kills pid and every process descended from it. sshd's
// per-connection children call setsid, so killing the process group
// would leave them, and the sessions they serve, alive. pid is stopped
// first so that it forks no new child while the tree is read.
func killTree(pid int) {
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	for _, c := range descendants(pid) {
		_ = syscall.Kill(c, syscall.SIGKILL)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// descendants lists the processes below pid, read from /proc.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The command name in parentheses may hold spaces: parse
		// after its closing parenthesis ("state ppid ...").
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		pp, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		children[pp] = append(children[pp], n)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// ChangeHostKey gives sshd a new host key, used from its next Start: a
// reinstalled relay, or a machine in the middle.
func (s *Sshd) ChangeHostKey() {
	s.t.Helper()
	k := NewKey(s.t, s.t.TempDir())
	if err := os.Rename(k.Path, filepath.Join(s.dir, "host_ed25519")); err != nil {
		s.t.Fatalf("sshtest: %v", err)
	}
	s.mu.Lock()
	s.HostKey = k.Public
	s.mu.Unlock()
}

// Stderr returns what sshd wrote to its standard error so far.
func (s *Sshd) Stderr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stderr == nil {
		return ""
	}
	return s.stderr.String()
}

func waitBanner(addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return errors.New("sshd exited")
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 4)
			_, err = c.Read(buf)
			_ = c.Close()
			if err == nil && string(buf) == "SSH-" {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("no SSH banner within 5s")
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("sshtest: free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
