package dosim

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simhttp"
)

// Options configures a Server. The zero value is a working simulator on
// the system clock whose clusters come online at once, with no rate
// limit, no faults and no real database behind them.
type Options struct {
	// Clock is the simulator's time source (cluster life cycle, backups,
	// rate-limit window); default dbaas.SystemClock{}.
	Clock dbaas.Clock
	// ProvisionDelay is how long a cluster stays "creating" (or "forking"
	// for a restore) before it is "online". Zero: online at once.
	ProvisionDelay time.Duration
	// BackupInterval is the time between the daily automatic backups; the
	// first is taken when the cluster comes online. Default 24 h.
	BackupInterval time.Duration
	// BackupRetention is how long backups are kept; default 7 days, as
	// DigitalOcean keeps them.
	BackupRetention time.Duration
	// Backend, when set, attaches a real database to each cluster on
	// create and restore and detaches it on delete; its endpoint and
	// credentials are what the cluster's connection returns.
	Backend simdb.Backend
	// Token, when set, is the only bearer token accepted; otherwise any
	// non-empty token is.
	Token string
	// RateLimit is the number of requests allowed per RateWindow (the
	// per-minute limit, 250 on the real API), refilled continuously (a
	// token bucket of that size). Zero: unlimited.
	RateLimit int
	// HourlyRateLimit is the number of requests allowed per 60
	// RateWindows (the hourly quota, 5,000 on the real API). The
	// RateLimit-* headers report it, as the API does, or RateLimit when it
	// is zero (no hourly quota).
	HourlyRateLimit int
	// RateWindow is the rate-limit minute; default one minute. Tests and
	// benchmarks shorten it to run at a scaled time.
	RateWindow time.Duration
	// Latency delays every answer by this much real time.
	Latency time.Duration
}

// Fault replaces or disturbs the answer to one request. Queue faults with
// Server.Inject.
type Fault struct {
	// Status, when set, is answered instead of handling the request (for
	// example 500, 503 or 429), with the API's error body.
	Status int
	// RetryAfter is sent as Retry-After (whole seconds, rounded up) with
	// Status.
	RetryAfter time.Duration
	// Delay holds the request back this much real time before it is
	// handled, or, with AfterHandling, holds the answer back after.
	Delay time.Duration
	// Drop closes the connection without an answer.
	Drop bool
	// AfterHandling handles the request first and then fails it (Status
	// or Drop) or answers late (Delay): the change happened but the
	// client cannot know. This is the ambiguous failure that must not
	// make a client repeat a create.
	AfterHandling bool
}

// Server is a simulator of the DigitalOcean databases API. It is an
// http.Handler; Start serves it on a loopback port.
type Server struct {
	opts  Options
	clock dbaas.Clock
	mux   *http.ServeMux
	ca    []byte
	done  chan struct{}

	mu       sync.Mutex
	clusters map[string]*cluster
	order    []string
	// copies holds, per cluster id, the data copy of each backup by its
	// time ("" while it is being taken), with a simdb.Snapshotter.
	copies  map[string]map[time.Time]string
	vpcs    map[string]*vpc
	faults  map[string][]Fault
	calls   map[string]int64
	minute  *bucket // nil: no per-minute limit
	hour    *bucket // nil: no hourly quota
	userSeq int
	limited int64

	srv       *simhttp.Server
	closeOnce sync.Once
}

// New returns a simulator with the given options.
func New(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = dbaas.SystemClock{}
	}
	if opts.BackupInterval <= 0 {
		opts.BackupInterval = 24 * time.Hour
	}
	if opts.BackupRetention <= 0 {
		opts.BackupRetention = 7 * 24 * time.Hour
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = time.Minute
	}
	s := &Server{
		opts:     opts,
		clock:    opts.Clock,
		mux:      http.NewServeMux(),
		ca:       newCA(),
		done:     make(chan struct{}),
		clusters: map[string]*cluster{},
		copies:   map[string]map[time.Time]string{},
		vpcs:     map[string]*vpc{},
		faults:   map[string][]Fault{},
		calls:    map[string]int64{},
		minute:   newBucket(opts.RateLimit, opts.RateWindow, opts.Clock.Now()),
		hour:     newBucket(opts.HourlyRateLimit, 60*opts.RateWindow, opts.Clock.Now()),
	}
	s.routes()
	s.addDefaultVPCs()
	return s
}

