package exoscale

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	v3 "github.com/exoscale/egoscale/v3"
	"github.com/exoscale/egoscale/v3/credentials"
	"golang.org/x/time/rate"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
	"github.com/agiledeploy/dbaaskit/internal/httpretry"
)

// Name is the name the provider registers under.
const Name = "exoscale"

// The environment variables that hold the credentials when Config does
// not.
const (
	EnvAPIKey    = "EXOSCALE_API_KEY"
	EnvAPISecret = "EXOSCALE_API_SECRET"
)

// The settings dbaas.Open("exoscale", cfg) reads from cfg.Settings.
const (
	// SettingAPISecretFile names a file (mode 0600 or stricter) holding
	// the API secret, instead of EXOSCALE_API_SECRET.
	SettingAPISecretFile = "api_secret_file"
	// SettingRequestsPerSecond paces the provider's API calls on the
	// client side (a number such as "20"), so that many goroutines stay
	// under the organization's rate limit instead of being refused.
	SettingRequestsPerSecond = "requests_per_second"
	// SettingMaxRetries is how many times a refused (429) or failed (5xx)
	// idempotent request is sent again; default 5.
	SettingMaxRetries = "max_retries"
)

// DefaultZone is the zone used when Config.Region is empty.
const DefaultZone = "ch-gva-2"

// Zones are the zones with a DBaaS endpoint.
var Zones = []string{"ch-gva-2", "ch-dk-2", "de-fra-1", "de-muc-1", "at-vie-1", "at-vie-2", "bg-sof-1", "hr-zag-1"}

// capabilities are what Exoscale DBaaS offers through the API: automatic
// backups only (no on-demand backup, no final backup on delete),
// restores as forks from a backup or a point in time, an ip-filter of
// CIDRs, the organization's CA, and users and databases by API. The plan
// fixes nodes and disk, the port is the cloud's, services have no tags
// and no private network here.
var capabilities = dbaas.Capabilities{
	Engines:             []dbaas.Engine{dbaas.Postgres, dbaas.MySQL},
	SourceKinds:         []dbaas.SourceKind{dbaas.SourceCIDR},
	Provision:           true,
	Access:              true,
	ListBackups:         true,
	Restore:             true,
	PointInTimeRestore:  true,
	CACertificate:       true,
	ReadablePassword:    true,
	AppUsers:            dbaas.AppUsersAPI,
	RefusedFields:       []string{"Nodes", "StorageGB", "Port", "Database", "PrivateNetwork", "Subnet", "BackupRetentionDays", "Tags"},
	TypicalProvisioning: 10 * time.Minute,
}

var info = driver.Info{
	Capabilities: capabilities,
	Settings:     []string{SettingAPISecretFile, SettingRequestsPerSecond, SettingMaxRetries},
	Open: func(ctx context.Context, cfg dbaas.Config) (driver.Driver, error) {
		return open(ctx, cfg, options{})
	},
}

func init() { driver.Register(Name, info) }

// Option tunes New.
type Option func(*options)

type options struct {
	clock  dbaas.Clock
	secret dbaas.Secret
}

// WithClock sets the clock of retries, operation polls and the
// point-in-time window (a fake clock in tests); default the system
// clock.
func WithClock(c dbaas.Clock) Option { return func(o *options) { o.clock = c } }

// WithAPISecret gives the API secret (otherwise the api_secret_file
// setting, or EXOSCALE_API_SECRET).
func WithAPISecret(s dbaas.Secret) Option { return func(o *options) { o.secret = s } }

// New opens the Exoscale provider for one zone (cfg.Region, default
// ch-gva-2). The API key is cfg.Token or EXOSCALE_API_KEY; the secret is
// WithAPISecret, the api_secret_file setting or EXOSCALE_API_SECRET.
func New(ctx context.Context, cfg dbaas.Config, opts ...Option) (dbaas.Provider, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return driver.Open(ctx, Name, driver.Info{
		Capabilities: info.Capabilities,
		Settings:     info.Settings,
		Open:         func(ctx context.Context, cfg dbaas.Config) (driver.Driver, error) { return open(ctx, cfg, o) },
	}, cfg)
}

// provider is the Exoscale driver: one zone's endpoint.
type provider struct {
	client *v3.Client
	zone   string
	clock  dbaas.Clock
	// own is the transport the provider made, when the caller gave none.
	own *http.Transport

	// types remembers the service type (pg, mysql) of each service name:
	// the API's paths differ by type.
	types sync.Map
	// userDBs remembers the database EnsureUser ensured for each
	// service's user: the API does not record it.
	userDBs sync.Map
	// locks serialises the read-change-write of each service's ip-filter.
	locks sync.Map
	// plans caches the service types' plans (backup configuration).
	plansMu sync.Mutex
	plans   map[string]v3.DBAASPlan
	// ca caches the organization's CA certificate.
	caMu sync.Mutex
	ca   []byte
}

var (
	_ driver.Driver = (*provider)(nil)
	_ driver.Apps   = (*provider)(nil)
)

