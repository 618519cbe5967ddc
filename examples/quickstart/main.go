package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

// Providers quickstart opens without -provider: local, or memory where
// local cannot run the engine.
const (
	defaultProvider  = "local"
	fallbackProvider = "memory"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Output piped into a reader that quits (| head) would kill the
	// process at its next line, before it deletes the servers it made:
	// with SIGPIPE ignored the write fails instead and the run goes on.
	signal.Ignore(syscall.SIGPIPE)
	if err := run(ctx, os.Stdout, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "quickstart:", err)
		}
		os.Exit(1)
	}
}

// run is the program: main without the process around it.
func run(ctx context.Context, out io.Writer, args []string) error {
	return program{out: out, checkLocal: local.CheckInstalled}.run(ctx, args)
}

// program is quickstart with what it learns from the machine made
// replaceable, so that a test can play a machine without PostgreSQL.
type program struct {
	out io.Writer
	// checkLocal says whether the local provider can run an engine here,
	// and if not what to install.
	checkLocal func(context.Context, dbaas.Engine) error
}

type options struct {
	provider string
	// providerSet: -provider was given, so there is no fallback.
	providerSet bool
	stateDir    string
	name        string
	engine      dbaas.Engine
	size        string
	allow       dbaas.Source
	allowWorld  bool
	poll        time.Duration
	timeout     time.Duration
	keep        bool
}

func parseFlags(out io.Writer, args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.provider, "provider", defaultProvider, "registered provider to use: "+strings.Join(dbaas.Providers(), ", ")+
		"\n(without it: local, or "+fallbackProvider+" where the engine is not installed; the clouds' with go build -tags clouds)")
	fs.StringVar(&o.stateDir, "state-dir", "", "state directory of the local provider, kept at the end (default: a temporary one, removed)")
	fs.StringVar(&o.name, "name", "quickstart", "name of the database instance")
	engine := fs.String("engine", "postgres", "engine: postgres, mysql or mariadb")
	fs.StringVar(&o.size, "size", "small", "the provider's size, class or plan")
	allow := fs.String("allow", "192.0.2.0/24", "network (or kind:value source) to allow in")
	fs.BoolVar(&o.allowWorld, "allow-world", false, "let -allow open the database to the whole internet")
	fs.DurationVar(&o.poll, "poll", 200*time.Millisecond, "first pause between status polls")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound on the whole run")
	fs.BoolVar(&o.keep, "keep", false, "keep what a failed run made instead of deleting it")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	fs.Visit(func(f *flag.Flag) { o.providerSet = o.providerSet || f.Name == "provider" })
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: quickstart takes flags only: %w", fs.Arg(0), dbaas.ErrInvalidArgument)
	}
	e, err := dbaas.ParseEngine(*engine)
	if err != nil {
		return o, fmt.Errorf("-engine: %w", err)
	}
	o.engine = e
	o.allow, err = dbaas.ParseSource(*allow)
	if err != nil {
		return o, fmt.Errorf("-allow: %w", err)
	}
	if o.allow.IsWorld() && !o.allowWorld {
		return o, fmt.Errorf("-allow %s opens the database to the whole internet: add -allow-world to mean it: %w", o.allow, dbaas.ErrInvalidArgument)
	}
	if o.poll <= 0 {
		return o, fmt.Errorf("-poll %s: must be positive: %w", o.poll, dbaas.ErrInvalidArgument)
	}
	if o.timeout <= 0 {
		return o, fmt.Errorf("-timeout %s: must be positive: %w", o.timeout, dbaas.ErrInvalidArgument)
	}
	if o.stateDir != "" && o.provider != defaultProvider {
		return o, fmt.Errorf("-state-dir: only the local provider has one, not %s: %w", o.provider, dbaas.ErrInvalidArgument)
	}
	spec := dbaas.Spec{Name: o.name, Engine: o.engine, Size: o.size}
	if err := spec.Validate(); err != nil {
		return o, fmt.Errorf("-name, -engine or -size: %w", err)
	}
	return o, nil
}

