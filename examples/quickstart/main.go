// Command quickstart walks through the life of a managed database with
// dbaaskit: provision, wait, read the connection details (password
// redacted), allow a network in, back up, restore into a new instance,
// and delete both, printing each step and the time it took.
//
//	go run ./examples/quickstart -provider memory -allow 192.0.2.0/24
//
// Provider settings come from the environment: DBAAS_SETTINGS holds
// key=value pairs separated by commas (for memory,
// DBAAS_SETTINGS=provision_delay=2s), DBAAS_TOKEN, DBAAS_REGION and
// DBAAS_BASE_URL fill the rest of dbaas.Config, and DBAAS_ADMIN_PASSWORD,
// when set, is the admin password of the new database. If a step fails,
// quickstart deletes what it made (unless -keep) and says what is left.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// defaultProvider is the provider quickstart opens without -provider.
const defaultProvider = "memory"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.Args[1:]); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "quickstart:", err)
		}
		os.Exit(1)
	}
}

type options struct {
	provider   string
	name       string
	engine     dbaas.Engine
	size       string
	allow      dbaas.Source
	allowWorld bool
	poll       time.Duration
	timeout    time.Duration
	keep       bool
}

func parseFlags(out io.Writer, args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.provider, "provider", defaultProvider, "registered provider to use: "+strings.Join(dbaas.Providers(), ", "))
	fs.StringVar(&o.name, "name", "quickstart", "name of the database instance")
	engine := fs.String("engine", "postgres", "engine: postgres, mysql or mariadb")
	fs.StringVar(&o.size, "size", "small", "the provider's size, class or plan")
	allow := fs.String("allow", "192.0.2.0/24", "network (or kind:value source) to allow in")
	fs.BoolVar(&o.allowWorld, "allow-world", false, "let -allow open the database to the whole internet")
	fs.DurationVar(&o.poll, "poll", dbaas.DefaultFirstDelay, "first pause between status polls")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound on the whole run")
	fs.BoolVar(&o.keep, "keep", false, "keep what a failed run made instead of deleting it")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
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
	if o.poll <= 0 || o.timeout <= 0 {
		return o, fmt.Errorf("-poll and -timeout must be positive: %w", dbaas.ErrInvalidArgument)
	}
	return o, nil
}

// configFromEnv builds the provider configuration from DBAAS_* variables.
func configFromEnv() (dbaas.Config, error) {
	cfg := dbaas.Config{
		Token:   dbaas.NewSecret(os.Getenv("DBAAS_TOKEN")),
		Region:  os.Getenv("DBAAS_REGION"),
		BaseURL: os.Getenv("DBAAS_BASE_URL"),
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

// run is the program: main without the process around it.
func run(ctx context.Context, out io.Writer, args []string) (err error) {
	o, err := parseFlags(out, args)
	if err != nil {
		return err
	}
	cfg, err := configFromEnv()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	st := &steps{out: out, start: time.Now()}

	var p dbaas.Provider
	if err := st.do("open", func() (string, error) {
		p, err = dbaas.Open(ctx, o.provider, cfg)
		return o.provider, err
	}); err != nil {
		return err
	}
	caps := p.Capabilities()
	wait := dbaas.WaitOptions{FirstDelay: o.poll, Progress: func(inst *dbaas.Instance, elapsed time.Duration, err error) {
		if inst != nil {
			fmt.Fprintf(out, "           %s after %s\n", inst.Status, elapsed.Round(time.Millisecond))
		}
	}}

	// made lists what this run created, so a failure can clean up and say
	// what is left.
	var made []string
	defer func() {
		if err == nil || len(made) == 0 {
			return
		}
		err = cleanup(p, made, o.keep, out, err)
	}()

	spec := dbaas.Spec{Name: o.name, Engine: o.engine, Size: o.size,
		AdminPassword: dbaas.NewSecret(os.Getenv("DBAAS_ADMIN_PASSWORD"))}
	var inst *dbaas.Instance
	if err := st.do("provision", func() (string, error) {
		var created bool
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
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s (%s) is %s", backup.ID, backup.Name, backup.Status), nil
	}); err != nil {
		return err
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
			restored, err = p.Restore(ctx, backup.ID, restoreSpec)
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
	if len(made) == 0 || made[0] != inst.ID {
		fmt.Fprintf(out, "%-10s %s, which this run did not make\n", "kept", inst.ID)
	}
	made = nil
	fmt.Fprintf(out, "%-10s in %s\n", "done", time.Since(st.start).Round(time.Millisecond))
	return nil
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
// backups, polls until it can be restored.
func takeBackup(ctx context.Context, p dbaas.Provider, caps dbaas.Capabilities, inst *dbaas.Instance, poll time.Duration) (*dbaas.Backup, error) {
	name := inst.Name + "-" + time.Now().UTC().Format("20060102150405")
	b, err := p.Backup(ctx, inst.ID, name)
	if err != nil || !caps.ListBackups {
		return b, err
	}
	for b.Status != dbaas.BackupAvailable {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("backup %s still %s: %w", b.ID, b.Status, ctx.Err())
		case <-time.After(poll):
		}
		list, err := p.Backups(ctx, inst.ID)
		if err != nil {
			return nil, err
		}
		for _, x := range list {
			if x.ID == b.ID {
				b = x
			}
		}
	}
	return b, nil
}

// cleanup deletes what a failed run made, unless keep, and adds to cause
// what is left behind.
func cleanup(p dbaas.Provider, made []string, keep bool, out io.Writer, cause error) error {
	if keep {
		return fmt.Errorf("%w; kept (-keep): %s", cause, strings.Join(made, ", "))
	}
	// The run's context may be what failed: clean up on a fresh one.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var left []string
	for i := len(made) - 1; i >= 0; i-- {
		if err := p.Delete(ctx, made[i], dbaas.DeleteOptions{SkipFinalBackup: true}); err != nil && !errors.Is(err, dbaas.ErrNotFound) {
			fmt.Fprintf(out, "%-10s could not delete %s: %v\n", "cleanup", made[i], err)
			left = append(left, made[i])
			continue
		}
		fmt.Fprintf(out, "%-10s deleted %s\n", "cleanup", made[i])
	}
	if len(left) > 0 {
		return fmt.Errorf("%w; left behind: %s", cause, strings.Join(left, ", "))
	}
	return cause
}
