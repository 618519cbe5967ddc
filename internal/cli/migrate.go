package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dump"
	"github.com/agiledeploy/dbaaskit/migrate"
)

// sideRef is a PROVIDER:INSTANCE argument of migrate, with the region
// of its side (--from-region, --to-region) when given.
type sideRef struct{ provider, instance, region string }

func parseSide(flag, s string, known []string) (sideRef, error) {
	p, inst, ok := strings.Cut(s, ":")
	if !ok || p == "" || inst == "" {
		return sideRef{}, usageErrorf("%s %q: want PROVIDER:INSTANCE, such as local:shop", flag, clip(s))
	}
	if !contains(known, p) {
		return sideRef{}, usageErrorf("%s %q: unknown provider %q: want one of %s", flag, clip(s), clip(p), strings.Join(known, ", "))
	}
	return sideRef{provider: p, instance: inst}, nil
}

// openNamed opens side's provider with the global flags' settings and
// the side's region (over --region), once per provider and region.
func (a *app) openNamed(ctx context.Context, side sideRef, opened map[string]dbaas.Provider) (dbaas.Provider, error) {
	name := side.provider
	key := name + "\x00" + side.region
	if p, ok := opened[key]; ok {
		return p, nil
	}
	cfg, err := a.configFor(name)
	if err != nil {
		return nil, err
	}
	if side.region != "" {
		cfg.Region = side.region
	}
	p, err := a.open(ctx, name, cfg)
	if err != nil {
		return nil, err
	}
	if c, ok := p.(io.Closer); ok {
		a.closers = append(a.closers, c)
	}
	opened[key] = p
	return p, nil
}

