package vultrsim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simhttp"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

// Options configures a Server. The zero value is a working simulator on
// the system clock whose databases are Running at once, with no rate
// limit, no faults and no real database behind them.
type Options struct {
	// Clock is the simulator's time source (life cycle, backups, the
	// rate-limit window); default dbaas.SystemClock{}.
	Clock dbaas.Clock
	// ProvisionDelay is how long a new, restored or forked database stays
	// Rebuilding before it is Running, and how long a plan change keeps it
	// Rebalancing. Zero: at once.
	ProvisionDelay time.Duration
	// BackupInterval is the time between daily backups; the first is taken
	// when the database is Running. Default 24 h.
	BackupInterval time.Duration
	// BackupRetention is how long backups are kept, and so how far back
	// the point-in-time window reaches. Default 7 days.
	BackupRetention time.Duration
	// Backend, when set, attaches a real database to each database on
	// create, restore and fork, and detaches it on delete.
	Backend simdb.Backend
	// Token, when set, is the only bearer token accepted; otherwise any
	// non-empty token is.
	Token string
	// RateLimit limits the requests of each client address, as Vultr
	// does: RateLimit30PerSecond is the API's (429 past 30 requests a
	// second). Its zero value is no limit; its Window defaults to a
	// minute (simkit.Rate), so give it.
	RateLimit simkit.Rate
	// Latency delays every answer by this much real time.
	Latency time.Duration
}

// RateLimit30PerSecond is the API's documented rate limit: "more than 30
// requests per second" from one address are answered 429.
var RateLimit30PerSecond = simkit.Rate{Limit: 30, Window: time.Second}

// Server is a simulator of the Vultr managed databases API. It is an
// http.Handler; Start serves it on a loopback port. Its embedded
// Controls inject faults and count calls; an operation's name (Calls,
// simkit.Fault.Op) is its method and path pattern, as in
// "POST /v2/databases" or "PUT /v2/databases/{id}".
type Server struct {
	*simkit.Controls

	opts    Options
	clock   dbaas.Clock
	kit     *simkit.Kit
	limiter *simkit.Limiter
	mux     *http.ServeMux

	caOnce sync.Once
	ca     string
	// copyMu keeps data copies one at a time.
	copyMu sync.Mutex
	// appMu keeps the changes of users and logical databases, and the
	// removal of databases, one at a time, so that the backing server and
	// the records change together (taken before mu).
	appMu sync.Mutex

	mu    sync.Mutex
	dbs   map[string]*database
	order []string
	marks map[string][]mark // data copies per database, oldest first

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
	kit := simkit.New(simkit.Config{Clock: opts.Clock, Errors: simkit.ErrorWriterFunc(writeKitError), Latency: opts.Latency})
	s := &Server{
		Controls: kit.Controls(),
		opts:     opts,
		clock:    opts.Clock,
		kit:      kit,
		limiter:  simkit.NewLimiter(opts.Clock, opts.RateLimit),
		mux:      http.NewServeMux(),
		dbs:      map[string]*database{},
		marks:    map[string][]mark{},
	}
	s.routes()
	return s
}

// Start serves a new simulator on a free 127.0.0.1 port and returns it
// with the base URL to give the client (govultr's SetBaseURL): the
// client's paths start with /v2. Close stops it.
func Start(opts Options) (*Server, string, error) {
	s := New(opts)
	srv, err := simhttp.Start(s)
	if err != nil {
		return nil, "", fmt.Errorf("vultrsim: %w", err)
	}
	s.srv = srv
	return s, srv.URL, nil
}

// Pace is how long the simulated life cycle takes.
func (s *Server) Pace() simkit.Pace {
	return simkit.Pace{Provision: s.opts.ProvisionDelay, Update: s.opts.ProvisionDelay}
}

// Close stops the listener and every connection of a started simulator,
// waits for the requests being handled, drops the users and logical
// databases made through the API on the backing servers, and detaches
// the real databases and drops the data copies it holds.
func (s *Server) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		if s.srv != nil {
			errs = append(errs, s.srv.Close())
		}
		s.kit.Close()
		errs = append(errs, s.dropAllApps())
		s.mu.Lock()
		var keys []string
		for _, d := range s.dbs {
			if d.attached {
				keys = append(keys, d.ID)
			}
		}
		s.dbs = map[string]*database{}
		s.order = nil
		marks := s.marks
		s.marks = map[string][]mark{}
		s.mu.Unlock()
		errs = append(errs, simkit.DetachAll(s.opts.Backend, keys))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		for _, ms := range marks {
			errs = append(errs, s.dropMarks(ctx, ms))
		}
	})
	return errors.Join(errs...)
}

// dropAllApps drops the users and logical databases made through the API
// on the servers behind the databases, for Close.
func (s *Server) dropAllApps() error {
	s.appMu.Lock()
	defer s.appMu.Unlock()
	s.mu.Lock()
	ds := slices.Collect(maps.Values(s.dbs))
	s.mu.Unlock()
	return simkit.UndoAll(ds, s.dropApps)
}

// SetRateLimit replaces the rate limit (see Options.RateLimit), with full
// buckets.
func (s *Server) SetRateLimit(r simkit.Rate) {
	l := simkit.NewLimiter(s.clock, r)
	s.mu.Lock()
	s.limiter = l
	s.mu.Unlock()
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, op := s.mux.Handler(r)
	known := op != ""
	if !known {
		op = r.Method + " " + r.URL.Path
	}
	s.kit.Serve(w, r, simkit.Call{Op: op, Write: r.Method != http.MethodGet}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			writeError(w, http.StatusUnauthorized, "Invalid API token.")
			return
		}
		s.mu.Lock()
		limiter := s.limiter
		s.mu.Unlock()
		if d := limiter.Take(clientAddr(r)); !d.Allowed {
			s.kit.CountRateLimited()
			writeError(w, http.StatusTooManyRequests, "Rate limit reached - please try your request again later.")
			return
		}
		if !known {
			writeError(w, http.StatusNotFound, "Invalid API endpoint.")
			return
		}
		s.mux.ServeHTTP(w, r)
	}))
}

// clientAddr is the address Vultr counts requests by.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (s *Server) authorized(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tok = strings.TrimSpace(tok)
	if !ok || tok == "" {
		return false
	}
	return s.opts.Token == "" || tok == s.opts.Token
}

// writeKitError renders the kit's errors (injected faults) as the API
// does; the API sends no Retry-After.
func writeKitError(w http.ResponseWriter, _ *http.Request, e simkit.Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	msg := e.Message
	switch {
	case msg != "":
	case status == http.StatusTooManyRequests:
		msg = "Rate limit reached - please try your request again later."
	default:
		msg = http.StatusText(status)
	}
	writeError(w, status, msg)
}

// apiError is the API's error body.
type apiError struct {
	Error  string `json:"error"`
	Status int    `json:"status"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg, Status: status})
}

// writeJSON answers v. The Content-Type is exactly application/json:
// govultr decodes an answer only then.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"Internal Server Error","status":500}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
