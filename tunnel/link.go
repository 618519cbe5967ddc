package tunnel

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"golang.org/x/crypto/ssh"
)

// link is the one SSH connection to one relay (through its jump hosts),
// shared by every connection forwarded through that relay. Its loop keeps
// it up: it watches keepalives, and when the connection dies it
// reconnects with capped backoff. Its state is guarded by Tunnel.mu.
type link struct {
	t     *Tunnel
	relay Relay

	// kick asks a link waiting out its backoff to try again now: a
	// connection is waiting for it.
	kick chan struct{}
	// ctx ends the link's loop: when the tunnel closes, or once the link
	// is retired (SetRelays dropped its relay) and no forward uses it.
	ctx    context.Context
	cancel context.CancelFunc

	// Guarded by t.mu.
	sess      *session // nil while down
	upSince   time.Time
	lastErr   error
	running   bool
	fails     int       // failures in a row
	heldUntil time.Time // new connections skip the relay until then
	active    int       // forwards through sess
	retired   bool
}

func (t *Tunnel) newLink(r Relay) *link {
	l := &link{t: t, relay: r, kick: make(chan struct{}, 1)}
	l.ctx, l.cancel = context.WithCancel(t.ctx)
	return l
}

// failedLocked counts a failure of the relay and puts it on hold after
// HoldAfter of them in a row.
func (l *link) failedLocked(err error) {
	l.lastErr = err
	l.fails++
	if n := l.fails - l.t.cfg.HoldAfter; n >= 0 {
		hold := l.t.cfg.HoldTime << min(n, 3)
		l.heldUntil = time.Now().Add(hold)
		l.t.cfg.Logger.Warn("tunnel: relay on hold", "relay", l.relay.String(), "failures", l.fails, "for", hold, "err", err)
	}
}

func (l *link) heldLocked(now time.Time) bool { return now.Before(l.heldUntil) }

// session is one SSH connection to a relay: its client, the clients of
// the jump hosts under it, and the wire it runs on.
type session struct {
	client *ssh.Client
	hops   []*ssh.Client
	wire   *wire
}

func (s *session) close() {
	_ = s.client.Close()
	for i := len(s.hops) - 1; i >= 0; i-- {
		_ = s.hops[i].Close()
	}
}

// wire is the connection an SSH client runs on. It records that the
// connection failed before the SSH library reports it: the library ends
// every channel with a plain EOF when its connection dies, and the
// forwarding code must tell that from a server's real EOF, or a cut
// stream would reach the client as a complete one.
//
// It also reads ahead in large blocks: the SSH library reads each packet
// in two or three small reads (length, then the rest, through a 4 KiB
// buffer), a system call each without this.
type wire struct {
	net.Conn
	r      *bufio.Reader
	broken atomic.Bool
}

// wireReadAhead is the read-ahead buffer of one SSH connection: eight
// SSH packets, so one system call takes in what the relay has sent while
// the previous packets were decrypted and forwarded (OpenSSH reads up to
// 256 KiB at a time too).
const wireReadAhead = 256 * 1024

func newWire(c net.Conn) *wire {
	return &wire{Conn: c, r: bufio.NewReaderSize(c, wireReadAhead)}
}

func (w *wire) Read(b []byte) (int, error) {
	n, err := w.r.Read(b)
	if err != nil {
		w.broken.Store(true)
	}
	return n, err
}

func (w *wire) Close() error {
	w.broken.Store(true)
	return w.Conn.Close()
}

// dial connects to the relay through its jump hosts, checking each hop's
// host key, each hop's dial and handshake bounded by DialTimeout.
func (l *link) dial(ctx context.Context) (*session, error) {
	t := l.t
	methods, closeAgent, err := authMethods(t.cfg.Auth, t.signers)
	if err != nil {
		return nil, err
	}
	defer closeAgent()
	hops := append(append([]Hop(nil), l.relay.Jump...), l.relay.Hop)
	var chain []*ssh.Client
	var w *wire
	fail := func(err error) (*session, error) {
		for i := len(chain) - 1; i >= 0; i-- {
			_ = chain[i].Close()
		}
		return nil, err
	}
	for i, hop := range hops {
		what := "relay " + hop.Address()
		if i < len(hops)-1 {
			what = "jump host " + hop.Address()
		}
		hctx, cancel := context.WithTimeout(ctx, t.cfg.DialTimeout)
		var conn net.Conn
		if i == 0 {
			d := net.Dialer{KeepAlive: t.cfg.KeepaliveInterval}
			conn, err = d.DialContext(hctx, "tcp", hop.Address())
		} else {
			conn, err = chain[i-1].DialContext(hctx, "tcp", hop.Address())
		}
		if err != nil {
			if hctx.Err() != nil && ctx.Err() == nil {
				err = fmt.Errorf("no answer within %s: %w", t.cfg.DialTimeout, dbaas.ErrTimeout)
			}
			cancel()
			return fail(fmt.Errorf("dial %s: %w", what, err))
		}
		cc := t.hostKeys.clientConfig(hop, methods, t.cfg)
		w = newWire(conn)
		client, err := handshake(hctx, w, hop.Address(), cc)
		cancel()
		if err != nil {
			return fail(fmt.Errorf("ssh handshake with %s (user %s): %w", what, cc.User, err))
		}
		chain = append(chain, client)
	}
	return &session{client: chain[len(chain)-1], hops: chain[:len(chain)-1], wire: w}, nil
}