func (a *app) migrateCommand() *cobra.Command {
	var (
		from, to, size, version          string
		fromRegion, toRegion             string
		allow                            []string
		allowWorld                       bool
		create, intoExisting, verifyOnly bool
		user                             appUser
	)
	cmd := &cobra.Command{
		Use:   "migrate --from PROVIDER:INSTANCE --to PROVIDER:INSTANCE [--create --size SIZE] [--into-existing] [--verify-only]",
		Short: "Copy a database to another instance, on any provider, and verify the copy",
		Long: `migrate copies the source's database into the target's in one stream:
pg_dump or mariadb-dump on the source, the target provider's fixes ("dbaas
dump rules"), and psql or mariadb into the target as the dump arrives; no
file of the data is written. It then verifies: per table, the row count and
a checksum of the rows in primary-key order, computed the same way on both
sides (tables without a primary key are compared by count only and say
so), and the views, routines, triggers and sequences.

The target must hold no table, unless --into-existing. With --create it is
made first from the source's spec: same engine and version (or
--target-version), named as in --to; its size is the source's within one
provider, and must be given with --size across providers, whose sizes
differ; its access list is what --allow gives (this machine must be in it
where the cloud closes a database by default, and a cloud that would open
an empty list to the world refuses one). --verify-only compares an existing pair and changes nothing.

The report (a table, or JSON with --output json) says per table what
matched. Any failure, mismatch or interruption exits non-zero and the
report never says complete: with PostgreSQL nothing of a failed load is
kept (one transaction); with MySQL the tables loaded in full before the
failure are listed. On a terminal, progress (bytes, tables, rate) is shown
on stderr.

Each side's provider reads its credentials from its own environment
(DIGITALOCEAN_TOKEN, the AWS chain, …) and its API endpoint from
DBAAS_BASE_URL_<PROVIDER> (as "dbaas sim" prints). --from-region and
--to-region give each side its region (zone), over --region; --set,
--token-file and --base-url apply to both sides, so across two clouds leave
them out. Exit codes: 0 copied and verified; 1 a statement failed, the
target is not empty, or verification found a difference; 2 usage; 3 an
instance does not exist; 130 interrupted.`,
		Example: `  dbaas migrate --from digitalocean:shop --to aws:shop --create --size db.t3.micro
  dbaas migrate --from exoscale:shop --from-region ch-gva-2 --to vultr:shop --to-region ewr --create --size vultr-dbaas-hobbyist-cc-1-25-1
  dbaas migrate --from local:shop --to local:shop-copy --verify-only -o json`,
		GroupID: "backups",
		Args:    args(0, 0),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return usageErrorf("migrate: --from and --to are required: want PROVIDER:INSTANCE each")
			}
			src, err := parseSide("--from", from, a.providers())
			if err != nil {
				return err
			}
			dst, err := parseSide("--to", to, a.providers())
			if err != nil {
				return err
			}
			switch {
			case verifyOnly && (create || intoExisting):
				return usageErrorf("--verify-only: changes nothing, so it takes neither --create nor --into-existing")
			case !create && (size != "" || version != "" || len(allow) > 0 || allowWorld):
				return usageErrorf("--size, --target-version, --allow and --allow-world: only with --create")
			case create && size == "" && src.provider != dst.provider:
				return usageErrorf("--create from %s to %s: --size is required, as their sizes differ", src.provider, dst.provider)
			}
			opened := map[string]dbaas.Provider{}
			src.region, dst.region = fromRegion, toRegion
			sp, err := a.openNamed(ctx, src, opened)
			if err != nil {
				return err
			}
			dp, err := a.openNamed(ctx, dst, opened)
			if err != nil {
				return err
			}
			srcInst, err := resolve(ctx, sp, src.instance)
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			var dstInst *dbaas.Instance
			if create {
				access, err := dbaas.ParseSources(allow...)
				if err != nil {
					return usageErrorf("--allow: %v", err)
				}
				o := migrate.SpecOptions{Size: size, Version: version, Access: access, AllowWorld: allowWorld}
				if dstInst, err = a.createTarget(ctx, dp, srcInst, dst, o); err != nil {
					return err
				}
			} else if dstInst, err = resolve(ctx, dp, dst.instance); err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			to := migrate.Side{Provider: dp, ID: dstInst.ID}
			if user.user != "" {
				conn, err := dp.Connection(ctx, dstInst.ID)
				if err != nil {
					return err
				}
				if err := user.apply(a, conn); err != nil {
					return err
				}
				to.Conn = conn
			}
			if verifyOnly {
				return a.verifyOnly(ctx, sp, srcInst, to)
			}
			prog := a.byteProgress("migrate " + srcInst.Name + " to " + dstInst.Name)
			rep, err := migrate.Migrate(ctx, migrate.Side{Provider: sp, ID: srcInst.ID}, to,
				migrate.Options{IntoExisting: intoExisting, Progress: prog.load})
			prog.done()
			if perr := a.emit(rep, func(w io.Writer) error { return printMigration(w, rep) }); perr != nil && err == nil {
				err = perr
			}
			return migrateError(err)
		}),
	}
	fl := cmd.Flags()
	fl.StringVar(&from, "from", "", "the source: PROVIDER:INSTANCE (id or name)")
	fl.StringVar(&to, "to", "", "the target: PROVIDER:INSTANCE (id or name; with --create, the new name)")
	fl.StringVar(&fromRegion, "from-region", "", "the source's region or zone (default --region)")
	fl.StringVar(&toRegion, "to-region", "", "the target's region or zone, where --create makes it (default --region)")
	fl.BoolVar(&create, "create", false, "create the target from the source's spec first, and wait until it is available")
	fl.StringVar(&size, "size", "", "with --create: the target's size (required across providers)")
	fl.StringVar(&version, "target-version", "", "with --create: the target's engine version (default the source's)")
	fl.StringArrayVar(&allow, "allow", nil, "with --create: a source the target lets in, such as this machine's 203.0.113.7/32 (repeatable; access lists are not copied)")
	fl.BoolVar(&allowWorld, "allow-world", false, "with --create: let --allow open the target to 0.0.0.0/0 or ::/0, or a cloud open it to every address without --allow")
	fl.BoolVar(&intoExisting, "into-existing", false, "load into a target that already holds tables")
	fl.BoolVar(&verifyOnly, "verify-only", false, "only compare the source with the target; exit 1 on any difference")
	user.add(cmd)
	return cmd
}

// createTarget makes the target instance from the source's spec.
func (a *app) createTarget(ctx context.Context, p dbaas.Provider, src *dbaas.Instance, dst sideRef, o migrate.SpecOptions) (*dbaas.Instance, error) {
	if existing, err := resolve(ctx, p, dst.instance); err == nil {
		return nil, withExitCode(exitFailure, fmt.Errorf("--to %s:%s --create: the instance exists already (%s): drop --create to load into it", dst.provider, dst.instance, existing.ID))
	} else if !errors.Is(err, dbaas.ErrNotFound) {
		return nil, err
	}
	spec, err := migrate.TargetSpec(src, dst.provider, dst.instance, o)
	if err != nil {
		return nil, err
	}
	a.note("creating %s:%s (%s %s, size %s)", dst.provider, spec.Name, spec.Engine, spec.Version, spec.Size)
	timeout := a.timeout
	inst, err := migrate.CreateTarget(ctx, p, spec, timeout)
	if err != nil {
		return nil, err
	}
	a.note("created %s:%s (%s)", dst.provider, inst.Name, inst.ID)
	return inst, nil
}

