package localdb_test

import (
	"os"
	"testing"

	"github.com/agiledeploy/dbaaskit/internal/testenv"
)

// TestMain keeps the AWS provider these tests open from asking the EC2
// instance metadata service.
func TestMain(m *testing.M) {
	testenv.NoMetadataService()
	os.Exit(m.Run())
}
