package linode

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/linode/linodego"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
	"github.com/agiledeploy/dbaaskit/internal/httpretry"
)

// Name is the name the provider is registered under.
const Name = "linode"

// TypicalProvisioning is how long Linode takes to provision a database:
// its API documentation says 15 to 30 minutes for a new one. dbaas.Wait
// polls seldom before it.
const TypicalProvisioning = 15 * time.Minute

// The Settings keys New reads.
const (
	// SettingRetries is how many times a request is sent again after a
	// 429, 408 or "Linode busy" answer, or, when sending it again is safe
	// (GET, PUT, DELETE), after a 5xx answer or a lost connection
	// (default 5; linodego's own is 1000). Creates are never resent
	// blindly; see Create.
	SettingRetries = "retries"
	// SettingRetryWait is the least wait between retries (default 1s).
	SettingRetryWait = "retry_wait"
	// SettingRetryMaxWait caps the wait between retries, Retry-After
	// included (default 30s).
	SettingRetryMaxWait = "retry_max_wait"
	// SettingRateLimit paces requests on the client side to stay inside
	// Linode's published limit, as "requests/window" ("1600/1m", the
	// default) or "0" for no pacing.
	SettingRateLimit = "rate_limit"
	// SettingListRateLimit paces paginated collection GETs ("200/1m", the
	// default, or "0").
	SettingListRateLimit = "list_rate_limit"
	// SettingDatabase is the database name Connection reports: the Linode
	// API does not return one, and databases come with "defaultdb" (the
	// default).
	SettingDatabase = "database"
)

// Default settings.
const (
	DefaultRetries       = 5
	DefaultRetryWait     = time.Second
	DefaultRetryMaxWait  = 30 * time.Second
	DefaultRateLimit     = "1600/1m"
	DefaultListRateLimit = "200/1m"
	DefaultDatabase      = "defaultdb"
)

// Default engine versions when Spec.Version is empty.
const (
	DefaultPostgresVersion = "16"
	DefaultMySQLVersion    = "8"
)

// maxCreateAttempts bounds how often Create (and Restore) sends its POST
// after rate limiting or an answer it could not read.
const maxCreateAttempts = 3

// maxAccessAttempts bounds the read-change-write-confirm rounds of Allow
// and Revoke when another writer keeps replacing the list.
const maxAccessAttempts = 4

// Provider is the Linode adapter: dbaas.Provider (the portable layer over
// this package's driver) and dbaas.Starter (suspend and resume). It is
// safe for concurrent use.
type Provider struct {
	dbaas.Provider
}

var (
	_ dbaas.Provider = (*Provider)(nil)
	_ dbaas.Starter  = (*Provider)(nil)
)

// capabilities are Linode's: PostgreSQL and MySQL, access by IPv4 address
// or network, no on-demand backup and no backup list in the API, restore
// as a fork at a point in time only (Backups returns the restorable
// window as one entry), no final backup on delete, VPC placement, a
// readable admin password and the CA certificate, suspend and resume.
// Linode chooses the port, the admin user and password, the storage (by
// plan) and the backup window, and databases carry no tags.
var capabilities = dbaas.Capabilities{
	Engines:             []dbaas.Engine{dbaas.Postgres, dbaas.MySQL},
	SourceKinds:         []dbaas.SourceKind{dbaas.SourceCIDR},
	Provision:           true,
	Access:              true,
	ListBackups:         true,
	PointInTimeRestore:  true,
	PrivateNetwork:      true,
	CACertificate:       true,
	ReadablePassword:    true,
	AppUsers:            dbaas.AppUsersSQL,
	StartStop:           true,
	RefusedFields:       []string{"Port", "StorageGB", "AdminUser", "AdminPassword", "BackupRetentionDays", "DeletionProtection", "Tags"},
	TypicalProvisioning: TypicalProvisioning,
}

// info is the provider's registration.
var info = driver.Info{
	Capabilities: capabilities,
	Settings: []string{SettingRetries, SettingRetryWait, SettingRetryMaxWait,
		SettingRateLimit, SettingListRateLimit, SettingDatabase},
	Open: func(_ context.Context, cfg dbaas.Config) (driver.Driver, error) { return newClient(cfg) },
}

func init() { driver.Register(Name, info) }

// Option tunes New beyond what dbaas.Config carries.
type Option func(*client)

// WithClock sets the clock of the client-side rate limiter, of the waits
// between retries and between create attempts (default the system
// clock), so that tests and benchmarks can run them on simulated time.
func WithClock(c dbaas.Clock) Option { return func(p *client) { p.clock = c } }

// New returns a Linode provider. The token is cfg.Token or LINODE_TOKEN;
// without one New fails. cfg.BaseURL points it at another API endpoint
// (a path with a version, such as /v4beta, selects that version);
// cfg.Region is the default region of Create.
func New(ctx context.Context, cfg dbaas.Config, opts ...Option) (*Provider, error) {
	in := info
	in.Open = func(_ context.Context, cfg dbaas.Config) (driver.Driver, error) { return newClient(cfg, opts...) }
	p, err := driver.Open(ctx, Name, in, cfg)
	if err != nil {
		return nil, err
	}
	return &Provider{Provider: p}, nil
}

// Start resumes a suspended instance (POST …/resume).
func (p *Provider) Start(ctx context.Context, id string) error {
	return p.Provider.(dbaas.Starter).Start(ctx, id)
}

