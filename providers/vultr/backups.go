package vultr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vultr/govultr/v3"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Backup ids are the database id and the backup's time; the
// point-in-time window's id ends in windowSuffix.
const (
	backupSep    = "@"
	windowSuffix = backupSep + "pitr"
)

func backupID(dbID string, t time.Time) string {
	return dbID + backupSep + t.UTC().Format(time.RFC3339)
}

// parseBackupID splits a backup id into the database id and the time.
func parseBackupID(id string) (string, time.Time, bool) {
	i := strings.LastIndex(id, backupSep)
	if i <= 0 {
		return "", time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, id[i+1:])
	if err != nil {
		return "", time.Time{}, false
	}
	return id[:i], t.UTC(), true
}

// Backup is not offered: Vultr takes daily backups itself and has no
// on-demand backup (Capabilities.OnDemandBackup is false).
func (d *vultrDriver) Backup(context.Context, string, string) (*dbaas.Backup, error) {
	return nil, &dbaas.Error{Kind: dbaas.ErrUnsupported, Err: errors.New("no on-demand backup on Vultr: it takes daily backups, and restores any moment since the oldest")}
}

// backupTime reads the API's date and time of a backup.
func backupTime(b govultr.DatabaseBackup) (time.Time, bool) {
	if b.Date == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(dateLayout+" "+timeLayout, b.Date+" "+b.Time)
	return t.UTC(), err == nil
}

// backupInfo reads the oldest and latest backup times; ok is false while
// the database has none.
func (d *vultrDriver) backupInfo(ctx context.Context, id string) (oldest, latest time.Time, ok bool, err error) {
	var info *govultr.DatabaseBackups
	err = d.call(ctx, true, func(ctx context.Context) (err error) {
		info, _, err = d.client.Database.GetBackupInformation(ctx, url.PathEscape(id))
		return err
	})
	if err != nil {
		return time.Time{}, time.Time{}, false, err
	}
	oldest, ok1 := backupTime(info.OldestBackup)
	latest, ok2 := backupTime(info.LatestBackup)
	if !ok2 {
		return time.Time{}, time.Time{}, false, nil
	}
	if !ok1 {
		oldest = latest
	}
	return oldest, latest, true, nil
}

// Backups lists what Vultr reports: the oldest and the latest daily
// backup, and the point-in-time window from the oldest to now.
func (d *vultrDriver) Backups(ctx context.Context, id string) ([]*dbaas.Backup, error) {
	oldest, latest, ok, err := d.backupInfo(ctx, id)
	if err != nil || !ok {
		return []*dbaas.Backup{}, err
	}
	daily := func(t time.Time) *dbaas.Backup {
		return &dbaas.Backup{ID: backupID(id, t), InstanceID: id, Name: "daily " + t.Format(dateTimeLayout),
			Kind: dbaas.BackupAutomated, Status: dbaas.BackupAvailable, CreatedAt: t}
	}
	out := []*dbaas.Backup{daily(oldest)}
	if !latest.Equal(oldest) {
		out = append(out, daily(latest))
	}
	end := d.clock.Now().UTC().Truncate(time.Second)
	if end.Before(latest) {
		end = latest
	}
	out = append(out, &dbaas.Backup{ID: id + windowSuffix, InstanceID: id, Name: "point-in-time window",
		Kind: dbaas.BackupPointInTime, Status: dbaas.BackupAvailable, CreatedAt: oldest,
		EarliestRestore: oldest, LatestRestore: end})
	return out, nil
}

// forkRequest is the body of POST /v2/databases/{id}/fork as the official
// description has it. govultr's DatabaseForkReq has no vpc_id, so the
// body is sent through govultr's request builder.
type forkRequest struct {
	Label  string `json:"label"`
	Region string `json:"region"`
	Plan   string `json:"plan"`
	VPCID  string `json:"vpc_id,omitempty"`
	Type   string `json:"type,omitempty"`
	Date   string `json:"date,omitempty"`
	Time   string `json:"time,omitempty"`
}

