package memory

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// backupNameRE follows RDS snapshot identifiers, the strictest of the
// clouds, so that names that work here work there.
var backupNameRE = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9]|-[A-Za-z0-9])*$`)

const maxBackupNameLen = 255

func checkBackupName(op, id, field, name string) error {
	if len(name) > maxBackupNameLen || !backupNameRE.MatchString(name) {
		return newErr(nil, dbaas.InvalidField(field,
			fmt.Sprintf("must be 1 to %d letters, digits and single hyphens, starting with a letter and not ending with a hyphen", maxBackupNameLen)))
	}
	return nil
}

// windowSuffix ends the id of the point-in-time window entry of Backups:
// restore from it with dbaas.AtTime, not dbaas.FromBackup.
const windowSuffix = "@point-in-time"

type backup struct {
	id, name       string
	instanceID     string
	kind           dbaas.BackupKind
	engine         dbaas.Engine
	version        string
	user, database string
	password       dbaas.Secret
	port           int
	createdAt      time.Time
	readyAt        time.Time
	data           []entry
}

func (b *backup) status(now time.Time) dbaas.BackupStatus {
	if now.Before(b.readyAt) {
		return dbaas.BackupCreating
	}
	return dbaas.BackupAvailable
}

func (b *backup) view(now time.Time) *dbaas.Backup {
	var size int64
	for _, e := range b.data {
		size += int64(len(e.value))
	}
	return &dbaas.Backup{
		ID:         b.id,
		InstanceID: b.instanceID,
		Name:       b.name,
		Kind:       b.kind,
		Status:     b.status(now),
		CreatedAt:  b.createdAt,
		SizeBytes:  size,
		Engine:     b.engine,
	}
}

// newBackupLocked snapshots in's data as a backup; p.mu is held and name
// is known to be free.
func (p *store) newBackupLocked(in *instance, name string, kind dbaas.BackupKind, now time.Time) *backup {
	b := &backup{
		id:         fmt.Sprintf("bk-%06d", p.nextSeqLocked()),
		name:       name,
		instanceID: in.id,
		kind:       kind,
		engine:     in.engine,
		version:    in.version,
		user:       in.user,
		database:   in.database,
		password:   in.password,
		port:       in.port,
		createdAt:  now,
		readyAt:    now,
		data:       slices.Clone(in.data),
	}
	if kind == dbaas.BackupManual {
		b.readyAt = now.Add(p.opts.BackupDelay)
	}
	p.backups[b.id] = b
	p.backupIDs = append(p.backupIDs, b.id)
	p.names[name] = b.id
	return b
}

// Backup takes an on-demand backup of an available instance. name may be
// empty (then "<instance name>-<time>-<n>"); a name in use gives
// ErrAlreadyExists. The backup is "creating", and the instance backing-up,
// for Options.BackupDelay; the data it holds is the data at the call.
func (p *store) Backup(ctx context.Context, id, name string) (*dbaas.Backup, error) {
	if name != "" {
		if err := checkBackupName("backup", id, "name", name); err != nil {
			return nil, err
		}
	}
	if err := p.begin(ctx, "backup", id); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	in, err := p.lookupLocked("backup", id, now)
	if err != nil {
		return nil, err
	}
	if st := in.status(now); st != dbaas.StatusAvailable {
		return nil, conflict("backup", id, st, "a backup needs it available")
	}
	if name == "" {
		name = fmt.Sprintf("%s-%s-%d", in.name, now.UTC().Format("20060102150405"), p.seq+1)
	}
	if other, ok := p.names[name]; ok {
		return nil, newErr(dbaas.ErrAlreadyExists, fmt.Errorf("backup name %q is taken by backup %s", name, other))
	}
	b := p.newBackupLocked(in, name, dbaas.BackupManual, now)
	in.backingUpUntil = b.readyAt
	return b.view(now), nil
}

// Backups lists the backups of an instance, oldest first: its manual and
// final backups, which outlive it, and while it lives the point-in-time
// window (kind point-in-time, from when it became available or the start
// of its retention period to now). An id with neither gives ErrNotFound.
func (p *store) Backups(ctx context.Context, id string) ([]*dbaas.Backup, error) {
	if err := p.begin(ctx, "backups", id); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.sweepLocked(now)
	var out []*dbaas.Backup
	for _, bid := range p.backupIDs {
		if b := p.backups[bid]; b.instanceID == id {
			out = append(out, b.view(now))
		}
	}
	in, live := p.instances[id]
	if !live && len(out) == 0 {
		return nil, newErr(dbaas.ErrNotFound, fmt.Errorf("no instance or backup of instance %q", id))
	}
	if live {
		if earliest, ok := in.window(now); ok {
			out = append(out, &dbaas.Backup{
				ID:              id + windowSuffix,
				InstanceID:      id,
				Name:            "point-in-time",
				Kind:            dbaas.BackupPointInTime,
				Status:          dbaas.BackupAvailable,
				CreatedAt:       earliest,
				Engine:          in.engine,
				EarliestRestore: earliest,
				LatestRestore:   now,
			})
		}
	}
	slices.SortStableFunc(out, func(a, b *dbaas.Backup) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// window returns the start of the point-in-time window; ok is false while
// there is none (provisioning, restoring, deleting).
func (in *instance) window(now time.Time) (earliest time.Time, ok bool) {
	switch in.status(now) {
	case dbaas.StatusProvisioning, dbaas.StatusRestoring, dbaas.StatusDeleting:
		return time.Time{}, false
	}
	earliest = in.readyAt
	if floor := now.AddDate(0, 0, -in.retentionDays); earliest.Before(floor) {
		earliest = floor
	}
	return earliest, true
}

// Restore makes a new instance, described by spec, from a backup id or a
// point in time of a live instance (dbaas.AtTime). A point in time (whole
// seconds) must lie in the window Backups reports, its start rounded down
// to the second; the new instance holds every value written at or before
// it. The engine must be the backup's; the new instance keeps the
// backup's user and database (spec may repeat them but not change them)
// and takes spec's password when given, else the backup's.
func (p *store) Restore(ctx context.Context, from dbaas.RestorePoint, spec dbaas.Spec) (*dbaas.Instance, error) {
	backupID := from.BackupID
	if err := p.begin(ctx, "restore", backupID); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	var src *backup
	var err error
	if from.IsPointInTime() {
		src, err = p.pointInTimeLocked(from.InstanceID, from.Time, now)
	} else {
		src, err = p.restorableLocked(backupID, now)
	}
	if err != nil {
		return nil, err
	}
	if err := checkRestoreSpec(backupID, &spec, src); err != nil {
		return nil, err
	}
	if id, ok := p.byName[spec.Name]; ok {
		return nil, newErr(dbaas.ErrAlreadyExists, fmt.Errorf("instance %s has that name", id))
	}
	spec.AdminUser, spec.Database = src.user, src.database
	if spec.AdminPassword.IsZero() {
		spec.AdminPassword = src.password
	}
	if spec.Port == 0 {
		spec.Port = src.port
	}
	if spec.Version == "" {
		spec.Version = src.version
	}
	in := p.newInstanceLocked(spec, now)
	in.restored = true
	in.data = slices.Clone(src.data)
	return in.view(now), nil
}

func (p *store) restorableLocked(backupID string, now time.Time) (*backup, error) {
	p.sweepLocked(now)
	b, ok := p.backups[backupID]
	if !ok {
		return nil, newErr(dbaas.ErrNotFound, fmt.Errorf("no backup with id %q", backupID))
	}
	if st := b.status(now); st != dbaas.BackupAvailable {
		return nil, newErr(dbaas.ErrConflict, fmt.Errorf("backup is %s: wait until it is available", st))
	}
	return b, nil
}

// pointInTimeLocked builds the state of instance id at t as a transient
// backup.
func (p *store) pointInTimeLocked(id string, t, now time.Time) (*backup, error) {
	in, err := p.lookupLocked("restore", id, now)
	if err != nil {
		return nil, err
	}
	earliest, ok := in.window(now)
	if !ok {
		return nil, conflict("restore", id, in.status(now), "it has no point-in-time window")
	}
	if t.Before(earliest.Truncate(time.Second)) || t.After(now) {
		return nil, newErr(nil, dbaas.InvalidField("from.time",
			fmt.Sprintf("point in time %s is outside the restorable window %s to %s",
				t.UTC().Format(time.RFC3339), earliest.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))))
	}
	b := &backup{instanceID: id, engine: in.engine, version: in.version, user: in.user,
		database: in.database, password: in.password, port: in.port}
	for _, e := range in.data {
		if !e.at.After(t) {
			b.data = append(b.data, e)
		}
	}
	return b, nil
}

func checkRestoreSpec(backupID string, spec *dbaas.Spec, src *backup) error {
	switch {
	case spec.Engine != src.engine:
		return newErr(nil, dbaas.InvalidField("engine", fmt.Sprintf("must be %s, the engine of the backup", src.engine)))
	case spec.AdminUser != "" && spec.AdminUser != src.user:
		return newErr(nil, dbaas.InvalidField("admin_user", fmt.Sprintf("a restore keeps the backup's user %s", src.user)))
	case spec.Database != "" && spec.Database != src.database:
		return newErr(nil, dbaas.InvalidField("database", fmt.Sprintf("a restore keeps the backup's database %s", src.database)))
	}
	return nil
}
