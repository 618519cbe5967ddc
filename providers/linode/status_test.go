package linode

import (
	"testing"

	"github.com/linode/linodego"
	"github.com/stretchr/testify/assert"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// TestMapStatus covers every status linodego knows, including those the
// simulator never reaches.
func TestMapStatus(t *testing.T) {
	tests := []struct {
		linode linodego.DatabaseStatus
		want   dbaas.Status
	}{
		{linodego.DatabaseStatusProvisioning, dbaas.StatusProvisioning},
		{linodego.DatabaseStatusActive, dbaas.StatusAvailable},
		{linodego.DatabaseStatusDeleting, dbaas.StatusDeleting},
		{linodego.DatabaseStatusDeleted, dbaas.StatusDeleting},
		{linodego.DatabaseStatusSuspending, dbaas.StatusStopped},
		{linodego.DatabaseStatusSuspended, dbaas.StatusStopped},
		{linodego.DatabaseStatusResuming, dbaas.StatusProvisioning},
		{linodego.DatabaseStatusRestoring, dbaas.StatusRestoring},
		{linodego.DatabaseStatusFailed, dbaas.StatusFailed},
		{linodego.DatabaseStatusDegraded, dbaas.StatusModifying},
		{linodego.DatabaseStatusUpdating, dbaas.StatusModifying},
		{linodego.DatabaseStatusBackingUp, dbaas.StatusBackingUp},
		{"migrating", dbaas.StatusUnknown},
	}
	for _, tt := range tests {
		t.Run(string(tt.linode), func(t *testing.T) {
			assert.Equal(t, tt.want, mapStatus(tt.linode))
		})
	}
}