// Restore makes a new database from a backup (its latest backup is
// restored as such, an older one as the moment it was taken) or from a
// database as it was at a time, by forking the source: the new database
// takes the spec's plan, region, VPC and trusted IPs.
func (d *vultrDriver) Restore(ctx context.Context, from dbaas.RestorePoint, spec dbaas.Spec) (*dbaas.Instance, error) {
	srcID, at := from.InstanceID, from.Time.UTC()
	if !from.IsPointInTime() {
		if strings.HasSuffix(from.BackupID, windowSuffix) {
			return nil, dbaas.InvalidField("from", "is a point-in-time window: restore a moment of it (dbaas.AtTime; the CLI's --from and --at)")
		}
		var ok bool
		if srcID, at, ok = parseBackupID(from.BackupID); !ok {
			return nil, &dbaas.Error{Kind: dbaas.ErrNotFound, Err: errors.New("no Vultr backup has this id (ids are database-id@time, as Backups lists them)")}
		}
	}
	if from.IsPointInTime() && at.After(d.clock.Now()) {
		return nil, dbaas.InvalidField("from.time", "is in the future: the point-in-time window ends now")
	}
	p, err := d.checkSpec(ctx, spec)
	if err != nil {
		return nil, err
	}
	src, err := d.get(ctx, srcID)
	if err != nil {
		return nil, err
	}
	if e := engineOf(src.DatabaseEngine); e != spec.Engine {
		return nil, dbaas.InvalidField("engine", fmt.Sprintf("the backup is of a %s database", e))
	}
	if spec.Version != "" && spec.Version != src.DatabaseEngineVersion {
		return nil, dbaas.InvalidField("version", "a restore keeps the source's version "+src.DatabaseEngineVersion+": leave empty")
	}
	oldest, latest, ok, err := d.backupInfo(ctx, srcID)
	if err != nil {
		return nil, err
	}
	req := forkRequest{Label: spec.Name, Region: p.region, Plan: p.plan, VPCID: spec.PrivateNetwork}
	switch {
	case !ok && from.IsPointInTime():
		return nil, dbaas.InvalidField("from.time", "the database has no backup yet, so no point-in-time window")
	case !ok || at.Before(oldest):
		if from.IsPointInTime() {
			return nil, dbaas.InvalidField("from.time", fmt.Sprintf("is before the point-in-time window, which starts at %s", oldest.Format(time.RFC3339)))
		}
		return nil, &dbaas.Error{Kind: dbaas.ErrNotFound, Err: errors.New("the backup is no longer kept")}
	case !from.IsPointInTime() && at.Equal(latest):
		req.Type = "basebackup"
	case !from.IsPointInTime() && !at.Equal(oldest):
		return nil, &dbaas.Error{Kind: dbaas.ErrNotFound, Err: errors.New("no backup was taken at this time (Backups lists the oldest and the latest)")}
	default:
		req.Type, req.Date, req.Time = "pitr", at.Format(dateLayout), at.Format(timeLayout)
	}
	inst, err := d.createOnce(ctx, spec.Name, func(ctx context.Context) (*govultr.Database, error) {
		var db govultr.Database
		err := d.call(ctx, false, func(ctx context.Context) error {
			r, err := d.client.NewRequest(ctx, http.MethodPost, "/v2/databases/"+url.PathEscape(srcID)+"/fork", req)
			if err != nil {
				return err
			}
			var out struct {
				Database *govultr.Database `json:"database"`
			}
			if _, err = d.client.DoWithContext(ctx, r, &out); err != nil {
				return err
			}
			if out.Database == nil {
				return errors.New("fork: the API answered no database")
			}
			db = *out.Database
			return nil
		})
		return &db, err
	})
	if err != nil {
		return nil, err
	}
	// The fork keeps the source's trusted IPs; the spec's replace them.
	got, err := d.Access(ctx, inst.ID)
	if err == nil && !sameSources(got, spec.Access) && (len(spec.Access) > 0 || spec.AllowWorld) {
		err = d.putTrustedIPs(dbaas.WithWorldAccess(ctx), inst.ID, spec.Access)
	}
	if err != nil {
		// Nothing half made: the new database goes if it cannot be given
		// the access the spec asks for.
		derr := d.Delete(context.WithoutCancel(ctx), inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true})
		return nil, errors.Join(fmt.Errorf("set the trusted IPs of restored database %s: %w", inst.ID, err), derr)
	}
	return inst, nil
}

func sameSources(a, b []dbaas.Source) bool {
	if len(a) != len(b) {
		return false
	}
	for _, s := range a {
		if !slices.Contains(b, s) {
			return false
		}
	}
	return true
}
