package exoscalesim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/certs"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simhttp"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

// The credentials a simulator accepts when Options names none.
const (
	DefaultAPIKey    = "EXOdbaaskit0000000000000000"
	DefaultAPISecret = "dbaaskit-simulator-secret"
	// DefaultZone is the zone a simulator serves when Options names none.
	DefaultZone = "ch-gva-2"
)

// Options configures a Server. The zero value is a working simulator of
// zone ch-gva-2 on the system clock, whose services come up at once,
// with the default credentials, no rate limit and no real databases.
type Options struct {
	// Clock is the simulator's time (life cycle, operations, backups,
	// rate limit); default dbaas.SystemClock{}.
	Clock dbaas.Clock
	// SignatureClock is the time request expiries are checked against;
	// default the system clock, since clients sign with the wall clock
	// whatever time the life cycle runs on.
	SignatureClock dbaas.Clock
	// Zone is the zone this endpoint serves; default ch-gva-2.
	Zone string
	// APIKey and APISecret are the only credentials accepted; default
	// DefaultAPIKey and DefaultAPISecret.
	APIKey, APISecret string
	// ProvisionDelay is how long a new service stays "rebuilding" before
	// it is "running". Zero: running at once.
	ProvisionDelay time.Duration
	// OperationDelay is how long the operation a write answers stays
	// "pending" before it ends. Zero: it has ended when answered.
	OperationDelay time.Duration
	// BackupInterval is the time between automatic backups, the first
	// taken when the service comes up; default 24 h.
	BackupInterval time.Duration
	// BackupRetention is how long backups are kept; default 14 days.
	BackupRetention time.Duration
	// Backend, when set, attaches a real database to each service.
	Backend simdb.Backend
	// RateLimit limits the requests of each API key; the zero Rate is no
	// limit.
	RateLimit simkit.Rate
	// Latency holds every answer back this much real time.
	Latency time.Duration
}

// Server is a simulator of one zone of the Exoscale DBaaS API. It is an
// http.Handler; Start serves it on a loopback port. The embedded Controls
// inject faults and count calls.
type Server struct {
	*simkit.Controls

	opts    Options
	kit     *simkit.Kit
	clock   dbaas.Clock
	sigTime dbaas.Clock
	mux     *http.ServeMux
	ca      []byte
	limiter *simkit.Limiter
	// appMu keeps the writes of users and databases, and the removal of
	// services, one at a time, so that the backing servers and the
	// records change together (taken before mu).
	appMu sync.Mutex

	mu       sync.Mutex
	services map[string]*service
	order    []string
	ops      map[string]*operation
	// pending are the operations not ended yet, oldest first.
	pending  []*operation
	failures []failure
	// snapshots holds per service name the data copy of each backup by
	// backup name ("" while it is being taken).
	snapshots map[string]map[string]string

	srv       *simhttp.Server
	closeOnce sync.Once
}

// New returns a simulator with the given options.
func New(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = dbaas.SystemClock{}
	}
	if opts.SignatureClock == nil {
		opts.SignatureClock = dbaas.SystemClock{}
	}
	if opts.Zone == "" {
		opts.Zone = DefaultZone
	}
	if opts.APIKey == "" {
		opts.APIKey = DefaultAPIKey
	}
	if opts.APISecret == "" {
		opts.APISecret = DefaultAPISecret
	}
	if opts.BackupInterval <= 0 {
		opts.BackupInterval = 24 * time.Hour
	}
	if opts.BackupRetention <= 0 {
		opts.BackupRetention = 14 * 24 * time.Hour
	}
	kit := simkit.New(simkit.Config{Clock: opts.Clock, Errors: simkit.ErrorWriterFunc(writeKitError), Latency: opts.Latency})
	s := &Server{
		Controls:  kit.Controls(),
		opts:      opts,
		kit:       kit,
		clock:     opts.Clock,
		sigTime:   opts.SignatureClock,
		mux:       http.NewServeMux(),
		limiter:   simkit.NewLimiter(opts.Clock, opts.RateLimit),
		services:  map[string]*service{},
		ops:       map[string]*operation{},
		snapshots: map[string]map[string]string{},
	}
	if ca, err := certs.NewCA("exoscale-dbaas-simulator-ca", time.Now(), 10*365*24*time.Hour); err == nil {
		s.ca = ca.PEM
	}
	s.routes()
	return s
}

