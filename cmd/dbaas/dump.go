package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dump"
)

func init() { registerCommand(dumpCommand) }

// dumpFlags are the flags check and fix share.
type dumpFlags struct {
	target, engine, version, source string
	roles                           []string
}

func (f *dumpFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "provider the dump is for: "+strings.Join(dump.Providers(), ", ")+" (self: a server where you are superuser)")
	fl.StringVar(&f.engine, "target-engine", "", "engine of the target: mysql, mariadb or postgres (default: the dump's)")
	fl.StringVar(&f.version, "target-version", "", "version of the target server, such as 8.0, 10.11 or 15")
	fl.StringArrayVar(&f.roles, "role", nil, "a PostgreSQL role that exists on the target (repeatable); then every other role the dump names is reported")
	fl.StringVar(&f.source, "engine", "", "engine of a dump without a mysqldump, mariadb-dump or pg_dump header")
	_ = cmd.MarkFlagRequired("target")
}

// targetAndReader checks the flags and opens the dump (a file, or - for
// stdin). The returned close releases the file.
func (f *dumpFlags) targetAndReader(cmd *cobra.Command, name string) (dump.Target, *dump.Reader, func(), error) {
	t := dump.Target{Provider: f.target, Version: f.version, Roles: f.roles}
	if !contains(dump.Providers(), f.target) {
		return t, nil, nil, usageErrorf("--target %q: want one of %s", clip(f.target), strings.Join(dump.Providers(), ", "))
	}
	if f.engine != "" {
		e, err := dbaas.ParseEngine(f.engine)
		if err != nil {
			return t, nil, nil, usageErrorf("--target-engine %q: want mysql, mariadb or postgres", clip(f.engine))
		}
		t.Engine = e
	}
	var source dbaas.Engine
	if f.source != "" {
		e, err := dbaas.ParseEngine(f.source)
		if err != nil {
			return t, nil, nil, usageErrorf("--engine %q: want mysql, mariadb or postgres", clip(f.source))
		}
		source = e
	}
	var in io.Reader = cmd.InOrStdin()
	closeIn := func() {}
	if name != "-" {
		file, err := os.Open(name)
		if err != nil {
			return t, nil, nil, withExitCode(exitUsage, fmt.Errorf("dump %s: %w", name, err))
		}
		in, closeIn = file, func() { _ = file.Close() }
	}
	r, err := dump.NewReader(in, source)
	if err != nil {
		closeIn()
		return t, nil, nil, dumpError(name, err)
	}
	return t, r, closeIn, nil
}

// dumpError classifies an error reading a dump: a dump that is malformed,
// truncated or of no known format is bad input (exit 7); a target the
// dump cannot go to is a usage error.
func dumpError(name string, err error) error {
	var de *dump.Error
	switch {
	case errors.As(err, &de) && de.Kind != nil:
		return withExitCode(exitInvalid, fmt.Errorf("dump %s: %w", name, err))
	case errors.Is(err, dbaas.ErrInvalidArgument):
		return withExitCode(exitUsage, err)
	}
	return fmt.Errorf("dump %s: %w", name, err)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func dumpCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dump",
		Short: "Check and fix SQL dumps for import into another provider",
		Long: `dump reads a mysqldump, mariadb-dump, pg_dump or pg_dumpall file (plain
SQL, gzip or not) and finds what will fail on the target provider: DEFINER
clauses, GTID_PURGED, SQL_LOG_BIN, OWNER TO another provider's admin role,
provider-only extensions, tables without a primary key where the target
requires one, … ("dbaas dump rules" lists them all). "fix" applies the safe
fixes; rows of data are never changed.

Exit codes: 0 nothing fails; 1 something will fail (check), or still
fails after the fixes (fix); 2 usage; 7 the dump is malformed, truncated
or not a dump.`,
	}
	cmd.AddCommand(dumpCheckCommand(), dumpFixCommand(), dumpRulesCommand())
	return cmd
}