func (a *app) verifyOnly(ctx context.Context, sp dbaas.Provider, src *dbaas.Instance, to migrate.Side) error {
	sc, err := sp.Connection(ctx, src.ID)
	if err != nil {
		return err
	}
	dc := to.Conn
	if dc == nil {
		if dc, err = to.Provider.Connection(ctx, to.ID); err != nil {
			return err
		}
	}
	v, err := migrate.Verify(ctx, sc, dc)
	if err != nil {
		return err
	}
	if err := a.emit(v, func(w io.Writer) error { return printVerify(w, v) }); err != nil {
		return err
	}
	if !v.Match {
		return fmt.Errorf("verify: %w: %s", migrate.ErrMismatch, v.Summary())
	}
	return nil
}

// migrateError maps migrate's errors to exit codes: a refused target, a
// failed statement and a mismatch are failures (1); a malformed or
// truncated dump from the source is one too, as the source is to blame,
// not the command line.
func migrateError(err error) error {
	var de *dump.Error
	if errors.As(err, &de) || errors.Is(err, migrate.ErrNotEmpty) || errors.Is(err, migrate.ErrMismatch) {
		return withExitCode(exitFailure, err)
	}
	return err
}

func printMigration(w io.Writer, rep *migrate.Report) error {
	if rep.Verify != nil {
		if err := printVerify(w, rep.Verify); err != nil {
			return err
		}
	}
	state := "complete"
	if !rep.Complete {
		state = "NOT complete, stopped at " + rep.Stage
	}
	fmt.Fprintf(w, "%s to %s: %s", rep.Source, rep.Target, state)
	if l := rep.Load; l != nil {
		fmt.Fprintf(w, "; copied %s in %.1fs", humanBytes(l.Bytes), rep.CopySeconds)
		if l.Rewrite != nil {
			fmt.Fprintf(w, ", %d fixes applied", l.Rewrite.Fixed())
		}
		switch {
		case l.Committed:
		case len(l.Tables) > 0 && rep.Stage == migrate.StageCopy:
			fmt.Fprintf(w, "; the target holds in full: %s", strings.Join(l.Tables, ", "))
		case rep.Stage == migrate.StageCopy:
			fmt.Fprint(w, "; nothing was committed to the target")
		}
	}
	if rep.Verify != nil {
		fmt.Fprintf(w, "; verified in %.1fs", rep.Verify.Seconds)
	}
	_, err := fmt.Fprintln(w)
	return err
}

func printVerify(w io.Writer, v *migrate.VerifyReport) error {
	rows := make([][]string, 0, len(v.Tables))
	for _, t := range v.Tables {
		check := "checksum"
		if !t.PrimaryKey {
			check = "count only (no primary key)"
		}
		rows = append(rows, []string{t.Name, t.Status, strconv.FormatInt(t.SourceRows, 10), strconv.FormatInt(t.TargetRows, 10), check})
	}
	if err := table(w, []string{"TABLE", "STATUS", "SOURCE ROWS", "TARGET ROWS", "COMPARED BY"}, rows); err != nil {
		return err
	}
	for _, o := range v.Objects {
		where := "only in the source"
		if o.InTarget {
			where = "only in the target"
		}
		fmt.Fprintf(w, "%s %s: %s\n", o.Kind, o.Name, where)
	}
	verdict := "match"
	if !v.Match {
		verdict = "MISMATCH"
	}
	_, err := fmt.Fprintf(w, "verify: %s (%d tables, %d differ)\n", verdict, len(v.Tables), len(v.Mismatches())+len(v.Objects))
	return err
}

// byteProgress is a live line of bytes, tables and rate on a terminal.
type byteProgress struct {
	*progress
	start time.Time
	last  time.Time
}

func (a *app) byteProgress(label string) *byteProgress {
	now := time.Now()
	return &byteProgress{progress: a.progress(label), start: now}
}

// load shows a dump.Progress, at most five times a second.
func (b *byteProgress) load(p dump.Progress) { b.bytes(p.Bytes, p.Tables) }

func (b *byteProgress) bytes(n int64, tables int) {
	if !b.on {
		return
	}
	now := time.Now()
	if now.Sub(b.last) < 200*time.Millisecond {
		return
	}
	b.last = now
	elapsed := now.Sub(b.start)
	rate := float64(n) / max(elapsed.Seconds(), 0.001)
	status := humanBytes(n) + ", " + humanBytes(int64(rate)) + "/s"
	if tables >= 0 {
		status = fmt.Sprintf("%s, %d tables", status, tables)
	}
	b.show(status, elapsed)
}

// countingWriter counts bytes on their way and shows them.
type countingWriter struct {
	w    io.Writer
	n    int64
	show *byteProgress
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.show.bytes(c.n, -1)
	return n, err
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
