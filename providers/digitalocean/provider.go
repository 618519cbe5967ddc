package digitalocean

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/digitalocean/godo"
	"golang.org/x/time/rate"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
)

// Name is the name the provider registers under.
const Name = "digitalocean"

// Defaults of Options.
const (
	// DefaultRateLimit is DigitalOcean's account limit: 250 requests a
	// minute (and 5,000 an hour).
	DefaultRateLimit = 250
	// DefaultHourlyRateLimit is DigitalOcean's hourly quota.
	DefaultHourlyRateLimit = 5000
	// DefaultMaxRetries bounds the retries of one request.
	DefaultMaxRetries = 5
	// DefaultMaxBackoff caps the pause between retries.
	DefaultMaxBackoff = 30 * time.Second
	// DefaultMaxRetryWait is the longest Retry-After or RateLimit-Reset
	// the transport sleeps through before reporting ErrRateLimited.
	DefaultMaxRetryWait = 2 * time.Minute
	// TypicalProvisioning is how long DigitalOcean takes to bring a new
	// PostgreSQL or MySQL cluster online: five to ten minutes, the upper
	// end used so that dbaas.Wait polls seldom before it.
	TypicalProvisioning = 10 * time.Minute
	// Port is the port every DigitalOcean database cluster listens on.
	Port = 25060
	// maxPageSize is the largest per_page the API accepts.
	maxPageSize = 200
)

// Options configures a Provider.
type Options struct {
	// Token is the API token; empty means DIGITALOCEAN_TOKEN, then
	// DIGITALOCEAN_ACCESS_TOKEN. A missing token is an error at New.
	Token dbaas.Secret
	// BaseURL points the client at another endpoint (a simulator); empty
	// means https://api.digitalocean.com/.
	BaseURL string
	// HTTPClient sends the requests; nil means a client with a 60 s
	// timeout. Its Transport is wrapped, never changed.
	HTTPClient *http.Client
	// Region is the default region of Create; empty means a Spec must
	// name one.
	Region string
	// RateLimit is how many requests the provider sends per RateWindow at
	// most, across all its goroutines; default DefaultRateLimit. Negative:
	// no client-side limit at all (HourlyRateLimit included).
	RateLimit int
	// HourlyRateLimit is how many requests the provider sends per 60
	// RateWindows at most; default DefaultHourlyRateLimit. Negative: no
	// hourly limit.
	HourlyRateLimit int
	// RateWindow is the window of RateLimit (a minute); default one
	// minute. Shorter windows run the limits at a scaled time.
	RateWindow time.Duration
	// MaxRetries bounds the retries of one request; default
	// DefaultMaxRetries. Negative: no retries.
	MaxRetries int
	// MaxBackoff caps the pause between retries; default DefaultMaxBackoff.
	MaxBackoff time.Duration
	// MaxRetryWait is the longest server-requested wait honoured; default
	// DefaultMaxRetryWait.
	MaxRetryWait time.Duration
	// PageSize is the page size of List; default (and at most) 200.
	PageSize int
	// Clock times retries and the limiter; default the system clock.
	Clock dbaas.Clock
	// Observer is told of every call; nil means dbaas.SlogObserver(nil).
	Observer dbaas.Observer
}

// Provider is the DigitalOcean managed-database provider: dbaas.Provider
// (the portable layer over this package's driver) plus the request
// counters. It is safe for concurrent use.
type Provider struct {
	dbaas.Provider
	d *client
}

var _ dbaas.Provider = (*Provider)(nil)