// configFromEnv builds the configuration of provider from DBAAS_*
// variables.
func configFromEnv(provider string) (dbaas.Config, error) {
	cfg := dbaas.Config{
		Token:   dbaas.NewSecret(os.Getenv("DBAAS_TOKEN")),
		Region:  os.Getenv("DBAAS_REGION"),
		BaseURL: os.Getenv("DBAAS_BASE_URL_" + strings.ToUpper(provider)),
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = os.Getenv("DBAAS_BASE_URL")
	}
	if s := strings.TrimSpace(os.Getenv("DBAAS_SETTINGS")); s != "" {
		cfg.Settings = map[string]string{}
		for _, kv := range strings.Split(s, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || k == "" {
				return cfg, fmt.Errorf("DBAAS_SETTINGS: %q is not key=value: %w", kv, dbaas.ErrInvalidArgument)
			}
			cfg.Settings[k] = v
		}
	}
	return cfg, nil
}

// steps prints each step with its duration.
type steps struct {
	out   io.Writer
	start time.Time
}

func (s *steps) do(name string, f func() (string, error)) error {
	t0 := time.Now()
	what, err := f()
	d := time.Since(t0).Round(time.Millisecond)
	if err != nil {
		fmt.Fprintf(s.out, "%-10s failed after %s: %v\n", name, d, err)
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(s.out, "%-10s %s (%s)\n", name, what, d)
	return nil
}

func (s *steps) skip(name, why string) { fmt.Fprintf(s.out, "%-10s skipped: %s\n", name, why) }

func (s *steps) say(name, what string) { fmt.Fprintf(s.out, "%-10s %s\n", name, what) }

// run is the walk-through. Everything it makes is recorded in made, and
// the deferred cleanup removes it whichever way run returns.
func (pr program) run(ctx context.Context, args []string) (err error) {
	out := pr.out
	o, err := parseFlags(out, args)
	if err != nil {
		return err
	}
	st := &steps{out: out, start: time.Now()}
	if o.provider == defaultProvider {
		if cerr := pr.checkLocal(ctx, o.engine); cerr != nil {
			if o.providerSet {
				return fmt.Errorf("-provider %s: %w", o.provider, cerr)
			}
			st.say("fallback", fmt.Sprintf("%v", cerr))
			st.say("fallback", fmt.Sprintf("running on %s instead: nothing listens behind its instances, its data store stands in for the table", fallbackProvider))
			o.provider = fallbackProvider
		}
	}
	cfg, err := configFromEnv(o.provider)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()

	tmp, err := tempDir()
	if err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	var made, backups []string
	stateInTmp := false
	// The temporary directory goes last, and not while it holds the state
	// of an instance left behind (a server still running would lose its
	// files).
	defer func() {
		if stateInTmp && len(made) > 0 {
			err = fmt.Errorf("%w; their state is in %s", err, tmp)
			return
		}
		_ = os.RemoveAll(tmp)
	}()
	if o.provider == defaultProvider {
		if cfg.Settings == nil {
			cfg.Settings = map[string]string{}
		}
		switch {
		case o.stateDir != "":
			cfg.Settings["state_dir"] = o.stateDir
		case cfg.Settings["state_dir"] == "":
			cfg.Settings["state_dir"] = tmp
			stateInTmp = true
		}
	}

	var p dbaas.Provider
	if err := st.do("open", func() (string, error) {
		p, err = dbaas.Open(ctx, o.provider, cfg)
		if err != nil {
			return "", err
		}
		if o.provider == defaultProvider {
			return fmt.Sprintf("%s (state in %s)", o.provider, cfg.Settings["state_dir"]), nil
		}
		return o.provider, nil
	}); err != nil {
		return err
	}
	if c, ok := p.(io.Closer); ok {
		// Closing waits for provisioning in progress; it runs after the
		// cleanup below, which is deferred later.
		defer c.Close()
	}
	caps := p.Capabilities()
	// Local servers start in seconds: poll them often. A cloud's
	// provisioning takes minutes and its rate limits want fewer calls.
	maxPoll := 30 * time.Second
	if o.provider == defaultProvider || o.provider == fallbackProvider {
		maxPoll = max(o.poll, time.Second)
	}
	// A provider's typical provisioning time makes Wait poll seldom
	// before it (minutes for a cloud); a simulator (a base URL) is done
	// in moments, so the hint only delays the run there.
	expected := time.Duration(0)
	if cfg.BaseURL != "" {
		expected = -1
	}
	var lastStatus dbaas.Status
	wait := dbaas.WaitOptions{FirstDelay: o.poll, MaxDelay: maxPoll, Expected: expected, Progress: func(inst *dbaas.Instance, elapsed time.Duration, err error) {
		// A line per change of status, not per poll.
		if inst != nil && inst.Status != lastStatus {
			lastStatus = inst.Status
			fmt.Fprintf(out, "%-10s %s after %s\n", "", inst.Status, elapsed.Round(time.Millisecond))
		}
	}}

	defer func() {
		if len(made) == 0 && len(backups) == 0 {
			return
		}
		made, backups = cleanup(p, made, backups, o.keep, out)
		left := append(slices.Clone(made), backups...)
		switch {
		case len(left) == 0:
		case err != nil && o.keep:
			err = fmt.Errorf("%w; kept (-keep): %s", err, strings.Join(left, ", "))
		case err != nil:
			err = fmt.Errorf("%w; left behind: %s", err, strings.Join(left, ", "))
		default:
			err = fmt.Errorf("left behind: %s", strings.Join(left, ", "))
		}
	}()

	spec := dbaas.Spec{Name: o.name, Engine: o.engine, Size: o.size,
		AdminPassword: dbaas.NewSecret(os.Getenv("DBAAS_ADMIN_PASSWORD"))}
	var inst *dbaas.Instance
	var created bool
	if err := st.do("provision", func() (string, error) {
		inst, created, err = dbaas.Ensure(ctx, p, spec)
		if err != nil {
			return "", err
		}
		if !created {
			return fmt.Sprintf("reusing %s (%s), status %s", inst.ID, inst.Name, inst.Status), nil
		}
		made = append(made, inst.ID)
		return fmt.Sprintf("created %s (%s %s), status %s", inst.ID, inst.Name, inst.Engine, inst.Status), nil
	}); err != nil {
		return err
	}
	if err := st.do("wait", func() (string, error) {
		inst, err = dbaas.Wait(ctx, p, inst.ID, wait)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s is %s at %s", inst.ID, inst.Status, inst.Endpoint), nil
	}); err != nil {
		return err
	}
	if err := st.do("connect", func() (string, error) {
		conn, err := p.Connection(ctx, inst.ID)
		if err != nil {
			return "", err
		}
		// conn.Password is a dbaas.Secret: it prints as [redacted].
		return fmt.Sprintf("host %s port %d user %s password %s database %s tls %s",
			conn.Endpoint.Host, conn.Endpoint.Port, conn.User, conn.Password, conn.Database, conn.TLS), nil
	}); err != nil {
		return err
	}

	// The notes tell the data before the backup from the data after it;
	// the run's start time keeps them apart from an earlier run's.
	token := st.start.UTC().Format("15:04:05.000")
	before, after := "written before the backup at "+token, "written after the backup at "+token
	data, noData, err := openNotes(ctx, p, inst.ID, tmp)
	if err != nil {
		st.say("query", "failed: "+err.Error())
		return fmt.Errorf("query: %w", err)
	}
	if noData != "" {
		st.skip("query", noData)
	} else if err := st.do("query", func() (string, error) {
		v, err := data.Server(ctx)
		if err != nil {
			return "", err
		}
		if err := data.Write(ctx, before); err != nil {
			return "", err
		}
		rows, err := data.Read(ctx)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s; %s holds %d row(s), the last %q", v, table, len(rows), rows[len(rows)-1]), nil
	}); err != nil {
		return err
	}

	switch {
	case !caps.Access:
		st.skip("allow", o.provider+" has no access control")
	case !caps.SupportsSource(o.allow.Kind):
		st.skip("allow", o.provider+" does not take "+string(o.allow.Kind)+" sources")
	default:
		if err := st.do("allow", func() (string, error) {
			if err := p.Allow(ctx, inst.ID, o.allow); err != nil {
				return "", err
			}
			list, err := p.Access(ctx, inst.ID)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s allowed; access list %v", o.allow, list), nil
		}); err != nil {
			return err
		}
	}

	var backup *dbaas.Backup
	if !caps.OnDemandBackup {
		st.skip("backup", o.provider+" has no on-demand backup")
	} else if err := st.do("backup", func() (string, error) {
		backup, err = takeBackup(ctx, p, caps, inst, o.poll)
		if backup != nil {
			backups = append(backups, backup.ID)
		}
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s (%s) is %s", backup.ID, backup.Name, backup.Status), nil
	}); err != nil {
		return err
	}

	switch {
	case noData != "":
		st.skip("write", "no data steps: "+noData)
	case backup == nil:
		st.skip("write", "no backup to compare a restored copy with")
	default:
		if err := st.do("write", func() (string, error) {
			if err := data.Write(ctx, after); err != nil {
				return "", err
			}
			rows, err := data.Read(ctx)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%q; %s of %s holds %d row(s)", after, table, inst.ID, len(rows)), nil
		}); err != nil {
			return err
		}
	}

	var restored *dbaas.Instance
	switch {
	case backup == nil:
		st.skip("restore", "no backup to restore")
	case !caps.Restore:
		st.skip("restore", o.provider+" cannot restore")
	default:
		if err := st.do("restore", func() (string, error) {
			restoreSpec := spec
			restoreSpec.Name = restoredName(o.name)
			restored, err = p.Restore(ctx, dbaas.FromBackup(backup.ID), restoreSpec)
			if err != nil {
				return "", err
			}
			made = append(made, restored.ID)
			restored, err = dbaas.Wait(ctx, p, restored.ID, wait)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("%s (%s) from %s is %s at %s", restored.ID, restored.Name, backup.ID, restored.Status, restored.Endpoint), nil
		}); err != nil {
			return err
		}
	}

	switch {
	case restored == nil:
		st.skip("compare", "no restored copy")
	case noData != "":
		st.skip("compare", "no data steps: "+noData)
	default:
		if err := st.do("compare", func() (string, error) {
			copyData, why, err := openNotes(ctx, p, restored.ID, tmp)
			if err != nil {
				return "", err
			}
			if why != "" {
				return "", fmt.Errorf("the restored copy: %s", why)
			}
			rows, err := copyData.Read(ctx)
			if err != nil {
				return "", err
			}
			if err := compare(rows, before, after); err != nil {
				return "", err
			}
			return fmt.Sprintf("%s of %s holds %d row(s), with %q and without %q", table, restored.ID, len(rows), before, after), nil
		}); err != nil {
			return err
		}
	}

	for i := len(made) - 1; i >= 0; i-- {
		id := made[i]
		if err := st.do("delete", func() (string, error) {
			if err := p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true}); err != nil {
				return "", err
			}
			return id + " deleted", nil
		}); err != nil {
			made = made[:i+1]
			return err
		}
	}
	made = nil
	if !created {
		st.say("kept", inst.ID+", which this run did not make")
	}
	for len(backups) > 0 {
		id := backups[0]
		if err := st.do("delete", func() (string, error) { return deleteBackup(ctx, p, o.provider, id) }); err != nil {
			return err
		}
		backups = backups[1:]
	}
	st.say("done", "in "+time.Since(st.start).Round(time.Millisecond).String())
	return nil
}