// Start serves a new simulator on a free 127.0.0.1 port and returns it
// with the base URL to give the client (godo.SetBaseURL). Close stops it.
func Start(opts Options) (*Server, string, error) {
	s := New(opts)
	srv, err := simhttp.Start(s)
	if err != nil {
		return nil, "", fmt.Errorf("dosim: %w", err)
	}
	s.srv = srv
	return s, srv.URL + "/", nil
}

// Close stops the listener and every connection and goroutine of a
// started simulator, and detaches the real databases still attached.
func (s *Server) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		close(s.done)
		if s.srv != nil {
			errs = append(errs, s.srv.Close())
		}
		s.mu.Lock()
		var keys []string
		for _, c := range s.clusters {
			if c.attached {
				keys = append(keys, c.ID)
			}
		}
		s.clusters = map[string]*cluster{}
		s.order = nil
		var copied []string
		for id := range s.copies {
			copied = append(copied, id)
		}
		s.mu.Unlock()
		if s.opts.Backend != nil {
			for _, k := range keys {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				errs = append(errs, s.opts.Backend.Detach(ctx, k))
				cancel()
			}
		}
		for _, id := range copied {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			errs = append(errs, s.dropCopies(ctx, id))
			cancel()
		}
	})
	return errors.Join(errs...)
}

// Inject queues faults for the requests matching route, one fault per
// request in order. A route is the method and path pattern, as in
// "POST /v2/databases" or "PUT /v2/databases/{id}/firewall".
func (s *Server) Inject(route string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[route] = append(s.faults[route], faults...)
}

// Calls returns how many requests matched route (see Inject), faults and
// rejections included.
func (s *Server) Calls(route string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[route]
}

// TotalCalls returns how many requests the simulator has received.
func (s *Server) TotalCalls() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, c := range s.calls {
		n += c
	}
	return n
}

// RateLimited returns how many requests the rate limit refused (429),
// not counting injected faults.
func (s *Server) RateLimited() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

// ResetCalls sets every call counter, and RateLimited, back to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int64{}
	s.limited = 0
}