// capabilities are DigitalOcean's: no on-demand or final backup (daily
// automatic ones only), no point-in-time restore, no custom port (always
// 25060), firewall rules of kinds cidr (ip_addr), instance (droplet),
// tag, k8s and app. A cluster with no rule lets every address in.
// Application databases and users are the API's, with their rights (and
// a chosen password) given over SQL with doadmin (see the package doc).
var capabilities = dbaas.Capabilities{
	Engines:             []dbaas.Engine{dbaas.Postgres, dbaas.MySQL},
	SourceKinds:         []dbaas.SourceKind{dbaas.SourceCIDR, dbaas.SourceInstance, dbaas.SourceTag, dbaas.SourceKubernetes, dbaas.SourceApp},
	Provision:           true,
	Access:              true,
	ListBackups:         true,
	Restore:             true,
	PrivateNetwork:      true,
	CACertificate:       true,
	ReadablePassword:    true,
	AppUsers:            dbaas.AppUsersAPI,
	EmptyAccessIsWorld:  true,
	RefusedFields:       []string{"AdminPassword", "Subnet", "DeletionProtection", "PublicAccess"},
	TypicalProvisioning: TypicalProvisioning,
}

// Settings keys dbaas.Open reads from dbaas.Config.Settings.
const (
	SettingRateLimit       = "rate_limit"        // requests per minute
	SettingHourlyRateLimit = "hourly_rate_limit" // requests per hour
	SettingMaxRetries      = "max_retries"       // retries per request
)

// info is the provider's registration.
var info = driver.Info{
	Capabilities: capabilities,
	Settings:     []string{SettingRateLimit, SettingHourlyRateLimit, SettingMaxRetries},
	Open: func(_ context.Context, cfg dbaas.Config) (driver.Driver, error) {
		opts := Options{Token: cfg.Token, BaseURL: cfg.BaseURL, HTTPClient: cfg.HTTPClient, Region: cfg.Region}
		for key, dst := range map[string]*int{SettingRateLimit: &opts.RateLimit, SettingHourlyRateLimit: &opts.HourlyRateLimit, SettingMaxRetries: &opts.MaxRetries} {
			if v, ok := cfg.Settings[key]; ok {
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, dbaas.InvalidField("settings."+key, "must be an integer")
				}
				*dst = n
			}
		}
		return newClient(opts)
	},
}

func init() { driver.Register(Name, info) }

// New returns a provider. It makes no API call; it fails when no token is
// given or found in the environment.
func New(opts Options) (*Provider, error) {
	c, err := newClient(opts)
	if err != nil {
		return nil, err
	}
	return &Provider{Provider: driver.NewProvider(Name, c, info, opts.Observer), d: c}, nil
}

// client is the driver: godo behind the adapter's transport.
type client struct {
	godo     *godo.Client
	tr       *transport
	owned    *http.Transport // made here, closed by Close; nil when the caller gave one
	region   string
	pageSize int
	clock    dbaas.Clock

	optMu   sync.Mutex
	options *godo.DatabaseOptions

	// fwLocks serialise the firewall read-change-write of one cluster
	// within this process.
	fwLocks [64]sync.Mutex
}

