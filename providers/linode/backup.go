package linode

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Backup is ErrUnsupported: Linode takes daily backups on its own and its
// API has no on-demand backup (the backup endpoints were removed).
func (p *Provider) Backup(ctx context.Context, id, name string) (*dbaas.Backup, error) {
	return nil, dbaas.Unsupported(Name, "backup", "Linode has no on-demand backup; restore to a point in time instead (Backups, Restore)")
}

// Backups returns the window inside which the instance can be restored,
// as one entry of kind point-in-time: from the API's oldest_restore_time
// to now. Its ID restores the latest moment; restore another moment with
// dbaas.PointInTime(id, t). An instance still provisioning has none. One
// API call.
func (p *Provider) Backups(ctx context.Context, id string) ([]*dbaas.Backup, error) {
	iid, err := parseID("backups", id)
	if err != nil {
		return nil, err
	}
	rec, err := p.get(ctx, "backups", iid)
	if err != nil {
		return nil, err
	}
	if rec.oldest == nil {
		return []*dbaas.Backup{}, nil
	}
	latest := p.clock.Now().UTC().Truncate(time.Second)
	oldest := rec.oldest.UTC()
	return []*dbaas.Backup{{
		ID: dbaas.PointInTime(id, latest), InstanceID: id, Name: rec.label + "-restorable",
		Kind: dbaas.BackupPointInTime, Status: dbaas.BackupAvailable, CreatedAt: oldest,
		Engine: dbaasEngine(rec.engine), EarliestRestore: oldest, LatestRestore: latest,
	}}, nil
}

// Restore makes a new instance, described by spec, as a fork of another
// one at a point in time: backupID is a reference made by
// dbaas.PointInTime (as the ID Backups returns). The spec is checked as
// Create checks it, its engine must be the source's, and the time must lie
// inside the source's window, before any create is sent. The fork's body
// (fork: {source, restore_time}) is built here because linodego does not
// send restore_time. Sent as Create sends, never twice.
func (p *Provider) Restore(ctx context.Context, backupID string, spec dbaas.Spec) (*dbaas.Instance, error) {
	body, err := p.checkSpec("restore", spec)
	if err != nil {
		return nil, err
	}
	source, at, ok, err := dbaas.ParsePointInTime(backupID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &dbaas.Error{Op: "restore", ID: truncate(backupID), Kind: dbaas.ErrInvalidArgument, Field: "backup_id",
			Err: errors.New("restores on Linode are to a point in time: want a reference made by dbaas.PointInTime (instance@time), such as a Backups ID")}
	}
	iid, err := parseID("restore", source)
	if err != nil {
		return nil, err
	}
	if eng, _ := linodeEngine(spec.Engine); eng != iid.engine {
		return nil, dbaas.InvalidField("engine", fmt.Sprintf("must be the source's engine (%s)", dbaasEngine(iid.engine)))
	}
	src, err := p.get(ctx, "restore", iid)
	if err != nil {
		return nil, err
	}
	at = at.UTC()
	switch {
	case src.oldest == nil:
		return nil, dbaas.NewError("restore", source, dbaas.ErrConflict, fmt.Errorf("instance is %s and has nothing to restore yet", src.status))
	case at.Before(src.oldest.UTC()):
		return nil, dbaas.InvalidField("backup_id", fmt.Sprintf("%s is before the oldest restorable time %s", at.Format(time.RFC3339), src.oldest.UTC().Format(time.RFC3339)))
	case at.After(p.clock.Now()):
		return nil, dbaas.InvalidField("backup_id", at.Format(time.RFC3339)+" is in the future")
	}
	major, _, _ := strings.Cut(src.version, ".")
	if spec.Version == "" {
		body.Engine = iid.engine + "/" + major
	} else if body.Engine != iid.engine+"/"+major {
		return nil, dbaas.InvalidField("version", "must be the source's major version ("+major+") or empty")
	}
	body.Fork = &forkBody{Source: iid.num, RestoreTime: at.Format(apiTime)}
	rec, err := p.guardedCreate(ctx, "restore", iid.engine, body)
	if rec == nil {
		return nil, err
	}
	return rec.instance(), err
}
