package vultr

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// TestStatusOf maps every status word of the official description, and
// an unknown one.
func TestStatusOf(t *testing.T) {
	tests := []struct {
		raw  string
		want dbaas.Status
	}{
		{"Running", dbaas.StatusAvailable},
		{"Rebuilding", dbaas.StatusProvisioning},
		{"Rebalancing", dbaas.StatusModifying},
		{"Migrating", dbaas.StatusUnknown},
		{"", dbaas.StatusUnknown},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, statusOf(tt.raw), tt.raw)
	}
}
