package migrate

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dump"
)

// Errors Migrate returns; test with errors.Is.
var (
	// ErrNotEmpty: the target database holds tables and IntoExisting is
	// not set. Nothing was loaded.
	ErrNotEmpty = errors.New("target database is not empty")
	// ErrMismatch: verification found a difference between the source
	// and the target.
	ErrMismatch = errors.New("target does not match the source")
)

// Side is one end of a migration: an instance of a provider.
type Side struct {
	Provider dbaas.Provider
	// ID is the instance's id.
	ID string
	// Conn, when set, is used instead of Provider.Connection: to load as
	// an application user with its privileges only.
	Conn *dbaas.ConnectionInfo
}

// Options tunes Migrate.
type Options struct {
	// IntoExisting loads into a target that already holds tables.
	IntoExisting bool
	// Progress, when set, is called as the load goes (see
	// dump.WithProgress).
	Progress func(dump.Progress)
}

// Stages of a migration, as Report.Stage names them.
const (
	StageConnect = "connect"
	StageCheck   = "check"
	StageCopy    = "copy"
	StageVerify  = "verify"
	StageDone    = "done"
)

// Report says what a migration did. Complete is true only when the whole
// dump was loaded and committed and verification matched.
type Report struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	Complete bool   `json:"complete"`
	// Stage is where the migration stopped: connect, check, copy, verify
	// or done.
	Stage string `json:"stage"`
	Error string `json:"error,omitempty"`
	// Load is what the copy loaded (see dump.LoadReport.Committed and
	// Tables for what the target holds after a failure).
	Load *dump.LoadReport `json:"load,omitempty"`
	// CopySeconds is the time taken by take, fix and load together.
	CopySeconds float64       `json:"copy_seconds"`
	Verify      *VerifyReport `json:"verify,omitempty"`
}

// Migrate copies the source's database into the target's in one stream:
// dump.Take on the source, the target's portability rules (dump.Load
// rewrites with the target provider's Target, and for PostgreSQL the
// roles the loading user may give objects to), loaded as it arrives, no
// temporary file. It then runs Verify. A target holding any table is
// refused with ErrNotEmpty unless IntoExisting; a difference found by
// Verify is ErrMismatch. The report is returned with every error and
// says how far it went.
func Migrate(ctx context.Context, from, to Side, opts Options) (*Report, error) {
	rep := &Report{Source: from.ID, Target: to.ID, Stage: StageConnect}
	fail := func(err error) (*Report, error) {
		rep.Error = err.Error()
		return rep, err
	}
	if from.Provider == nil || to.Provider == nil {
		return fail(fmt.Errorf("migrate: provider is nil: %w", dbaas.ErrInvalidArgument))
	}
	src, err := from.Provider.Get(ctx, from.ID)
	if err != nil {
		return fail(fmt.Errorf("migrate: source: %w", err))
	}
	dst, err := to.Provider.Get(ctx, to.ID)
	if err != nil {
		return fail(fmt.Errorf("migrate: target: %w", err))
	}
	rep.Source, rep.Target = src.Provider+":"+src.Name, dst.Provider+":"+dst.Name
	if (src.Engine == dbaas.Postgres) != (dst.Engine == dbaas.Postgres) {
		return fail(fmt.Errorf("migrate: target engine %s: a %s database cannot be copied into %s: %w", dst.Engine, src.Engine, dst.Engine, dbaas.ErrInvalidArgument))
	}
	srcConn, err := connection(ctx, from)
	if err != nil {
		return fail(fmt.Errorf("migrate: source %s: %w", rep.Source, err))
	}
	dstConn, err := connection(ctx, to)
	if err != nil {
		return fail(fmt.Errorf("migrate: target %s: %w", rep.Target, err))
	}

	rep.Stage = StageCheck
	if err := checkEmpty(ctx, dstConn, opts.IntoExisting); err != nil {
		return fail(fmt.Errorf("migrate: target %s: %w", rep.Target, err))
	}
	target := TargetOf(dst)
	if target.Roles, err = dump.Roles(ctx, dstConn); err != nil {
		return fail(fmt.Errorf("migrate: target %s: %w", rep.Target, err))
	}

	rep.Stage = StageCopy
	start := time.Now()
	load, err := Copy(ctx, srcConn, dstConn, target, opts.Progress)
	rep.Load, rep.CopySeconds = load, time.Since(start).Seconds()
	if err != nil {
		return fail(fmt.Errorf("migrate %s to %s: %w", rep.Source, rep.Target, err))
	}

	rep.Stage = StageVerify
	v, err := Verify(ctx, srcConn, dstConn)
	rep.Verify = v
	if err != nil {
		return fail(fmt.Errorf("migrate %s to %s: %w", rep.Source, rep.Target, err))
	}
	if !v.Match {
		return fail(fmt.Errorf("migrate %s to %s: %w: %s", rep.Source, rep.Target, ErrMismatch, v.Summary()))
	}
	rep.Stage, rep.Complete = StageDone, true
	return rep, nil
}

