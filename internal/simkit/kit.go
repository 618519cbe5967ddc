package simkit

import (
	"bytes"
	"net/http"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simhttp"
)

// Config configures a Kit.
type Config struct {
	// Clock is the simulator's time (life cycle, rate-limit windows);
	// default dbaas.SystemClock{}.
	Clock dbaas.Clock
	// Errors renders the cloud's error bodies; required.
	Errors ErrorWriter
	// Latency holds every answer back this much real time.
	Latency time.Duration
}

// Call is how a simulator names one request for the kit.
type Call struct {
	// Op is the normalised operation name: counted by Calls, matched by
	// Fault.Op. Each simulator documents its names.
	Op string
	// Write says the operation changes something (counted by Writes).
	Write bool
}

// Kit runs a simulator's requests through its faults and counters. Make
// it with New; it is safe for concurrent use.
type Kit struct {
	cfg      Config
	controls *Controls

	mu     sync.Mutex
	active int
	idle   *sync.Cond
	shut   bool
	done   chan struct{}
}

// New returns a kit. It panics without cfg.Errors, a programming error.
func New(cfg Config) *Kit {
	if cfg.Errors == nil {
		panic("simkit: Config.Errors is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = dbaas.SystemClock{}
	}
	k := &Kit{cfg: cfg, controls: newControls(), done: make(chan struct{})}
	k.idle = sync.NewCond(&k.mu)
	return k
}

// Controls returns the faults and counters, for the simulator to embed.
func (k *Kit) Controls() *Controls { return k.controls }

// Clock returns the simulator's clock.
func (k *Kit) Clock() dbaas.Clock { return k.cfg.Clock }

// Done is closed when Close is called, to end waits of the simulator's
// own (background life cycle goroutines).
func (k *Kit) Done() <-chan struct{} { return k.done }

// Close ends the latency of requests being held (their connections are
// dropped), answers new requests 503, and returns once every request in
// Serve has returned. It may be called more than once.
func (k *Kit) Close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.shut {
		k.shut = true
		close(k.done)
	}
	for k.active > 0 {
		k.idle.Wait()
	}
}

// CountRateLimited records a request a simulator's rate limit refused, for
// RateLimited.
func (k *Kit) CountRateLimited() { k.controls.countLimited() }

// Serve counts the call, applies the simulator's latency and the first
// fault matching call.Op, and otherwise has next answer. A request held
// by latency whose client goes away is still handled, as a cloud's front
// end that already has it does; Close drops it instead.
func (k *Kit) Serve(w http.ResponseWriter, r *http.Request, call Call, next http.Handler) {
	k.mu.Lock()
	if k.shut {
		k.mu.Unlock()
		k.cfg.Errors.WriteError(w, r, Error{Status: http.StatusServiceUnavailable})
		return
	}
	k.active++
	k.mu.Unlock()
	defer func() {
		k.mu.Lock()
		k.active--
		if k.active == 0 {
			k.idle.Broadcast()
		}
		k.mu.Unlock()
	}()

	f, faulted := k.controls.count(call)
	if !k.sleep(k.cfg.Latency, r) {
		drop(w)
		return
	}
	if !faulted {
		next.ServeHTTP(w, r)
		return
	}
	if !f.AfterHandling {
		if !k.sleep(f.Latency, r) {
			drop(w)
			return
		}
		if !k.fail(w, r, f) {
			next.ServeHTTP(w, r)
		}
		return
	}
	held := &heldAnswer{header: http.Header{}, status: http.StatusOK}
	next.ServeHTTP(held, r)
	if !k.sleep(f.Latency, r) {
		drop(w)
		return
	}
	if !k.fail(w, r, f) {
		held.replay(w)
	}
}

// fail answers with the fault's error or drops the connection, and
// reports whether it did either.
func (k *Kit) fail(w http.ResponseWriter, r *http.Request, f Fault) bool {
	switch {
	case f.Drop:
		if !simhttp.Drop(w) {
			// Not hijackable (a recorder, HTTP/2): a bad gateway is what a
			// front end answers for a back end that hung up.
			k.cfg.Errors.WriteError(w, r, Error{Status: http.StatusBadGateway})
		}
		return true
	case f.fails():
		k.cfg.Errors.WriteError(w, r, Error{Status: f.Status, Code: f.Code, Message: f.Message, RetryAfter: f.RetryAfter})
		return true
	}
	return false
}

// sleep waits d of real time and reports false when Close ended it. A
// client that gives up does not end it: see Serve.
func (k *Kit) sleep(d time.Duration, r *http.Request) bool {
	if !simhttp.Sleep(d, k.done, r.Context().Done()) {
		select {
		case <-k.done:
			return false
		default:
		}
	}
	return true
}

// drop closes the connection without an answer, whether or not it can be
// hijacked (net/http closes it on this panic).
func drop(w http.ResponseWriter) {
	if !simhttp.Drop(w) {
		panic(http.ErrAbortHandler)
	}
}

// heldAnswer keeps an answer that a fault delays or throws away.
type heldAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (a *heldAnswer) Header() http.Header         { return a.header }
func (a *heldAnswer) Write(b []byte) (int, error) { return a.body.Write(b) }
func (a *heldAnswer) WriteHeader(status int)      { a.status = status }

func (a *heldAnswer) replay(w http.ResponseWriter) {
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body.Bytes())
}
