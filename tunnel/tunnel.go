package tunnel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
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
	current *link // where the last new connection went (Failover)

	total, refused, failedDials atomic.Int64
	toRemote, fromRemote        atomic.Int64
	reconnects, failovers       atomic.Int64
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
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.dialCtx, t.cancelDial = context.WithCancel(t.ctx)
	for _, r := range cfg.Relays {
		t.links = append(t.links, t.newLink(r))
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
		t.cancel()
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
	// Every relay tried gets its loop: the one that answered keeps its
	// connection up, those that failed keep trying in the background.
	for i, m := range tried {
		l := t.links[i]
		l.sess, l.lastErr = m.sess, m.err
		if m.sess != nil {
			l.upSince = time.Now()
		} else {
			l.fails = 1
		}
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
	if l.running || l.ctx.Err() != nil {
		t.mu.Unlock()
		return
	}
	l.running = true
	t.mu.Unlock()
	t.loops.Add(1)
	go func() {
		defer t.loops.Done()
		l.run(l.ctx, sess)
	}()
}

// setLink records a link's state and wakes the connections waiting for a
// relay. With failed set, err is a failure of the relay (a failed dial,
// or a connection lost less than HoldTime after it was made) that counts
// towards putting it on hold; setLink then returns how long the relay is
// held while another relay is up.
func (t *Tunnel) setLink(l *link, sess *session, err error, failed bool) time.Duration {
	t.mu.Lock()
	now := time.Now()
	if err != nil {
		l.lastErr = err
		if failed && (l.sess == nil || now.Sub(l.upSince) < t.cfg.HoldTime) {
			l.failedLocked(err)
		}
	}
	if sess != nil && l.sess == nil {
		l.upSince = now
	}
	l.sess = sess
	close(t.changed)
	t.changed = make(chan struct{})
	up := t.upLocked()
	// A held relay waits out its hold before it is dialled again, unless
	// no relay is up: then any relay that answers is better than none.
	var wait time.Duration
	if l.heldLocked(now) && up {
		wait = l.heldUntil.Sub(now)
	}
	t.mu.Unlock()
	if !up {
		// No relay is up: bring up the others now, so that the next
		// connection finds one ready rather than waiting for it.
		t.startAll()
	}
	return wait
}

func (t *Tunnel) startAll() {
	t.mu.Lock()
	links := slices.Clone(t.links)
	t.mu.Unlock()
	for _, l := range links {
		t.startLink(l, nil)
	}
}

// SetRelays replaces the relay list, as a reload of the configuration
// does, without dropping a connection. A relay in both lists keeps its
// SSH connection and its record of failures; a new one is dialled as the
// policy says (with Failover, when it comes before the relay in use or
// none is up); one no longer listed takes no new connection and is
// disconnected once the last connection through it ends. The list is
// checked as Config.Relays is, and left unchanged when invalid.
func (t *Tunnel) SetRelays(relays []Relay) error {
	if err := validateRelays(relays); err != nil {
		return err
	}
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return fmt.Errorf("tunnel set relays: closed: %w", net.ErrClosed)
	}
	old := map[string]*link{}
	for _, l := range t.links {
		old[l.relay.String()] = l
	}
	links := make([]*link, 0, len(relays))
	for _, r := range relays {
		l, ok := old[r.String()]
		if ok {
			delete(old, r.String())
		} else {
			l = t.newLink(r)
		}
		links = append(links, l)
	}
	for _, l := range old {
		l.retired = true
		if l.active == 0 {
			l.cancel()
		}
		t.cfg.Logger.Info("tunnel: relay removed", "relay", l.relay.String(), "open", l.active)
	}
	t.links = links
	if t.current != nil && t.current.retired {
		t.current = nil
	}
	var start []*link
	for _, l := range links {
		if l.sess != nil && t.cfg.Policy == Failover {
			break
		}
		start = append(start, l)
	}
	close(t.changed)
	t.changed = make(chan struct{})
	t.mu.Unlock()
	t.cfg.Logger.Info("tunnel: relays set", "relays", len(relays))
	for _, l := range start {
		t.startLink(l, nil)
	}
	return nil
}

// release ends a forward's use of its link.
func (t *Tunnel) release(l *link) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l.active--
	if l.retired && l.active == 0 {
		l.cancel()
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
// no relay is up but those in skip. A relay on hold is used only when
// every other relay up is on hold too. It counts a failover when the
// relay chosen under Failover is not the one chosen before.
func (t *Tunnel) pickLocked(skip map[*link]bool) (*session, *link) {
	now := time.Now()
	var up, ready []*link
	for _, l := range t.links {
		if l.sess != nil && !skip[l] {
			up = append(up, l)
			if !l.heldLocked(now) {
				ready = append(ready, l)
			}
		}
	}
	if len(ready) > 0 {
		up = ready
	}
	if len(up) == 0 {
		return nil, nil
	}
	l := up[0]
	if t.cfg.Policy == RoundRobin {
		t.rr++
		l = up[t.rr%uint64(len(up))]
	} else if l != t.current {
		if t.current != nil {
			t.failovers.Add(1)
			t.cfg.Logger.Warn("tunnel: failover", "from", t.current.relay.String(), "to", l.relay.String())
		}
		t.current = l
	}
	l.active++
	return l.sess, l
}

// acquire returns an SSH connection, on a relay not in skip, waiting while
// none is up (a relay that died is being replaced) until ctx ends. The
// caller releases the link it returns. When every relay has refused the
// forward (refused), it fails at once: waiting would not help.
func (t *Tunnel) acquire(ctx context.Context, skip, refused map[*link]bool, errs []error) (*session, *link, error) {
	for {
		t.mu.Lock()
		c, l := t.pickLocked(skip)
		ch := t.changed
		all := len(refused) > 0
		for _, l := range t.links {
			all = all && refused[l]
		}
		t.mu.Unlock()
		if c != nil {
			return c, l, nil
		}
		if all {
			return nil, nil, errors.Join(errs...)
		}
		t.startAll()
		t.mu.Lock()
		for _, l := range t.links {
			select {
			case l.kick <- struct{}{}:
			default:
			}
		}
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("no relay up within %s: %w", t.cfg.DialTimeout, t.lastErrors())
		}
	}
}

