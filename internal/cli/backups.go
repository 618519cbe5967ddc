package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

func (a *app) backupCommand() *cobra.Command {
	var name string
	var wf waitFlags
	cmd := &cobra.Command{
		Use:   "backup ID|NAME [--name BACKUP] [--wait]",
		Short: "Take an on-demand backup (prints its id)",
		Long: `Take a native on-demand backup and print its id. Where the cloud has none
(DigitalOcean, Linode take daily backups only) it exits 5: list the
automatic ones with "dbaas backups".

It returns once the cloud has accepted the backup, which may still be
being made (status "creating") and cannot be restored yet. With --wait it
prints the id only once the backup is available: it stops when the backup
fails (exit code 1) or is no longer listed (exit code 3), and after
--timeout (default 30m, exit code 4). On a terminal it shows a live
progress line.`,
		Example: `  bid=$(dbaas backup shop --name before-upgrade --wait --timeout 1h) || exit
  dbaas restore "$bid" shop-copy --from shop --wait`,
		GroupID: "backups",
		Args:    args(1, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			p, inst, err := a.openInstance(ctx, args[0], func(p dbaas.Provider) error {
				if !p.Capabilities().OnDemandBackup {
					return unsupported(a.provider, "backup", "has no on-demand backups; see 'dbaas backups' for the automatic ones")
				}
				return nil
			})
			if err != nil {
				return err
			}
			if name == "" {
				name = inst.Name + "-" + a.clock.Now().UTC().Format("20060102150405")
			}
			b, err := p.Backup(ctx, inst.ID, name)
			if err != nil {
				return err
			}
			a.note("backup %s of %s: %s", b.Name, inst.Name, b.Status)
			if wf.wait {
				if b, err = a.waitBackup(ctx, p, inst, b, wf); err != nil {
					return err
				}
				a.note("backup %s of %s is %s", b.Name, inst.Name, b.Status)
			}
			return a.emitLine(b, b.ID)
		}),
	}
	cmd.Flags().StringVar(&name, "name", "", "name of the backup (default NAME-TIME)")
	cmd.Flags().BoolVar(&wf.wait, "wait", false, "wait until the backup is available (restorable) before printing its id")
	wf.register(cmd.Flags(), false)
	return cmd
}

// waitBackup waits until backup b of inst is available, with a live
// progress line on a terminal.
func (a *app) waitBackup(ctx context.Context, p dbaas.Provider, inst *dbaas.Instance, b *dbaas.Backup, f waitFlags) (*dbaas.Backup, error) {
	w := a.waitOptions(f)
	prog := a.progress("waiting for backup " + b.Name)
	opts := dbaas.WaitBackupOptions{FirstDelay: w.FirstDelay, MaxDelay: w.MaxDelay, Timeout: w.Timeout, Clock: w.Clock, Progress: prog.backup}
	got, err := dbaas.WaitBackup(ctx, p, inst.ID, b.ID, opts)
	prog.done()
	status := b.Status
	if got != nil {
		status = got.Status
	}
	return got, a.timeoutError("wait backup", b.ID, string(status), err)
}

func (a *app) backupsCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "backups ID|NAME",
		Short:   "List an instance's backups, oldest first",
		GroupID: "backups",
		Args:    args(1, 1, "ID|NAME"),
		RunE: a.runE(func(ctx context.Context, _ *cobra.Command, args []string) error {
			p, inst, err := a.openInstance(ctx, args[0])
			if err != nil {
				return err
			}
			list, err := p.Backups(ctx, inst.ID)
			if err != nil {
				return err
			}
			if list == nil {
				list = []*dbaas.Backup{}
			}
			return a.emit(list, func(w io.Writer) error {
				if a.quiet {
					for _, b := range list {
						fmt.Fprintln(w, b.ID)
					}
					return nil
				}
				return table(w, backupHeader, backupRows(list))
			})
		}),
	}
}

