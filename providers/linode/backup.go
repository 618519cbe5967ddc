package linode

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// windowSuffix ends the id of the point-in-time window Backups reports:
// restore from it with dbaas.AtTime, not dbaas.FromBackup.
const windowSuffix = "@point-in-time"

// Backup is never called (capabilities.OnDemandBackup is false): Linode
// takes daily backups on its own and its API has no on-demand backup
// (the backup endpoints were removed).
func (p *client) Backup(context.Context, string, string) (*dbaas.Backup, error) {
	return nil, dbaas.ErrUnsupported
}

// Backups returns the window inside which the instance can be restored,
// as one entry of kind point-in-time: from the API's oldest_restore_time
// to now. Restore a moment of it with dbaas.AtTime(id, t). An instance
// still provisioning has none. One API call.
func (p *client) Backups(ctx context.Context, id string) ([]*dbaas.Backup, error) {
	_, rec, err := p.read(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.oldest == nil {
		return []*dbaas.Backup{}, nil
	}
	latest := p.clock.Now().UTC().Truncate(time.Second)
	oldest := rec.oldest.UTC()
	return []*dbaas.Backup{{
		ID: id + windowSuffix, InstanceID: id, Name: rec.label + "-restorable",
		Kind: dbaas.BackupPointInTime, Status: dbaas.BackupAvailable, CreatedAt: oldest,
		Engine: dbaasEngine(rec.engine), EarliestRestore: oldest, LatestRestore: latest,
	}}, nil
}

// Restore makes a new instance, described by spec, as a fork of another
// one at a point in time (dbaas.AtTime; the portable layer refuses a
// backup, which Linode does not have). The spec is checked as Create
// checks it, its engine must be the source's, and the time must lie
// inside the source's window, before any create is sent. The fork's body
// (fork: {source, restore_time}) is built here because linodego does not
// send restore_time. Sent as Create sends, never twice.
func (p *client) Restore(ctx context.Context, from dbaas.RestorePoint, spec dbaas.Spec) (*dbaas.Instance, error) {
	body, err := p.checkSpec(spec)
	if err != nil {
		return nil, err
	}
	iid, err := parseID("from.instance_id", from.InstanceID)
	if err != nil {
		return nil, err
	}
	if eng, _ := linodeEngine(spec.Engine); eng != iid.engine {
		return nil, dbaas.InvalidField("engine", fmt.Sprintf("must be the source's engine (%s)", dbaasEngine(iid.engine)))
	}
	src, err := p.get(ctx, iid)
	if err != nil {
		return nil, err
	}
	at := from.Time.UTC()
	switch {
	case src.oldest == nil:
		return nil, &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf("instance is %s and has nothing to restore yet", src.status)}
	case at.Before(src.oldest.UTC()):
		return nil, dbaas.InvalidField("from.time", fmt.Sprintf("%s is before the oldest restorable time %s", at.Format(time.RFC3339), src.oldest.UTC().Format(time.RFC3339)))
	case at.After(p.clock.Now()):
		return nil, dbaas.InvalidField("from.time", at.Format(time.RFC3339)+" is in the future")
	}
	major, _, _ := strings.Cut(src.version, ".")
	if spec.Version == "" {
		body.Engine = iid.engine + "/" + major
	} else if body.Engine != iid.engine+"/"+major {
		return nil, dbaas.InvalidField("version", "must be the source's major version ("+major+") or empty")
	}
	body.Fork = &forkBody{Source: iid.num, RestoreTime: at.Format(apiTime)}
	rec, err := p.guardedCreate(ctx, iid.engine, body)
	if rec == nil {
		return nil, err
	}
	return rec.instance(), err
}
