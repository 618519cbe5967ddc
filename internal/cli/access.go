package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// accessResult is the JSON of allow, revoke and access.
type accessResult struct {
	ID      string   `json:"id"`
	Allowed []string `json:"allowed,omitempty"`
	Revoked []string `json:"revoked,omitempty"`
	Sources []string `json:"sources"`
}

// syncResult is the JSON of sync-access.
type syncResult struct {
	ID      string   `json:"id"`
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	DryRun  bool     `json:"dry_run,omitempty"`
}

const sourceForms = "an IP, a CIDR such as 10.0.0.0/16, or kind:value such as sg:sg-0abc, tag:web, instance:1234, vpc:ID"

// parseSourceArgs parses sources from the command line as a usage error
// when malformed, and refuses a world-open one without --allow-world.
func parseSourceArgs(in []string, allowWorld bool) ([]dbaas.Source, error) {
	out := make([]dbaas.Source, 0, len(in))
	for _, s := range in {
		src, err := dbaas.ParseSource(s)
		if err != nil {
			return nil, usageErrorf("source %q: %s: want %s", clip(s), sourceProblem(err), sourceForms)
		}
		if src.IsWorld() && !allowWorld {
			return nil, usageErrorf("source %q opens the database to the whole internet: add --allow-world to mean it", clip(s))
		}
		out = append(out, src)
	}
	return out, nil
}

// sourceProblem keeps the reason of a ParseSource error without its
// repetition of the input and the sentinel.
func sourceProblem(err error) string {
	msg := strings.TrimSuffix(err.Error(), ": "+dbaas.ErrInvalidArgument.Error())
	if i := strings.Index(msg, "\": "); i >= 0 {
		msg = msg[i+3:]
	}
	return msg
}

func (a *app) allowCommand() *cobra.Command {
	var world bool
	cmd := &cobra.Command{
		Use:     "allow ID|NAME SOURCE...",
		Short:   "Let sources in (IPs, CIDRs, security groups, tags, ...)",
		Example: `  dbaas allow shop 203.0.113.7 10.0.0.0/16 sg:sg-0abc`,
		GroupID: "access",
		Args:    args(2, -1, "ID|NAME", "SOURCE"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			srcs, err := parseSourceArgs(args[1:], world)
			if err != nil {
				return err
			}
			if world {
				ctx = dbaas.WithWorldAccess(ctx)
			}
			return a.changeAccess(ctx, args[0], srcs, true)
		}),
	}
	cmd.Flags().BoolVar(&world, "allow-world", false, "accept 0.0.0.0/0 or ::/0")
	return cmd
}

func (a *app) revokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "revoke ID|NAME SOURCE...",
		Short:   "Take sources out of the access list",
		GroupID: "access",
		Args:    args(2, -1, "ID|NAME", "SOURCE"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			srcs, err := parseSourceArgs(args[1:], true)
			if err != nil {
				return err
			}
			return a.changeAccess(ctx, args[0], srcs, false)
		}),
	}
}

func (a *app) changeAccess(ctx context.Context, ref string, srcs []dbaas.Source, allow bool) error {
	var checks []func(dbaas.Provider) error
	if allow {
		// Refuse a source kind the provider lacks before calling it.
		checks = append(checks, a.checkSources(srcs))
	}
	p, inst, err := a.openInstance(ctx, ref, checks...)
	if err != nil {
		return err
	}
	res := accessResult{ID: inst.ID}
	if allow {
		err = p.Allow(ctx, inst.ID, srcs...)
		res.Allowed = sourceStrings(srcs)
	} else {
		err = p.Revoke(ctx, inst.ID, srcs...)
		res.Revoked = sourceStrings(srcs)
	}
	if err != nil {
		return err
	}
	now, err := p.Access(ctx, inst.ID)
	if err != nil {
		return err
	}
	res.Sources = sourceStrings(now)
	return a.emit(res, func(w io.Writer) error {
		if !a.quiet {
			lines(w, "", res.Sources)
		}
		return nil
	})
}

// checkSources refuses, before any call, a source kind the provider
// cannot let in.
func (a *app) checkSources(srcs []dbaas.Source) func(dbaas.Provider) error {
	return func(p dbaas.Provider) error {
		caps := p.Capabilities()
		for _, src := range srcs {
			if !caps.SupportsSource(src.Kind) {
				return &dbaas.Error{Provider: a.provider, Op: "access", Kind: dbaas.ErrUnsupported,
					Err: fmt.Errorf("source kind %s (%s) is not supported", src.Kind, src)}
			}
		}
		return nil
	}
}

