package tunnel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"golang.org/x/crypto/ssh"
)

// Tunnel forwards connections made to a local address through an SSH
// relay to a remote database, like "ssh -N -L". It is safe for
// concurrent use.
type Tunnel struct {
	cfg      Config
	signers  []ssh.Signer
	hostKeys *hostKeys
	ln       net.Listener
	links    []*link

	// ctx ends the links' loops; dialCtx ends forwarded dials still
	// waiting for a relay when Close begins.
	ctx, dialCtx       context.Context
	cancel, cancelDial context.CancelFunc
	loops              sync.WaitGroup
	conns              sync.WaitGroup
	sem                chan struct{}

	acceptDone chan struct{} // closed when acceptLoop has returned

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when a link goes up or down
	open    map[*forward]struct{}
	closing bool
	closed  chan struct{}
	lastErr string // the last forward that failed, for Stats
	cut     int
	rr      uint64

	total, refused, failedDials atomic.Int64
	toRemote, fromRemote        atomic.Int64
	reconnects                  atomic.Int64
}

type forward struct{ local, remote net.Conn }

// Open checks cfg, reads the keys and known_hosts files, makes the SSH
// connection (to the first relay that answers, or with RoundRobin to every
// relay) and starts listening. It returns an error, and leaves nothing
// running, when no relay can be reached or when any relay tried offers an
// unknown host key or refuses the login.
func Open(ctx context.Context, cfg Config) (*Tunnel, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	signers, err := loadSigners(cfg.Auth)
	if err != nil {
		return nil, err
	}
	hk, err := loadHostKeys(cfg)
	if err != nil {
		return nil, err
	}
	t := &Tunnel{cfg: cfg, signers: signers, hostKeys: hk, sem: make(chan struct{}, cfg.MaxConns),
		changed: make(chan struct{}), open: map[*forward]struct{}{}, closed: make(chan struct{}),
		acceptDone: make(chan struct{})}
	for i, r := range cfg.Relays {
		t.links = append(t.links, &link{t: t, idx: i, relay: r, kick: make(chan struct{}, 1)})
	}

	type made struct {
		sess *session
		err  error
	}
	tried := make([]made, 0, len(t.links))
	up := 0
	var errs []error
	for _, l := range t.links {
		sess, err := l.dial(ctx)
		tried = append(tried, made{sess, err})
		if err != nil {
			errs = append(errs, err)
			if permanent(err) || ctx.Err() != nil {
				break
			}
			continue
		}
		up++
		if cfg.Policy == Failover {
			break
		}
	}
	closeAll := func() {
		for _, m := range tried {
			if m.sess != nil {
				m.sess.close()
			}
		}
	}
	// A host key that does not match or a refused login on any relay
	// tried is a configuration error: report it now rather than run on
	// the other relays and hide it.
	for _, e := range errs {
		if permanent(e) || ctx.Err() != nil {
			up = 0
		}
	}
	if up == 0 {
		closeAll()
		return nil, fmt.Errorf("tunnel open: %w", errors.Join(errs...))
	}
	ln, err := listen(cfg)
	if err != nil {
		closeAll()
		return nil, err
	}
	t.ln = ln
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.dialCtx, t.cancelDial = context.WithCancel(t.ctx)
	// Every relay tried gets its loop: the one that answered keeps its
	// connection up, those that failed keep trying in the background.
	for i, m := range tried {
		l := t.links[i]
		l.sess, l.lastErr = m.sess, m.err
		t.startLink(l, m.sess)
	}
	go t.acceptLoop()
	cfg.Logger.Info("tunnel: open", "listen", ln.Addr().String(), "remote", cfg.Remote.Address())
	return t, nil
}

