package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// waitFlags tune the waits of create, ensure, restore, wait, backup and
// delete.
type waitFlags struct {
	wait  bool
	until string
	poll  time.Duration
}

func (f *waitFlags) register(fs *pflag.FlagSet, withWait bool) {
	if withWait {
		fs.BoolVar(&f.wait, "wait", false, "wait until the instance is available before returning")
	}
	fs.DurationVar(&f.poll, "poll", 0, "poll every this long at first, backing off from there (default: paced by the provider's usual provisioning time for an instance, or DBAAS_EXPECTED_PROVISIONING_<PROVIDER> as 'dbaas sim' prints; 2s for a backup or a delete)")
}

// waitOptions are the options of every wait: --timeout, the tool's clock
// and --poll.
func (a *app) waitOptions(f waitFlags) dbaas.WaitOptions {
	opts := dbaas.WaitOptions{Timeout: a.timeout, Clock: a.clock, Expected: a.expectedProvisioning()}
	if f.poll > 0 {
		opts.FirstDelay = f.poll
		opts.MaxDelay = max(f.poll, dbaas.DefaultMaxDelay)
		opts.Expected = -1
	}
	return opts
}

// waitFor waits for inst with a live progress line on a terminal.
func (a *app) waitFor(ctx context.Context, p dbaas.Provider, inst *dbaas.Instance, f waitFlags) (*dbaas.Instance, error) {
	opts := a.waitOptions(f)
	opts.Until = dbaas.Status(f.until)
	if opts.Until != "" && !opts.Until.Valid() {
		return nil, usageErrorf("--until %q: want one of %s", clip(f.until), statusList())
	}
	prog := a.progress("waiting for " + inst.Name)
	opts.Progress = prog.update
	got, err := dbaas.Wait(ctx, p, inst.ID, opts)
	prog.done()
	status := ""
	if got != nil {
		status = string(got.Status)
	}
	return got, a.timeoutError("wait", inst.ID, status, err)
}

// timeoutError turns a wait cut short by the --timeout context, before
// the wait's own timer ran out, into the timeout error the wait gives:
// it says where the thing waited for stood ("" when no poll answered).
// Other errors pass unchanged.
func (a *app) timeoutError(op, id, status string, err error) error {
	if !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	where := "not answering"
	if status != "" {
		where = "still " + status
	}
	return &dbaas.Error{Op: op, ID: id, Kind: dbaas.ErrTimeout, Err: fmt.Errorf("%s when --timeout %s ran out", where, a.timeout)}
}

func statusList() string {
	ss := dbaas.Statuses()
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return strings.Join(out, ", ")
}

// progress is the live line shown on a terminal during waits.
type progress struct {
	a     *app
	label string
	on    bool
	shown bool
}

// progress returns a progress line that shows only when stderr is a
// terminal and output is for people: scripts and logs never see it.
func (a *app) progress(label string) *progress {
	return &progress{a: a, label: label, on: !a.quiet && a.output == "text" && a.isTerminal(a.stderr)}
}

// update shows the instance's status after a poll of Wait or
// WaitDeleted.
func (p *progress) update(inst *dbaas.Instance, elapsed time.Duration, err error) {
	status := "polling"
	switch {
	case err != nil:
		status = "retrying: " + oneLine(err.Error())
	case inst != nil:
		status = string(inst.Status)
		if inst.RawStatus != "" && inst.RawStatus != status {
			status += " (" + inst.RawStatus + ")"
		}
	}
	p.show(status, elapsed)
}

// backup shows the backup's status after a poll of WaitBackup.
func (p *progress) backup(b *dbaas.Backup, elapsed time.Duration, err error) {
	status := "polling"
	switch {
	case err != nil:
		status = "retrying: " + oneLine(err.Error())
	case b != nil:
		status = string(b.Status)
	}
	p.show(status, elapsed)
}