// lastErrors names every relay and why it is not taking connections.
func (t *Tunnel) lastErrors() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	var errs []error
	for _, l := range t.links {
		why := l.lastErr
		if why == nil {
			why = errors.New("no answer yet")
		}
		if l.heldLocked(now) {
			why = fmt.Errorf("on hold for %s after %d failures in a row: %w", l.heldUntil.Sub(now).Round(time.Millisecond), l.fails, why)
		}
		errs = append(errs, fmt.Errorf("relay %s: %w", l.relay, why))
	}
	return errors.Join(append(errs, dbaas.ErrTimeout)...)
}

// dialRemote opens a channel to Remote, through the next relay when one
// refuses the forward or its SSH connection is found dead, until every
// relay has refused or ctx ends. The caller releases the link returned.
func (t *Tunnel) dialRemote(ctx context.Context) (net.Conn, *session, *link, error) {
	skip, refused := map[*link]bool{}, map[*link]bool{}
	var errs []error
	for {
		s, l, err := t.acquire(ctx, skip, refused, errs)
		if err != nil {
			return nil, nil, nil, err
		}
		conn, err := s.client.DialContext(ctx, "tcp", t.cfg.Remote.Address())
		if err == nil {
			t.mu.Lock()
			l.fails, l.heldUntil = 0, time.Time{}
			t.mu.Unlock()
			return conn, s, l, nil
		}
		t.release(l)
		var oce *ssh.OpenChannelError
		if errors.As(err, &oce) {
			err = fmt.Errorf("relay %s refused to connect to %s: %s (%s)", l.relay, t.cfg.Remote.Address(), oce.Message, oce.Reason)
			refused[l] = true
			skip[l] = true
		} else {
			err = fmt.Errorf("relay %s: forward to %s: %w", l.relay, t.cfg.Remote.Address(), err)
			if ctx.Err() != nil {
				return nil, nil, nil, err
			}
			// The SSH connection is dead; drop it now rather than wait
			// for keepalives, so the link reconnects. The relay is tried
			// again once it is back.
			_ = s.client.Close()
		}
		errs = append(errs, err)
		t.mu.Lock()
		l.failedLocked(err)
		t.mu.Unlock()
	}
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
	remote, sess, l, err := t.dialRemote(ctx)
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
		t.release(l)
		return
	}
	t.open[f] = struct{}{}
	t.mu.Unlock()
	pipe(local, remote, sess.wire.broken.Load, &t.toRemote, &t.fromRemote)
	t.mu.Lock()
	delete(t.open, f)
	t.mu.Unlock()
	t.release(l)
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
	// Failovers counts the times new connections moved from one relay to
	// another (Failover policy), including back to a relay that returned.
	Failovers int64 `json:"failovers"`
	// Relay names the relay new connections go to; empty while none is up.
	Relay string `json:"relay"`
	// RelaysUp is the number of relays with an SSH connection up.
	RelaysUp int `json:"relays_up"`
	// LastError says why the last failed forward failed (the relay, the
	// remote address and the relay's reason); empty when none failed.
	LastError string `json:"last_error,omitempty"`
	// Relays is the state of each relay, in the configured order.
	Relays []RelayStats `json:"relays"`
}

// RelayStats is the state of one relay.
type RelayStats struct {
	// Relay names the relay as Relay.String does.
	Relay string `json:"relay"`
	// Up says whether its SSH connection is up.
	Up bool `json:"up"`
	// Open is the number of forwarded connections through it.
	Open int `json:"open"`
	// Failures counts its failures in a row (see Config.HoldAfter).
	Failures int `json:"failures"`
	// HeldUntil is when its hold ends; zero when it is not on hold.
	HeldUntil time.Time `json:"held_until,omitzero"`
	// LastError says why it last failed; empty when it never did.
	LastError string `json:"last_error,omitempty"`
}

// Stats returns the current counters.
func (t *Tunnel) Stats() Stats {
	s := Stats{Total: t.total.Load(), Refused: t.refused.Load(), FailedDials: t.failedDials.Load(),
		BytesToRemote: t.toRemote.Load(), BytesFromRemote: t.fromRemote.Load(), Reconnects: t.reconnects.Load(),
		Failovers: t.failovers.Load()}
	t.mu.Lock()
	defer t.mu.Unlock()
	s.Open = int64(len(t.open))
	s.LastError = t.lastErr
	first := ""
	now := time.Now()
	for _, l := range t.links {
		rs := RelayStats{Relay: l.relay.String(), Up: l.sess != nil, Open: l.active, Failures: l.fails}
		if l.heldLocked(now) {
			rs.HeldUntil = l.heldUntil
		}
		if l.lastErr != nil {
			rs.LastError = l.lastErr.Error()
		}
		s.Relays = append(s.Relays, rs)
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