// backupDeleter is implemented by providers that can delete a backup
// (local); dbaas.Provider has no such method because most clouds keep
// their backups on their own schedule.
type backupDeleter interface {
	DeleteBackup(ctx context.Context, backupID string) error
}

// deleter finds the backupDeleter behind p: the provider itself, or the
// local provider that dbaas.Open's provider hands out through As.
func deleter(p dbaas.Provider) (backupDeleter, bool) {
	if d, ok := p.(backupDeleter); ok {
		return d, true
	}
	var lp *local.Provider
	if p.As(&lp) {
		return lp, true
	}
	return nil, false
}

// deleteBackup deletes a backup this run took, or says why it stays.
func deleteBackup(ctx context.Context, p dbaas.Provider, provider, id string) (string, error) {
	d, ok := deleter(p)
	if !ok {
		if provider == fallbackProvider {
			return "backup " + id + " goes with the process: " + provider + " keeps nothing on disk", nil
		}
		return "backup " + id + " kept: " + provider + " cannot delete a backup through dbaaskit; delete it with the cloud's own tools", nil
	}
	if err := d.DeleteBackup(ctx, id); err != nil {
		return "", err
	}
	return "backup " + id + " deleted", nil
}

// restoredName names the restored copy, within the 32 characters of a name.
func restoredName(name string) string {
	const suffix = "-restored"
	if len(name)+len(suffix) > dbaas.MaxNameLen {
		name = strings.TrimRight(name[:dbaas.MaxNameLen-len(suffix)], "-")
	}
	return name + suffix
}

