package linode

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// pacedTransport keeps requests inside Linode's rate limits on the client
// side, so that a burst of calls (SyncAccess over hundreds of instances)
// waits for the next window instead of collecting 429s and sleeping
// Retry-After seconds rounded up. Every request passes the general gate;
// paginated collection GETs pass the list gate too. linodego still
// retries a 429 when another client shares the token.
type pacedTransport struct {
	next    http.RoundTripper
	general *windowGate
	list    *windowGate
}

func (t *pacedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ctx := r.Context()
	gates := []*windowGate{t.general}
	if r.Method == http.MethodGet && isCollection(r.URL.Path) {
		gates = append(gates, t.list)
	}
	for i, g := range gates {
		if err := g.acquire(ctx); err != nil {
			for _, h := range gates[:i] {
				h.release()
			}
			if r.Body != nil {
				_ = r.Body.Close()
			}
			return nil, err
		}
	}
	defer func() {
		for _, g := range gates {
			g.release()
		}
	}()
	return t.next.RoundTrip(r)
}

// isCollection reports whether path is one of the paginated lists.
func isCollection(path string) bool {
	return strings.HasSuffix(path, "/instances") || strings.HasSuffix(path, "/databases/engines") ||
		strings.HasSuffix(path, "/databases/types")
}

// windowGate admits at most limit requests per window, in fixed windows
// as Linode counts them. A window opens at its first request. When it is
// spent, the gate waits for the requests still in flight to be answered
// (so that none of them lands in the server's next window) and then for
// the window to end; one waiter sleeps on the clock and wakes the others,
// so that a simulated clock moves once per window. The window is
// lengthened by 1% so that the server's window, which opens when the
// first request arrives, has closed too. A nil gate admits everything.
type windowGate struct {
	clock  dbaas.Clock
	limit  int
	window time.Duration

	mu       sync.Mutex
	open     bool
	start    time.Time
	used     int
	inflight int
	sleeping bool
	wake     chan struct{} // closed (and replaced) when a waiter may go on
}

func newWindowGate(clock dbaas.Clock, limit int, window time.Duration) *windowGate {
	if limit <= 0 {
		return nil
	}
	return &windowGate{clock: clock, limit: limit, window: window + window/100, wake: make(chan struct{})}
}

// broadcastLocked wakes every waiter.
func (g *windowGate) broadcastLocked() {
	close(g.wake)
	g.wake = make(chan struct{})
}

func (g *windowGate) acquire(ctx context.Context) error {
	if g == nil {
		return nil
	}
	for {
		g.mu.Lock()
		now := g.clock.Now()
		if !g.open || !now.Before(g.start.Add(g.window)) {
			g.open, g.start, g.used = true, now, 0
		}
		if g.used < g.limit {
			g.used++
			g.inflight++
			g.mu.Unlock()
			return nil
		}
		wake := g.wake
		if g.inflight > 0 || g.sleeping {
			g.mu.Unlock()
			select {
			case <-wake:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		g.sleeping = true
		wait := g.start.Add(g.window).Sub(now)
		g.mu.Unlock()
		var err error
		select {
		case <-g.clock.After(wait):
		case <-ctx.Done():
			err = ctx.Err()
		}
		g.mu.Lock()
		g.sleeping = false
		g.broadcastLocked()
		g.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

func (g *windowGate) release() {
	if g == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inflight--
	if g.inflight == 0 {
		g.broadcastLocked()
	}
}