func (a *app) restoreCommand() *cobra.Command {
	var sf specFlags
	var wf waitFlags
	var from, at string
	cmd := &cobra.Command{
		Use:   "restore BACKUP_ID NEW_NAME [flags] | restore --from ID|NAME --at TIME NEW_NAME [flags]",
		Short: "Make a new instance from a backup or a point in time (prints its id)",
		Long: `Restore makes a new instance called NEW_NAME from a backup id (see "dbaas
backups"), or with --from and --at from an instance as it was at an
RFC 3339 time. Engine, version, size and region default to those of the
--from instance; give them as flags otherwise.`,
		Example: `  dbaas restore snap-123 shop-copy --from shop --wait
  dbaas restore --from shop --at 2026-05-01T12:00:00Z shop-before --wait`,
		GroupID: "backups",
		Args:    args(1, 2, "BACKUP_ID", "NEW_NAME"),
		RunE: a.runE(func(ctx context.Context, cmd *cobra.Command, args []string) error {
			var backupID, name string
			var point dbaas.RestorePoint
			switch {
			case at != "" && len(args) == 1:
				name = args[0]
			case at != "":
				return usageErrorf("restore: give NEW_NAME only with --at (the backup is the point in time): usage: %s", cmd.UseLine())
			case len(args) == 2:
				backupID, name = args[0], args[1]
			default:
				return usageErrorf("restore: missing NEW_NAME: usage: %s", cmd.UseLine())
			}
			var when time.Time
			if at != "" {
				if from == "" {
					return usageErrorf("restore: --at needs --from ID|NAME, the instance to restore")
				}
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return usageErrorf("--at %q: want an RFC 3339 time such as 2026-05-01T12:00:00Z", clip(at))
				}
				when = t
			}
			// With --from, engine and size may come from that instance:
			// they are required only after it has been read.
			spec, err := sf.spec(a, cmd, name, from != "")
			if err != nil {
				return err
			}
			p, err := a.openProvider(ctx)
			if err != nil {
				return err
			}
			if from != "" {
				src, err := resolve(ctx, p, from)
				if err != nil {
					return err
				}
				inheritSpec(&spec, src, cmd, p.Capabilities())
				if !when.IsZero() {
					point = dbaas.AtTime(src.ID, when)
				}
			}
			if point.InstanceID == "" {
				point = dbaas.FromBackup(backupID)
			}
			if err := spec.Validate(); err != nil {
				return err
			}
			inst, err := p.Restore(ctx, point, spec)
			if err != nil {
				return err
			}
			a.note("restoring %s into %s (%s), %s", point, inst.Name, inst.ID, inst.Status)
			return a.finishInstance(ctx, p, inst, true, wf)
		}),
	}
	sf.register(cmd.Flags())
	wf.register(cmd.Flags(), true)
	cmd.Flags().StringVar(&from, "from", "", "the instance the backup was taken from: its engine, version, size and region are the defaults")
	cmd.Flags().StringVar(&at, "at", "", "restore --from as it was at this RFC 3339 time (point-in-time restore)")
	return cmd
}

// inheritSpec fills what the flags left unset from the source instance,
// except the fields the provider refuses to be given (Linode chooses the
// storage of a fork itself).
func inheritSpec(spec *dbaas.Spec, src *dbaas.Instance, cmd *cobra.Command, caps dbaas.Capabilities) {
	changed := func(flag string) bool {
		field := map[string]string{"engine": "Engine", "version": "Version", "size": "Size", "region": "Region",
			"nodes": "Nodes", "storage-gb": "StorageGB"}[flag]
		return cmd.Flags().Changed(flag) || slices.Contains(caps.RefusedFields, field)
	}
	if !changed("engine") {
		spec.Engine = src.Engine
	}
	if !changed("version") && spec.Version == "" {
		spec.Version = src.Version
	}
	if !changed("size") && spec.Size == "" {
		spec.Size = src.Size
	}
	if !changed("region") && spec.Region == "" {
		spec.Region = src.Region
	}
	if !changed("nodes") && spec.Nodes == 0 {
		spec.Nodes = src.Nodes
	}
	if !changed("storage-gb") && spec.StorageGB == 0 {
		spec.StorageGB = src.StorageGB
	}
}
