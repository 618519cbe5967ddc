package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
)

// windowSuffix ends the id of the point-in-time window entry of Backups.
// It cannot be a snapshot identifier, so Restore knows the entry for
// what it is.
const windowSuffix = "@point-in-time"

// identifierRule is RDS's rule for instance and snapshot identifiers.
const identifierRule = "must be 1 to 255 letters, digits and hyphens, start with a letter, not end with a hyphen and have no two hyphens in a row"

func validIdentifier(s string) bool { return len(s) <= 255 && identifierRE.MatchString(s) }

// Backup takes a manual snapshot (CreateDBSnapshot) named name, or
// "<id>-<yyyymmddhhmmss>" when name is empty. The instance must be
// available (ErrConflict otherwise).
func (d *rdsDriver) Backup(ctx context.Context, id, name string) (*dbaas.Backup, error) {
	if name == "" {
		name = id + "-" + d.opts.Clock.Now().UTC().Format("20060102150405")
	}
	if !validIdentifier(name) {
		return nil, dbaas.InvalidField("name", identifierRule)
	}
	out, err := d.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String(id), DBSnapshotIdentifier: aws.String(name)})
	if err != nil {
		return nil, apiErr(err)
	}
	return toBackup(out.DBSnapshot), nil
}

// snapshotStatus maps every RDS DB snapshot status word to the normalized
// one; words not listed become unknown.
var snapshotStatus = map[string]dbaas.BackupStatus{
	"creating":                dbaas.BackupCreating,
	"copying":                 dbaas.BackupCreating,
	"available":               dbaas.BackupAvailable,
	"deleting":                dbaas.BackupDeleting,
	"deleted":                 dbaas.BackupDeleting,
	"failed":                  dbaas.BackupFailed,
	"incompatible-restore":    dbaas.BackupFailed,
	"incompatible-parameters": dbaas.BackupFailed,
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
		RawStatus:  aws.ToString(s.Status),
		Status:     dbaas.BackupUnknown,
		Engine:     dbaas.Engine(aws.ToString(s.Engine)),
		SizeBytes:  int64(aws.ToInt32(s.AllocatedStorage)) << 30,
	}
	if st, ok := snapshotStatus[strings.ToLower(b.RawStatus)]; ok {
		b.Status = st
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
// point-in-time window (Kind point-in-time; restore it with
// dbaas.AtTime). The snapshots of a deleted instance are still listed.
func (d *rdsDriver) Backups(ctx context.Context, id string) ([]*dbaas.Backup, error) {
	db, derr := d.describe(ctx, id)
	if derr != nil && !isNotFound(derr) {
		return nil, derr
	}
	// RDS takes DBInstanceIdentifier only for an existing instance: the
	// snapshots of a deleted one (its final snapshot) are found by
	// listing them all and reading the instance each names.
	in := &rds.DescribeDBSnapshotsInput{}
	if db != nil {
		in.DBInstanceIdentifier = aws.String(id)
	}
	var out []*dbaas.Backup
	pages := rds.NewDescribeDBSnapshotsPaginator(d.rds, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, apiErr(err)
		}
		for i := range page.DBSnapshots {
			if sn := &page.DBSnapshots[i]; strings.EqualFold(aws.ToString(sn.DBInstanceIdentifier), id) {
				out = append(out, toBackup(sn))
			}
		}
	}
	if db == nil && len(out) == 0 {
		return nil, derr
	}
	slices.SortStableFunc(out, func(a, b *dbaas.Backup) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if db != nil && aws.ToInt32(db.BackupRetentionPeriod) > 0 && db.LatestRestorableTime != nil {
		earliest := time.Time{}
		for _, b := range out {
			if b.Kind == dbaas.BackupAutomated && b.Status == dbaas.BackupAvailable && (earliest.IsZero() || b.CreatedAt.Before(earliest)) {
				earliest = b.CreatedAt
			}
		}
		if !earliest.IsZero() {
			latest := db.LatestRestorableTime.UTC()
			out = append(out, &dbaas.Backup{
				ID: id + windowSuffix, InstanceID: id, Name: "point-in-time", Kind: dbaas.BackupPointInTime,
				Status: dbaas.BackupAvailable, Engine: toInstance(db, "").Engine, CreatedAt: earliest,
				EarliestRestore: earliest, LatestRestore: latest,
			})
		}
	}
	return out, nil
}

// Restore makes a new instance, named spec.Name, from a snapshot
// (RestoreDBInstanceFromDBSnapshot) or from an instance at a time
// (RestoreDBInstanceToPointInTime). The new instance listens on the
// source's port unless spec.Port is set, and keeps the master user and
// password of the backup, so spec must leave them empty. RDS makes no
// managed secret for a restored instance: Connection has its password
// when this process set the source's (or restored the source), else
// Options.MasterPassword, else none.
func (d *rdsDriver) Restore(ctx context.Context, from dbaas.RestorePoint, spec dbaas.Spec) (*dbaas.Instance, error) {
	if strings.HasSuffix(from.BackupID, windowSuffix) {
		return nil, dbaas.InvalidField("from", "is the point-in-time window of Backups, not a snapshot: restore it with dbaas.AtTime")
	}
	pl, err := d.plan(&spec, true)
	if err != nil {
		return nil, err
	}
	// The backup's engine must be the spec's: check it before making
	// anything.
	// The new instance listens on the source's port unless spec says
	// otherwise (RDS's default too), and has the source's master
	// password, known to this process when it set it.
	var engine dbaas.Engine
	var port int32
	var password dbaas.Secret
	if from.IsPointInTime() {
		db, err := d.describe(ctx, from.InstanceID)
		if err != nil {
			return nil, err
		}
		engine = toInstance(db, "").Engine
		port = aws.ToInt32(db.DbInstancePort)
		if db.Endpoint != nil && aws.ToInt32(db.Endpoint.Port) != 0 {
			port = aws.ToInt32(db.Endpoint.Port)
		}
		password, _ = d.knownPassword(aws.ToString(db.DbiResourceId), from.InstanceID)
	} else {
		out, err := d.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(from.BackupID)})
		if err != nil {
			return nil, apiErr(err)
		}
		if len(out.DBSnapshots) == 0 {
			return nil, &dbaas.Error{Kind: dbaas.ErrNotFound, Err: fmt.Errorf("RDS describes no DB snapshot %s", from.BackupID)}
		}
		sn := &out.DBSnapshots[0]
		engine, port = toBackup(sn).Engine, aws.ToInt32(sn.Port)
		password, _ = d.knownPassword(aws.ToString(sn.DbiResourceId), aws.ToString(sn.DBInstanceIdentifier))
	}
	if pl.port != 0 {
		port = int32(pl.port)
	}
	if port == 0 {
		port = int32(spec.Engine.DefaultPort())
	}
	if engine != spec.Engine {
		return nil, dbaas.InvalidField("engine", fmt.Sprintf("the backup holds a %s database, not %s", engine, spec.Engine))
	}
	if err := d.exists(ctx, spec.Name); err != nil {
		return nil, err
	}
	var m made
	groupID, err := d.prepare(ctx, &spec, pl, port, &m)
	if err != nil {
		return nil, m.wrap(err)
	}
	token := newToken()
	return d.launch(ctx, spec.Name, token, m, groupID, password, func() (*types.DBInstance, error) {
		if from.IsPointInTime() {
			out, err := d.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
				SourceDBInstanceIdentifier: aws.String(from.InstanceID), TargetDBInstanceIdentifier: aws.String(spec.Name),
				RestoreTime: aws.Time(from.Time), DBInstanceClass: aws.String(spec.Size), Port: aws.Int32(port),
				PubliclyAccessible: aws.Bool(spec.PublicAccess), DeletionProtection: aws.Bool(spec.DeletionProtection),
				StorageType: aws.String(pl.storageType), VpcSecurityGroupIds: []string{groupID}, Tags: tags(&spec, pl, token),
				CopyTagsToSnapshot: aws.Bool(true), AvailabilityZone: nonEmpty(pl.az), DBSubnetGroupName: nonEmpty(pl.subnetGroup),
			})
			if err != nil {
				return nil, err
			}
			return out.DBInstance, nil
		}
		out, err := d.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
			DBSnapshotIdentifier: aws.String(from.BackupID), DBInstanceIdentifier: aws.String(spec.Name),
			DBInstanceClass: aws.String(spec.Size), Port: aws.Int32(port),
			PubliclyAccessible: aws.Bool(spec.PublicAccess), DeletionProtection: aws.Bool(spec.DeletionProtection),
			StorageType: aws.String(pl.storageType), VpcSecurityGroupIds: []string{groupID}, Tags: tags(&spec, pl, token),
			CopyTagsToSnapshot: aws.Bool(true), AvailabilityZone: nonEmpty(pl.az), DBSubnetGroupName: nonEmpty(pl.subnetGroup),
		})
		if err != nil {
			return nil, err
		}
		return out.DBInstance, nil
	})
}

