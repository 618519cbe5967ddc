package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Backup takes a manual snapshot (CreateDBSnapshot) named name, or
// "<id>-<yyyymmddhhmmss>" when name is empty. The instance must be
// available (ErrConflict otherwise).
func (p *Provider) Backup(ctx context.Context, id, name string) (*dbaas.Backup, error) {
	if id == "" {
		return nil, dbaas.NewError("backup", id, dbaas.ErrInvalidArgument, errEmptyID)
	}
	if name == "" {
		name = id + "-" + p.opts.Clock.Now().UTC().Format("20060102150405")
	}
	if len(name) > 255 || !identifierRE.MatchString(name) {
		return nil, dbaas.NewError("backup", id, dbaas.ErrInvalidArgument,
			dbaas.InvalidField("name", "must be 1 to 255 letters, digits and hyphens, start with a letter, not end with a hyphen and have no two hyphens in a row"))
	}
	out, err := p.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String(id), DBSnapshotIdentifier: aws.String(name)})
	if err != nil {
		return nil, wrap("backup", id, err)
	}
	return toBackup(out.DBSnapshot), nil
}

// toBackup converts a snapshot. A final snapshot is a manual one that
// carries, copied from its instance, the final-snapshot tag naming it:
// RDS itself does not tell final snapshots apart.
func toBackup(s *types.DBSnapshot) *dbaas.Backup {
	b := &dbaas.Backup{
		ID:         aws.ToString(s.DBSnapshotIdentifier),
		InstanceID: aws.ToString(s.DBInstanceIdentifier),
		Name:       aws.ToString(s.DBSnapshotIdentifier),
		Kind:       dbaas.BackupManual,
		Status:     aws.ToString(s.Status),
		Engine:     dbaas.Engine(aws.ToString(s.Engine)),
		SizeBytes:  int64(aws.ToInt32(s.AllocatedStorage)) << 30,
	}
	if e, err := dbaas.ParseEngine(string(b.Engine)); err == nil {
		b.Engine = e
	}
	if s.SnapshotCreateTime != nil {
		b.CreatedAt = s.SnapshotCreateTime.UTC()
	}
	switch {
	case aws.ToString(s.SnapshotType) == "automated":
		b.Kind = dbaas.BackupAutomated
	default:
		if v, ok := tagValue(s.TagList, tagFinalSnapshot); ok && v == b.ID {
			b.Kind = dbaas.BackupFinal
		}
	}
	return b
}

// Backups lists the instance's automated and manual snapshots, oldest
// first, and, while the instance exists with automated backups on, its
// point-in-time window (Kind point-in-time, ID a PointInTime reference to
// its latest restorable time). The snapshots of a deleted instance are
// still listed.
func (p *Provider) Backups(ctx context.Context, id string) ([]*dbaas.Backup, error) {
	d, err := p.describe(ctx, "backups", id)
	if err != nil && !errors.Is(err, dbaas.ErrNotFound) {
		return nil, err
	}
	var out []*dbaas.Backup
	pages := rds.NewDescribeDBSnapshotsPaginator(p.rds, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String(id)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, wrap("backups", id, err)
		}
		for i := range page.DBSnapshots {
			out = append(out, toBackup(&page.DBSnapshots[i]))
		}
	}
	if d == nil && len(out) == 0 {
		return nil, dbaas.NewError("backups", id, dbaas.ErrNotFound, nil)
	}
	slices.SortStableFunc(out, func(a, b *dbaas.Backup) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if d != nil && aws.ToInt32(d.BackupRetentionPeriod) > 0 && d.LatestRestorableTime != nil {
		earliest := time.Time{}
		for _, b := range out {
			if b.Kind == dbaas.BackupAutomated && b.Status == dbaas.BackupAvailable && (earliest.IsZero() || b.CreatedAt.Before(earliest)) {
				earliest = b.CreatedAt
			}
		}
		if !earliest.IsZero() {
			latest := d.LatestRestorableTime.UTC()
			out = append(out, &dbaas.Backup{
				ID: dbaas.PointInTime(id, latest), InstanceID: id, Name: "point-in-time", Kind: dbaas.BackupPointInTime,
				Status: dbaas.BackupAvailable, Engine: toInstance(d, "").Engine, CreatedAt: earliest,
				EarliestRestore: earliest, LatestRestore: latest,
			})
		}
	}
	return out, nil
}