func (p *progress) show(status string, elapsed time.Duration) {
	if !p.on {
		return
	}
	// \r and "erase line" redraw in place.
	fmt.Fprintf(p.a.stderr, "\r\033[K%s: %s, %s elapsed", p.label, status, elapsed.Truncate(time.Second))
	p.shown = true
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprint(p.a.stderr, "\r\033[K")
	}
}

// instanceResult is the JSON of create, ensure and restore: the instance,
// and whether this command made it.
type instanceResult struct {
	*dbaas.Instance
	Created bool `json:"created"`
}

func (a *app) createCommand() *cobra.Command {
	var sf specFlags
	var wf waitFlags
	cmd := &cobra.Command{
		Use:   "create NAME --engine ENGINE --size SIZE [flags]",
		Short: "Create a database instance (prints its id)",
		Long: `Create a database instance and print its id. It returns at once with the
instance provisioning, unless --wait is given.

--from-toolkit reads the shell toolkit's DATABASE_DBaaS_INSTALLATION_TYPE
string (see "dbaas create --help" forms below); NAME and other flags then
override its fields.`,
		Example: `  dbaas create shop --engine postgres --size db-s-1vcpu-1gb --allow 10.0.0.0/16 --wait
  dbaas --provider digitalocean create --from-toolkit "$DATABASE_DBaaS_INSTALLATION_TYPE" --wait`,
		GroupID: "instances",
		Args:    args(0, 1, "NAME"),
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			spec, p, err := a.newInstanceSpec(ctx, cmd, &sf, first(args))
			if err != nil {
				return err
			}
			inst, err := p.Create(ctx, spec)
			if err != nil {
				return err
			}
			a.note("created %s (%s), %s", inst.Name, inst.ID, inst.Status)
			return a.finishInstance(ctx, p, inst, true, wf)
		}),
	}
	sf.register(cmd.Flags())
	wf.register(cmd.Flags(), true)
	return cmd
}

func (a *app) ensureCommand() *cobra.Command {
	var sf specFlags
	var wf waitFlags
	cmd := &cobra.Command{
		Use:   "ensure NAME --engine ENGINE --size SIZE [flags]",
		Short: "Reuse the instance of that name, or create it (prints its id)",
		Long: `Ensure returns the instance called NAME, creating it when there is none,
and prints its id. An existing instance of another engine is an error
(exit code 1), never silently reused. Takes the flags of create.`,
		Example: `  id=$(dbaas ensure shop --engine mysql --size db-s-1vcpu-1gb --wait) || exit`,
		GroupID: "instances",
		Args:    args(0, 1, "NAME"),
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			spec, p, err := a.newInstanceSpec(ctx, cmd, &sf, first(args))
			if err != nil {
				return err
			}
			inst, created, err := dbaas.Ensure(ctx, p, spec)
			if err != nil {
				return err
			}
			if created {
				a.note("created %s (%s), %s", inst.Name, inst.ID, inst.Status)
			} else {
				a.note("reusing %s (%s), %s", inst.Name, inst.ID, inst.Status)
			}
			return a.finishInstance(ctx, p, inst, created, wf)
		}),
	}
	sf.register(cmd.Flags())
	wf.register(cmd.Flags(), true)
	return cmd
}

// newInstanceSpec reads and validates the spec of a new instance called
// name from the flags, and only then opens the provider: bad input is
// refused before any call.
func (a *app) newInstanceSpec(ctx context.Context, cmd *cobra.Command, sf *specFlags, name string) (dbaas.Spec, dbaas.Provider, error) {
	spec, err := sf.spec(a, cmd, name, false)
	if err != nil {
		return spec, nil, err
	}
	if err := spec.Validate(); err != nil {
		return spec, nil, err
	}
	p, err := a.openProvider(ctx)
	return spec, p, err
}