// Delete deletes the instance. Unless opts.SkipFinalBackup, RDS takes a
// final snapshot named opts.FinalBackupName, else the instance's
// final_snapshot_identifier option, else "<id>-final-<time>"; the
// instance must then be available (ErrConflict otherwise).
func (d *rdsDriver) Delete(ctx context.Context, id string, opts dbaas.DeleteOptions) error {
	if n := opts.FinalBackupName; n != "" && !validIdentifier(n) {
		return dbaas.InvalidField("final_backup_name", identifierRule)
	}
	in := &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String(id), SkipFinalSnapshot: aws.Bool(opts.SkipFinalBackup)}
	db, err := d.describe(ctx, id)
	if err != nil {
		return err
	}
	own, err := d.ownGroupOf(ctx, db)
	if err != nil {
		return err
	}
	if !opts.SkipFinalBackup {
		tagged, _ := tagValue(db.TagList, tagFinalSnapshot)
		name := opts.FinalBackupName
		if name == "" {
			name = tagged
		}
		if name == "" {
			name = driver.FinalBackupName(opts, id, d.opts.Clock.Now())
		}
		if name != tagged {
			// The tag, copied to the final snapshot, is how Backups knows
			// it for a final one.
			_, err := d.rds.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{
				ResourceName: db.DBInstanceArn,
				Tags:         []types.Tag{{Key: aws.String(tagFinalSnapshot), Value: aws.String(name)}},
			})
			if err != nil {
				return apiErr(err)
			}
		}
		in.FinalDBSnapshotIdentifier = aws.String(name)
	}
	if _, err := d.rds.DeleteDBInstance(ctx, in); err != nil {
		return apiErr(err)
	}
	d.releaseGroup(ctx, id, own)
	// The password stays known: a restore of the final snapshot has it.
	return nil
}
