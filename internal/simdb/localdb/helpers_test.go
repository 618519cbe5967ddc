package localdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb/localdb"
	"github.com/agiledeploy/dbaaskit/providers/local"
	"github.com/agiledeploy/dbaaskit/providers/local/localtest"
)

// newLocal returns a local provider of the test's own.
func newLocal(t *testing.T, need ...dbaas.Engine) *local.Provider {
	t.Helper()
	return localtest.New(t, need...)
}

// newBackend returns a Backend on a fresh local provider, closed at the
// end.
func newBackend(t *testing.T, need ...dbaas.Engine) (*localdb.Backend, *local.Provider) {
	t.Helper()
	p := newLocal(t, need...)
	b := localdb.New(p)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		require.NoError(t, b.Close(ctx))
	})
	return b, p
}
