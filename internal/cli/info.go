package cli

import (
	"context"
	"io"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/buildinfo"
)

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
			res := versionResult{Version: buildinfo.ModuleVersion(), Go: runtime.Version(),
				Platform: buildinfo.Platform(), Providers: a.providers()}
			return a.emitLine(res, buildinfo.String())
		}),
	}
}

// providerInfo is one element of the JSON of providers.
type providerInfo struct {
	Name         string              `json:"name"`
	Capabilities *dbaas.Capabilities `json:"capabilities,omitempty"`
	Error        string              `json:"error,omitempty"`
}

// capabilities reads what a provider registered it can do: no provider
// is opened, so nothing needs credentials and nothing is called.
func (a *app) capabilities(name string) providerInfo {
	info := providerInfo{Name: name}
	caps, err := a.capsOf(name)
	if err != nil {
		info.Error = oneLine(err.Error())
		return info
	}
	info.Capabilities = &caps
	return info
}

func (a *app) providersCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "providers",
		Short: "List the providers and what each can do",
		Long: `List the registered providers and the capabilities each registered: no
provider is opened, so this needs no credentials or configuration and
makes no API call. An opened provider may say more where its
configuration gives more (a CA bundle on AWS, the engines installed for
local, the databases configured for static), never less.`,
		GroupID: "tools",
		Args:    args(0, 0),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, _ []string) error {
			var infos []providerInfo
			for _, name := range a.providers() {
				infos = append(infos, a.capabilities(name))
			}
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
