package linodesim

import (
	"bytes"
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
	"github.com/agiledeploy/dbaaskit/internal/simkit"
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
	// RateLimit is how many requests a token may make per window
	// (Linode publishes 1600 a minute); a zero Limit means no limit.
	// Windows are fixed, as Linode's are.
	RateLimit simkit.Rate
	// ListRateLimit is how many paginated collection GETs a token may
	// make per window (Linode publishes 200 a minute), in fixed windows
	// too.
	ListRateLimit simkit.Rate
	// RestoreWindow is how far back a fork can restore; default 7 days.
	RestoreWindow time.Duration
	// Hook, when set, is called with each request after it is counted
	// and before it is handled (faults apply first), so that a test can
	// hold a request back to order the requests of several clients.
	Hook func(r *http.Request)
}

// Fault is a failure injected with Inject. Fault.Op matches the
// operation names Calls counts: the method and the path under /v4 with
// numeric ids as {id}, "POST /v4/databases/postgresql/instances" or
// "PUT /v4/databases/mysql/instances/{id}" (a /v4beta request is named
// as its /v4 twin).
type Fault = simkit.Fault

// Server is the simulator: an http.Handler serving the Linode databases
// API under /v4 (and /v4beta). It is safe for concurrent use. The
// embedded Controls inject faults (Inject) and count calls (Calls,
// TotalCalls, Writes, RateLimited).
type Server struct {
	*simkit.Controls
	opts Options
	kit  *simkit.Kit
	all  *simkit.Limiter // nil: no general limit
	list *simkit.Limiter // nil: no collection limit

	mu        sync.Mutex
	nextID    int
	instances map[int]*instance
	ca        []byte

	srv *simhttp.Server
}

// New returns a simulator that serves through ServeHTTP.
func New(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = dbaas.SystemClock{}
	}
	if opts.UpdateDelay <= 0 {
		opts.UpdateDelay = opts.ProvisionDelay / 4
	}
	if opts.RestoreWindow <= 0 {
		opts.RestoreWindow = 7 * 24 * time.Hour
	}
	opts.RateLimit.Fixed, opts.ListRateLimit.Fixed = true, true
	kit := simkit.New(simkit.Config{Clock: opts.Clock, Errors: simkit.ErrorWriterFunc(writeKitError)})
	return &Server{
		Controls:  kit.Controls(),
		kit:       kit,
		all:       simkit.NewLimiter(opts.Clock, opts.RateLimit),
		list:      simkit.NewLimiter(opts.Clock, opts.ListRateLimit),
		ca:        makeCA(opts.Clock.Now()),
		opts:      opts,
		nextID:    227300,
		instances: map[int]*instance{},
	}
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

// Pace returns how long the simulated life cycle takes.
func (s *Server) Pace() simkit.Pace {
	return simkit.Pace{Provision: s.opts.ProvisionDelay, Update: s.opts.UpdateDelay, Delete: s.opts.DeleteDelay}
}

// Close ends requests that are waiting on injected latency, waits for
// every handler, stops the listener (when started by Start) and detaches
// every database still attached.
func (s *Server) Close() error {
	s.kit.Close()
	var err error
	if s.srv != nil {
		err = s.srv.Close()
	}
	s.mu.Lock()
	var attached []string
	for _, in := range s.instances {
		if in.db != nil {
			attached = append(attached, in.key)
			in.db = nil
		}
	}
	s.mu.Unlock()
	return errors.Join(err, simkit.DetachAll(s.opts.Backend, attached))
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	call := simkit.Call{Op: operation(r), Write: r.Method != http.MethodGet && r.Method != http.MethodHead}
	s.kit.Serve(w, r, call, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Hook != nil {
			s.opts.Hook(r)
		}
		s.serve(w, r)
	}))
}

// operation names a request for Calls and Fault.Op: the method and the
// path under /v4, numeric ids replaced by {id}.
func operation(r *http.Request) string {
	p := r.URL.EscapedPath()
	if rest, ok := cutVersion(p); ok {
		p = "/v4/" + rest
	}
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if seg != "" && strings.Trim(seg, "0123456789") == "" {
			segs[i] = "{id}"
		}
	}
	return r.Method + " " + strings.Join(segs, "/")
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

// admit spends a request of the token's general window, and of its
// collection window for a paginated GET, sets the X-RateLimit-* headers
// and answers 429 when a window is spent. Refused requests use nothing.
func (s *Server) admit(w http.ResponseWriter, token string, collection bool) bool {
	list := s.list
	if !collection {
		list = nil
	}
	if s.all == nil && list == nil {
		return true
	}
	ds, ok := simkit.Take(token, s.all, list)
	// The headers speak of the window that refused, or else of the
	// general one.
	shown := -1
	for i, l := range []*simkit.Limiter{s.all, list} {
		if l != nil && (shown < 0 || (!ok && !ds[i].Allowed && ds[shown].Allowed)) {
			shown = i
		}
	}
	ds[shown].SetXRateLimitHeaders(w.Header())
	if !ok {
		s.kit.CountRateLimited()
		writeError(w, http.StatusTooManyRequests, "", "Too Many Requests")
	}
	return ok
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

// writeKitError writes the errors of the simulator kit (injected faults,
// a closed simulator) as the API does.
func writeKitError(w http.ResponseWriter, _ *http.Request, e simkit.Error) {
	if e.Status == 0 {
		e.Status = http.StatusBadRequest
	}
	if e.Message == "" {
		e.Message = statusReason(e.Status)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(simkit.RetryAfterSeconds(e.RetryAfter)))
	}
	writeError(w, e.Status, e.Field, e.Message)
}

func statusReason(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "Too Many Requests"
	case http.StatusServiceUnavailable:
		return "Service Unavailable"
	case http.StatusRequestTimeout:
		return "Request Timeout"
	case http.StatusBadGateway:
		return "Bad Gateway"
	}
	return "An unexpected error occurred."
}

// makeCA makes the certificate GET …/ssl returns for instances without a
// real database: a real self-signed CA, so that PEM parsing is exercised.
func makeCA(now time.Time) []byte {
	ca, err := certs.NewCA("linodesim Project CA", now, 10*365*24*time.Hour)
	if err != nil {
		return nil
	}
	return ca.PEM
}
