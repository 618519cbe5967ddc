package vultr_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: Close releases
// the provider's connections, and the simulators stop what they start.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
