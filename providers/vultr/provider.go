package vultr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vultr/govultr/v3"
	"golang.org/x/time/rate"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
	"github.com/agiledeploy/dbaaskit/internal/httpretry"
)

// Name is the provider's registered name.
const Name = "vultr"

// TokenEnv is the environment variable the token is read from when
// dbaas.Config.Token is empty.
const TokenEnv = "VULTR_API_KEY"

// DefaultBaseURL is the Vultr API; govultr adds /v2 to its paths.
const DefaultBaseURL = "https://api.vultr.com"

// TypicalProvisioning is how long Vultr usually takes to make a managed
// database (minutes): Wait polls seldom until then.
const TypicalProvisioning = 10 * time.Minute

// The settings dbaas.Open("vultr", cfg) reads from cfg.Settings.
const (
	// SettingRetries is how many times one request is sent at most
	// (default 5): again after a 429 always, and after a 5xx or a lost
	// connection when the request is idempotent.
	SettingRetries = "retries"
	// SettingRetryWait is the first pause before a retry, doubled each
	// time with jitter (a Go duration, default 500ms).
	SettingRetryWait = "retry_wait"
	// SettingRetryMaxWait caps that pause (default 15s).
	SettingRetryMaxWait = "retry_max_wait"
	// SettingRateLimit is how many requests a second the provider sends
	// at most (default 30: Vultr answers 429 past 30 a second from one
	// address).
	SettingRateLimit = "rate_limit"
	// SettingRateBurst is how many requests may go at once (default 10,
	// below the API's own allowance, so that jitter on the way does not
	// empty the API's bucket).
	SettingRateBurst = "rate_burst"
)

// The Spec.Options keys Create and Restore read.
const (
	// OptionMaintenanceDOW is the day of the week for maintenance
	// ("sunday").
	OptionMaintenanceDOW = "maintenance_dow"
	// OptionMaintenanceTime is the hour (UTC) for maintenance, "HH:00".
	OptionMaintenanceTime = "maintenance_time"
)

// capabilities are what every Vultr provider can do.
var capabilities = dbaas.Capabilities{
	Engines:             []dbaas.Engine{dbaas.Postgres, dbaas.MySQL},
	SourceKinds:         []dbaas.SourceKind{dbaas.SourceCIDR},
	Provision:           true,
	Access:              true,
	OnDemandBackup:      false,
	ListBackups:         true,
	Restore:             true,
	PointInTimeRestore:  true,
	FinalBackup:         false,
	PrivateNetwork:      true,
	CACertificate:       true,
	CustomPort:          false,
	ReadablePassword:    true,
	AppUsers:            dbaas.AppUsersAPI,
	EmptyAccessIsWorld:  true,
	RefusedFields:       []string{"Port", "Subnet", "BackupRetentionDays", "DeletionProtection", "AdminPassword", "StorageGB"},
	TypicalProvisioning: TypicalProvisioning,
}

// info is the provider's registration.
var info = driver.Info{
	Capabilities: capabilities,
	Settings:     []string{SettingRetries, SettingRetryWait, SettingRetryMaxWait, SettingRateLimit, SettingRateBurst},
	SpecOptions:  []string{OptionMaintenanceDOW, OptionMaintenanceTime},
	Open: func(ctx context.Context, cfg dbaas.Config) (driver.Driver, error) {
		return open(cfg, options{})
	},
}

func init() { driver.Register(Name, info) }

// Option tunes New.
type Option func(*options)

type options struct {
	clock dbaas.Clock
}

// WithClock makes the provider pause between retries on clock (a fake
// one in tests) instead of the system clock.
func WithClock(c dbaas.Clock) Option { return func(o *options) { o.clock = c } }

// New opens a Vultr provider as dbaas.Open(ctx, "vultr", cfg) does, with
// options Open cannot take.
func New(ctx context.Context, cfg dbaas.Config, opts ...Option) (dbaas.Provider, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return driver.Open(ctx, Name, driver.Info{
		Capabilities: info.Capabilities, Settings: info.Settings, SpecOptions: info.SpecOptions,
		Open: func(ctx context.Context, cfg dbaas.Config) (driver.Driver, error) { return open(cfg, o) },
	}, cfg)
}

