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
)

// Name is the name the provider is registered under.
const Name = "linode"

// TypicalProvisioning is how long Linode takes to provision a database:
// its API documentation says 15 to 30 minutes for a new one. dbaas.Wait
// polls seldom before it.
const TypicalProvisioning = 15 * time.Minute

// The Settings keys New reads.
const (
	// SettingRetries is how many times linodego retries a request on 429,
	// 503, 408 or "Linode busy" (default 5; linodego's own is 1000).
	// Creates are never resent blindly; see Provider.Create.
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

func init() {
	dbaas.Register(Name, func(ctx context.Context, cfg dbaas.Config) (dbaas.Provider, error) {
		return New(ctx, cfg)
	})
}

// Provider is the Linode adapter. It implements dbaas.Provider and
// dbaas.Starter and is safe for concurrent use.
type Provider struct {
	client   *linodego.Client // retries per the settings
	create   *linodego.Client // never retries: creates are not idempotent
	region   string
	database string
	clock    dbaas.Clock
	retryMin time.Duration
	locks    sync.Map // instance id → chan struct{} (one writer of allow_list at a time)
}

// Option tunes New beyond what dbaas.Config carries.
type Option func(*Provider)

// WithClock sets the clock of the client-side rate limiter and of the
// waits between create attempts (default the system clock), so that tests
// and benchmarks can run them on simulated time.
func WithClock(c dbaas.Clock) Option { return func(p *Provider) { p.clock = c } }

// New returns a Linode provider. The token is cfg.Token or LINODE_TOKEN;
// without one New fails. cfg.BaseURL points it at another API endpoint
// (a path with a version, such as /v4beta, selects that version);
// cfg.Region is the default region of Create.
func New(ctx context.Context, cfg dbaas.Config, opts ...Option) (*Provider, error) {
	if err := dbaas.UnknownSettings(Name, cfg.Settings, SettingRetries, SettingRetryWait, SettingRetryMaxWait,
		SettingRateLimit, SettingListRateLimit, SettingDatabase); err != nil {
		return nil, err
	}
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
	p := &Provider{region: cfg.Region, database: DefaultDatabase, clock: dbaas.SystemClock{}, retryMin: retryMin}
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
		next = http.DefaultTransport
	}
	hc.Transport = &pacedTransport{
		next:    next,
		general: newWindowGate(p.clock, general.n, general.window),
		list:    newWindowGate(p.clock, list.n, list.window),
	}

	newClient := func(retryCount int) (*linodego.Client, error) {
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
		c.SetRetryCount(retryCount)
		c.SetRetryWaitTime(retryMin)
		c.SetRetryMaxWaitTime(retryMax)
		return &c, nil
	}
	var err error
	if p.client, err = newClient(retries); err != nil {
		return nil, err
	}
	if p.create, err = newClient(0); err != nil {
		return nil, err
	}
	return p, nil
}

// Capabilities says what Linode databases can do: PostgreSQL and MySQL,
// access by IPv4 address or network, no on-demand backup and no backup
// list in the API, restore as a fork at a point in time (Backups returns
// the restorable window as one entry), no final backup on delete, VPC
// placement, a readable admin password and the CA certificate, suspend
// and resume (dbaas.Starter), no chosen port.
func (p *Provider) Capabilities() dbaas.Capabilities {
	return dbaas.Capabilities{
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
		StartStop:           true,
		TypicalProvisioning: TypicalProvisioning,
	}
}

// As sets *target to the linodego client when target is a
// **linodego.Client. The client retries as configured; its creates are
// not guarded the way Provider.Create guards them.
func (p *Provider) As(target any) bool {
	if t, ok := target.(**linodego.Client); ok && t != nil {
		*t = p.client
		return true
	}
	return false
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