// SetRateLimit changes the per-minute limit and the hourly quota (see
// Options; zero turns one off) and the window, and fills both buckets.
func (s *Server) SetRateLimit(limit, hourly int, window time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if window <= 0 {
		window = time.Minute
	}
	now := s.clock.Now()
	s.opts.RateLimit, s.opts.HourlyRateLimit, s.opts.RateWindow = limit, hourly, window
	s.minute, s.hour = newBucket(limit, window, now), newBucket(hourly, 60*window, now)
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, route := s.mux.Handler(r)
	known := route != ""
	if !known {
		route = r.Method + " " + r.URL.Path
	}
	requestID := newUUID()
	w.Header().Set("X-Request-Id", requestID)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, requestID))

	s.mu.Lock()
	s.calls[route]++
	var fault *Fault
	if q := s.faults[route]; len(q) > 0 {
		f := q[0]
		fault = &f
		s.faults[route] = q[1:]
	}
	s.mu.Unlock()

	if !s.sleep(s.opts.Latency) {
		return
	}
	if fault != nil && !fault.AfterHandling && !s.sleep(fault.Delay) {
		return
	}
	if !s.authorized(r) {
		s.rateHeaders(w, false)
		writeError(w, r, http.StatusUnauthorized, "unauthorized", "Unable to authenticate you.")
		return
	}
	if !s.rateHeaders(w, true) {
		writeError(w, r, http.StatusTooManyRequests, "too_many_requests", "API rate limit exceeded.")
		return
	}
	if fault != nil && !fault.AfterHandling && (fault.Drop || fault.Status != 0) {
		s.fail(w, r, *fault)
		return
	}
	if fault != nil && fault.AfterHandling {
		// Handle for real, hold the answer back, then fail or send it.
		rec := &heldAnswer{h: http.Header{}, status: http.StatusOK}
		s.mux.ServeHTTP(rec, r)
		if !s.sleep(fault.Delay) {
			return
		}
		if fault.Drop || fault.Status != 0 {
			s.fail(w, r, *fault)
			return
		}
		for k, v := range rec.h {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
		return
	}
	if !known {
		writeError(w, r, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// fail answers with the fault's status, or drops the connection.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, f Fault) {
	if f.Drop {
		if simhttp.Drop(w) {
			return
		}
		// Not hijackable (httptest.ResponseRecorder): a 502 is the closest.
		writeError(w, r, http.StatusBadGateway, "server_error", "connection dropped")
		return
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
	}
	switch {
	case f.Status == http.StatusTooManyRequests:
		writeError(w, r, f.Status, "too_many_requests", "API rate limit exceeded.")
	case f.Status >= 500:
		writeError(w, r, f.Status, "server_error", "Unexpected server-side error")
	default:
		writeError(w, r, f.Status, strings.ToLower(strings.ReplaceAll(http.StatusText(f.Status), " ", "_")), http.StatusText(f.Status))
	}
}

// sleep waits d of real time; false when the server closes meanwhile.
func (s *Server) sleep(d time.Duration) bool { return simhttp.Sleep(d, s.done, nil) }

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok = strings.TrimSpace(tok)
	if !ok || tok == "" {
		return false
	}
	return s.opts.Token == "" || tok == s.opts.Token
}

// rateHeaders sets the RateLimit-* headers and, when take is true, spends
// one request; it reports false when a bucket is empty (answer 429).
func (s *Server) rateHeaders(w http.ResponseWriter, take bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.minute == nil && s.hour == nil {
		return true
	}
	now := s.clock.Now()
	var buckets []*bucket
	for _, b := range []*bucket{s.minute, s.hour} {
		if b != nil {
			b.refill(now)
			buckets = append(buckets, b)
		}
	}
	ok := true
	if take {
		for _, b := range buckets {
			ok = ok && b.has()
		}
		if ok {
			for _, b := range buckets {
				b.tokens = max(0, b.tokens-1)
			}
		}
	}
	shown := s.hour
	if shown == nil {
		shown = s.minute
	}
	h := w.Header()
	h.Set("RateLimit-Limit", strconv.Itoa(shown.limit))
	h.Set("RateLimit-Remaining", strconv.Itoa(int(shown.tokens)))
	// Reset: "the time when the oldest request will expire", that is when
	// one more request is allowed, in epoch seconds.
	h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(now.Add(shown.untilNext())), 10))
	if !ok {
		s.limited++
		var wait time.Duration
		for _, b := range buckets {
			if !b.has() {
				wait = max(wait, b.untilNext())
			}
		}
		h.Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
	}
	return ok
}

// bucket is a token bucket of limit requests refilled over window.
type bucket struct {
	limit    int
	perToken time.Duration
	tokens   float64
	at       time.Time
}

func newBucket(limit int, window time.Duration, now time.Time) *bucket {
	if limit <= 0 {
		return nil
	}
	return &bucket{limit: limit, perToken: window / time.Duration(limit), tokens: float64(limit), at: now}
}

func (b *bucket) refill(now time.Time) {
	if el := now.Sub(b.at); el > 0 {
		b.tokens = math.Min(float64(b.limit), b.tokens+float64(el)/float64(b.perToken))
	}
	b.at = now
}

// has reports whether a request may go; the epsilon absorbs float
// rounding of the refill, so that a client pacing itself exactly at the
// limit is never refused.
func (b *bucket) has() bool { return b.tokens >= 1-1e-9 }

// untilNext is how long until one more whole request is allowed.
func (b *bucket) untilNext() time.Duration {
	if b.tokens >= float64(b.limit) {
		return 0
	}
	return time.Duration((1 - (b.tokens - math.Floor(b.tokens))) * float64(b.perToken))
}

func ceilSeconds(t time.Time) int64 { return int64(math.Ceil(float64(t.UnixNano()) / 1e9)) }

type requestIDKey struct{}

// apiError is the API's error body.
type apiError struct {
	ID        string `json:"id"`
	Message   string `json:"message"`
	RequestID string `json:"request_id,omitempty"`
}

func writeError(w http.ResponseWriter, r *http.Request, status int, id, msg string) {
	rid, _ := r.Context().Value(requestIDKey{}).(string)
	writeJSON(w, status, apiError{ID: id, Message: msg, RequestID: rid})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// heldAnswer keeps an answer that a fault delays or throws away.
type heldAnswer struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (a *heldAnswer) Header() http.Header         { return a.h }
func (a *heldAnswer) Write(b []byte) (int, error) { return a.body.Write(b) }
func (a *heldAnswer) WriteHeader(status int)      { a.status = status }

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