func (a *app) accessCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "access ID|NAME",
		Short:   "Print the access list, one source per line",
		GroupID: "access",
		Args:    args(1, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			srcs, err := p.Access(ctx, inst.ID)
			if err != nil {
				return err
			}
			res := accessResult{ID: inst.ID, Sources: sourceStrings(srcs)}
			return a.emit(res, func(w io.Writer) error {
				lines(w, "", res.Sources)
				return nil
			})
		}),
	}
}

func (a *app) syncAccessCommand() *cobra.Command {
	var file string
	var world, allowEmpty, dryRun bool
	cmd := &cobra.Command{
		Use:   "sync-access ID|NAME [SOURCE...] [--file FILE|-]",
		Short: "Make the access list exactly the sources given (the cron job)",
		Long: `sync-access makes the access list exactly the sources given on the command
line and in --file (one or more per line, '#' starts a comment; '-' reads
stdin), with the fewest calls: sources missing are added first, then
sources not wanted are removed, so a source in both never loses access.
It prints the changes: "+ source" added, "- source" removed.

An empty list would lock everyone out, so it needs --allow-empty.`,
		Example: `  # every minute from cron: the current web servers, nothing else
  list-webservers | dbaas sync-access shop --file -`,
		GroupID: "access",
		Args:    args(1, -1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			raw := append([]string(nil), args[1:]...)
			if file != "" {
				more, err := a.readSourceFile(file)
				if err != nil {
					return err
				}
				raw = append(raw, more...)
			}
			srcs, err := parseSourceArgs(raw, world)
			if err != nil {
				return err
			}
			if len(srcs) == 0 && !allowEmpty {
				return usageErrorf("sync-access %s: no sources given: this would remove all access; add --allow-empty to mean it", clip(args[0]))
			}
			p, inst, err := a.openInstance(ctx, args[0], a.checkSources(srcs))
			if err != nil {
				return err
			}
			var change dbaas.AccessChange
			if dryRun {
				change, err = planSync(ctx, p, inst.ID, srcs)
			} else {
				var opts []dbaas.SyncOption
				if world {
					opts = append(opts, dbaas.AllowWorld())
				}
				change, err = dbaas.SyncAccess(ctx, p, inst.ID, srcs, opts...)
			}
			if err != nil {
				return err
			}
			res := syncResult{ID: inst.ID, Added: sourceStrings(change.Added), Removed: sourceStrings(change.Removed), DryRun: dryRun}
			return a.emit(res, func(w io.Writer) error {
				if !a.quiet {
					lines(w, "+ ", res.Added)
					lines(w, "- ", res.Removed)
				}
				return nil
			})
		}),
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "read sources from this file ('-' for stdin)")
	cmd.Flags().BoolVar(&world, "allow-world", false, "accept 0.0.0.0/0 or ::/0")
	cmd.Flags().BoolVar(&allowEmpty, "allow-empty", false, "accept an empty list, removing all access")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the changes without making them")
	return cmd
}

// planSync computes what SyncAccess would change, without changing it.
func planSync(ctx context.Context, p dbaas.Provider, id string, desired []dbaas.Source) (dbaas.AccessChange, error) {
	var change dbaas.AccessChange
	current, err := p.Access(ctx, id)
	if err != nil {
		return change, err
	}
	want := map[string]bool{}
	for _, s := range desired {
		want[s.String()] = true
	}
	have := map[string]bool{}
	for _, s := range current {
		have[s.String()] = true
		if !want[s.String()] {
			change.Removed = append(change.Removed, s)
		}
	}
	seen := map[string]bool{}
	for _, s := range desired {
		if !have[s.String()] && !seen[s.String()] {
			change.Added = append(change.Added, s)
			seen[s.String()] = true
		}
	}
	return change, nil
}

// maxSourceFile bounds a sources file; 100 sources is every cloud's limit.
const maxSourceFile = 1 << 20

// readSourceFile reads sources from a file or stdin: whitespace-separated,
// '#' to the end of a line is a comment. A malformed one is reported with
// its line number.
func (a *app) readSourceFile(path string) ([]string, error) {
	var r io.Reader = a.stdin
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usageErrorf("--file: %v", err)
		}
		defer f.Close()
		r, name = f, path
	}
	var out []string
	sc := bufio.NewScanner(io.LimitReader(r, maxSourceFile))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		for _, tok := range strings.Fields(line) {
			if _, err := dbaas.ParseSource(tok); err != nil {
				return nil, usageErrorf("%s line %d: source %q: %s: want %s", name, n, clip(tok), sourceProblem(err), sourceForms)
			}
			out = append(out, tok)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, usageErrorf("--file %s: %v", name, err)
	}
	return out, nil
}
