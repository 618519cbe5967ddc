package simkit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

func TestExpectedEnv(t *testing.T) {
	assert.Equal(t, "DBAAS_EXPECTED_PROVISIONING_DIGITALOCEAN", simkit.ExpectedEnv("digitalocean"))

	d, err := simkit.ParseExpected("linode", " 3s ")
	require.NoError(t, err)
	assert.Equal(t, 3*time.Second, d)
	for _, bad := range []string{"", "3", "-1s", "0s", "soon"} {
		_, err := simkit.ParseExpected("linode", bad)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "DBAAS_EXPECTED_PROVISIONING_LINODE")
	}
}

func TestPaceExpectedIsNeverNoHint(t *testing.T) {
	assert.Equal(t, 3*time.Second, simkit.Pace{Provision: 3 * time.Second}.Expected())
	assert.Equal(t, time.Millisecond, simkit.Pace{}.Expected(), "an instant simulator still gives a hint")
}