func newClient(opts Options) (*client, error) {
	tok := opts.Token
	for _, env := range []string{"DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN"} {
		if tok.IsZero() {
			tok = dbaas.NewSecret(os.Getenv(env))
		}
	}
	if tok.IsZero() {
		return nil, fmt.Errorf("digitalocean: no API token: give Options.Token or set DIGITALOCEAN_TOKEN: %w", dbaas.ErrPermissionDenied)
	}
	if opts.Clock == nil {
		opts.Clock = dbaas.SystemClock{}
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	base := hc.Transport
	var owned *http.Transport
	if base == nil {
		owned = http.DefaultTransport.(*http.Transport).Clone()
		base = owned
	}
	tr := &transport{
		base:      base,
		token:     tok,
		clock:     opts.Clock,
		baseDelay: 500 * time.Millisecond,
		maxDelay:  opts.MaxBackoff,
		maxWait:   opts.MaxRetryWait,
	}
	if tr.maxDelay <= 0 {
		tr.maxDelay = DefaultMaxBackoff
	}
	if tr.maxWait <= 0 {
		tr.maxWait = DefaultMaxRetryWait
	}
	if opts.RateLimit >= 0 {
		window := opts.RateWindow
		if window <= 0 {
			window = time.Minute
		}
		tr.limiters = append(tr.limiters, newLimiter(opts.RateLimit, DefaultRateLimit, window))
		if opts.HourlyRateLimit >= 0 {
			tr.limiters = append(tr.limiters, newLimiter(opts.HourlyRateLimit, DefaultHourlyRateLimit, 60*window))
		}
	}
	maxRetries := opts.MaxRetries
	switch {
	case maxRetries == 0:
		maxRetries = DefaultMaxRetries
	case maxRetries < 0:
		maxRetries = 0
	}
	tr.setup(maxRetries)
	wrapped := *hc
	wrapped.Transport = tr
	clientOpts := []godo.ClientOpt{godo.SetUserAgent("dbaaskit")}
	if opts.BaseURL != "" {
		clientOpts = append(clientOpts, godo.SetBaseURL(opts.BaseURL))
	}
	gc, err := godo.New(&wrapped, clientOpts...)
	if err != nil {
		return nil, dbaas.InvalidField("base_url", fmt.Sprintf("%q is not a URL", opts.BaseURL))
	}
	pageSize := opts.PageSize
	if pageSize <= 0 || pageSize > maxPageSize {
		pageSize = maxPageSize
	}
	return &client{godo: gc, tr: tr, owned: owned, region: opts.Region, pageSize: pageSize, clock: opts.Clock}, nil
}

// newLimiter allows limit requests (def when 0) per window.
func newLimiter(limit, def int, window time.Duration) *rate.Limiter {
	if limit == 0 {
		limit = def
	}
	// The burst is the window's allowance, as the API allows, less a
	// margin: the server's bucket refills from when requests arrive,
	// later than they leave, and stays full (wasting refill) while they
	// travel, so a client at the exact limit would meet a 429.
	burst := max(1, limit-max(1, limit/100))
	return rate.NewLimiter(rate.Every(window/time.Duration(limit)), burst)
}

// Calls returns how many HTTP requests the provider has sent, retries
// included.
func (p *Provider) Calls() int64 { return p.d.tr.Calls() }

// Retries returns how many requests the provider has sent again.
func (p *Provider) Retries() int64 { return p.d.tr.Retries() }

// As hands out the underlying client: target must be a **godo.Client.
func (c *client) As(target any) bool {
	if t, ok := target.(**godo.Client); ok && t != nil {
		*t = c.godo
		return true
	}
	return false
}

// Close lets go of the idle connections of the transport New made; a
// transport the caller gave stays the caller's.
func (c *client) Close() error {
	if c.owned != nil {
		c.owned.CloseIdleConnections()
	}
	return nil
}

// fwLock returns the mutex that guards cluster id's firewall.
func (c *client) fwLock(id string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return &c.fwLocks[h.Sum32()%uint32(len(c.fwLocks))]
}

// ErrorKind maps a godo error to the sentinel its status and error id
// mean.
func (c *client) ErrorKind(err error) error {
	var er *godo.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return nil
	}
	errID := er.Response.Header.Get(headerErrorID)
	switch status := er.Response.StatusCode; {
	case status == http.StatusUnauthorized || status == http.StatusForbidden || errID == "unauthorized" || errID == "forbidden":
		return dbaas.ErrPermissionDenied
	case status == http.StatusNotFound || errID == "not_found":
		return dbaas.ErrNotFound
	case status == http.StatusTooManyRequests || errID == "too_many_requests":
		return dbaas.ErrRateLimited
	case status == http.StatusConflict || errID == "conflict":
		return dbaas.ErrConflict
	case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
		if nameTaken(er.Message) {
			return dbaas.ErrAlreadyExists
		}
		return dbaas.ErrInvalidArgument
	}
	return nil
}

// nameTaken reports whether a 422 message says the cluster name is in use.
func nameTaken(msg string) bool {
	return fieldOf(msg) == "name" && containsAny(msg, "already in use", "already exists", "not available")
}

// withField names the Spec field a 422 of the API is about, leaving the
// godo error as the cause.
func withField(err error) error {
	var er *godo.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || nameTaken(er.Message) {
		return err
	}
	if s := er.Response.StatusCode; s != http.StatusUnprocessableEntity && s != http.StatusBadRequest {
		return err
	}
	if f := fieldOf(er.Message); f != "" {
		return &dbaas.Error{Field: f, Err: err}
	}
	return err
}