// vultrDriver is the driver.Driver of Vultr managed databases.
type vultrDriver struct {
	client *govultr.Client
	hc     *http.Client
	owned  *http.Transport // made by open, closed by Close
	region string
	clock  dbaas.Clock

	retries      int
	retryWait    time.Duration
	retryMaxWait time.Duration
	interval     time.Duration // between two requests at the rate limit

	plansMu sync.Mutex
	plans   []govultr.DatabasePlan

	locks keyedLocks
	rtt   rttEstimate

	// appMu guards userDB: the database this provider ensured for each
	// user (by instance id and user name), which the API does not record.
	appMu  sync.Mutex
	userDB map[string]string
}

var (
	_ driver.Driver = (*vultrDriver)(nil)
	_ driver.Apps   = (*vultrDriver)(nil)
)

// open makes the driver from cfg.
func open(cfg dbaas.Config, o options) (*vultrDriver, error) {
	token := cfg.Token.Reveal()
	if token == "" {
		token = strings.TrimSpace(os.Getenv(TokenEnv))
	}
	if token == "" {
		return nil, fmt.Errorf("no API key: set %s or give dbaas.Config.Token (the CLI's --token-file): %w", TokenEnv, dbaas.ErrPermissionDenied)
	}
	d := &vultrDriver{region: strings.ToLower(cfg.Region), clock: o.clock, retries: 5,
		retryWait: 500 * time.Millisecond, retryMaxWait: 15 * time.Second}
	if d.clock == nil {
		d.clock = dbaas.SystemClock{}
	}
	limit, burst := 30.0, 10
	var errs []error
	if v, ok := cfg.Settings[SettingRetries]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			errs = append(errs, dbaas.InvalidField("settings."+SettingRetries, "must be a whole number from 1 to 100"))
		}
		d.retries = n
	}
	for key, dst := range map[string]*time.Duration{SettingRetryWait: &d.retryWait, SettingRetryMaxWait: &d.retryMaxWait} {
		if v, ok := cfg.Settings[key]; ok {
			t, err := time.ParseDuration(v)
			if err != nil || t <= 0 {
				errs = append(errs, dbaas.InvalidField("settings."+key, "must be a positive Go duration such as 500ms"))
			}
			*dst = t
		}
	}
	if v, ok := cfg.Settings[SettingRateLimit]; ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 {
			errs = append(errs, dbaas.InvalidField("settings."+SettingRateLimit, "must be a positive number of requests a second"))
		}
		limit = f
	}
	if v, ok := cfg.Settings[SettingRateBurst]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, dbaas.InvalidField("settings."+SettingRateBurst, "must be a whole number of at least 1"))
		}
		burst = n
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	d.interval = time.Duration(float64(time.Second) / limit)
	d.hc = &http.Client{Timeout: time.Minute}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		d.hc = &c
	}
	next := d.hc.Transport
	if next == nil {
		d.owned = http.DefaultTransport.(*http.Transport).Clone()
		next = d.owned
	}
	limiter := rate.NewLimiter(rate.Limit(limit), burst)
	d.hc.Transport = &httpretry.Transport{
		Next:       &transport{base: next, token: token, rtt: &d.rtt},
		Clock:      d.clock,
		MaxRetries: d.retries - 1,
		Policy:     d.retryPolicy,
		Before:     limiter.Wait,
	}
	d.client = govultr.NewClient(d.hc)
	if err := d.client.SetBaseURL(strings.TrimSuffix(base, "/")); err != nil {
		return nil, dbaas.InvalidField("base_url", "is not a URL")
	}
	// The driver retries itself, knowing which requests are safe to send
	// again: govultr's retrying client would resend a create.
	d.client.SetRetryLimit(0)
	d.client.SetUserAgent("dbaaskit " + d.client.UserAgent)
	return d, nil
}

// As hands out the *govultr.Client.
func (d *vultrDriver) As(target any) bool {
	if t, ok := target.(**govultr.Client); ok && t != nil {
		*t = d.client
		return true
	}
	return false
}

// Close releases the idle connections of the provider's own transport
// (a transport given in dbaas.Config.HTTPClient is the caller's).
func (d *vultrDriver) Close() error {
	if d.owned != nil {
		d.owned.CloseIdleConnections()
	}
	return nil
}

// keyedLocks serialises the work on one key (a database id, a label):
// the read-change-write of a trusted IP list, a create by label.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	mu   sync.Mutex
	refs int
}

// lock locks key and returns its unlock.
func (k *keyedLocks) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.refs--
		if l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
