package realdbtest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
)

// unreachable points both servers at a port nothing listens on.
var unreachable = realdb.Options{
	PostgresURL: "postgres://postgres@127.0.0.1:1/postgres?connect_timeout=2",
	MariaDBDSN:  "root@tcp(127.0.0.1:1)/?timeout=2s",
	Prefix:      "realdbtest",
}

func TestOpenWithoutServers(t *testing.T) {
	tests := []struct {
		name     string
		required bool
		wantSkip bool
	}{
		{name: "optional goes on without data checks", required: false, wantSkip: false},
		{name: "required skips", required: true, wantSkip: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Under DBAAS_INTEGRATION=1 both would fail, as CI wants.
			t.Setenv("DBAAS_INTEGRATION", "")
			var got *realdb.Backend
			returned := false
			t.Run("open", func(t *testing.T) {
				got = realdbtest.Open(t, unreachable, tt.required)
				returned = true
			})
			assert.Nil(t, got, "no backend when the servers do not answer")
			assert.Equal(t, !tt.wantSkip, returned, "whether Open returned rather than skipped")
		})
	}
}
