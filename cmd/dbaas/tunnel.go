package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/tunnel"
)

// tunnelResult is the JSON tunnel prints once it listens.
type tunnelResult struct {
	Listen string         `json:"listen"`
	Remote dbaas.Endpoint `json:"remote"`
	Relays []string       `json:"relays"`
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
	var remote, listen, policy string
	var agent, private bool
	var drain time.Duration
	cmd := &cobra.Command{
		Use:   "tunnel [ID|NAME | --remote HOST:PORT] --relay [USER@]HOST[:PORT] [flags]",
		Short: "Forward a local port to a database through SSH relays, until Ctrl-C",
		Long: `tunnel makes a database reachable on a local port through one or more SSH
relays that can reach it, as "ssh -N -L" (or autossh) does, but with one
shared SSH connection, keepalives, reconnects and failover between relays.
It prints the local address, runs in the foreground, and on Ctrl-C stops
accepting and lets open connections finish (up to --drain-timeout).

Host keys are always checked against known_hosts (--known-hosts, default
~/.ssh/known_hosts); there is no way to turn that off here.

The database is an instance of the provider (its endpoint, or its private
endpoint with --private) or any HOST:PORT given with --remote.

As a process that only forwards, it runs with GOGC=800 unless GOGC is set
(less CPU per byte for more memory; see tunnel.TuneProcess).`,
		Example: `  dbaas tunnel shop --private --relay deploy@relay1.example.com --relay deploy@relay2.example.com &
  dbaas tunnel --remote 10.0.0.5:5432 --relay deploy@bastion --listen 127.0.0.1:5432`,
		GroupID: "connect",
		Args:    args(0, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			if (len(args) == 1) == (remote != "") {
				return usageErrorf("tunnel: give either ID|NAME or --remote HOST:PORT: usage: %s", cmd.UseLine())
			}
			if len(relays) == 0 {
				return usageErrorf("tunnel: --relay [USER@]HOST[:PORT] is required (repeat it for several relays)")
			}
			cfg := tunnel.Config{Listen: listen, Policy: tunnel.Policy(policy), KnownHosts: knownHosts,
				Auth: tunnel.Auth{KeyFiles: keys, Agent: agent}, DrainTimeout: drain}
			var jumpHops []tunnel.Hop
			for _, j := range jumps {
				h, err := parseHop("--jump", j)
				if err != nil {
					return err
				}
				jumpHops = append(jumpHops, h)
			}
			for _, r := range relays {
				h, err := parseHop("--relay", r)
				if err != nil {
					return err
				}
				cfg.Relays = append(cfg.Relays, tunnel.Relay{Hop: h, Jump: jumpHops})
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
			if err := a.emitLine(res, res.Listen); err != nil {
				_ = t.Close()
				return err
			}
			a.note("tunnel: %s -> %s through %s; Ctrl-C to stop", res.Listen, cfg.Remote.Address(), strings.Join(res.Relays, ", "))
			<-ctx.Done()
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
	f.DurationVar(&drain, "drain-timeout", 10*time.Second, "how long Ctrl-C waits for open connections to finish")
	return cmd
}