func listen(cfg Config) (net.Listener, error) {
	network, addr := cfg.listenNetwork()
	if network == "unix" {
		if fi, err := os.Lstat(addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			// A socket left by a process that died; remove it only when
			// nobody answers on it.
			if c, err := net.DialTimeout("unix", addr, time.Second); err == nil {
				_ = c.Close()
				return nil, fmt.Errorf("tunnel listen: unix socket %s is in use by another process: %w", addr, dbaas.ErrConflict)
			}
			_ = os.Remove(addr)
		}
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("tunnel listen on %s: %w", cfg.Listen, err)
	}
	if network == "unix" {
		// Only this user may connect: the socket leads to a database.
		if err := os.Chmod(addr, 0o600); err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("tunnel listen: chmod %s: %w", addr, err)
		}
	}
	return ln, nil
}

func (t *Tunnel) startLink(l *link, sess *session) {
	t.mu.Lock()
	if l.running || t.ctx.Err() != nil {
		t.mu.Unlock()
		return
	}
	l.running = true
	t.mu.Unlock()
	t.loops.Add(1)
	go func() {
		defer t.loops.Done()
		l.run(t.ctx, sess)
	}()
}

// setLink records a link's state and wakes the connections waiting for a
// relay.
func (t *Tunnel) setLink(l *link, sess *session, err error) {
	t.mu.Lock()
	l.sess = sess
	if err != nil {
		l.lastErr = err
	}
	close(t.changed)
	t.changed = make(chan struct{})
	up := t.upLocked()
	t.mu.Unlock()
	if !up {
		// No relay is up: bring up the others now, so that the next
		// connection finds one ready rather than waiting for it.
		t.startAll()
	}
}

func (t *Tunnel) startAll() {
	for _, l := range t.links {
		t.startLink(l, nil)
	}
}

func (t *Tunnel) upLocked() bool {
	for _, l := range t.links {
		if l.sess != nil {
			return true
		}
	}
	return false
}

// pickLocked returns the SSH connection new connections use, or nil when
// no relay is up.
func (t *Tunnel) pickLocked() (*session, *link) {
	switch t.cfg.Policy {
	case RoundRobin:
		var up []*link
		for _, l := range t.links {
			if l.sess != nil {
				up = append(up, l)
			}
		}
		if len(up) == 0 {
			return nil, nil
		}
		t.rr++
		l := up[t.rr%uint64(len(up))]
		return l.sess, l
	default:
		for _, l := range t.links {
			if l.sess != nil {
				return l.sess, l
			}
		}
		return nil, nil
	}
}

// acquire returns an SSH connection, waiting while none is up (a relay
// that died is being replaced) until ctx ends.
func (t *Tunnel) acquire(ctx context.Context) (*session, *link, error) {
	for {
		t.mu.Lock()
		c, l := t.pickLocked()
		ch := t.changed
		t.mu.Unlock()
		if c != nil {
			return c, l, nil
		}
		t.startAll()
		for _, l := range t.links {
			select {
			case l.kick <- struct{}{}:
			default:
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("no relay up within %s: %w", t.cfg.DialTimeout, t.lastErrors())
		}
	}
}

func (t *Tunnel) lastErrors() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, l := range t.links {
		if l.lastErr != nil {
			errs = append(errs, fmt.Errorf("relay %s: %w", l.relay, l.lastErr))
		}
	}
	if len(errs) == 0 {
		return dbaas.ErrTimeout
	}
	return errors.Join(append(errs, dbaas.ErrTimeout)...)
}

// dialRemote opens a channel to Remote. A refused forward fails this
// connection only; a connection found dead is retried once on the next
// one up.
func (t *Tunnel) dialRemote(ctx context.Context) (net.Conn, *session, error) {
	var lastErr error
	for range 2 {
		s, l, err := t.acquire(ctx)
		if err != nil {
			return nil, nil, err
		}
		conn, err := s.client.DialContext(ctx, "tcp", t.cfg.Remote.Address())
		if err == nil {
			return conn, s, nil
		}
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) {
			return nil, nil, fmt.Errorf("relay %s refused to connect to %s: %s (%s)", l.relay, t.cfg.Remote.Address(), oce.Message, oce.Reason)
		}
		lastErr = fmt.Errorf("relay %s: forward to %s: %w", l.relay, t.cfg.Remote.Address(), err)
		if ctx.Err() != nil {
			break
		}
		// The SSH connection is dead; drop it now rather than wait for
		// keepalives, so the link reconnects.
		_ = s.client.Close()
	}
	return nil, nil, lastErr
}