// Copy streams a dump of src into dst through the target's rules: take,
// fix and load run at once, joined by an operating-system pipe that the
// dump tool writes into directly, so no file of the data is made and the
// bytes are copied once fewer than through an io.Pipe. When the load
// stops first, the take is stopped; when the take fails, its error is
// the one returned, and the load (which saw the dump end early) has not
// committed.
func Copy(ctx context.Context, src, dst *dbaas.ConnectionInfo, t dump.Target, progress func(dump.Progress)) (*dump.LoadReport, error) {
	tctx, stopTake := context.WithCancel(ctx)
	defer stopTake()
	pr, pw, err := dump.Pipe()
	if err != nil {
		return nil, err
	}
	taken := make(chan error, 1)
	go func() {
		err := dump.Take(tctx, src, pw, dump.TakeOptions{})
		// the reader sees the end of the dump only once this end is shut
		_ = pw.Close()
		taken <- err
	}()
	var opts []dump.LoadOption
	if progress != nil {
		opts = append(opts, dump.WithProgress(progress))
	}
	load, lerr := dump.Load(ctx, dst, pr, t, opts...)
	if lerr != nil {
		stopTake()
	}
	// a dump tool still writing gets EPIPE rather than blocking
	_ = pr.Close()
	terr := <-taken
	switch {
	case terr != nil && (lerr == nil || ctx.Err() != nil || !errors.Is(terr, context.Canceled)):
		// the take failed on its own: the load only saw its end
		return load, fmt.Errorf("take: %w", terr)
	case lerr != nil:
		return load, lerr
	}
	return load, nil
}

