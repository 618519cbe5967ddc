package linodesim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/certs"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simhttp"
)

// Options configures a simulator. The zero value is a working simulator
// with instant provisioning and no rate limit.
type Options struct {
	// Clock drives the life cycle and the rate-limit windows; default the
	// system clock.
	Clock dbaas.Clock
	// ProvisionDelay is how long a new (or forked, or resuming) database
	// stays provisioning before it is active.
	ProvisionDelay time.Duration
	// UpdateDelay is how long a database stays updating after a patch or
	// a plan change; default ProvisionDelay/4.
	UpdateDelay time.Duration
	// DeleteDelay is how long a deleted database stays listed as
	// deleting before it is gone; 0 means gone at once. Its real database
	// (Backend) is detached when the deletion starts.
	DeleteDelay time.Duration
	// Backend, when set, attaches a real database to each instance: its
	// endpoint and credentials are what the simulator returns.
	Backend simdb.Backend
	// Token, when set, is the only bearer token accepted; otherwise any
	// non-empty token is.
	Token string
	// RateLimit is how many requests a token may make per RateWindow
	// (Linode publishes 1600 a minute); 0 means no limit.
	RateLimit int
	// ListRateLimit is how many paginated collection GETs a token may
	// make per RateWindow (Linode publishes 200 a minute); 0 means no limit.
	ListRateLimit int
	// RateWindow is the length of a rate-limit window; default one minute.
	RateWindow time.Duration
	// RestoreWindow is how far back a fork can restore; default 7 days.
	RestoreWindow time.Duration
	// Hook, when set, is called with each request after it is counted
	// and before it is handled (faults apply first), so that a test can
	// hold a request back to order the requests of several clients.
	Hook func(r *http.Request)
}

// Server is the simulator: an http.Handler serving the Linode databases
// API under /v4 (and /v4beta). It is safe for concurrent use.
type Server struct {
	opts Options

	mu        sync.Mutex
	nextID    int
	instances map[int]*instance
	calls     map[string]int
	total     int
	limited   int
	faults    []*Fault
	windows   map[string]*window
	ca        []byte

	active   int        // requests being handled
	idle     *sync.Cond // signalled when active drops to zero
	shut     bool       // Close was called: no new request is handled
	closed   chan struct{}
	closeOne sync.Once
	srv      *simhttp.Server
}

// New returns a simulator that serves through ServeHTTP.
func New(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = dbaas.SystemClock{}
	}
	if opts.UpdateDelay <= 0 {
		opts.UpdateDelay = opts.ProvisionDelay / 4
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = time.Minute
	}
	if opts.RestoreWindow <= 0 {
		opts.RestoreWindow = 7 * 24 * time.Hour
	}
	s := &Server{
		ca:        makeCA(opts.Clock.Now()),
		opts:      opts,
		nextID:    227300,
		instances: map[int]*instance{},
		calls:     map[string]int{},
		windows:   map[string]*window{},
		closed:    make(chan struct{}),
	}
	s.idle = sync.NewCond(&s.mu)
	return s
}

// Start returns a simulator serving on a free port of 127.0.0.1 and its
// base URL, to give to linodego's SetBaseURL (which appends /v4).
func Start(opts Options) (*Server, string, error) {
	s := New(opts)
	srv, err := simhttp.Start(s)
	if err != nil {
		return nil, "", fmt.Errorf("linodesim: %w", err)
	}
	s.srv = srv
	return s, srv.URL, nil
}

// Close stops the listener (when started by Start), ends requests that
// are waiting on injected latency, waits for every handler and detaches
// every database still attached.
func (s *Server) Close() error {
	s.closeOne.Do(func() { close(s.closed) })
	var err error
	if s.srv != nil {
		err = s.srv.Close()
	}
	s.mu.Lock()
	s.shut = true
	for s.active > 0 {
		s.idle.Wait()
	}
	var attached []string
	for _, in := range s.instances {
		if in.db != nil {
			attached = append(attached, in.key)
			in.db = nil
		}
	}
	s.mu.Unlock()
	if s.opts.Backend != nil {
		for _, key := range attached {
			err = errors.Join(err, s.opts.Backend.Detach(context.Background(), key))
		}
	}
	return err
}

// Calls returns how many requests were made with method to path (as
// sent, for example "/v4/databases/postgresql/instances/227300").
func (s *Server) Calls(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method+" "+path]
}

// CallsWithPrefix returns how many requests were made with method (any
// method when empty) to a path starting with prefix.
func (s *Server) CallsWithPrefix(method, prefix string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.calls {
		m, p, _ := strings.Cut(k, " ")
		if (method == "" || m == method) && strings.HasPrefix(p, prefix) {
			n += c
		}
	}
	return n
}

// TotalCalls returns how many requests the simulator received, refused
// ones included.
func (s *Server) TotalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total
}

// RateLimited returns how many requests the rate limit refused (429).
func (s *Server) RateLimited() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited
}

