package exoscale_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the provider and the simulators leave no
// goroutine behind (idle connections of a closed provider included).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
