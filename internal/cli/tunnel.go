package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/tunnel"
	"github.com/agiledeploy/dbaaskit/tunnel/tunnelprom"
)

// tunnelResult is the JSON tunnel prints once it listens.
type tunnelResult struct {
	Listen string         `json:"listen"`
	Remote dbaas.Endpoint `json:"remote"`
	Relays []string       `json:"relays"`
	// Metrics is the address of the Prometheus endpoint, with --metrics.
	Metrics string `json:"metrics,omitempty"`
}

// relayList is the relays of the command line and of --relays-file: the
// list SIGHUP reloads.
type relayList struct {
	flags []string
	file  string
	jumps []tunnel.Hop
}

// read parses the flags' relays and the file's lines ("[user@]host[:port]"
// each; blank lines and lines starting with # are skipped).
func (rl relayList) read() ([]tunnel.Relay, error) {
	entries := append([]string(nil), rl.flags...)
	where := make([]string, len(entries))
	for i := range where {
		where[i] = "--relay"
	}
	if rl.file != "" {
		f, err := os.Open(rl.file)
		if err != nil {
			return nil, fmt.Errorf("--relays-file: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			entries = append(entries, line)
			where = append(where, rl.file+":"+strconv.Itoa(n))
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("--relays-file %s: %w", rl.file, err)
		}
	}
	if len(entries) == 0 {
		return nil, usageErrorf("tunnel: --relay [USER@]HOST[:PORT] or --relays-file is required (repeat --relay for several relays)")
	}
	var relays []tunnel.Relay
	for i, e := range entries {
		h, err := parseHop(where[i], e)
		if err != nil {
			return nil, err
		}
		relays = append(relays, tunnel.Relay{Hop: h, Jump: rl.jumps})
	}
	return relays, nil
}

// notify tells systemd about the service's state when it started the
// process with NOTIFY_SOCKET (Type=notify); it does nothing otherwise.
func notify(state string) {
	_, _ = daemon.SdNotify(false, state)
}

// serveMetrics serves the tunnel's counters in Prometheus text format at
// /metrics on addr until the returned function is called.
func serveMetrics(t *tunnel.Tunnel, addr string) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--metrics: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(tunnelprom.NewCollector(t, nil))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return ln.Addr().String(), func() { _ = srv.Close(); <-done }, nil
}

// parseHop reads "[user@]host[:port]".
func parseHop(flag, s string) (tunnel.Hop, error) {
	user, host := "", s
	if i := strings.LastIndex(s, "@"); i >= 0 {
		user, host = s[:i], s[i+1:]
	}
	if host == "" || strings.ContainsAny(host, " /") || (user == "" && strings.Contains(s, "@")) {
		return tunnel.Hop{}, usageErrorf("%s %q: want [user@]host[:port]", flag, clip(s))
	}
	return tunnel.Hop{Host: host, User: user}, nil
}