// handshake runs the SSH handshake on conn, cut off when ctx ends: a
// server that accepts TCP and never speaks must not hang the tunnel.
func handshake(ctx context.Context, conn net.Conn, addr string, cc *ssh.ClientConfig) (*ssh.Client, error) {
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cc)
	if !stop() {
		if err == nil {
			_ = c.Close()
		}
		_ = conn.Close()
		return nil, fmt.Errorf("no SSH handshake within the dial timeout: %w", dbaas.ErrTimeout)
	}
	if err != nil {
		_ = conn.Close()
		var he *HostKeyError
		if errors.As(err, &he) {
			return nil, he
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("%v: the server accepted none of the keys: %w", err, dbaas.ErrPermissionDenied)
		}
		return nil, err
	}
	return ssh.NewClient(c, chans, reqs), nil
}

// permanent reports whether retrying err cannot help without a change of
// configuration: a host key that does not match, a refused login.
func permanent(err error) bool {
	return errors.Is(err, dbaas.ErrPermissionDenied) || errors.Is(err, dbaas.ErrInvalidArgument)
}

// run keeps the link up until ctx ends. sess is an SSH connection
// already made (by Open), or nil.
func (l *link) run(ctx context.Context, sess *session) {
	t := l.t
	log := t.cfg.Logger.With("relay", l.relay.String())
	backoff := t.cfg.MinBackoff
	for {
		if sess == nil {
			var err error
			attempt := time.Now()
			sess, err = l.dial(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				wait := t.setLink(l, nil, err, true)
				wait = max(wait, backoff)
				log.Warn("tunnel: relay unreachable", "err", err, "retry_in", wait)
				if !l.sleep(ctx, wait, attempt) {
					return
				}
				backoff = min(backoff*2, t.cfg.MaxBackoff)
				continue
			}
			t.reconnects.Add(1)
			log.Info("tunnel: relay connected")
		}
		backoff = t.cfg.MinBackoff
		t.setLink(l, sess, nil, false)
		err := l.watch(ctx, sess.client)
		sess.close()
		sess = nil
		if ctx.Err() != nil {
			t.setLink(l, nil, nil, false)
			return
		}
		// A connection lost soon after it was made counts as a failure
		// of the relay: one that keeps dropping is put on hold.
		wait := t.setLink(l, nil, err, true)
		log.Warn("tunnel: relay connection lost, reconnecting", "err", err)
		if wait > 0 && !l.sleep(ctx, wait, time.Now()) {
			return
		}
	}
}

// watch returns when the SSH connection ends, when keepalives go
// unanswered for KeepaliveInterval × KeepaliveCount (it then closes the
// connection), or when ctx ends.
func (l *link) watch(ctx context.Context, client *ssh.Client) error {
	t := l.t
	closed := make(chan error, 1)
	go func() { closed <- client.Wait() }()
	defer func() { _ = client.Close(); <-closed }()

	ticker := time.NewTicker(t.cfg.KeepaliveInterval)
	defer ticker.Stop()
	replies := make(chan struct{}, 1)
	inflight := false
	last := time.Now()
	deadAfter := t.cfg.KeepaliveInterval * time.Duration(t.cfg.KeepaliveCount)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-closed:
			closed <- err
			if err == nil {
				err = errors.New("connection closed by relay")
			}
			return err
		case <-replies:
			inflight = false
			last = time.Now()
		case now := <-ticker.C:
			if now.Sub(last) >= deadAfter {
				return fmt.Errorf("relay did not answer %d keepalives in %s: %w", t.cfg.KeepaliveCount, deadAfter, dbaas.ErrTimeout)
			}
			if !inflight {
				inflight = true
				go func() {
					// Any answer, even a failure, proves the relay alive.
					// On a dead connection this returns once watch
					// closes the client.
					if _, _, err := client.SendRequest("keepalive@openssh.com", true, nil); err == nil {
						replies <- struct{}{}
					}
				}()
			}
		}
	}
}

// sleep waits out d after the attempt that began at last, or less when
// kicked, but never retries sooner than MinBackoff after it: a burst of
// waiting connections must not become a burst of dials. It returns false
// when ctx ends.
func (l *link) sleep(ctx context.Context, d time.Duration, last time.Time) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-l.kick:
			if wait := time.Until(last.Add(l.t.cfg.MinBackoff)); wait > 0 {
				timer.Reset(wait)
				continue
			}
			return true
		}
	}
}