// takeBackup takes an on-demand backup and, where the provider lists
// backups, polls (backing off, as a cloud's rate limits want) until it
// can be restored.
func takeBackup(ctx context.Context, p dbaas.Provider, caps dbaas.Capabilities, inst *dbaas.Instance, poll time.Duration) (*dbaas.Backup, error) {
	name := inst.Name + "-" + time.Now().UTC().Format("20060102150405")
	b, err := p.Backup(ctx, inst.ID, name)
	if err != nil || !caps.ListBackups {
		return b, err
	}
	for b.Status != dbaas.BackupAvailable {
		select {
		case <-ctx.Done():
			return b, fmt.Errorf("backup %s still %s: %w", b.ID, b.Status, ctx.Err())
		case <-time.After(poll):
		}
		poll = min(2*poll, 10*time.Second)
		list, err := p.Backups(ctx, inst.ID)
		if err != nil {
			return b, err
		}
		for _, x := range list {
			if x.ID == b.ID {
				b = x
			}
		}
	}
	return b, nil
}

// cleanup deletes what a failed run made (instances, then backups),
// unless keep, and returns what is left behind. It runs on a fresh
// context: the run's may be what failed (a timeout, Ctrl-C).
func cleanup(p dbaas.Provider, made, backups []string, keep bool, out io.Writer) (leftInstances, leftBackups []string) {
	if keep {
		return made, backups
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for i := len(made) - 1; i >= 0; i-- {
		if err := p.Delete(ctx, made[i], dbaas.DeleteOptions{SkipFinalBackup: true}); err != nil && !errors.Is(err, dbaas.ErrNotFound) {
			fmt.Fprintf(out, "%-10s could not delete %s: %v\n", "cleanup", made[i], err)
			leftInstances = append(leftInstances, made[i])
			continue
		}
		fmt.Fprintf(out, "%-10s deleted %s\n", "cleanup", made[i])
	}
	d, ok := deleter(p)
	for _, id := range backups {
		if !ok {
			// Not a failure of this run: the provider keeps backups on its
			// own terms (memory's go with the process).
			fmt.Fprintf(out, "%-10s kept backup %s: this provider cannot delete one through dbaaskit\n", "cleanup", id)
			continue
		}
		if err := d.DeleteBackup(ctx, id); err != nil && !errors.Is(err, dbaas.ErrNotFound) {
			fmt.Fprintf(out, "%-10s could not delete backup %s: %v\n", "cleanup", id, err)
			leftBackups = append(leftBackups, id)
			continue
		}
		fmt.Fprintf(out, "%-10s deleted backup %s\n", "cleanup", id)
	}
	return leftInstances, leftBackups
}