func (a *app) tunnelCommand() *cobra.Command {
	var relays, jumps, keys, knownHosts []string
	var remote, listen, policy, relaysFile, metrics string
	var agent, private bool
	var drain, dialTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "tunnel [ID|NAME | --remote HOST:PORT] --relay [USER@]HOST[:PORT] [flags]",
		Short: "Forward a local port to a database through SSH relays, until Ctrl-C",
		Long: `tunnel makes a database reachable on a local port through one or more SSH
relays that can reach it, as "ssh -N -L" (or autossh) does, but with one
shared SSH connection, keepalives, reconnects and failover between relays.
It prints the local address, runs in the foreground, and on Ctrl-C stops
accepting and lets open connections finish (up to --drain-timeout).

As a service: the address line on stdout says it is ready (and, under
systemd with Type=notify, so does READY=1 on NOTIFY_SOCKET); SIGHUP
reloads --relays-file without dropping open connections; SIGTERM drains
as Ctrl-C does; --metrics serves its counters in Prometheus text format
at /metrics. A relay that keeps failing is skipped for a while; when no
relay is up, a new connection waits up to --dial-timeout and is then
closed, with every relay and its error in the log (stderr).

Host keys are always checked against known_hosts (--known-hosts, default
~/.ssh/known_hosts); there is no way to turn that off here.

The database is an instance of the provider (its endpoint, or its private
endpoint with --private) or any HOST:PORT given with --remote.

As a process that only forwards, it runs with GOGC=800 unless GOGC is set
(less CPU per byte for more memory; see tunnel.TuneProcess).`,
		Example: `  dbaas tunnel shop --private --relay deploy@relay1.example.com --relay deploy@relay2.example.com &
  dbaas tunnel --remote 10.0.0.5:5432 --relay deploy@bastion --listen 127.0.0.1:5432
  dbaas tunnel --remote 10.0.0.5:5432 --relays-file /etc/dbaas/relays --metrics 127.0.0.1:9187`,
		GroupID: "connect",
		Args:    args(0, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (remote != "") {
				return usageErrorf("tunnel: give either ID|NAME or --remote HOST:PORT: usage: %s", cmd.UseLine())
			}
			// A SIGHUP before the reload handler is ready must not end
			// the process, as it would by default.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			level := slog.LevelInfo
			if a.quiet {
				level = slog.LevelWarn
			}
			cfg := tunnel.Config{Listen: listen, Policy: tunnel.Policy(policy), KnownHosts: knownHosts,
				Auth: tunnel.Auth{KeyFiles: keys, Agent: agent}, DrainTimeout: drain, DialTimeout: dialTimeout,
				Logger: slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))}
			rl := relayList{flags: relays, file: relaysFile}
			for _, j := range jumps {
				h, err := parseHop("--jump", j)
				if err != nil {
					return err
				}
				rl.jumps = append(rl.jumps, h)
			}
			var err error
			if cfg.Relays, err = rl.read(); err != nil {
				return err
			}
			if remote != "" {
				e, err := dbaas.SplitEndpoint(remote)
				if err != nil {
					return usageErrorf("--remote %q: want host:port", clip(remote))
				}
				cfg.Remote = e
			} else {
				_, inst, err := a.openInstance(ctx, args[0])
				if err != nil {
					return err
				}
				if cfg.Remote, err = pickEndpoint(inst, private); err != nil {
					return err
				}
			}
			// This process only forwards, as "ssh -N" does: it takes the
			// runtime setting for that (unless GOGC says otherwise),
			// which cuts the CPU per forwarded byte.
			tunnel.TuneProcess()
			t, err := tunnel.Open(ctx, cfg)
			if err != nil {
				if errors.Is(err, dbaas.ErrInvalidArgument) {
					return usageErrorf("tunnel: %s", oneLine(err.Error()))
				}
				return err
			}
			res := tunnelResult{Listen: t.Addr().String(), Remote: cfg.Remote}
			for _, r := range cfg.Relays {
				res.Relays = append(res.Relays, r.String())
			}
			if metrics != "" {
				addr, stop, err := serveMetrics(t, metrics)
				if err != nil {
					_ = t.Close()
					return err
				}
				defer stop()
				res.Metrics = addr
			}
			// The address line is the readiness signal for scripts;
			// READY=1 is systemd's. Both come once the tunnel accepts.
			if err := a.emitLine(res, res.Listen); err != nil {
				_ = t.Close()
				return err
			}
			notify(daemon.SdNotifyReady + "\nSTATUS=forwarding " + res.Listen + " to " + cfg.Remote.Address())
			a.note("tunnel: %s -> %s through %s; Ctrl-C to stop", res.Listen, cfg.Remote.Address(), strings.Join(res.Relays, ", "))
			if res.Metrics != "" {
				a.note("tunnel: metrics at http://%s/metrics", res.Metrics)
			}
			for done := false; !done; {
				select {
				case <-ctx.Done():
					done = true
				case <-hup:
					notify(daemon.SdNotifyReloading + "\nMONOTONIC_USEC=" + strconv.FormatInt(monotonicUsec(), 10))
					if relays, err := rl.read(); err != nil {
						cfg.Logger.Error("tunnel: reload: relay list kept", "err", err)
					} else if err := t.SetRelays(relays); err != nil {
						cfg.Logger.Error("tunnel: reload: relay list kept", "err", err)
					} else {
						names := make([]string, len(relays))
						for i, r := range relays {
							names[i] = r.String()
						}
						a.note("tunnel: reloaded: relays %s", strings.Join(names, ", "))
					}
					notify(daemon.SdNotifyReady)
				}
			}
			notify(daemon.SdNotifyStopping)
			err = t.Close()
			a.note("tunnel: closed after %d connections", t.Stats().Total)
			if err != nil {
				return fmt.Errorf("tunnel: %w", err)
			}
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringArrayVar(&relays, "relay", nil, "SSH relay that can reach the database, [user@]host[:port] (repeatable)")
	f.StringArrayVar(&jumps, "jump", nil, "jump host on the way to every relay, nearest first (repeatable)")
	f.StringVar(&policy, "policy", string(tunnel.Failover), "how to use several relays: failover or round-robin")
	f.StringVar(&remote, "remote", "", "the database as the relays see it, host:port, instead of an instance")
	f.BoolVar(&private, "private", false, "use the instance's private endpoint")
	f.StringVar(&listen, "listen", "127.0.0.1:0", "local address (loopback only), or unix:/path for a Unix socket")
	f.StringArrayVarP(&keys, "identity", "i", nil, "private key file (repeatable; default the agent and ~/.ssh/id_*)")
	f.BoolVar(&agent, "agent", false, "use the ssh-agent at SSH_AUTH_SOCK")
	f.StringArrayVar(&knownHosts, "known-hosts", nil, "known_hosts file to check host keys against (repeatable; default ~/.ssh/known_hosts)")
	f.DurationVar(&drain, "drain-timeout", 10*time.Second, "how long Ctrl-C or SIGTERM waits for open connections to finish before cutting them")
	f.StringVar(&relaysFile, "relays-file", "", "file of relays, [user@]host[:port] per line (# comments), added to --relay and reloaded on SIGHUP")
	f.StringVar(&metrics, "metrics", "", "serve the tunnel's counters in Prometheus text format at http://ADDR/metrics")
	f.DurationVar(&dialTimeout, "dial-timeout", tunnel.DefaultDialTimeout, "bound on each SSH dial and handshake, and on how long a new connection waits while no relay is up")
	return cmd
}
