package awssim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simhttp"
)

// Options configures a Server. The zero value is a working simulator on
// the system clock whose instances become available on the first poll
// after creation.
type Options struct {
	// Clock drives the asynchronous life cycle; default dbaas.SystemClock{}.
	Clock dbaas.Clock
	// ProvisionDelay is how long a new or restored instance stays
	// "creating" before its first backup starts.
	ProvisionDelay time.Duration
	// BackupDelay is how long the first backup of a new instance
	// ("backing-up") and every snapshot ("creating") take.
	BackupDelay time.Duration
	// DeleteDelay is how long an instance stays "deleting" before it is
	// gone.
	DeleteDelay time.Duration
	// Backend, when set, attaches a real database to each instance: its
	// endpoint is the instance's Endpoint and its user and password are
	// the master user's (readable through the managed secret).
	Backend simdb.Backend
	// Token, when set, is the only access key id accepted; otherwise any
	// non-empty one is.
	Token string
	// Region is the region in ARNs and host names; default us-east-1.
	Region string
	// RateLimit is the sustained number of requests per second each
	// service accepts before it answers with its throttling error; 0
	// means no limit. Burst is the bucket size (default 1 when RateLimit
	// is set).
	RateLimit float64
	Burst     int
	// RetryAfter is the x-amz-retry-after value (milliseconds) sent with
	// throttling errors; default 100.
	RetryAfter time.Duration
	// Latency delays every answer.
	Latency time.Duration
	// MaxRules is the number of ingress rules a security group holds;
	// default 60, EC2's default quota (it can be raised to 1000).
	MaxRules int
}

// Fault is a failure the server injects into the next matching request.
type Fault struct {
	// Action limits the fault to one operation ("CreateDBInstance",
	// "AuthorizeSecurityGroupIngress"); empty matches any.
	Action string
	// Status and Code answer with this HTTP status and error code (for
	// example 503 "ServiceUnavailable", 400 "Throttling") in the
	// service's error format.
	Status int
	Code   string
	// Drop closes the connection without an answer. With AfterApply the
	// request is carried out first, so the client cannot know it worked:
	// the case that duplicates a create when a client retries blindly.
	Drop       bool
	AfterApply bool
	// Latency delays the answer.
	Latency time.Duration
	// Times is how many requests the fault hits; 0 means 1.
	Times int
}

// Server simulates the RDS, EC2 (security groups) and Secrets Manager
// Query and JSON APIs. It implements http.Handler and is safe for
// concurrent use.
type Server struct {
	opts  Options
	clock dbaas.Clock

	mu         sync.Mutex
	instances  map[string]*instance
	order      []string // instance ids in creation order, for paging
	snapshots  map[string]*snapshot
	snapOrder  []string
	groups     map[string]*securityGroup
	subnetGrps map[string]*subnetGroup
	secrets    map[string]*secret
	faults     []*Fault
	limiters   map[string]*rate.Limiter

	calls     sync.Map // "Service Action" -> *atomic.Int64
	throttled atomic.Int64

	// Background work: Backend Attach and Detach run outside the lock.
	bgWG sync.WaitGroup
	// dataBusy counts, per instance id, snapshot copies still running,
	// which its Detach waits for.
	dataBusy map[string]*sync.WaitGroup
	closed   atomic.Bool
	closeCtx context.Context
	cancel   context.CancelFunc

	srv *simhttp.Server
}

// New returns a simulator with no resources except the default VPC.
func New(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = dbaas.SystemClock{}
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 100 * time.Millisecond
	}
	if opts.MaxRules <= 0 {
		opts.MaxRules = 60
	}
	if opts.RateLimit > 0 && opts.Burst <= 0 {
		opts.Burst = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:       opts,
		clock:      opts.Clock,
		instances:  map[string]*instance{},
		snapshots:  map[string]*snapshot{},
		groups:     map[string]*securityGroup{},
		subnetGrps: map[string]*subnetGroup{},
		secrets:    map[string]*secret{},
		limiters:   map[string]*rate.Limiter{},
		closeCtx:   ctx,
		cancel:     cancel,
	}
	s.groups[defaultGroupID] = &securityGroup{ID: defaultGroupID, Name: "default", Description: "default VPC security group", VpcID: DefaultVPC}
	return s
}