func (t *Tunnel) acceptLoop() {
	defer close(t.acceptDone)
	var delay time.Duration
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if t.isClosing() {
				return
			}
			// Out of descriptors and similar: back off, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.cfg.Logger.Warn("tunnel: accept", "err", err, "retry_in", delay)
			select {
			case <-time.After(delay):
			case <-t.dialCtx.Done():
				return
			}
			continue
		}
		delay = 0
		select {
		case t.sem <- struct{}{}:
		default:
			t.refused.Add(1)
			t.cfg.Logger.Warn("tunnel: connection refused: too many open", "max_conns", t.cfg.MaxConns)
			_ = c.Close()
			continue
		}
		t.total.Add(1)
		t.conns.Add(1)
		go t.serve(c)
	}
}

func (t *Tunnel) isClosing() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closing
}

func (t *Tunnel) serve(local net.Conn) {
	defer t.conns.Done()
	defer func() { <-t.sem }()
	ctx, cancel := context.WithTimeout(t.dialCtx, t.cfg.DialTimeout)
	remote, sess, err := t.dialRemote(ctx)
	cancel()
	if err != nil {
		t.failedDials.Add(1)
		t.mu.Lock()
		t.lastErr = err.Error()
		t.mu.Unlock()
		t.cfg.Logger.Warn("tunnel: forward failed", "client", local.RemoteAddr().String(), "err", err)
		_ = local.Close()
		return
	}
	f := &forward{local: local, remote: remote}
	t.mu.Lock()
	if t.cut > 0 || t.dialCtx.Err() != nil {
		// Close cut the open connections while this one was dialling.
		t.mu.Unlock()
		_ = local.Close()
		_ = remote.Close()
		return
	}
	t.open[f] = struct{}{}
	t.mu.Unlock()
	pipe(local, remote, sess.wire.broken.Load, &t.toRemote, &t.fromRemote)
	t.mu.Lock()
	delete(t.open, f)
	t.mu.Unlock()
}

// Addr returns the local address to connect to: a *net.TCPAddr, or a
// *net.UnixAddr for a Unix socket.
func (t *Tunnel) Addr() net.Addr { return t.ln.Addr() }

// Endpoint returns the local TCP endpoint as a dbaas.Endpoint. It is zero
// for a Unix socket.
func (t *Tunnel) Endpoint() dbaas.Endpoint {
	a, ok := t.ln.Addr().(*net.TCPAddr)
	if !ok {
		return dbaas.Endpoint{}
	}
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return dbaas.Endpoint{Host: host, Port: a.Port}
}

// Ready reports whether an SSH connection is up, so that a new connection
// is forwarded at once.
func (t *Tunnel) Ready() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.upLocked()
}

// WaitReady waits until an SSH connection is up or ctx ends.
func (t *Tunnel) WaitReady(ctx context.Context) error {
	for {
		t.mu.Lock()
		ch := t.changed
		t.mu.Unlock()
		if t.Ready() {
			return nil
		}
		select {
		case <-ch:
		case <-t.closed:
			return fmt.Errorf("tunnel: closed: %w", net.ErrClosed)
		case <-ctx.Done():
			return fmt.Errorf("tunnel: wait ready: %w", t.lastErrors())
		}
	}
}