// Summary says in one line what did not match.
func (r *VerifyReport) Summary() string {
	var parts []string
	for _, t := range r.Mismatches() {
		switch t.Status {
		case StatusMismatch:
			parts = append(parts, fmt.Sprintf("table %s differs (%d rows in the source, %d in the target)", t.Name, t.SourceRows, t.TargetRows))
		default:
			parts = append(parts, fmt.Sprintf("table %s is %s", t.Name, t.Status))
		}
	}
	for _, o := range r.Objects {
		where := "only in the source"
		if o.InTarget {
			where = "only in the target"
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", o.Kind, o.Name, where))
	}
	if len(parts) > 5 {
		parts = append(parts[:5], fmt.Sprintf("and %d more", len(parts)-5))
	}
	return strings.Join(parts, "; ")
}

func connection(ctx context.Context, s Side) (*dbaas.ConnectionInfo, error) {
	if s.Conn != nil {
		return s.Conn, nil
	}
	return s.Provider.Connection(ctx, s.ID)
}

// checkEmpty refuses a target that holds any user table.
func checkEmpty(ctx context.Context, conn *dbaas.ConnectionInfo, intoExisting bool) error {
	s, err := openSide(ctx, conn)
	if err != nil {
		return err
	}
	defer s.close()
	ts, err := s.tables(ctx)
	if err != nil {
		return err
	}
	if len(ts) == 0 || intoExisting {
		return nil
	}
	var names []string
	for _, t := range ts[:min(len(ts), 3)] {
		names = append(names, t.name)
	}
	if len(ts) > 3 {
		names = append(names, "…")
	}
	return fmt.Errorf("%w: it holds %d tables (%s); load into it only on purpose, with IntoExisting (--into-existing)", ErrNotEmpty, len(ts), strings.Join(names, ", "))
}

// RulesFor returns the dump.Target provider whose rules apply when
// loading into an instance of the named dbaas provider: the cloud's own,
// or "self" for servers where the admin is a superuser (local, memory,
// static and any provider the rules do not know).
func RulesFor(provider string) string {
	if provider != "self" && slices.Contains(dump.Providers(), provider) {
		return provider
	}
	return "self"
}

// TargetOf returns the rules of loading into inst: its provider's (see
// RulesFor), its engine and version. Roles are left for dump.Roles.
func TargetOf(inst *dbaas.Instance) dump.Target {
	return dump.Target{Provider: RulesFor(inst.Provider), Engine: inst.Engine, Version: plainVersion(inst.Version)}
}

var versionRE = regexp.MustCompile(`^\d+(\.\d+){0,2}`)

// plainVersion keeps "10.11.6" of "10.11.6-MariaDB", and drops what the
// rules cannot read.
func plainVersion(v string) string { return versionRE.FindString(v) }

// SpecOptions chooses what TargetSpec cannot take from the source.
type SpecOptions struct {
	// Size is the target provider's size; required when the providers
	// differ, as one provider's sizes mean nothing to another.
	Size string
	// Version overrides the source's engine version.
	Version string
	// Access is the target's access list: this machine must be in it for
	// the load, and the application's servers for what follows. Access
	// lists are not carried over from the source.
	Access []dbaas.Source
	// AllowWorld lets Access hold 0.0.0.0/0 or ::/0, and lets a cloud
	// that opens a database with no access list to every address do so
	// (Spec.AllowWorld).
	AllowWorld bool
}

// TargetSpec maps the source instance onto a spec for the target
// provider: the same engine and version (unless o.Version), the name
// given, o.Size and o.Access. Within one provider the source's size, region,
// nodes and storage are kept unless o.Size is given; across providers the
// size must be given and the rest is the target provider's default.
func TargetSpec(src *dbaas.Instance, targetProvider, name string, o SpecOptions) (dbaas.Spec, error) {
	if src == nil {
		return dbaas.Spec{}, fmt.Errorf("target spec: source instance is nil: %w", dbaas.ErrInvalidArgument)
	}
	spec := dbaas.Spec{Name: name, Engine: src.Engine, Version: src.Version, Size: o.Size, Access: o.Access, AllowWorld: o.AllowWorld}
	if o.Version != "" {
		spec.Version = o.Version
	}
	if src.Provider == targetProvider {
		spec.Region, spec.Nodes, spec.StorageGB = src.Region, src.Nodes, src.StorageGB
		if spec.Size == "" {
			spec.Size = src.Size
		}
	}
	if spec.Size == "" {
		return spec, fmt.Errorf("target spec: size: required when copying from %s to %s, whose sizes differ (the source is %q): %w",
			src.Provider, targetProvider, src.Size, dbaas.ErrInvalidArgument)
	}
	return spec, nil
}

// CreateTarget creates the target instance from spec and waits until it
// is available (up to timeout; 0 means 30 minutes).
func CreateTarget(ctx context.Context, p dbaas.Provider, spec dbaas.Spec, timeout time.Duration) (*dbaas.Instance, error) {
	inst, err := p.Create(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("create target %s: %w", spec.Name, err)
	}
	ready, err := dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{Timeout: timeout, FirstDelay: 200 * time.Millisecond})
	if err != nil {
		return nil, fmt.Errorf("create target %s: instance %s was made but is not available: %w", spec.Name, inst.ID, err)
	}
	return ready, nil
}