// finishInstance waits when asked and prints the instance's id (text) or
// the instance (JSON).
func (a *app) finishInstance(ctx context.Context, p dbaas.Provider, inst *dbaas.Instance, created bool, wf waitFlags) error {
	if !wf.wait && created && buildsInProcess[a.provider] && inst.Status != dbaas.StatusAvailable {
		// The build would die with this process: see it through, without
		// the progress line that --wait shows.
		got, err := dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{Timeout: a.timeout, Clock: a.clock,
			FirstDelay: 100 * time.Millisecond, MaxDelay: time.Second, Expected: -1})
		if err != nil {
			return err
		}
		inst = got
	}
	if wf.wait {
		got, err := a.waitFor(ctx, p, inst, wf)
		if err != nil {
			return err
		}
		inst = got
		a.note("%s is %s at %s", inst.Name, inst.Status, endpointText(inst.Endpoint))
	}
	return a.emitLine(instanceResult{Instance: inst, Created: created}, inst.ID)
}

func first(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

func (a *app) getCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "get ID|NAME",
		Short:   "Show an instance",
		GroupID: "instances",
		Args:    args(1, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			_, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			return a.emit(inst, func(w io.Writer) error { return fields(w, instanceFields(inst)) })
		}),
	}
}

func (a *app) listCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List instances",
		GroupID: "instances",
		Args:    args(0, 0),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, _ []string) error {
			p, err := a.openProvider(ctx)
			if err != nil {
				return err
			}
			list, err := p.List(ctx)
			if err != nil {
				return err
			}
			if list == nil {
				list = []*dbaas.Instance{}
			}
			return a.emit(list, func(w io.Writer) error {
				if a.quiet {
					for _, inst := range list {
						fmt.Fprintln(w, inst.ID)
					}
					return nil
				}
				return table(w, instanceHeader, instanceRows(list))
			})
		}),
	}
}

func (a *app) waitCommand() *cobra.Command {
	var wf waitFlags
	cmd := &cobra.Command{
		Use:   "wait ID|NAME",
		Short: "Wait until an instance is available (or --until another status)",
		Long: `Wait polls the instance with backoff until it reaches the status wanted
(available by default), and prints it. It stops at once when the instance
fails or is being deleted (exit code 1), and after --timeout (default
30m, exit code 4). On a terminal it shows a live progress line.`,
		Example: `  dbaas wait shop --timeout 20m && dbaas endpoint shop`,
		GroupID: "instances",
		Args:    args(1, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			if wf.until != "" && !dbaas.Status(wf.until).Valid() {
				return usageErrorf("--until %q: want one of %s", clip(wf.until), statusList())
			}
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			got, err := a.waitFor(ctx, p, inst, wf)
			if err != nil {
				return err
			}
			return a.emitLine(got, got.Status)
		}),
	}
	cmd.Flags().StringVar(&wf.until, "until", "", "status to wait for (default available): "+statusList())
	wf.register(cmd.Flags(), false)
	return cmd
}

// deleteResult is the JSON of delete.
type deleteResult struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Deleted     bool   `json:"deleted"`
	FinalBackup string `json:"final_backup,omitempty"`
	// Gone is set by --wait once the provider no longer knows the
	// instance.
	Gone bool `json:"gone,omitempty"`
}