// Stats are a tunnel's counters.
type Stats struct {
	// Open is the number of forwarded connections open now.
	Open int64 `json:"open"`
	// Total is the number of local connections accepted.
	Total int64 `json:"total"`
	// Refused counts connections closed at once because MaxConns were open.
	Refused int64 `json:"refused"`
	// FailedDials counts connections the relay could not forward.
	FailedDials int64 `json:"failed_dials"`
	// BytesToRemote and BytesFromRemote count the bytes forwarded each way.
	BytesToRemote   int64 `json:"bytes_to_remote"`
	BytesFromRemote int64 `json:"bytes_from_remote"`
	// Reconnects counts SSH connections made after the first.
	Reconnects int64 `json:"reconnects"`
	// Relay names the relay new connections go to; empty while none is up.
	Relay string `json:"relay"`
	// RelaysUp is the number of relays with an SSH connection up.
	RelaysUp int `json:"relays_up"`
	// LastError says why the last failed forward failed (the relay, the
	// remote address and the relay's reason); empty when none failed.
	LastError string `json:"last_error,omitempty"`
}

// Stats returns the current counters.
func (t *Tunnel) Stats() Stats {
	s := Stats{Total: t.total.Load(), Refused: t.refused.Load(), FailedDials: t.failedDials.Load(),
		BytesToRemote: t.toRemote.Load(), BytesFromRemote: t.fromRemote.Load(), Reconnects: t.reconnects.Load()}
	t.mu.Lock()
	defer t.mu.Unlock()
	s.Open = int64(len(t.open))
	s.LastError = t.lastErr
	first := ""
	for _, l := range t.links {
		if l.sess != nil {
			s.RelaysUp++
			if first == "" {
				first = l.relay.String()
			}
		}
	}
	s.Relay = first
	if t.cfg.Policy == RoundRobin && s.RelaysUp > 1 {
		s.Relay = strconv.Itoa(s.RelaysUp) + " relays (round robin)"
	}
	return s
}

// DrainError is Close's error when connections were still open at the
// drain deadline and were cut.
type DrainError struct {
	// Cut is the number of connections cut.
	Cut int
	// After is how long Close waited.
	After time.Duration
}

func (e *DrainError) Error() string {
	return fmt.Sprintf("tunnel close: %d connection(s) still open after %s were cut", e.Cut, e.After)
}

// Unwrap makes errors.Is(err, dbaas.ErrTimeout) true.
func (e *DrainError) Unwrap() error { return dbaas.ErrTimeout }

// Close stops accepting, waits up to DrainTimeout for open connections to
// end, cuts those still open, and closes the SSH connections. It returns
// a *DrainError saying how many were cut, if any. Calling it again
// returns nil.
func (t *Tunnel) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), t.cfg.DrainTimeout)
	defer cancel()
	return t.Shutdown(ctx)
}

// Shutdown is Close with the drain bounded by ctx instead of DrainTimeout.
func (t *Tunnel) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return nil
	}
	t.closing = true
	t.mu.Unlock()
	start := time.Now()
	_ = t.ln.Close()
	// Connections still waiting for a relay have sent nothing yet:
	// refuse them now rather than make Close wait for them.
	t.cancelDial()
	// Every conns.Add happens in acceptLoop: wait for it to end before
	// waiting on conns.
	<-t.acceptDone
	drained := make(chan struct{})
	go func() {
		t.conns.Wait()
		close(drained)
	}()
	var err error
	select {
	case <-drained:
	case <-ctx.Done():
		t.mu.Lock()
		t.cut = len(t.open)
		for f := range t.open {
			_ = f.local.Close()
			_ = f.remote.Close()
		}
		n := t.cut
		t.mu.Unlock()
		<-drained
		if n > 0 {
			err = &DrainError{Cut: n, After: time.Since(start).Round(time.Millisecond)}
		}
	}
	t.cancel()
	t.loops.Wait()
	close(t.closed)
	t.cfg.Logger.Info("tunnel: closed", "cut", t.cut)
	return err
}