func open(_ context.Context, cfg dbaas.Config, o options) (*provider, error) {
	key := cfg.Token.Reveal()
	if key == "" {
		key = os.Getenv(EnvAPIKey)
	}
	if key == "" {
		return nil, fmt.Errorf("no API key: set %s or give Config.Token: %w", EnvAPIKey, dbaas.ErrPermissionDenied)
	}
	secret, err := apiSecret(cfg, o)
	if err != nil {
		return nil, err
	}
	zone := cfg.Region
	if zone == "" {
		zone = DefaultZone
	}
	if !slices.Contains(Zones, zone) {
		return nil, dbaas.InvalidField("region", fmt.Sprintf("%q is not an Exoscale zone: want one of %s", truncate(zone, 32), strings.Join(Zones, ", ")))
	}
	endpoint := "https://api-" + zone + ".exoscale.com/v2"
	if cfg.BaseURL != "" {
		endpoint = strings.TrimSuffix(cfg.BaseURL, "/")
	}
	clock := o.clock
	if clock == nil {
		clock = dbaas.SystemClock{}
	}
	retries := 5
	if v, ok := cfg.Settings[SettingMaxRetries]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 20 {
			return nil, dbaas.InvalidField("settings."+SettingMaxRetries, fmt.Sprintf("%q is not a number from 0 to 20", truncate(v, 16)))
		}
		retries = n
	}
	pace := &pacer{clock: clock}
	if v, ok := cfg.Settings[SettingRequestsPerSecond]; ok {
		rps, err := strconv.ParseFloat(v, 64)
		if err != nil || rps <= 0 || rps > 10000 {
			return nil, dbaas.InvalidField("settings."+SettingRequestsPerSecond, fmt.Sprintf("%q is not a number of requests per second above 0", truncate(v, 16)))
		}
		// A second's worth of burst, as a bucket refilled per second allows.
		pace.limiter = rate.NewLimiter(rate.Limit(rps), max(1, int(rps)))
	}
	p := &provider{zone: zone, clock: clock}
	var next http.RoundTripper
	hc := &http.Client{}
	if base := cfg.HTTPClient; base != nil {
		next, hc.Timeout = base.Transport, base.Timeout
	}
	if next == nil {
		// The provider's own connections, let go of on Close; a caller's
		// transport stays the caller's.
		p.own = http.DefaultTransport.(*http.Transport).Clone()
		next = p.own
	}
	hc.Transport = &httpretry.Transport{Next: next, Clock: clock, MaxRetries: retries, Before: pace.wait,
		Policy: retryPolicy(pace, 500*time.Millisecond, 20*time.Second, time.Minute)}
	client, err := v3.NewClient(credentials.NewStaticCredentials(key, secret.Reveal()),
		v3.ClientOptWithEndpoint(v3.Endpoint(endpoint)),
		v3.ClientOptWithHTTPClient(hc),
		v3.ClientOptWithUserAgent("dbaaskit"),
		v3.ClientOptWithRequestInterceptors(clearIPFilter))
	if err != nil {
		return nil, fmt.Errorf("exoscale client: %w", err)
	}
	p.client = client
	return p, nil
}

// apiSecret finds the API secret: the option, the setting's file, or the
// environment.
func apiSecret(cfg dbaas.Config, o options) (dbaas.Secret, error) {
	if !o.secret.IsZero() {
		return o.secret, nil
	}
	if path, ok := cfg.Settings[SettingAPISecretFile]; ok {
		st, err := os.Stat(path)
		if err != nil {
			return dbaas.Secret{}, dbaas.InvalidField("settings."+SettingAPISecretFile, "cannot be read: "+err.Error())
		}
		if st.Mode().Perm()&0o077 != 0 {
			return dbaas.Secret{}, dbaas.InvalidField("settings."+SettingAPISecretFile, fmt.Sprintf("%s is readable by others (mode %o): make it 0600", path, st.Mode().Perm()))
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return dbaas.Secret{}, dbaas.InvalidField("settings."+SettingAPISecretFile, "cannot be read: "+err.Error())
		}
		s := strings.TrimSpace(string(data))
		if s == "" {
			return dbaas.Secret{}, dbaas.InvalidField("settings."+SettingAPISecretFile, path+" is empty")
		}
		return dbaas.NewSecret(s), nil
	}
	if s := os.Getenv(EnvAPISecret); s != "" {
		return dbaas.NewSecret(s), nil
	}
	return dbaas.Secret{}, fmt.Errorf("no API secret: set %s or the %s setting: %w", EnvAPISecret, SettingAPISecretFile, dbaas.ErrPermissionDenied)
}

// As hands out the *v3.Client.
func (p *provider) As(target any) bool {
	if t, ok := target.(**v3.Client); ok && t != nil {
		*t = p.client
		return true
	}
	return false
}

// Close lets go of the idle connections of the transport the provider
// made.
func (p *provider) Close() error {
	if p.own != nil {
		p.own.CloseIdleConnections()
	}
	return nil
}

// ErrorKind maps the API's errors, failed operations and refused
// signatures to the dbaas sentinels.
func (p *provider) ErrorKind(err error) error {
	var opErr *OperationError
	if errors.As(err, &opErr) {
		return opErr.kind()
	}
	var sigErr *SignatureError
	switch {
	case errors.As(err, &sigErr):
		return dbaas.ErrPermissionDenied
	case errors.Is(err, v3.ErrNotFound):
		return dbaas.ErrNotFound
	case errors.Is(err, v3.ErrConflict), errors.Is(err, v3.ErrLocked), errors.Is(err, v3.ErrPreconditionFailed):
		return dbaas.ErrConflict
	case errors.Is(err, v3.ErrBadRequest), errors.Is(err, v3.ErrUnprocessableEntity):
		return dbaas.ErrInvalidArgument
	case errors.Is(err, v3.ErrUnauthorized), errors.Is(err, v3.ErrForbidden):
		return dbaas.ErrPermissionDenied
	case errors.Is(err, v3.ErrTooManyRequests):
		return dbaas.ErrRateLimited
	case errors.Is(err, v3.ErrNotImplemented):
		return dbaas.ErrUnsupported
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