func dumpCheckCommand() *cobra.Command {
	var f dumpFlags
	cmd := &cobra.Command{
		Use:   "check FILE|- --target PROVIDER",
		Short: "Report what in a dump will fail on the target",
		Example: `  dbaas dump check app.sql.gz --target digitalocean
  mysqldump app | dbaas dump check - --target aws --target-version 8.0 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, r, closeIn, err := f.targetAndReader(cmd, args[0])
			if err != nil {
				return err
			}
			defer closeIn()
			rep, err := dump.Scan(cmd.Context(), r, t)
			if err != nil {
				return dumpError(args[0], err)
			}
			if err := printReport(cmd, cmd.OutOrStdout(), rep); err != nil {
				return err
			}
			if n := len(rep.Failing()); n > 0 {
				fixable := 0
				for _, x := range rep.Failing() {
					if x.Fixable {
						fixable++
					}
				}
				return withExitCode(exitFailure, fmt.Errorf("%d statements will fail on %s (%d fixable with 'dbaas dump fix')", n, t.Provider, fixable))
			}
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func dumpFixCommand() *cobra.Command {
	var (
		f   dumpFlags
		out string
	)
	cmd := &cobra.Command{
		Use:   "fix FILE|- --target PROVIDER --out OUT",
		Short: "Write the dump with the safe fixes applied",
		Long: `fix writes the dump with the safe fixes applied to --out (- for stdout) and
prints what it changed and what still fails. OUT appears only once the
whole dump is written: an error leaves no partial file in its place. The
flag is --out, not -o, which is the global --output format.`,
		Example: `  dbaas dump fix app.sql --target digitalocean --out app.fixed.sql
  pg_dump app | dbaas dump fix - --target aws --role app_owner --out - | psql "$URL"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageErrorf("--out is required: a file, or - for stdout")
			}
			t, r, closeIn, err := f.targetAndReader(cmd, args[0])
			if err != nil {
				return err
			}
			defer closeIn()
			summary := cmd.OutOrStdout()
			var rep *dump.Report
			if out == "-" {
				// the dump takes stdout: the summary goes to stderr
				summary = cmd.ErrOrStderr()
				rep, err = dump.Rewrite(cmd.Context(), cmd.OutOrStdout(), r, t)
			} else {
				rep, err = dump.RewriteFile(cmd.Context(), out, r, t)
			}
			if err != nil {
				return dumpError(args[0], err)
			}
			if err := printReport(cmd, summary, rep); err != nil {
				return err
			}
			if n := len(rep.Failing()); n > 0 {
				return withExitCode(exitFailure, fmt.Errorf("fixed %d, but %d statements still fail on %s: they have no safe fix", rep.Fixed(), n, t.Provider))
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&out, "out", "", "file to write the fixed dump to, or - for stdout")
	return cmd
}

func dumpRulesCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "rules",
		Short: "List the rules: what each matches, why it fails, where, and its fix",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o, _ := cmd.Flags().GetString("output"); o == "json" {
				b, err := dump.RulesJSON()
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
				return err
			}
			var rows [][]string
			for _, r := range dump.Rules() {
				fix := "no fix"
				if r.Fix != "" {
					fix = "fix"
				}
				rows = append(rows, []string{r.ID, r.Severity.String(), fix, r.Targets})
			}
			return table(cmd.OutOrStdout(), []string{"RULE", "SEVERITY", "FIX", "TARGETS"}, rows)
		},
	}
}

// printReport writes the findings: one line each, then a summary line,
// or the report as JSON with --output json.
func printReport(cmd *cobra.Command, w io.Writer, rep *dump.Report) error {
	if o, _ := cmd.Flags().GetString("output"); o == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	for _, f := range rep.Findings {
		if _, err := fmt.Fprintln(w, f.String()); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "%s dump (%s) for %s: %d statements, %d findings, %d fixed, %d failing\n",
		rep.Format, rep.Engine, rep.Target.Provider, rep.Statements, len(rep.Findings), rep.Fixed(), len(rep.Failing()))
	return err
}
