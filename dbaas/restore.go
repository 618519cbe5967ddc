package dbaas

import (
	"fmt"
	"time"
)

// RestorePoint says what Restore restores: a backup (FromBackup) or an
// instance as it was at a moment of its point-in-time window (AtTime).
// Exactly one of BackupID and InstanceID is set.
type RestorePoint struct {
	// BackupID is a Backup.ID, for a restore from that backup.
	BackupID string `json:"backup_id,omitempty"`
	// InstanceID and Time, for a point-in-time restore of that instance.
	InstanceID string    `json:"instance_id,omitempty"`
	Time       time.Time `json:"time,omitzero"`
}

// FromBackup is the restore point of a backup (a Backup.ID).
func FromBackup(backupID string) RestorePoint { return RestorePoint{BackupID: backupID} }

// AtTime is the restore point of instanceID as it was at t. It needs
// Capabilities.PointInTimeRestore, and t inside the window that the
// instance's point-in-time Backup entry reports.
func AtTime(instanceID string, t time.Time) RestorePoint {
	return RestorePoint{InstanceID: instanceID, Time: t.UTC()}
}

// IsPointInTime reports whether r restores an instance at a time rather
// than a backup.
func (r RestorePoint) IsPointInTime() bool { return r.InstanceID != "" }

// Validate checks that exactly one kind of point is set.
func (r RestorePoint) Validate() error {
	switch {
	case r.BackupID != "" && r.InstanceID != "":
		return InvalidField("from", "names both a backup and an instance: use FromBackup or AtTime")
	case r.BackupID != "":
		if !r.Time.IsZero() {
			return InvalidField("from.time", "is set on a backup restore point: use AtTime for a point in time")
		}
		return nil
	case r.InstanceID != "":
		if r.Time.IsZero() {
			return InvalidField("from.time", "is required for a point-in-time restore")
		}
		return nil
	}
	return InvalidField("from", "is empty: use FromBackup or AtTime")
}

// String reads "backup ID" or "ID at 2006-01-02T15:04:05Z".
func (r RestorePoint) String() string {
	if r.IsPointInTime() {
		return fmt.Sprintf("%s at %s", truncate(r.InstanceID, 64), r.Time.UTC().Format(time.RFC3339))
	}
	return "backup " + truncate(r.BackupID, 64)
}
