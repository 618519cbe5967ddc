package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/agiledeploy/dbaaskit/internal/cli/simreg"
	"github.com/agiledeploy/dbaaskit/internal/simdb/frontdoor"
	"github.com/agiledeploy/dbaaskit/internal/simdb/localdb"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

// baseURLEnv is the variable that gives one provider its base URL.
func baseURLEnv(provider string) string { return simreg.BaseURLEnv(provider) }

// simResult is the JSON sim prints once its simulators listen.
type simResult struct {
	Simulators []simInfo         `json:"simulators"`
	Env        map[string]string `json:"env"`
	Backend    string            `json:"backend"`
}

type simInfo struct {
	Provider string `json:"provider"`
	BaseURL  string `json:"base_url"`
}

func (a *app) simCommand() *cobra.Command {
	var backend, stateDir, token string
	var delay time.Duration
	cmd := &cobra.Command{
		Use:   "sim [--backend auto|local|none]",
		Short: "Serve the cloud simulators on loopback ports, until Ctrl-C",
		Long: `sim serves the simulators of the cloud APIs (AWS RDS and EC2,
DigitalOcean, Linode, Vultr, Exoscale) on 127.0.0.1, so that dbaas, the
SDK and the clouds' own CLIs can be tried offline. It prints the environment to export, then serves until Ctrl-C or
SIGTERM, when it stops the simulators and removes the databases it made.

With --backend local (the default "auto" uses it when PostgreSQL or
MariaDB is installed) each simulated database is a real local server, so
the endpoints the simulators return accept connections. Where the cloud
fixes the port, the simulated database listens on it, on a loopback
address of its own, as each cloud database has a host of its own:
DigitalOcean's on 25060 at 127.0.0.2, 127.0.0.3, … (an address whose
port is taken is skipped), so a DB_PORT of 25060 fits. Elsewhere the
endpoint is the local server's, a random port of 127.0.0.1: Linode,
Vultr and Exoscale pick a port per database, and AWS listens on the
port the create asks for.

It also exports DBAAS_EXPECTED_PROVISIONING_<PROVIDER>, how long
provisioning takes on each simulator, so that --wait polls at the
simulator's pace rather than at the cloud's (minutes).`,
		Example: `  dbaas sim > sim.env &
  sleep 1; . ./sim.env
  dbaas --provider digitalocean create shop --engine pg --size db-s-1vcpu-1gb --wait`,
		GroupID: "tools",
		Args:    args(0, 0),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, _ []string) error {
			if backend != "auto" && backend != "local" && backend != "none" {
				return usageErrorf("--backend %q: want auto, local or none", clip(backend))
			}
			if token == "" {
				return usageErrorf("--token: must not be empty")
			}
			if len(simreg.All()) == 0 {
				return errors.New("sim: this program serves no simulators; run it as \"dbaas sim\", which dbaas-all serves")
			}
			opts := simreg.Options{ProvisionDelay: delay, Token: token}
			used := "none"
			// Whether the simulators of clouds with a fixed port can serve
			// it, on loopback addresses beyond 127.0.0.1.
			var fronts error
			if backend != "none" {
				lp, err := local.New(ctx, local.Options{StateDir: simStateDir(stateDir)})
				if err == nil && len(lp.Installations()) == 0 {
					_ = lp.Close()
					err = fmt.Errorf("neither PostgreSQL nor MariaDB is installed")
				}
				switch {
				case err != nil && backend == "local":
					return fmt.Errorf("sim: local backend: %w", err)
				case err != nil:
					a.note("sim: no local databases behind the simulators (%v): their endpoints will not accept connections", oneLine(err.Error()))
				default:
					sb := localdb.New(lp)
					opts.Backend = sb
					used = "local"
					if fronts = frontdoor.Check(); fronts != nil {
						a.note("sim: databases are served on their local servers' ports, not on their clouds' (%v)", oneLine(fronts.Error()))
					}
					defer func() {
						// Remove the servers the simulators asked for, even
						// after Ctrl-C cancelled ctx.
						cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
						defer cancel()
						if err := sb.Close(cctx); err != nil {
							a.note("sim: removing local databases: %v", err)
						}
						_ = lp.Close()
					}()
				}
			}
			res := simResult{Env: map[string]string{}, Backend: used}
			// Stopped last first: a simulator before its front door.
			var stops []func() error
			defer func() {
				for i := len(stops) - 1; i >= 0; i-- {
					_ = stops[i]()
				}
			}()
			var env [][2]string
			for _, s := range simreg.All() {
				o := opts
				if s.Port != nil && o.Backend != nil && fronts == nil {
					fd := frontdoor.New(o.Backend, s.Port)
					stops = append(stops, fd.Close)
					o.Backend = fd
				}
				srv, u, err := s.Start(o)
				if err != nil {
					return fmt.Errorf("sim %s: %w", s.Provider, err)
				}
				stops = append(stops, srv.Close)
				res.Simulators = append(res.Simulators, simInfo{Provider: s.Provider, BaseURL: u})
				// The waits of dbaas then poll at the simulator's pace, not at
				// the cloud's minutes.
				hint := [2]string{simkit.ExpectedEnv(s.Provider), srv.Pace().Expected().String()}
				for _, kv := range append(s.Env(u, token), hint) {
					res.Env[kv[0]] = kv[1]
					env = append(env, kv)
				}
			}
			if err := a.emit(res, func(w io.Writer) error {
				for _, kv := range env {
					fmt.Fprintf(w, "export %s=%s\n", kv[0], kv[1])
				}
				return nil
			}); err != nil {
				return err
			}
			a.note("sim: serving %d simulators (backend %s); Ctrl-C to stop", len(res.Simulators), used)
			<-ctx.Done()
			a.note("sim: stopping")
			return nil
		}),
	}
	cmd.Flags().StringVar(&backend, "backend", "auto", "real databases behind the simulated ones: auto, local or none")
	cmd.Flags().StringVar(&stateDir, "state-dir", "", "state directory of the local backend (default \"sim\" beside the local provider's, so simulated databases never show in its list)")
	cmd.Flags().StringVar(&token, "token", "dbaas-sim", "the API token the simulators accept")
	cmd.Flags().DurationVar(&delay, "provision-delay", 3*time.Second, "how long a simulated database takes to provision")
	return cmd
}

// expectedProvisioning is the provisioning time the environment gives for
// the provider (simkit.ExpectedEnv, which 'dbaas sim' exports), or 0 when
// it gives none or a malformed one (said on stderr).
func (a *app) expectedProvisioning() time.Duration {
	v := a.getenv(simkit.ExpectedEnv(a.provider))
	if v == "" {
		return 0
	}
	d, err := simkit.ParseExpected(a.provider, v)
	if err != nil {
		a.note("dbaas: ignoring %v", err)
		return 0
	}
	return d
}

// simStateDir is the local backend's state directory: dir when given,
// else "sim" beside the local provider's own, so that the servers behind
// simulated databases are never among the local provider's instances.
func simStateDir(dir string) string {
	if dir != "" {
		return dir
	}
	return filepath.Join(filepath.Dir(local.DefaultStateDir()), "sim")
}
