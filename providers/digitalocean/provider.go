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
}

// Provider is the DigitalOcean managed-database provider. It is safe for
// concurrent use.
type Provider struct {
	client   *godo.Client
	tr       *transport
	region   string
	pageSize int
	clock    dbaas.Clock

	optMu   sync.Mutex
	options *godo.DatabaseOptions

	// fwLocks serialise the firewall read-change-write of one cluster
	// within this process.
	fwLocks [64]sync.Mutex
}

var _ dbaas.Provider = (*Provider)(nil)

func init() {
	dbaas.Register(Name, open)
}

// Settings keys open reads from dbaas.Config.Settings.
const (
	SettingRateLimit       = "rate_limit"        // requests per minute
	SettingHourlyRateLimit = "hourly_rate_limit" // requests per hour
	SettingMaxRetries      = "max_retries"       // retries per request
)

func open(_ context.Context, cfg dbaas.Config) (dbaas.Provider, error) {
	if err := dbaas.UnknownSettings(Name, cfg.Settings, SettingRateLimit, SettingHourlyRateLimit, SettingMaxRetries); err != nil {
		return nil, err
	}
	opts := Options{Token: cfg.Token, BaseURL: cfg.BaseURL, HTTPClient: cfg.HTTPClient, Region: cfg.Region}
	for key, dst := range map[string]*int{SettingRateLimit: &opts.RateLimit, SettingHourlyRateLimit: &opts.HourlyRateLimit, SettingMaxRetries: &opts.MaxRetries} {
		if v, ok := cfg.Settings[key]; ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, dbaas.InvalidField("settings["+key+"]", "must be an integer")
			}
			*dst = n
		}
	}
	return New(opts)
}

// New returns a provider. It makes no API call; it fails when no token is
// given or found in the environment.
func New(opts Options) (*Provider, error) {
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
	if base == nil {
		base = http.DefaultTransport
	}
	tr := &transport{
		base:       base,
		token:      tok,
		clock:      opts.Clock,
		maxRetries: opts.MaxRetries,
		baseDelay:  500 * time.Millisecond,
		maxDelay:   opts.MaxBackoff,
		maxWait:    opts.MaxRetryWait,
	}
	switch {
	case opts.MaxRetries == 0:
		tr.maxRetries = DefaultMaxRetries
	case opts.MaxRetries < 0:
		tr.maxRetries = 0
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
	wrapped := *hc
	wrapped.Transport = tr
	clientOpts := []godo.ClientOpt{godo.SetUserAgent("dbaaskit")}
	if opts.BaseURL != "" {
		clientOpts = append(clientOpts, godo.SetBaseURL(opts.BaseURL))
	}
	client, err := godo.New(&wrapped, clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("digitalocean: base url %q: %w", opts.BaseURL, dbaas.ErrInvalidArgument)
	}
	pageSize := opts.PageSize
	if pageSize <= 0 || pageSize > maxPageSize {
		pageSize = maxPageSize
	}
	return &Provider{client: client, tr: tr, region: opts.Region, pageSize: pageSize, clock: opts.Clock}, nil
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
func (p *Provider) Calls() int64 { return p.tr.calls.Load() }

// Retries returns how many requests the provider has sent again.
func (p *Provider) Retries() int64 { return p.tr.retries.Load() }

// Capabilities says what DigitalOcean can do: no on-demand or final
// backup (daily automatic ones only), no point-in-time restore, no custom
// port (always 25060), firewall rules of kinds cidr (ip_addr), instance
// (droplet), tag, k8s and app.
func (p *Provider) Capabilities() dbaas.Capabilities {
	return dbaas.Capabilities{
		Engines:             []dbaas.Engine{dbaas.Postgres, dbaas.MySQL},
		SourceKinds:         []dbaas.SourceKind{dbaas.SourceCIDR, dbaas.SourceInstance, dbaas.SourceTag, dbaas.SourceKubernetes, dbaas.SourceApp},
		Provision:           true,
		Access:              true,
		ListBackups:         true,
		Restore:             true,
		PrivateNetwork:      true,
		CACertificate:       true,
		ReadablePassword:    true,
		TypicalProvisioning: TypicalProvisioning,
	}
}

// As hands out the underlying client: target must be a **godo.Client.
func (p *Provider) As(target any) bool {
	if t, ok := target.(**godo.Client); ok {
		*t = p.client
		return true
	}
	return false
}

// fwLock returns the mutex that guards cluster id's firewall.
func (p *Provider) fwLock(id string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return &p.fwLocks[h.Sum32()%uint32(len(p.fwLocks))]
}

// mapError wraps err from godo as a *dbaas.Error with the sentinel its
// status and error id mean; the *godo.ErrorResponse stays reachable with
// errors.As.
func mapError(op, id string, err error) error {
	if err == nil {
		return nil
	}
	var er *godo.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		return dbaas.NewError(op, id, nil, err)
	}
	errID := er.Response.Header.Get(headerErrorID)
	e := dbaas.NewError(op, id, nil, err)
	switch status := er.Response.StatusCode; {
	case status == http.StatusUnauthorized || status == http.StatusForbidden || errID == "unauthorized" || errID == "forbidden":
		e.Kind = dbaas.ErrPermissionDenied
	case status == http.StatusNotFound || errID == "not_found":
		e.Kind = dbaas.ErrNotFound
	case status == http.StatusTooManyRequests || errID == "too_many_requests":
		e.Kind = dbaas.ErrRateLimited
	case status == http.StatusConflict || errID == "conflict":
		e.Kind = dbaas.ErrConflict
	case status == http.StatusUnprocessableEntity || status == http.StatusBadRequest:
		e.Kind = dbaas.ErrInvalidArgument
		e.Field = fieldOf(er.Message)
		if e.Field == "name" && containsAny(er.Message, "already in use", "already exists", "not available") {
			e.Kind, e.Field = dbaas.ErrAlreadyExists, ""
		}
	}
	return e
}