// Start serves a new simulator on a free 127.0.0.1 port and returns it
// with the base URL to give the client (an egoscale Endpoint, ending in
// /v2). Close stops it.
func Start(opts Options) (*Server, string, error) {
	s := New(opts)
	srv, err := simhttp.Start(s)
	if err != nil {
		return nil, "", fmt.Errorf("exoscalesim: %w", err)
	}
	s.srv = srv
	return s, srv.URL + "/v2", nil
}

// Zone returns the zone the simulator serves.
func (s *Server) Zone() string { return s.opts.Zone }

// Pace returns how long the simulated life cycle takes.
func (s *Server) Pace() simkit.Pace {
	return simkit.Pace{Provision: s.opts.ProvisionDelay, Update: s.opts.OperationDelay, Delete: s.opts.OperationDelay}
}

// Close stops the listener, waits for the requests being answered, drops
// the users and databases made through the API on the backing servers,
// and detaches the real databases still attached.
func (s *Server) Close() error {
	var errs []error
	s.closeOnce.Do(func() {
		s.kit.Close()
		if s.srv != nil {
			errs = append(errs, s.srv.Close())
		}
		errs = append(errs, s.dropAllApps())
		s.mu.Lock()
		var names []string
		for n, svc := range s.services {
			if svc.attached {
				names = append(names, n)
			}
		}
		var snaps []string
		for _, m := range s.snapshots {
			for _, k := range m {
				if k != "" {
					snaps = append(snaps, k)
				}
			}
		}
		s.services, s.order, s.snapshots = map[string]*service{}, nil, map[string]map[string]string{}
		s.mu.Unlock()
		errs = append(errs, simkit.DetachAll(s.opts.Backend, names))
		if snap, ok := s.opts.Backend.(simdb.Snapshotter); ok {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			for _, k := range snaps {
				errs = append(errs, snap.DropSnapshot(ctx, k))
			}
		}
	})
	return errors.Join(errs...)
}

// dropAllApps drops the users and databases made through the API on the
// servers behind the services, for Close.
func (s *Server) dropAllApps() error {
	s.appMu.Lock()
	defer s.appMu.Unlock()
	s.mu.Lock()
	svcs := slices.Collect(maps.Values(s.services))
	s.mu.Unlock()
	return simkit.UndoAll(svcs, s.dropApps)
}

// SetRateLimit replaces the rate limit (the zero Rate removes it).
func (s *Server) SetRateLimit(r simkit.Rate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limiter = simkit.NewLimiter(s.clock, r)
}

// ServeHTTP answers one API request: counted and faulted by the kit,
// then checked for its signature and the rate limit, then routed.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, pattern := s.mux.Handler(r)
	op := pattern
	if op == "" {
		op = r.Method + " " + r.URL.Path
	}
	write := r.Method != http.MethodGet && r.Method != http.MethodHead
	s.kit.Serve(w, r, simkit.Call{Op: op, Write: write}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, msg := s.verify(r)
		if msg != "" {
			writeError(w, http.StatusForbidden, msg)
			return
		}
		s.mu.Lock()
		lim := s.limiter
		s.mu.Unlock()
		if d := lim.Take(key); lim != nil && !d.Allowed {
			s.kit.CountRateLimited()
			w.Header().Set("Retry-After", strconv.Itoa(simkit.RetryAfterSeconds(d.RetryAfter)))
			writeError(w, http.StatusTooManyRequests, "Too many requests, please retry later")
			return
		}
		if pattern == "" {
			writeError(w, http.StatusNotFound, "Not found")
			return
		}
		s.mu.Lock()
		s.settleLocked(s.clock.Now())
		s.mu.Unlock()
		s.mux.ServeHTTP(w, r)
	}))
}

// writeKitError renders the kit's errors (injected faults) as the API's.
func writeKitError(w http.ResponseWriter, _ *http.Request, e simkit.Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	msg := e.Message
	if msg == "" {
		switch {
		case status == http.StatusTooManyRequests:
			msg = "Too many requests, please retry later"
		case status >= 500:
			msg = "Internal server error"
		default:
			msg = http.StatusText(status)
		}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(simkit.RetryAfterSeconds(e.RetryAfter)))
	}
	writeError(w, status, msg)
}

// errorBody is the API's error body.
type errorBody struct {
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body into v, answering 400 and returning false
// when it is not JSON of the right shape.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid request body: "+err.Error())
		return false
	}
	return true
}
