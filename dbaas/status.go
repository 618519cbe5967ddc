package dbaas

// Status is the normalized state of an instance. Each provider maps its
// cloud's own word to one of these and keeps the original in
// Instance.RawStatus.
type Status string

// The normalized statuses.
const (
	StatusProvisioning Status = "provisioning"
	StatusAvailable    Status = "available"
	StatusModifying    Status = "modifying"
	StatusBackingUp    Status = "backing-up"
	StatusRestoring    Status = "restoring"
	StatusDeleting     Status = "deleting"
	StatusFailed       Status = "failed"
	StatusStopped      Status = "stopped"
	StatusUnknown      Status = "unknown"
)

// Statuses lists every normalized status.
func Statuses() []Status {
	return []Status{StatusProvisioning, StatusAvailable, StatusModifying, StatusBackingUp,
		StatusRestoring, StatusDeleting, StatusFailed, StatusStopped, StatusUnknown}
}

// Valid reports whether s is one of the normalized statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses() {
		if s == v {
			return true
		}
	}
	return false
}

// Terminal reports whether an instance in this status will not become
// available by waiting: failed or deleting.
func (s Status) Terminal() bool { return s == StatusFailed || s == StatusDeleting }

// Usable reports whether the database accepts connections in this status.
// A backup or a modification in progress does not stop it serving.
func (s Status) Usable() bool {
	return s == StatusAvailable || s == StatusBackingUp || s == StatusModifying
}

// BackupStatus is the normalized state of a backup. Each provider maps
// its cloud's words to these and keeps the cloud's own in
// Backup.RawStatus.
type BackupStatus string

// The backup statuses.
const (
	// BackupCreating: the backup is being taken and cannot be restored yet.
	BackupCreating BackupStatus = "creating"
	// BackupAvailable: the backup can be restored.
	BackupAvailable BackupStatus = "available"
	// BackupFailed: the backup failed and will never be restorable.
	BackupFailed BackupStatus = "failed"
	// BackupDeleting: the backup is being deleted.
	BackupDeleting BackupStatus = "deleting"
	// BackupUnknown: the cloud gave a word no mapping knows.
	BackupUnknown BackupStatus = "unknown"
)

// Terminal reports whether a backup in this status will never become
// available.
func (s BackupStatus) Terminal() bool { return s == BackupFailed || s == BackupDeleting }