// Restore makes a new instance, named spec.Name, from a snapshot id
// (RestoreDBInstanceFromDBSnapshot) or from a dbaas.PointInTime reference
// (RestoreDBInstanceToPointInTime). The new instance keeps the master
// user and password of the backup, so spec must leave them empty.
func (p *Provider) Restore(ctx context.Context, backupID string, spec dbaas.Spec) (*dbaas.Instance, error) {
	if backupID == "" {
		return nil, dbaas.NewError("restore", spec.Name, dbaas.ErrInvalidArgument, dbaas.InvalidField("backup_id", "is empty"))
	}
	source, at, pitr, err := dbaas.ParsePointInTime(backupID)
	if err != nil {
		return nil, dbaas.NewError("restore", spec.Name, dbaas.ErrInvalidArgument, err)
	}
	pl, err := p.plan(&spec, true)
	if err != nil {
		return nil, dbaas.NewError("restore", spec.Name, dbaas.Kind(err), err)
	}
	// The backup's engine must be the spec's: check it before making
	// anything.
	var engine, sourceID string
	if pitr {
		d, err := p.describe(ctx, "restore", source)
		if err != nil {
			return nil, err
		}
		engine, sourceID = string(toInstance(d, "").Engine), source
	} else {
		out, err := p.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(backupID)})
		if err != nil {
			return nil, wrap("restore", backupID, err)
		}
		if len(out.DBSnapshots) == 0 {
			return nil, dbaas.NewError("restore", backupID, dbaas.ErrNotFound, nil)
		}
		b := toBackup(&out.DBSnapshots[0])
		engine, sourceID = string(b.Engine), b.InstanceID
	}
	if engine != string(spec.Engine) {
		return nil, dbaas.NewError("restore", spec.Name, dbaas.ErrInvalidArgument,
			dbaas.InvalidField("engine", fmt.Sprintf("the backup holds a %s database, not %s", engine, spec.Engine)))
	}
	var m made
	groupID, err := p.prepare(ctx, "restore", &spec, pl, &m)
	if err != nil {
		return nil, m.wrap(err)
	}
	token := newToken()
	var d *types.DBInstance
	// Both restores take the same settings; only the source differs.
	if pitr {
		var out *rds.RestoreDBInstanceToPointInTimeOutput
		out, err = p.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
			SourceDBInstanceIdentifier: aws.String(source), TargetDBInstanceIdentifier: aws.String(spec.Name),
			RestoreTime: aws.Time(at), DBInstanceClass: aws.String(spec.Size), Port: aws.Int32(int32(pl.port)),
			PubliclyAccessible: aws.Bool(spec.PublicAccess), DeletionProtection: aws.Bool(spec.DeletionProtection),
			StorageType: aws.String(pl.storageType), VpcSecurityGroupIds: []string{groupID}, Tags: p.tags(&spec, pl, token),
			CopyTagsToSnapshot: aws.Bool(true), AvailabilityZone: nonEmpty(pl.az), DBSubnetGroupName: nonEmpty(pl.subnetGroup),
		})
		if err == nil {
			d = out.DBInstance
		}
	} else {
		var out *rds.RestoreDBInstanceFromDBSnapshotOutput
		out, err = p.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
			DBSnapshotIdentifier: aws.String(backupID), DBInstanceIdentifier: aws.String(spec.Name),
			DBInstanceClass: aws.String(spec.Size), Port: aws.Int32(int32(pl.port)),
			PubliclyAccessible: aws.Bool(spec.PublicAccess), DeletionProtection: aws.Bool(spec.DeletionProtection),
			StorageType: aws.String(pl.storageType), VpcSecurityGroupIds: []string{groupID}, Tags: p.tags(&spec, pl, token),
			CopyTagsToSnapshot: aws.Bool(true), AvailabilityZone: nonEmpty(pl.az), DBSubnetGroupName: nonEmpty(pl.subnetGroup),
		})
		if err == nil {
			d = out.DBInstance
		}
	}
	if err != nil {
		return p.restoreFailed(ctx, spec.Name, token, sourceID, m, err)
	}
	p.inheritPassword(spec.Name, sourceID)
	return toInstance(d, p.opts.Region), nil
}

func (p *Provider) restoreFailed(ctx context.Context, name, token, sourceID string, m made, err error) (*dbaas.Instance, error) {
	if code(err) == "DBInstanceAlreadyExists" {
		if inst, ok := p.ours(ctx, name, token); ok {
			p.inheritPassword(name, sourceID)
			return inst, nil
		}
	}
	return nil, m.wrap(wrap("restore", name, err))
}

// inheritPassword remembers for a restored instance the password this
// Provider set on its source, which RDS carries over.
func (p *Provider) inheritPassword(id, source string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pw, ok := p.passwords[source]; ok {
		p.passwords[id] = pw
	}
}

// Delete deletes the instance. Unless opts.SkipFinalBackup, RDS takes a
// final snapshot named opts.FinalBackupName, else the instance's
// final_snapshot_identifier option, else "<id>-final-<time>"; the
// instance must then be available (ErrConflict otherwise).
func (p *Provider) Delete(ctx context.Context, id string, opts dbaas.DeleteOptions) error {
	if id == "" {
		return dbaas.NewError("delete", id, dbaas.ErrInvalidArgument, errEmptyID)
	}
	if opts.SkipFinalBackup && opts.FinalBackupName != "" {
		return dbaas.NewError("delete", id, dbaas.ErrInvalidArgument, dbaas.InvalidField("final_backup_name", "is set but SkipFinalBackup says to take none"))
	}
	if n := opts.FinalBackupName; n != "" && (len(n) > 255 || !identifierRE.MatchString(n)) {
		return dbaas.NewError("delete", id, dbaas.ErrInvalidArgument, dbaas.InvalidField("final_backup_name", "must be 1 to 255 letters, digits and hyphens, start with a letter, not end with a hyphen and have no two hyphens in a row"))
	}
	in := &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id)}
	if opts.SkipFinalBackup {
		in.SkipFinalSnapshot = aws.Bool(true)
	} else {
		d, err := p.describe(ctx, "delete", id)
		if err != nil {
			return err
		}
		tagged, _ := tagValue(d.TagList, tagFinalSnapshot)
		name := opts.FinalBackupName
		if name == "" {
			name = tagged
		}
		if name == "" {
			name = dbaas.FinalBackupName(opts, id, p.opts.Clock.Now())
		}
		if name != tagged {
			// The tag, copied to the final snapshot, is how Backups knows
			// it for a final one.
			_, err := p.rds.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{
				ResourceName: d.DBInstanceArn,
				Tags:         []types.Tag{{Key: aws.String(tagFinalSnapshot), Value: aws.String(name)}},
			})
			if err != nil {
				return wrap("delete", id, err)
			}
		}
		in.SkipFinalSnapshot = aws.Bool(false)
		in.FinalDBSnapshotIdentifier = aws.String(name)
	}
	if _, err := p.rds.DeleteDBInstance(ctx, in); err != nil {
		return wrap("delete", id, err)
	}
	p.mu.Lock()
	delete(p.passwords, id)
	p.mu.Unlock()
	return nil
}
