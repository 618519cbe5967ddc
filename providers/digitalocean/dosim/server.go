package dosim

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simhttp"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
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
	// RateLimit is the per-minute limit (250 requests a minute on the
	// real API) of each token, refilled continuously (a token bucket of
	// that size). A zero Limit means no limit.
	RateLimit simkit.Rate
	// HourlyRateLimit is the hourly quota of each token (5,000 requests
	// an hour on the real API; Window default one minute, so give it).
	// The RateLimit-* headers report it, as the API does, or RateLimit
	// when it has no Limit.
	HourlyRateLimit simkit.Rate
	// Latency delays every answer by this much real time.
	Latency time.Duration
}

// Fault is a failure injected with Inject. Fault.Op matches the
// operation names Calls counts: the method and the route's pattern, as
// in "POST /v2/databases" or "PUT /v2/databases/{id}/firewall" (a path
// the API does not have is named by its method and path).
type Fault = simkit.Fault

// Server is a simulator of the DigitalOcean databases API. It is an
// http.Handler; Start serves it on a loopback port. The embedded Controls
// inject faults (Inject) and count calls (Calls, TotalCalls, Writes,
// RateLimited).
type Server struct {
	*simkit.Controls
	opts  Options
	clock dbaas.Clock
	kit   *simkit.Kit
	mux   *http.ServeMux
	ca    []byte
	done  <-chan struct{}

	mu       sync.Mutex
	clusters map[string]*cluster
	order    []string
	// copies holds, per cluster id, the data copy of each backup by its
	// time ("" while it is being taken), with a simdb.Snapshotter.
	copies  map[string]map[time.Time]string
	vpcs    map[string]*vpc
	minute  *simkit.Limiter // nil: no per-minute limit
	hour    *simkit.Limiter // nil: no hourly quota
	userSeq int

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
	kit := simkit.New(simkit.Config{Clock: opts.Clock, Latency: opts.Latency, Errors: simkit.ErrorWriterFunc(writeKitError)})
	s := &Server{
		Controls: kit.Controls(),
		opts:     opts,
		clock:    opts.Clock,
		kit:      kit,
		mux:      http.NewServeMux(),
		ca:       newCA(),
		done:     kit.Done(),
		clusters: map[string]*cluster{},
		copies:   map[string]map[time.Time]string{},
		vpcs:     map[string]*vpc{},
		minute:   simkit.NewLimiter(opts.Clock, opts.RateLimit),
		hour:     simkit.NewLimiter(opts.Clock, opts.HourlyRateLimit),
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
		s.kit.Close()
		if s.srv != nil {
			errs = append(errs, s.srv.Close())
		}
		errs = append(errs, s.dropAllApps())
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
		errs = append(errs, simkit.DetachAll(s.opts.Backend, keys))
		for _, id := range copied {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			errs = append(errs, s.dropCopies(ctx, id))
			cancel()
		}
	})
	return errors.Join(errs...)
}

// Pace returns how long the simulated life cycle takes.
func (s *Server) Pace() simkit.Pace {
	return simkit.Pace{Provision: s.opts.ProvisionDelay, Update: s.opts.ProvisionDelay}
}

// SetRateLimit replaces the per-minute limit and the hourly quota (see
// Options; a zero Limit turns one off), with full buckets.
func (s *Server) SetRateLimit(minute, hourly simkit.Rate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.RateLimit, s.opts.HourlyRateLimit = minute, hourly
	s.minute, s.hour = simkit.NewLimiter(s.clock, minute), simkit.NewLimiter(s.clock, hourly)
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, route := s.mux.Handler(r)
	known := route != ""
	if !known {
		route = r.Method + " " + r.URL.Path
	}
	requestID := simkit.NewUUID()
	w.Header().Set("X-Request-Id", requestID)
	r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, requestID))
	call := simkit.Call{Op: route, Write: r.Method != http.MethodGet && r.Method != http.MethodHead}
	s.kit.Serve(w, r, call, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := s.authorized(r)
		if !ok {
			s.rateHeaders(w, token, false)
			writeError(w, r, http.StatusUnauthorized, "unauthorized", "Unable to authenticate you.")
			return
		}
		if !s.rateHeaders(w, token, true) {
			s.kit.CountRateLimited()
			writeError(w, r, http.StatusTooManyRequests, "too_many_requests", "API rate limit exceeded.")
			return
		}
		if !known {
			writeError(w, r, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
			return
		}
		s.mux.ServeHTTP(w, r)
	}))
}

// writeKitError writes the errors of the simulator kit (injected faults,
// a closed simulator) as the API does.
func writeKitError(w http.ResponseWriter, r *http.Request, e simkit.Error) {
	if e.Status == 0 {
		e.Status = http.StatusBadRequest
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(simkit.RetryAfterSeconds(e.RetryAfter)))
	}
	id, msg := e.Code, e.Message
	switch {
	case e.Status == http.StatusTooManyRequests:
		id, msg = cmp.Or(id, "too_many_requests"), cmp.Or(msg, "API rate limit exceeded.")
	case e.Status >= 500:
		id, msg = cmp.Or(id, "server_error"), cmp.Or(msg, "Unexpected server-side error")
	default:
		id = cmp.Or(id, strings.ToLower(strings.ReplaceAll(http.StatusText(e.Status), " ", "_")))
		msg = cmp.Or(msg, http.StatusText(e.Status))
	}
	writeError(w, r, e.Status, id, msg)
}

// authorized returns the bearer token and whether the simulator accepts
// it.
func (s *Server) authorized(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok = strings.TrimSpace(tok)
	if !ok || tok == "" {
		return tok, false
	}
	return tok, s.opts.Token == "" || tok == s.opts.Token
}

// rateHeaders sets the RateLimit-* headers of token and, when take is
// true, spends one request; it reports false when a bucket is empty
// (answer 429).
func (s *Server) rateHeaders(w http.ResponseWriter, token string, take bool) bool {
	s.mu.Lock()
	minute, hour := s.minute, s.hour
	s.mu.Unlock()
	if minute == nil && hour == nil {
		return true
	}
	var ds []simkit.Decision
	ok := true
	if take {
		ds, ok = simkit.Take(token, minute, hour)
	} else {
		ds = []simkit.Decision{minute.Peek(token), hour.Peek(token)}
	}
	// The headers report the hourly quota, as the API does, and how long
	// until the bucket that refused gives a request back.
	shown := ds[1]
	if hour == nil {
		shown = ds[0]
	}
	shown.Allowed = ok
	shown.RetryAfter = 0
	for _, d := range ds {
		if !d.Allowed {
			shown.RetryAfter = max(shown.RetryAfter, d.RetryAfter)
		}
	}
	shown.SetRateLimitHeaders(w.Header())
	return ok
}

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
