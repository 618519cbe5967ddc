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
