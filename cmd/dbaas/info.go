package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// version is the release, set at link time with
// -ldflags "-X main.version=v1.2.3"; otherwise the module version that
// "go install …@version" records.
var version = ""

func moduleVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func versionString() string {
	return "dbaas " + moduleVersion() + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}

// versionResult is the JSON of version.
type versionResult struct {
	Version   string   `json:"version"`
	Go        string   `json:"go"`
	Platform  string   `json:"platform"`
	Providers []string `json:"providers"`
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print the version",
		GroupID: "tools",
		Args:    args(0, 0),
		RunE: a.runE(func(context.Context, *cobra.Command, []string) error {
			res := versionResult{Version: moduleVersion(), Go: runtime.Version(),
				Platform: runtime.GOOS + "/" + runtime.GOARCH, Providers: a.providers()}
			return a.emitLine(res, versionString())
		}),
	}
}

// providerInfo is one element of the JSON of providers.
type providerInfo struct {
	Name         string              `json:"name"`
	Capabilities *dbaas.Capabilities `json:"capabilities,omitempty"`
	// Note says which capabilities depend on configuration that the
	// listing did not have (it opened the provider with placeholders).
	Note  string `json:"note,omitempty"`
	Error string `json:"error,omitempty"`
}

// placeholder is what a provider insists on before it opens, filled in so
// that its capabilities can be read with no credentials or configuration.
// Nothing is called with it: the HTTP client refuses every request.
type placeholder struct {
	fill func(cfg *dbaas.Config)
	note string
}

// placeholders are those of the providers that need more than a token.
var placeholders = map[string]placeholder{
	// AWS takes no token but needs a region; placeholder keys stand in
	// for credentials the machine may not have.
	"aws": {fill: func(cfg *dbaas.Config) {
		if cfg.Region == "" {
			cfg.Region = "us-east-1"
		}
		cfg.Settings = map[string]string{"access_key_id": "capabilities-only", "secret_access_key": "capabilities-only"}
	}, note: "CA certificate only with the ca_bundle_file setting"},
	// static describes existing databases and needs one to open.
	"static": {fill: func(cfg *dbaas.Config) {
		cfg.Settings = map[string]string{"engine": "postgres", "host": "placeholder.invalid", "user": "placeholder"}
	}, note: "readable password, CA certificate and private network depend on the databases configured"},
}

// placeholderToken stands in for the API token of a cloud that wants one
// before it opens.
const placeholderToken = "capabilities-only"

// capabilities opens a provider with an HTTP client that refuses every
// request, with placeholders when it will not open without them, and
// reads its capabilities.
func (a *app) capabilities(ctx context.Context, name string) providerInfo {
	info := providerInfo{Name: name}
	cfg := dbaas.Config{Region: a.region, HTTPClient: &http.Client{Transport: refuseTransport{}}}
	p, err := a.open(ctx, name, cfg)
	if err != nil {
		if ph, ok := placeholders[name]; ok {
			ph.fill(&cfg)
			info.Note = ph.note
		} else {
			cfg.Token = dbaas.NewSecret(placeholderToken)
		}
		p, err = a.open(ctx, name, cfg)
	}
	if err != nil {
		info.Note = ""
		info.Error = oneLine(err.Error())
		return info
	}
	caps := p.Capabilities()
	info.Capabilities = &caps
	if c, ok := p.(io.Closer); ok {
		_ = c.Close()
	}
	return info
}

// errNoCalls is what the HTTP client used to read capabilities answers
// every request with: listing providers never reaches a cloud.
var errNoCalls = errors.New("dbaas providers makes no API calls")

type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, errNoCalls }

func (a *app) providersCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "providers",
		Short: "List the providers and what each can do",
		Long: `List the registered providers and their capabilities. Each is opened with
an HTTP client that refuses every request, so this makes no API call and
needs no credentials or configuration: a provider that insists on a token,
a region or a database to describe gets a placeholder, and a note says
which capabilities depend on the real configuration.`,
		GroupID: "tools",
		Args:    args(0, 0),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, _ []string) error {
			var infos []providerInfo
			for _, name := range a.providers() {
				infos = append(infos, a.capabilities(ctx, name))
			}
			defer func() {
				for _, in := range infos {
					if in.Note != "" {
						a.note("%s: %s", in.Name, in.Note)
					}
				}
			}()
			return a.emit(infos, func(w io.Writer) error {
				rows := make([][]string, 0, len(infos))
				for _, in := range infos {
					if in.Capabilities == nil {
						rows = append(rows, []string{in.Name, "-", "-", "-", "-", "-", "-", "(" + in.Error + ")"})
						continue
					}
					c := in.Capabilities
					rows = append(rows, []string{in.Name, engineList(c.Engines), yesNo(c.Provision), kindList(c.SourceKinds),
						yesNo(c.OnDemandBackup), yesNo(c.Restore), yesNo(c.PointInTimeRestore), yesNo(c.FinalBackup)})
				}
				return table(w, []string{"PROVIDER", "ENGINES", "PROVISION", "ACCESS", "BACKUP", "RESTORE", "PITR", "FINAL-BACKUP"}, rows)
			})
		}),
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func engineList(es []dbaas.Engine) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = string(e)
	}
	return dash(strings.Join(parts, ","))
}

func kindList(ks []dbaas.SourceKind) string {
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = string(k)
	}
	return dash(strings.Join(parts, ","))
}