// Start serves a new simulator on a free 127.0.0.1 port and returns it
// with the base URL to give the SDK clients (aws.String(url) as
// BaseEndpoint).
func Start(opts Options) (*Server, string, error) {
	s := New(opts)
	srv, err := simhttp.Start(s)
	if err != nil {
		return nil, "", fmt.Errorf("awssim: %w", err)
	}
	s.srv = srv
	return s, srv.URL, nil
}

// Close stops the listener, waits for background work and detaches every
// database still attached to an instance.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	var errs []error
	// Wake handlers that sleep on injected latency, so shutdown is quick.
	s.cancel()
	if s.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	s.bgWG.Wait()
	s.mu.Lock()
	var keys, dataKeys []string
	for _, inst := range s.instances {
		if inst.db != nil {
			keys = append(keys, inst.ID)
			inst.db = nil
		}
	}
	for _, sn := range s.snapshots {
		if sn.dataKey != "" {
			dataKeys = append(dataKeys, sn.dataKey)
			sn.dataKey = ""
		}
	}
	s.mu.Unlock()
	if snap, ok := s.opts.Backend.(simdb.Snapshotter); ok {
		for _, k := range dataKeys {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := snap.DropSnapshot(ctx, k); err != nil {
				errs = append(errs, fmt.Errorf("awssim: drop snapshot data %s: %w", k, err))
			}
			cancel()
		}
	}
	if s.opts.Backend != nil {
		for _, k := range keys {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.opts.Backend.Detach(ctx, k); err != nil {
				errs = append(errs, fmt.Errorf("awssim: detach %s: %w", k, err))
			}
			cancel()
		}
	}
	return errors.Join(errs...)
}

// InjectFault queues f; each request takes the first queued fault that
// matches its action.
func (s *Server) InjectFault(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &f)
	s.mu.Unlock()
}

// Calls returns how many requests for action (any service) the server has
// received, faulted and throttled ones included.
func (s *Server) Calls(action string) int64 {
	var n int64
	s.calls.Range(func(k, v any) bool {
		if _, a, _ := strings.Cut(k.(string), " "); a == action {
			n += v.(*atomic.Int64).Load()
		}
		return true
	})
	return n
}

// TotalCalls returns how many requests the server has received.
func (s *Server) TotalCalls() int64 {
	var n int64
	s.calls.Range(func(_, v any) bool {
		n += v.(*atomic.Int64).Load()
		return true
	})
	return n
}

// Throttled returns how many requests the rate limit refused.
func (s *Server) Throttled() int64 { return s.throttled.Load() }

