package exoscale

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v3 "github.com/exoscale/egoscale/v3"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Backup ids are "<service>/<backup-name>": a restore reads the service
// to learn the backup's time, which is what a fork takes. The
// point-in-time window of a service is listed as "<service>/point-in-time".
const pitrSuffix = "/point-in-time"

// Backup is unsupported: Exoscale takes backups on its schedule only.
func (p *provider) Backup(context.Context, string, string) (*dbaas.Backup, error) {
	return nil, &dbaas.Error{Kind: dbaas.ErrUnsupported, Err: errors.New("backups are taken on Exoscale's own schedule only: restore a listed one, or a point in time")}
}

// Backups lists the automatic backups, oldest first, and the window of
// point-in-time recovery when the plan has one.
func (p *provider) Backups(ctx context.Context, id string) ([]*dbaas.Backup, error) {
	s, err := p.get(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]*dbaas.Backup, 0, len(s.backups)+1)
	for _, b := range oldestFirst(s.backups) {
		out = append(out, &dbaas.Backup{ID: s.name + "/" + b.BackupName, InstanceID: s.name, Name: b.BackupName,
			Kind: dbaas.BackupAutomated, Status: dbaas.BackupAvailable, RawStatus: "available", CreatedAt: b.BackupTime,
			SizeBytes: b.DataSize, Engine: engineOf(s.typ)})
	}
	pitr, err := p.pointInTime(ctx, s)
	if err != nil {
		return nil, err
	}
	if pitr && len(s.backups) > 0 {
		out = append(out, &dbaas.Backup{ID: s.name + pitrSuffix, InstanceID: s.name, Name: "point-in-time",
			Kind: dbaas.BackupPointInTime, Status: dbaas.BackupAvailable, RawStatus: "pitr", Engine: engineOf(s.typ),
			EarliestRestore: out[0].CreatedAt, LatestRestore: p.clock.Now().UTC()})
	}
	return out, nil
}

func oldestFirst(list []v3.DBAASServiceBackup) []v3.DBAASServiceBackup {
	out := slices.Clone(list)
	slices.SortStableFunc(out, func(a, b v3.DBAASServiceBackup) int { return a.BackupTime.Compare(b.BackupTime) })
	return out
}

// pointInTime reports whether the service's plan restores to any time
// since its first backup (recovery-mode "pitr" in the plan's backup
// configuration).
func (p *provider) pointInTime(ctx context.Context, s *service) (bool, error) {
	plan, err := p.plan(ctx, s.typ, s.plan)
	if err != nil {
		return false, err
	}
	return plan.BackupConfig != nil && plan.BackupConfig.RecoveryMode == "pitr", nil
}

// plan returns a plan of a service type, read once per provider.
func (p *provider) plan(ctx context.Context, typ, name string) (v3.DBAASPlan, error) {
	p.plansMu.Lock()
	defer p.plansMu.Unlock()
	if p.plans == nil {
		r, err := p.client.ListDBAASServiceTypes(ctx)
		if err != nil {
			return v3.DBAASPlan{}, explain(err)
		}
		p.plans = map[string]v3.DBAASPlan{}
		for _, t := range r.DBAASServiceTypes {
			for _, pl := range t.Plans {
				p.plans[string(t.Name)+"/"+pl.Name] = pl
			}
		}
	}
	return p.plans[typ+"/"+name], nil
}

// Restore forks a new service from a backup (its time) or from a point in
// time of a service, with fork-from-service and recovery-backup-time.
func (p *provider) Restore(ctx context.Context, from dbaas.RestorePoint, spec dbaas.Spec) (*dbaas.Instance, error) {
	req, err := p.checkSpec(spec)
	if err != nil {
		return nil, err
	}
	source, backupName, ok := strings.Cut(from.BackupID, "/")
	if from.IsPointInTime() {
		source = from.InstanceID
	} else if !ok || backupName == "" || backupName == strings.TrimPrefix(pitrSuffix, "/") {
		return nil, &dbaas.Error{Kind: dbaas.ErrNotFound, Err: fmt.Errorf("no backup has the id %q: backup ids read <service>/<backup-name> (restore a point in time with dbaas.AtTime)", truncate(from.BackupID, 64))}
	}
	s, err := p.get(ctx, source)
	if err != nil {
		return nil, err
	}
	if engineOf(s.typ) != spec.Engine {
		return nil, dbaas.InvalidField("engine", fmt.Sprintf("is %s, but %s is a %s service: a restore keeps the engine", spec.Engine, s.name, engineOf(s.typ)))
	}
	if from.IsPointInTime() {
		if err := p.checkWindow(ctx, s, from.Time); err != nil {
			return nil, err
		}
		req.recoveryTime = from.Time.UTC().Format(time.RFC3339)
	} else {
		var found bool
		for _, b := range s.backups {
			if b.BackupName == backupName {
				req.recoveryTime, found = b.BackupTime.UTC().Format(time.RFC3339), true
			}
		}
		if !found {
			return nil, &dbaas.Error{Kind: dbaas.ErrNotFound, Err: fmt.Errorf("service %s has no backup named %q", s.name, truncate(backupName, 64))}
		}
	}
	req.forkFrom = s.name
	return p.create(ctx, spec, req)
}

// checkWindow refuses a time outside the service's point-in-time window.
func (p *provider) checkWindow(ctx context.Context, s *service, at time.Time) error {
	pitr, err := p.pointInTime(ctx, s)
	if err != nil {
		return err
	}
	if !pitr {
		return &dbaas.Error{Kind: dbaas.ErrUnsupported, Err: fmt.Errorf("plan %s of %s restores listed backups only, not a point in time", s.plan, s.name)}
	}
	backups := oldestFirst(s.backups)
	if len(backups) == 0 {
		return dbaas.InvalidField("from.time", s.name+" has no backup yet: its point-in-time window opens with the first one")
	}
	earliest, latest := backups[0].BackupTime, p.clock.Now()
	if at.Before(earliest.Truncate(time.Second)) || at.After(latest) {
		return dbaas.InvalidField("from.time", fmt.Sprintf("%s is outside the window of %s, %s to %s", at.UTC().Format(time.RFC3339), s.name,
			earliest.UTC().Format(time.RFC3339), latest.UTC().Format(time.RFC3339)))
	}
	return nil
}