// ResetCalls sets every call counter to zero.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[string]int{}
	s.total = 0
	s.limited = 0
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.shut {
		s.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "", "Service Unavailable")
		return
	}
	s.active++
	defer func() {
		s.mu.Lock()
		s.active--
		if s.active == 0 {
			s.idle.Broadcast()
		}
		s.mu.Unlock()
	}()
	s.calls[r.Method+" "+r.URL.Path]++
	s.total++
	f := s.matchFaultLocked(r)
	s.mu.Unlock()
	// Read the whole body first, as the API's front end does, so that a
	// request held back by latency still takes effect when its client has
	// gone away.
	if r.Body != nil {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeError(w, http.StatusBadRequest, "", "Request body unreadable")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}

	if f != nil {
		if !simhttp.Sleep(f.Latency, s.closed, r.Context().Done()) {
			select {
			case <-s.closed:
				panic(http.ErrAbortHandler)
			default:
				// The client gave up; the request still takes effect,
				// as it would on the real API.
			}
		}
		switch {
		case f.Drop:
			panic(http.ErrAbortHandler)
		case f.DropAfter:
			s.serve(discard{header: http.Header{}}, r)
			panic(http.ErrAbortHandler)
		case f.Status != 0:
			if f.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
			}
			writeError(w, f.Status, "", statusReason(f.Status))
			return
		}
	}
	if s.opts.Hook != nil {
		s.opts.Hook(r)
	}
	s.serve(w, r)
}

// serve authenticates, applies the rate limit and routes.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" || (s.opts.Token != "" && token != s.opts.Token) {
		writeError(w, http.StatusUnauthorized, "", "Invalid Token")
		return
	}
	rest, ok := cutVersion(r.URL.EscapedPath())
	if !ok {
		writeError(w, http.StatusNotFound, "", "Not found")
		return
	}
	if !s.admit(w, token, r.Method == http.MethodGet && isCollection(rest)) {
		return
	}
	s.route(w, r, rest)
}

// cutVersion strips "/v4/" or "/v4beta/" and returns the rest of the path.
func cutVersion(p string) (string, bool) {
	for _, v := range []string{"/v4/", "/v4beta/"} {
		if rest, ok := strings.CutPrefix(p, v); ok {
			return strings.TrimSuffix(rest, "/"), true
		}
	}
	return "", false
}

func isCollection(rest string) bool {
	switch rest {
	case "databases/instances", "databases/engines", "databases/types",
		"databases/mysql/instances", "databases/postgresql/instances":
		return true
	}
	return false
}

// window is one fixed rate-limit window of a token.
type window struct {
	start time.Time
	used  int
}

// admit counts a request against the token's windows, sets the rate-limit
// headers and answers 429 when a window is spent. Refused requests do not
// use the window up further.
func (s *Server) admit(w http.ResponseWriter, token string, collection bool) bool {
	if s.opts.RateLimit <= 0 && (s.opts.ListRateLimit <= 0 || !collection) {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	type check struct {
		key   string
		limit int
	}
	var checks []check
	if s.opts.RateLimit > 0 {
		checks = append(checks, check{"all " + token, s.opts.RateLimit})
	}
	if collection && s.opts.ListRateLimit > 0 {
		checks = append(checks, check{"list " + token, s.opts.ListRateLimit})
	}
	for _, c := range checks {
		win := s.windows[c.key]
		if win == nil || !now.Before(win.start.Add(s.opts.RateWindow)) {
			win = &window{start: now}
			s.windows[c.key] = win
		}
		reset := win.start.Add(s.opts.RateWindow)
		if win.used >= c.limit {
			wait := reset.Sub(now)
			secs := int((wait + time.Second - 1) / time.Second)
			w.Header().Set("X-RateLimit-Limit", strconv.Itoa(c.limit))
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			s.limited++
			writeError(w, http.StatusTooManyRequests, "", "Too Many Requests")
			return false
		}
	}
	for i, c := range checks {
		win := s.windows[c.key]
		win.used++
		if i == 0 {
			w.Header().Set("X-RateLimit-Limit", strconv.Itoa(c.limit))
			w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(c.limit-win.used))
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(win.start.Add(s.opts.RateWindow).Unix(), 10))
		}
	}
	return true
}

// apiError is one entry of the API's error list.
type apiError struct {
	Reason string `json:"reason"`
	Field  string `json:"field,omitempty"`
}

// writeJSON writes v with the exact Content-Type linodego expects (a
// charset suffix makes it refuse error bodies).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"errors":[{"reason":"An unexpected error occurred."}]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, field, reason string) {
	writeErrors(w, status, []apiError{{Reason: reason, Field: field}})
}

func writeErrors(w http.ResponseWriter, status int, errs []apiError) {
	writeJSON(w, status, map[string][]apiError{"errors": errs})
}

func statusReason(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "Too Many Requests"
	case http.StatusServiceUnavailable:
		return "Service Unavailable"
	case http.StatusRequestTimeout:
		return "Request Timeout"
	}
	return "An unexpected error occurred."
}

// discard is the ResponseWriter of a request whose answer is dropped.
type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// makeCA makes the certificate GET …/ssl returns for instances without a
// real database: a real self-signed CA, so that PEM parsing is exercised.
func makeCA(now time.Time) []byte {
	ca, err := certs.NewCA("linodesim Project CA", now, 10*365*24*time.Hour)
	if err != nil {
		return nil
	}
	return ca.PEM
}
