package dbaas

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
)

// Config is what Open hands a provider's opener. Each provider documents
// the Settings keys it reads; an unknown key is an error there, so a typo
// is never silently ignored. Credentials not given here come from the
// usual environment (DIGITALOCEAN_TOKEN, LINODE_TOKEN, the AWS default
// chain).
type Config struct {
	// Token is the API token, where the cloud uses one.
	Token Secret
	// Region is the default region for Create.
	Region string
	// BaseURL points the client at another API endpoint (a simulator).
	BaseURL string
	// HTTPClient is used for API calls; nil means the provider's default.
	HTTPClient *http.Client
	// Settings holds provider-specific settings.
	Settings map[string]string
	// Observer is told of every call the provider serves; nil means
	// SlogObserver(slog.Default()), which logs at debug level.
	Observer Observer
}

// Validate checks the configuration's own fields before anything is
// sent: BaseURL, when set, must be an absolute http:// or https:// URL
// with a host. Providers opened through the driver layer call it first.
func (c Config) Validate() error {
	if c.BaseURL == "" {
		return nil
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		shown := c.BaseURL
		if len(shown) > 80 {
			shown = shown[:80] + "…"
		}
		return InvalidField("base_url", fmt.Sprintf("%q is not an http:// or https:// URL with a host", shown))
	}
	return nil
}

// Opener makes a provider from a Config.
type Opener func(ctx context.Context, cfg Config) (Provider, error)

type registration struct {
	caps   Capabilities
	opener Opener
}

var (
	registryMu sync.RWMutex
	registry   = map[string]registration{}
)

// Register makes a provider available by name, with the capabilities
// every provider it opens has (readable by CapabilitiesOf without
// credentials). It panics when name is empty, opener is nil or the name
// is taken, as database/sql does: these are programming errors found at
// init. Cloud adapters register through the driver package, which wraps
// them in the portable layer; Register itself is for providers written
// whole, such as a decorator around another provider.
func Register(name string, caps Capabilities, opener Opener) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if name == "" {
		panic("dbaas: Register with an empty name")
	}
	if opener == nil {
		panic("dbaas: Register " + name + " with a nil opener")
	}
	if _, dup := registry[name]; dup {
		panic("dbaas: Register called twice for provider " + name)
	}
	registry[name] = registration{caps: caps, opener: opener}
}

// CapabilitiesOf returns what the provider registered as name can do,
// without opening it: no credentials and no client are needed. An
// opened provider's Capabilities may say more (TypicalProvisioning from
// its settings, the engines installed on a machine), never less.
func CapabilitiesOf(name string) (Capabilities, error) {
	registryMu.RLock()
	r, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return Capabilities{}, unknownProvider(name)
	}
	return r.caps, nil
}

func unknownProvider(name string) error {
	known := Providers()
	list := "none (import a provider package, such as github.com/agiledeploy/dbaaskit/providers/local)"
	if len(known) > 0 {
		list = strings.Join(known, ", ")
	}
	return fmt.Errorf("open %q: unknown provider: known providers are %s: %w", truncate(name, 64), list, ErrInvalidArgument)
}

// Providers returns the registered names, sorted.
func Providers() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Open opens the provider registered as name. An unknown name is an error
// that lists the known ones (import a provider package for its side effect
// to register it).
func Open(ctx context.Context, name string, cfg Config) (Provider, error) {
	if ctx == nil {
		return nil, fmt.Errorf("open %s: nil context: %w", truncate(name, 64), ErrInvalidArgument)
	}
	registryMu.RLock()
	r, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return nil, unknownProvider(name)
	}
	p, err := r.opener(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return p, nil
}