func (a *app) deleteCommand() *cobra.Command {
	var yes, skipFinal bool
	var finalName string
	var wf waitFlags
	cmd := &cobra.Command{
		Use:   "delete ID|NAME [--yes] [--skip-final-backup | --final-backup-name NAME] [--wait]",
		Short: "Delete an instance, after a final backup where the provider takes one",
		Long: `Delete an instance. On a terminal it asks you to type the instance's
name to confirm, unless --yes is given; when stdin is not a terminal,
--yes is required.

A provider that can take a final backup takes one (named
--final-backup-name, or NAME-final-TIME); one that cannot refuses (exit
code 5) unless --skip-final-backup says to delete without one.

It returns once the provider has accepted the deletion, while the
instance is still deleting. With --wait it returns only once the instance
is gone (then "dbaas get" exits 3): it stops when the instance is in any
status but deleting (exit code 1), and after --timeout (default 30m, exit
code 4). On a terminal it shows a live progress line.`,
		Example: `  dbaas delete shop --yes --skip-final-backup --wait --timeout 20m`,
		GroupID: "instances",
		Args:    args(1, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			if skipFinal && finalName != "" {
				return usageErrorf("delete: --skip-final-backup and --final-backup-name contradict each other: give one")
			}
			interactive := a.isTerminal(a.stdin)
			if !yes && !interactive {
				return usageErrorf("delete %s: stdin is not a terminal to confirm on: add --yes to delete without asking", clip(args[0]))
			}
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			opts := dbaas.DeleteOptions{SkipFinalBackup: skipFinal, FinalBackupName: finalName}
			if !skipFinal && !p.Capabilities().FinalBackup {
				return unsupported(a.provider, "delete", "this provider cannot take a final backup: add --skip-final-backup to delete without one")
			}
			if !yes {
				if err := a.confirm(inst); err != nil {
					return err
				}
			}
			final := ""
			if !skipFinal {
				final = opts.FinalBackupName
				if final == "" {
					final = inst.Name + "-final-" + a.clock.Now().UTC().Format("20060102150405")
				}
				opts.FinalBackupName = final
			}
			if err := p.Delete(ctx, inst.ID, opts); err != nil {
				return err
			}
			if final != "" {
				a.note("deleting %s (%s); final backup %s", inst.Name, inst.ID, final)
			} else {
				a.note("deleting %s (%s) without a final backup", inst.Name, inst.ID)
			}
			res := deleteResult{ID: inst.ID, Name: inst.Name, Deleted: true, FinalBackup: final}
			if wf.wait {
				if err := a.waitDeleted(ctx, p, inst, wf); err != nil {
					return err
				}
				res.Gone = true
				a.note("%s (%s) is gone", inst.Name, inst.ID)
			}
			return a.emit(res, nil)
		}),
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "delete without asking")
	cmd.Flags().BoolVar(&skipFinal, "skip-final-backup", false, "delete without a final backup")
	cmd.Flags().StringVar(&finalName, "final-backup-name", "", "name of the final backup (default NAME-final-TIME)")
	cmd.Flags().BoolVar(&wf.wait, "wait", false, "wait until the instance is gone before returning")
	wf.register(cmd.Flags(), false)
	return cmd
}

// waitDeleted waits until inst is gone, with a live progress line on a
// terminal.
func (a *app) waitDeleted(ctx context.Context, p dbaas.Provider, inst *dbaas.Instance, f waitFlags) error {
	w := a.waitOptions(f)
	prog := a.progress("waiting for " + inst.Name + " to go")
	status := ""
	opts := dbaas.WaitDeletedOptions{FirstDelay: w.FirstDelay, MaxDelay: w.MaxDelay, Timeout: w.Timeout, Clock: w.Clock,
		Progress: func(got *dbaas.Instance, elapsed time.Duration, err error) {
			if got != nil {
				status = string(got.Status)
			}
			prog.update(got, elapsed, err)
		}}
	err := dbaas.WaitDeleted(ctx, p, inst.ID, opts)
	prog.done()
	return a.timeoutError("wait delete", inst.ID, status, err)
}

// confirm asks on the terminal for the instance's name.
func (a *app) confirm(inst *dbaas.Instance) error {
	fmt.Fprintf(a.stderr, "Delete %s instance %s (%s, id %s)? This cannot be undone.\nType the instance name to confirm: ",
		a.provider, inst.Name, inst.Engine, inst.ID)
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(a.stderr)
		return fmt.Errorf("delete %s: not confirmed (no answer)", inst.Name)
	}
	if strings.TrimSpace(line) != inst.Name {
		return fmt.Errorf("delete %s: not confirmed: the answer was not the instance name", inst.Name)
	}
	return nil
}
