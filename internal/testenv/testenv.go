// Package testenv decides whether integration tests that need a real
// server or binary run, skip or fail: they skip with a message saying what
// to install, unless DBAAS_INTEGRATION=1 (set by .ci/run), which turns
// every such skip into a failure so CI never passes by skipping.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Integration reports whether DBAAS_INTEGRATION=1 is set.
func Integration() bool { return os.Getenv("DBAAS_INTEGRATION") == "1" }

// Skip skips the test with why, or fails it under DBAAS_INTEGRATION=1.
func Skip(t testing.TB, why string) {
	t.Helper()
	if Integration() {
		t.Fatalf("DBAAS_INTEGRATION=1 but %s", why)
	}
	t.Skip(why)
}

// LookPath returns the path of binary name, or skips (fails under
// DBAAS_INTEGRATION=1) naming install as what to install.
func LookPath(t testing.TB, name, install string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, name+" is not installed: "+install)
	}
	return p
}

// NoMetadataService sets AWS_EC2_METADATA_DISABLED=true for the test
// binary, for packages whose tests open the AWS provider: the AWS SDK's
// default credential chain otherwise asks the EC2 instance metadata
// service at 169.254.169.254, and no test leaves loopback. Call it from
// TestMain, before m.Run.
func NoMetadataService() {
	if err := os.Setenv("AWS_EC2_METADATA_DISABLED", "true"); err != nil {
		panic(err)
	}
}