// Stop suspends an active instance (POST …/suspend): Linode keeps its
// data and stops billing for its nodes.
func (p *Provider) Stop(ctx context.Context, id string) error {
	return p.Provider.(dbaas.Starter).Stop(ctx, id)
}

// client is the driver: linodego behind the adapter's retrying, paced
// transport.
type client struct {
	api      *linodego.Client
	owned    *http.Transport // made here, closed by Close; nil when the caller gave one
	region   string
	database string
	clock    dbaas.Clock
	retryMin time.Duration
	locks    sync.Map // instance id → chan struct{} (one writer of allow_list at a time)
}

func newClient(cfg dbaas.Config, opts ...Option) (*client, error) {
	token := cfg.Token.Reveal()
	if token == "" {
		token = os.Getenv(linodego.APIEnvVar)
	}
	if token == "" {
		return nil, dbaas.InvalidField("token", "is required: set Config.Token or the LINODE_TOKEN environment variable")
	}
	set := &settingsParser{m: cfg.Settings}
	retries := set.int(SettingRetries, DefaultRetries)
	retryMin := set.duration(SettingRetryWait, DefaultRetryWait)
	retryMax := set.duration(SettingRetryMaxWait, DefaultRetryMaxWait)
	general := set.rate(SettingRateLimit, DefaultRateLimit)
	list := set.rate(SettingListRateLimit, DefaultListRateLimit)
	if set.err != nil {
		return nil, set.err
	}
	if retryMax < retryMin {
		return nil, dbaas.InvalidField("settings."+SettingRetryMaxWait, "must not be less than "+SettingRetryWait)
	}
	p := &client{region: cfg.Region, database: DefaultDatabase, clock: dbaas.SystemClock{}, retryMin: retryMin}
	if v := cfg.Settings[SettingDatabase]; v != "" {
		p.database = v
	}
	for _, o := range opts {
		o(p)
	}

	hc := &http.Client{Timeout: 2 * time.Minute}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		hc = &c
	}
	next := hc.Transport
	if next == nil {
		p.owned = http.DefaultTransport.(*http.Transport).Clone()
		next = p.owned
	}
	hc.Transport = &httpretry.Transport{
		Next: &pacedTransport{
			next:    next,
			general: newWindowGate(p.clock, general.n, general.window),
			list:    newWindowGate(p.clock, list.n, list.window),
		},
		Clock:      p.clock,
		MaxRetries: retries,
		Policy:     retryPolicy{clock: p.clock, minWait: retryMin, maxWait: retryMax}.retry,
	}

	c := linodego.NewClient(hc)
	// LINODE_DEBUG would make linodego log response bodies, and the
	// credentials answer holds the admin password; resty's warnings
	// repeat errors the provider returns anyway.
	c.SetDebug(false)
	c.SetLogger(quietLogger{})
	c.SetToken(token)
	c.SetUserAgent("dbaaskit " + linodego.DefaultUserAgent)
	if cfg.BaseURL != "" {
		if _, err := c.UseURL(cfg.BaseURL); err != nil {
			return nil, dbaas.InvalidField("base_url", err.Error())
		}
	}
	// The transport retries; linodego's own retries would resend creates
	// blindly, skip 500 and 502, and print a line to the standard logger
	// (stderr) for every retry.
	c.SetRetryCount(0)
	p.api = &c
	return p, nil
}

// As sets *target to the linodego client when target is a
// **linodego.Client. The client retries as configured; its creates are
// not guarded the way Provider.Create guards them.
func (p *client) As(target any) bool {
	if t, ok := target.(**linodego.Client); ok && t != nil {
		*t = p.api
		return true
	}
	return false
}

// Close lets go of the idle connections of the transport New made; a
// transport the caller gave stays the caller's.
func (p *client) Close() error {
	if p.owned != nil {
		p.owned.CloseIdleConnections()
	}
	return nil
}

// settingsParser reads Config.Settings, keeping the first error.
type settingsParser struct {
	m   map[string]string
	err error
}

type rateSetting struct {
	n      int
	window time.Duration
}

func (s *settingsParser) fail(key, rule string) {
	if s.err == nil {
		s.err = dbaas.InvalidField("settings."+key, rule)
	}
}

func (s *settingsParser) int(key string, def int) int {
	v := s.m[key]
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 100 {
		s.fail(key, fmt.Sprintf("%q is not a whole number from 0 to 100", v))
		return def
	}
	return n
}

func (s *settingsParser) duration(key string, def time.Duration) time.Duration {
	v := s.m[key]
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		s.fail(key, fmt.Sprintf("%q is not a duration such as 500ms or 2s", v))
		return def
	}
	return d
}

func (s *settingsParser) rate(key, def string) rateSetting {
	v := s.m[key]
	if v == "" {
		v = def
	}
	if v == "0" || v == "off" {
		return rateSetting{}
	}
	n, w, found := strings.Cut(v, "/")
	count, err1 := strconv.Atoi(n)
	window, err2 := time.ParseDuration(w)
	if !found || err1 != nil || err2 != nil || count <= 0 || window <= 0 {
		s.fail(key, fmt.Sprintf("%q is not requests/window such as 1600/1m, or 0 for none", v))
		return rateSetting{}
	}
	return rateSetting{n: count, window: window}
}

// quietLogger drops resty's log lines.
type quietLogger struct{}

func (quietLogger) Errorf(string, ...any) {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Debugf(string, ...any) {}