func (s *Server) count(service, action string) {
	v, _ := s.calls.LoadOrStore(service+" "+action, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

var credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/aws4_request`)

// request is one parsed API call.
type request struct {
	service string // "rds", "ec2" or "secretsmanager"
	action  string
	form    map[string]string
	body    []byte
	id      string
}

func (r *request) get(k string) string { return r.form[k] }

func (r *request) has(k string) bool {
	_, ok := r.form[k]
	return ok
}

// list returns prefix.1, prefix.2, … until one is missing.
func (r *request) list(prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := r.form[prefix+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

// ServeHTTP routes a request by its SigV4 credential scope (or, unsigned,
// by X-Amz-Target and Version) to RDS, EC2 or Secrets Manager.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := &request{id: newRequestID()}
	w.Header().Set("x-amzn-RequestId", req.id)
	service, akid := "", ""
	if m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		akid, service = m[1], m[3]
	}
	if err := s.parse(r, req, service); err != nil {
		s.writeError(w, req, err)
		return
	}
	s.count(req.service, req.action)
	if akid == "" {
		s.writeError(w, req, authError(req.service, "MissingAuthenticationToken", "Request is missing Authentication Token"))
		return
	}
	if s.opts.Token != "" && akid != s.opts.Token {
		s.writeError(w, req, authError(req.service, "InvalidClientTokenId", "The security token included in the request is invalid."))
		return
	}
	if d := s.opts.Latency; d > 0 && !s.sleep(r.Context(), d) {
		drop(w)
		return
	}
	f := s.takeFault(req.action)
	if f != nil {
		if f.Latency > 0 && !s.sleep(r.Context(), f.Latency) {
			drop(w)
			return
		}
		if f.Drop && !f.AfterApply {
			drop(w)
			return
		}
		if f.Status != 0 || f.Code != "" {
			s.writeError(w, req, s.faultError(f))
			return
		}
	}
	if err := s.throttle(req.service); err != nil {
		s.writeError(w, req, err)
		return
	}
	var (
		body []byte
		err  error
	)
	switch req.service {
	case "rds":
		body, err = s.rds(r.Context(), req)
	case "ec2":
		body, err = s.ec2(req)
	case "secretsmanager":
		body, err = s.secretsManager(req)
	}
	if f != nil && f.Drop {
		drop(w)
		return
	}
	if err != nil {
		s.writeError(w, req, err)
		return
	}
	if req.service == "secretsmanager" {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	} else {
		w.Header().Set("Content-Type", "text/xml")
	}
	_, _ = w.Write(body)
}

// sleep waits d of real time (latency is about the wire, not the life
// cycle clock) and reports whether the request is still wanted.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	return simhttp.Sleep(d, ctx.Done(), s.closeCtx.Done())
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if !simhttp.Drop(w) {
		panic(http.ErrAbortHandler)
	}
}

func (s *Server) parse(r *http.Request, req *request, service string) error {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		req.service = service
		return &apiError{status: http.StatusNotFound, code: "UnknownOperationException", msg: "only POST / is served"}
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		req.service = "secretsmanager"
		_, req.action, _ = strings.Cut(target, ".")
		body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
		if err != nil {
			return &apiError{status: http.StatusRequestEntityTooLarge, code: "ValidationException", msg: "request body too large"}
		}
		req.body = body
		return nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		req.service = service
		return &apiError{status: http.StatusBadRequest, code: "MalformedQueryString", msg: "cannot parse the form-encoded body"}
	}
	req.form = make(map[string]string, len(r.PostForm))
	for k, v := range r.PostForm {
		if len(v) > 0 {
			req.form[k] = v[0]
		}
	}
	req.action = req.form["Action"]
	switch {
	case service == "rds" || service == "ec2":
		req.service = service
	case req.form["Version"] == ec2Version:
		req.service = "ec2"
	default:
		req.service = "rds"
	}
	if req.action == "" {
		return &apiError{status: http.StatusBadRequest, code: "MissingAction", msg: "Action is required"}
	}
	return nil
}

func (s *Server) takeFault(action string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Action != "" && f.Action != action {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
		}
		c := *f
		return &c
	}
	return nil
}

func (s *Server) faultError(f *Fault) *apiError {
	status, code := f.Status, f.Code
	if status == 0 {
		status = http.StatusBadRequest
	}
	if code == "" {
		code = "InternalFailure"
		if status == http.StatusServiceUnavailable {
			code = "ServiceUnavailable"
		}
	}
	e := &apiError{status: status, code: code, msg: "injected fault", server: status >= 500}
	if isThrottleCode(code) {
		e.retryAfter = s.opts.RetryAfter
	}
	return e
}

func isThrottleCode(code string) bool {
	return code == "Throttling" || code == "RequestLimitExceeded" || code == "ThrottlingException"
}

func (s *Server) throttle(service string) error {
	if s.opts.RateLimit <= 0 {
		return nil
	}
	s.mu.Lock()
	l := s.limiters[service]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(s.opts.RateLimit), s.opts.Burst)
		s.limiters[service] = l
	}
	ok := l.AllowN(s.clock.Now(), 1)
	s.mu.Unlock()
	if ok {
		return nil
	}
	s.throttled.Add(1)
	switch service {
	case "ec2":
		return &apiError{status: http.StatusServiceUnavailable, code: "RequestLimitExceeded", msg: "Request limit exceeded.", retryAfter: s.opts.RetryAfter}
	case "secretsmanager":
		return &apiError{status: http.StatusBadRequest, code: "ThrottlingException", msg: "Rate exceeded", retryAfter: s.opts.RetryAfter}
	}
	return &apiError{status: http.StatusBadRequest, code: "Throttling", msg: "Rate exceeded", retryAfter: s.opts.RetryAfter}
}

func authError(service, code, msg string) *apiError {
	if service == "ec2" {
		return &apiError{status: http.StatusUnauthorized, code: "AuthFailure", msg: msg}
	}
	return &apiError{status: http.StatusForbidden, code: code, msg: msg}
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
