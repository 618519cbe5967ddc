package sshtest

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// ServerOptions configures an in-process Server.
type ServerOptions struct {
	// AuthorizedKeys may log in (as any user). Required.
	AuthorizedKeys []ssh.PublicKey
	// HostKeys are the server's host keys; default one new ed25519 key.
	HostKeys []ssh.Signer
	// Addr is the address to listen on; default 127.0.0.1:0.
	Addr string
}

// Server is an in-process SSH server that forwards direct-tcpip channels
// (what "ssh -L" opens). Tests use it to inject the faults a relay has:
// Freeze makes every connection go silent without closing (a dead relay
// behind a stateful firewall), Kill drops every connection and stops
// listening (a crashed relay), Start listens again on the same port.
type Server struct {
	// Addr is host:port the server listens on.
	Addr     string
	hostKeys []ssh.Signer
	config   *ssh.ServerConfig
	t        TB

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	frozen   bool
	thaw     chan struct{}
	wg       sync.WaitGroup
	sshConns atomic.Int64
	channels atomic.Int64
	rejected atomic.Int64
	requests atomic.Int64
	refuse   atomic.Bool
}

// NewServer starts a Server; t.Cleanup stops it.
func NewServer(t TB, opts ServerOptions) *Server {
	t.Helper()
	s := &Server{t: t, conns: map[net.Conn]struct{}{}, thaw: make(chan struct{})}
	s.hostKeys = opts.HostKeys
	if len(s.hostKeys) == 0 {
		s.hostKeys = []ssh.Signer{NewKey(t, t.TempDir()).Signer}
	}
	allowed := map[string]bool{}
	for _, k := range opts.AuthorizedKeys {
		allowed[string(k.Marshal())] = true
	}
	s.config = &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if allowed[string(key.Marshal())] {
				return nil, nil
			}
			return nil, errors.New("sshtest: key not authorized")
		},
	}
	for _, k := range s.hostKeys {
		s.config.AddHostKey(k)
	}
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("sshtest: listen: %v", err)
	}
	s.Addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(s.Close)
	return s
}

// HostKeys returns the server's public host keys.
func (s *Server) HostKeys() []ssh.PublicKey {
	out := make([]ssh.PublicKey, len(s.hostKeys))
	for i, k := range s.hostKeys {
		out[i] = k.PublicKey()
	}
	return out
}

// KnownHostsLine is the known_hosts line of the first host key.
func (s *Server) KnownHostsLine() string { return KnownHostsLine(s.Addr, s.hostKeys[0].PublicKey()) }

// Port returns the port the server listens on.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// SSHConns is the number of SSH connections that completed a handshake.
func (s *Server) SSHConns() int64 { return s.sshConns.Load() }

// Channels is the number of direct-tcpip channels accepted.
func (s *Server) Channels() int64 { return s.channels.Load() }

// Rejected is the number of direct-tcpip channels refused.
func (s *Server) Rejected() int64 { return s.rejected.Load() }

// GlobalRequests is the number of global requests (keepalives) received.
func (s *Server) GlobalRequests() int64 { return s.requests.Load() }

// RefuseForwards makes the server refuse every direct-tcpip channel, as
// "AllowTcpForwarding no" does.
func (s *Server) RefuseForwards(on bool) { s.refuse.Store(on) }

func (s *Server) serve(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fc := &freezableConn{Conn: c, s: s}
			s.mu.Lock()
			s.conns[fc] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handle(fc)
				s.mu.Lock()
				delete(s.conns, fc)
				s.mu.Unlock()
			}()
		}
	}()
}

func (s *Server) handle(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	sc, chans, reqs, err := ssh.NewServerConn(c, s.config)
	if err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	s.sshConns.Add(1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for r := range reqs {
			s.requests.Add(1)
			if r.WantReply {
				// OpenSSH answers keepalive@openssh.com with a failure
				// message; any answer proves the server alive.
				_ = r.Reply(false, nil)
			}
		}
	}()
	for nc := range chans {
		if nc.ChannelType() != "direct-tcpip" {
			_ = nc.Reject(ssh.UnknownChannelType, "only direct-tcpip")
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.forward(nc)
		}()
	}
	_ = sc.Close()
	wg.Wait()
}

// directTCPIP is the payload of a direct-tcpip channel open (RFC 4254 7.2).
type directTCPIP struct {
	Host       string
	Port       uint32
	OriginHost string
	OriginPort uint32
}

func (s *Server) forward(nc ssh.NewChannel) {
	var req directTCPIP
	if err := ssh.Unmarshal(nc.ExtraData(), &req); err != nil {
		_ = nc.Reject(ssh.ConnectionFailed, "bad direct-tcpip payload")
		return
	}
	if s.refuse.Load() {
		s.rejected.Add(1)
		_ = nc.Reject(ssh.Prohibited, "administratively prohibited: open failed")
		return
	}
	target, err := net.DialTimeout("tcp", net.JoinHostPort(req.Host, strconv.Itoa(int(req.Port))), 5*time.Second)
	if err != nil {
		s.rejected.Add(1)
		_ = nc.Reject(ssh.ConnectionFailed, "connect failed: "+err.Error())
		return
	}
	ch, reqs, err := nc.Accept()
	if err != nil {
		_ = target.Close()
		return
	}
	s.channels.Add(1)
	go ssh.DiscardRequests(reqs)
	Pipe(ch, target.(*net.TCPConn))
}

// Pipe copies between an SSH channel and a TCP connection in both
// directions, carrying each half-close across, and returns once both
// directions are done and both sides are closed.
func Pipe(ch ssh.Channel, c *net.TCPConn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(c, ch)
		_ = c.CloseWrite()
	}()
	_, _ = io.Copy(ch, c)
	_ = ch.CloseWrite()
	<-done
	_ = ch.Close()
	_ = c.Close()
}

// Freeze makes every current and future connection stop moving bytes
// without closing, so keepalives go unanswered.
func (s *Server) Freeze() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.frozen {
		s.frozen = true
		s.thaw = make(chan struct{})
	}
}

// Thaw undoes Freeze.
func (s *Server) Thaw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frozen {
		s.frozen = false
		close(s.thaw)
	}
}

func (s *Server) gate() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.frozen {
		return nil
	}
	return s.thaw
}

// Kill stops listening and drops every connection, as a crashed relay does.
func (s *Server) Kill() {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	conns := make([]net.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	if s.frozen {
		s.frozen = false
		close(s.thaw)
	}
	s.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	for _, c := range conns {
		_ = c.Close()
	}
}

// Start listens again on the same address after Kill.
func (s *Server) Start() {
	s.t.Helper()
	var ln net.Listener
	var err error
	// The port was just released; another process may race for it, so
	// retry briefly rather than fail on the first EADDRINUSE.
	for range 50 {
		ln, err = net.Listen("tcp", s.Addr)
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("sshtest: listen again on %s: %v", s.Addr, err)
	}
	s.serve(ln)
}

// Close kills the server and waits for every goroutine it started.
func (s *Server) Close() {
	s.Kill()
	s.wg.Wait()
}

// freezableConn blocks reads and writes while the server is frozen.
type freezableConn struct {
	net.Conn
	s *Server
}

func (c *freezableConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if g := c.s.gate(); g != nil {
		// Drop what arrived while frozen: a dead relay never answers it.
		<-g
		return 0, io.ErrUnexpectedEOF
	}
	return n, err
}

func (c *freezableConn) Write(b []byte) (int, error) {
	if g := c.s.gate(); g != nil {
		<-g
		return 0, net.ErrClosed
	}
	return c.Conn.Write(b)
}
