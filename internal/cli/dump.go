package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dump"
	"github.com/agiledeploy/dbaaskit/migrate"
)

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

func (a *app) dumpCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dump",
		Short: "Take, check, fix and load SQL dumps, portable between providers",
		Long: `dump takes logical backups with the engines' own tools and loads them into
any provider, and reads a mysqldump, mariadb-dump, pg_dump or pg_dumpall file
(plain SQL, gzip or not) to find what will fail on the target provider:
DEFINER clauses, GTID_PURGED, SQL_LOG_BIN, OWNER TO another provider's admin
role, provider-only extensions, tables without a primary key where the
target requires one, … ("dbaas dump rules" lists them all). "fix" applies
the safe fixes, and "load" applies them on the way; rows of data are never
changed. To move a database between instances in one step, see "dbaas
migrate".

Exit codes: 0 nothing fails; 1 something will fail (check), still fails
after the fixes (fix), or the server refused a statement (load); 2 usage;
3 no such instance; 7 the dump is malformed, truncated or not a dump.`,
		GroupID: "backups",
	}
	cmd.AddCommand(a.dumpTakeCommand(), a.dumpLoadCommand(), dumpCheckCommand(), dumpFixCommand(), dumpRulesCommand())
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

func (a *app) dumpTakeCommand() *cobra.Command {
	var (
		out string
		gz  bool
	)
	cmd := &cobra.Command{
		Use:   "take ID|NAME [--out FILE|-] [--gzip]",
		Short: "Take a logical backup of an instance with pg_dump or mariadb-dump",
		Long: `take writes a logical backup of the instance's database with the engine's
own tool: pg_dump (the oldest installed that can dump the server's version,
from PATH or /usr/lib/postgresql/*/bin) or mariadb-dump, with routines,
triggers and events, in one consistent snapshot. It connects as the
provider's connection says, with its TLS mode and CA; the password reaches
the tool through a private file, never its command line. It works through
"dbaas tunnel" providers too.

The dump goes to stdout, or to --out FILE, which appears (mode 0600) only
once the dump is complete. Load it with "dbaas dump load".`,
		Example: `  dbaas dump take shop --gzip --out shop.sql.gz
  dbaas --provider digitalocean dump take shop | dbaas dump check - --target aws`,
		Args: args(1, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			conn, err := p.Connection(ctx, inst.ID)
			if err != nil {
				return err
			}
			prog := a.byteProgress("dump " + inst.Name)
			if out == "" || out == "-" {
				err = dump.Take(ctx, conn, &countingWriter{w: cmd.OutOrStdout(), show: prog}, dump.TakeOptions{Gzip: gz})
				prog.done()
				return err
			}
			var n int64
			err = writeAtomically(out, func(w io.Writer) error {
				cw := &countingWriter{w: w, show: prog}
				err := dump.Take(ctx, conn, cw, dump.TakeOptions{Gzip: gz})
				n = cw.n
				return err
			})
			prog.done()
			if err != nil {
				return err
			}
			a.note("dump of %s: %s to %s", inst.Name, humanBytes(n), out)
			return nil
		}),
	}
	cmd.Flags().StringVar(&out, "out", "-", "file to write the dump to, or - for stdout")
	cmd.Flags().BoolVar(&gz, "gzip", false, "compress the dump with gzip")
	return cmd
}

// writeAtomically writes a file through a temporary one in the same
// directory, readable by its owner only, renamed over path only when
// write succeeded: path never holds a partial dump.
// A path that is not a regular file (/dev/null, a named pipe) is written
// to as it is: renaming over it would replace a device.
func writeAtomically(path string, write func(io.Writer) error) (err error) {
	if fi, serr := os.Stat(path); serr == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return withExitCode(exitUsage, fmt.Errorf("--out %s: %w", path, err))
		}
		err = write(f)
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("write %s: %w", path, cerr)
		}
		return err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return withExitCode(exitUsage, fmt.Errorf("--out %s: %w", path, err))
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(f.Name(), path)
}

// appUser is the --user and --password-file pair that makes a load run
// as an application user.
type appUser struct{ user, passwordFile string }

func (u *appUser) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&u.user, "user", "", "load as this user (least privilege) instead of the admin; needs --password-file")
	cmd.Flags().StringVar(&u.passwordFile, "password-file", "", "file holding --user's password (env DBAAS_USER_PASSWORD)")
}

// apply puts the user in conn, reading its password.
func (u *appUser) apply(a *app, conn *dbaas.ConnectionInfo) error {
	if u.user == "" {
		if u.passwordFile != "" {
			return usageErrorf("--password-file: needs --user")
		}
		return nil
	}
	pw := a.getenv("DBAAS_USER_PASSWORD")
	if u.passwordFile != "" {
		b, err := os.ReadFile(u.passwordFile)
		if err != nil {
			return usageErrorf("--password-file: %v", err)
		}
		pw = strings.TrimRight(string(b), "\r\n")
	}
	if pw == "" {
		return usageErrorf("--user %s: needs its password in --password-file or DBAAS_USER_PASSWORD", clip(u.user))
	}
	conn.User, conn.Password = u.user, dbaas.NewSecret(pw)
	return nil
}

func (a *app) dumpLoadCommand() *cobra.Command {
	var user appUser
	cmd := &cobra.Command{
		Use:   "load ID|NAME FILE|- [--user NAME --password-file FILE]",
		Short: "Load a dump into an instance, fixed for its provider on the way",
		Long: `load streams a dump (plain SQL, gzip or not) into the instance's database
through the instance's provider rules (the fixes of "dbaas dump fix";
for PostgreSQL, OWNER TO and GRANT naming roles the loading user cannot
give objects to are dropped) and into psql (ON_ERROR_STOP, in one
transaction: all or nothing) or mariadb (which stops at the first error,
keeping what ran before it).

A statement the server refuses stops the load with its line in the dump
and the server's message; a dump cut short is refused before psql can
commit it. With --user the load runs as that application user, with its
privileges only.`,
		Example: `  dbaas dump load shop-new shop.sql.gz
  dbaas dump take shop | dbaas --provider aws dump load shop-new - --user app --password-file app.pw`,
		Args: args(2, 2, "ID|NAME", "FILE|-"),
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			var in io.Reader = cmd.InOrStdin()
			if args[1] != "-" {
				f, err := os.Open(args[1])
				if err != nil {
					return withExitCode(exitUsage, fmt.Errorf("dump %s: %w", args[1], err))
				}
				defer f.Close()
				in = f
			}
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			conn, err := p.Connection(ctx, inst.ID)
			if err != nil {
				return err
			}
			if err := user.apply(a, conn); err != nil {
				return err
			}
			t := migrate.TargetOf(inst)
			if t.Roles, err = dump.Roles(ctx, conn); err != nil {
				return err
			}
			prog := a.byteProgress("load " + inst.Name)
			rep, err := dump.Load(ctx, conn, in, t, dump.WithProgress(prog.load))
			prog.done()
			if err != nil {
				if rep != nil && !rep.Committed && conn.Engine == dbaas.Postgres {
					err = fmt.Errorf("%w (nothing was committed)", err)
				} else if rep != nil && len(rep.Tables) > 0 {
					err = fmt.Errorf("%w (loaded in full before it: %s)", err, strings.Join(rep.Tables, ", "))
				}
				return dumpError(args[1], err)
			}
			return a.emit(rep, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "loaded %s into %s: %s, %d tables, %d fixes applied\n", args[1], inst.Name, humanBytes(rep.Bytes), len(rep.Tables), rep.Rewrite.Fixed())
				return err
			})
		}),
	}
	user.add(cmd)
	return cmd
}
