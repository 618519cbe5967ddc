package frontdoor

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// dialTimeout bounds the connection to the target of each connection a
// relay accepts.
const dialTimeout = 10 * time.Second

// acceptRetry is how long a relay waits after an accept fails for a
// reason other than its close.
const acceptRetry = 50 * time.Millisecond

// Relay copies each connection its listener accepts to and from a
// target address, until Close.
type Relay struct {
	l      net.Listener
	ctx    context.Context // cancelled by Close, so that dials stop
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	target string
	conns  map[net.Conn]struct{}
	closed bool
}

// NewRelay serves l, relaying each connection it accepts to target
// (host:port). The relay owns l: Close closes it.
func NewRelay(l net.Listener, target string) *Relay {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Relay{l: l, ctx: ctx, cancel: cancel, target: target, conns: map[net.Conn]struct{}{}}
	r.wg.Add(1)
	go r.serve()
	return r
}

// Addr is the address the relay listens on.
func (r *Relay) Addr() net.Addr { return r.l.Addr() }

// retarget sends the connections accepted from now on to target.
func (r *Relay) retarget(target string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target = target
}

// Close stops listening, closes every connection the relay holds, on
// both sides, and returns once its goroutines have ended. Closing again
// does nothing.
func (r *Relay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	for c := range r.conns {
		_ = c.Close()
	}
	r.mu.Unlock()
	r.cancel()
	err := r.l.Close()
	r.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (r *Relay) serve() {
	defer r.wg.Done()
	for {
		c, err := r.l.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of file descriptors, say: the relay goes on once some
			// are free, as net/http's server does.
			select {
			case <-r.ctx.Done():
				return
			case <-time.After(acceptRetry):
				continue
			}
		}
		target, ok := r.track(c)
		if !ok {
			return
		}
		r.wg.Add(1)
		go r.pipe(c, target)
	}
}

// track records c, so that Close closes it, and returns the target; it
// closes c and reports false once the relay is closed.
func (r *Relay) track(c net.Conn) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		_ = c.Close()
		return "", false
	}
	r.conns[c] = struct{}{}
	return r.target, true
}

func (r *Relay) untrack(c net.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.conns, c)
	_ = c.Close()
}

// pipe copies between c and a new connection to target, each way until
// its reader ends, then closes both.
func (r *Relay) pipe(c net.Conn, target string) {
	defer r.wg.Done()
	defer r.untrack(c)
	d := net.Dialer{Timeout: dialTimeout}
	up, err := d.DialContext(r.ctx, "tcp", target)
	if err != nil {
		return
	}
	if _, ok := r.track(up); !ok {
		return
	}
	defer r.untrack(up)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(up, c)
		closeWrite(up)
	}()
	_, _ = io.Copy(c, up)
	closeWrite(c)
	<-done
}

// closeWrite passes an end of stream on, where the connection can say it
// while still reading.
func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}
