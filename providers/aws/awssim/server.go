package awssim

import (
	"cmp"
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

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simhttp"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
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
	// endpoint is the instance's Endpoint. A simdb.AccountAttacher makes
	// it with the master user, password and database given at create, as
	// RDS does; another Backend's own user, password and database become
	// the master user's (readable through the managed secret). A restored instance
	// served by such another Backend has credentials of its own, which the
	// simulator then holds in a managed secret, unlike RDS.
	Backend simdb.Backend
	// Token, when set, is the only access key id accepted; otherwise any
	// non-empty one is.
	Token string
	// Region is the region in ARNs and host names; default us-east-1.
	Region string
	// RateLimit is how many requests each service (RDS, EC2, Secrets
	// Manager) accepts per Window before it answers with its throttling
	// error, refilled continuously; Burst is the bucket's size. AWS
	// limits are per second: give Window (default one minute). A zero
	// Limit means no limit.
	RateLimit simkit.Rate
	// RetryAfter is the x-amz-retry-after value (milliseconds) sent with
	// throttling errors; default 100.
	RetryAfter time.Duration
	// Latency delays every answer.
	Latency time.Duration
	// MaxRules is the number of ingress rules a security group holds;
	// default 60, EC2's default quota (it can be raised to 1000).
	MaxRules int
}

// Fault is a failure injected with Inject. Fault.Op matches the
// operation names Calls counts: the action ("CreateDBInstance",
// "AuthorizeSecurityGroupIngress", "GetSecretValue"), whatever the
// service. Fault.Code is the error code ("Throttling",
// "InvalidPermission.Duplicate"); a Code alone answers 400, and a
// throttling code carries x-amz-retry-after (Fault.RetryAfter, or
// Options.RetryAfter).
type Fault = simkit.Fault

// Server simulates the RDS, EC2 (security groups) and Secrets Manager
// Query and JSON APIs. It implements http.Handler and is safe for
// concurrent use.
//
// The embedded Controls inject faults (Inject) and count calls (Calls,
// TotalCalls, Writes, RateLimited).
type Server struct {
	*simkit.Controls
	opts  Options
	clock dbaas.Clock
	kit   *simkit.Kit
	// limiter keys its buckets by service.
	limiter *simkit.Limiter

	mu         sync.Mutex
	instances  map[string]*instance
	order      []string // instance ids in creation order, for paging
	snapshots  map[string]*snapshot
	snapOrder  []string
	groups     map[string]*securityGroup
	subnetGrps map[string]*subnetGroup
	secrets    map[string]*secret

	// Background work: Backend Attach and Detach run outside the lock.
	bgWG sync.WaitGroup
	// dataBusy counts, per instance id, snapshot copies still running,
	// which its Detach waits for.
	dataBusy map[string]*sync.WaitGroup
	closed   atomic.Bool

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
	s := &Server{
		opts:       opts,
		clock:      opts.Clock,
		limiter:    simkit.NewLimiter(opts.Clock, opts.RateLimit),
		instances:  map[string]*instance{},
		snapshots:  map[string]*snapshot{},
		groups:     map[string]*securityGroup{},
		subnetGrps: map[string]*subnetGroup{},
		secrets:    map[string]*secret{},
	}
	s.kit = simkit.New(simkit.Config{Clock: opts.Clock, Latency: opts.Latency, Errors: simkit.ErrorWriterFunc(s.writeKitError)})
	s.Controls = s.kit.Controls()
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
	// End requests held by injected latency, so shutdown is quick.
	s.kit.Close()
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
	if err := simkit.DetachAll(s.opts.Backend, keys); err != nil {
		errs = append(errs, fmt.Errorf("awssim: %w", err))
	}
	return errors.Join(errs...)
}

// Pace returns how long the simulated life cycle takes: an instance is
// available after its provisioning and its first backup.
func (s *Server) Pace() simkit.Pace {
	return simkit.Pace{Provision: s.opts.ProvisionDelay + s.opts.BackupDelay, Backup: s.opts.BackupDelay, Delete: s.opts.DeleteDelay}
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
	req := &request{id: simkit.NewUUID()}
	w.Header().Set("x-amzn-RequestId", req.id)
	service, akid := "", ""
	if m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		akid, service = m[1], m[3]
	}
	if err := s.parse(r, req, service); err != nil {
		s.writeError(w, req, err)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), requestKey{}, req))
	call := simkit.Call{Op: req.action, Write: isWrite(req.action)}
	s.kit.Serve(w, r, call, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serve(w, r, req, akid)
	}))
}

// requestKey carries the parsed request to the kit's error writer.
type requestKey struct{}

// isWrite reports whether an action changes something: every one but
// the reads (Describe…, List…, Get…).
func isWrite(action string) bool {
	for _, read := range []string{"Describe", "List", "Get"} {
		if strings.HasPrefix(action, read) {
			return false
		}
	}
	return true
}

// serve authenticates, throttles and carries out one request.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, req *request, akid string) {
	if akid == "" {
		s.writeError(w, req, authError(req.service, "MissingAuthenticationToken", "Request is missing Authentication Token"))
		return
	}
	if s.opts.Token != "" && akid != s.opts.Token {
		s.writeError(w, req, authError(req.service, "InvalidClientTokenId", "The security token included in the request is invalid."))
		return
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

// writeKitError writes the errors of the simulator kit (injected faults,
// a closed simulator) in the format of the service the request was for.
func (s *Server) writeKitError(w http.ResponseWriter, r *http.Request, e simkit.Error) {
	req, _ := r.Context().Value(requestKey{}).(*request)
	if req == nil {
		req = &request{id: simkit.NewUUID()}
	}
	status, code := e.Status, e.Code
	if status == 0 {
		status = http.StatusBadRequest
	}
	if code == "" {
		code = "InternalFailure"
		if status == http.StatusServiceUnavailable {
			code = "ServiceUnavailable"
		}
	}
	ae := &apiError{status: status, code: code, msg: cmp.Or(e.Message, http.StatusText(status)), server: status >= 500, retryAfter: e.RetryAfter}
	if isThrottleCode(code) && ae.retryAfter <= 0 {
		ae.retryAfter = s.opts.RetryAfter
	}
	s.writeError(w, req, ae)
}

func isThrottleCode(code string) bool {
	return code == "Throttling" || code == "RequestLimitExceeded" || code == "ThrottlingException"
}

// throttle spends a request of service's bucket, or returns the
// service's throttling error.
func (s *Server) throttle(service string) error {
	if s.limiter.Take(service).Allowed {
		return nil
	}
	s.kit.CountRateLimited()
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

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
