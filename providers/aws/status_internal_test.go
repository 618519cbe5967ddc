package aws

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/stretchr/testify/assert"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

func TestNormalizeStatus(t *testing.T) {
	tests := map[string]dbaas.Status{
		"creating": dbaas.StatusProvisioning, "available": dbaas.StatusAvailable, "backing-up": dbaas.StatusBackingUp,
		"modifying": dbaas.StatusModifying, "rebooting": dbaas.StatusModifying, "upgrading": dbaas.StatusModifying,
		"maintenance": dbaas.StatusModifying, "deleting": dbaas.StatusDeleting, "failed": dbaas.StatusFailed,
		"stopped": dbaas.StatusStopped, "stopping": dbaas.StatusStopped, "starting": dbaas.StatusProvisioning,
		"storage-full": dbaas.StatusFailed, "incompatible-parameters": dbaas.StatusFailed,
		"incompatible-restore": dbaas.StatusFailed, "incompatible-network": dbaas.StatusFailed,
		"inaccessible-encryption-credentials": dbaas.StatusFailed, "storage-optimization": dbaas.StatusModifying,
		"Available": dbaas.StatusAvailable, "something-new": dbaas.StatusUnknown, "": dbaas.StatusUnknown,
	}
	for raw, want := range tests {
		t.Run(raw, func(t *testing.T) {
			got := normalizeStatus(raw)
			assert.Equal(t, want, got)
			assert.True(t, got.Valid())
		})
	}
	// Every status word the SDK's waiter treats as failure is terminal for Wait.
	for _, raw := range []string{"deleted", "deleting", "failed", "incompatible-restore", "incompatible-parameters"} {
		s := normalizeStatus(raw)
		assert.True(t, s.Terminal() || s == dbaas.StatusUnknown, "%s → %s", raw, s)
	}
}

// TestSnapshotStatus covers every status word of the SDK's
// DBSnapshotAvailable and DBSnapshotDeleted waiters: what they wait for
// is available or gone, and what they give up on is terminal for
// dbaas.WaitBackup.
func TestSnapshotStatus(t *testing.T) {
	tests := map[string]dbaas.BackupStatus{
		"creating": dbaas.BackupCreating, "copying": dbaas.BackupCreating, "available": dbaas.BackupAvailable,
		"deleting": dbaas.BackupDeleting, "deleted": dbaas.BackupDeleting, "failed": dbaas.BackupFailed,
		"incompatible-restore": dbaas.BackupFailed, "incompatible-parameters": dbaas.BackupFailed,
		"Available": dbaas.BackupAvailable, "something-new": dbaas.BackupUnknown, "": dbaas.BackupUnknown,
	}
	for raw, want := range tests {
		t.Run(raw, func(t *testing.T) {
			b := toBackup(&types.DBSnapshot{DBSnapshotIdentifier: aws.String("s"), Status: aws.String(raw)})
			assert.Equal(t, want, b.Status)
			assert.Equal(t, raw, b.RawStatus, "the cloud's word is kept")
			if want == dbaas.BackupFailed || want == dbaas.BackupDeleting {
				assert.True(t, b.Status.Terminal())
			}
		})
	}
}
