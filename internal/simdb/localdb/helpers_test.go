package localdb_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb/localdb"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

// newLocal returns a local provider on a fresh state directory the
// servers' user can enter (t.TempDir's parents are mode 0700); at the end
// it deletes every instance left and closes. It skips (fails under
// DBAAS_INTEGRATION=1) when an engine in need is not installed.
func newLocal(t *testing.T, need ...dbaas.Engine) *local.Provider {
	t.Helper()
	dir, err := os.MkdirTemp("", "dbaaskit-localdb-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	p, err := local.New(context.Background(), local.Options{StateDir: dir})
	require.NoError(t, err)
	for _, e := range need {
		if !p.Capabilities().SupportsEngine(e) {
			testenv.Skip(t, string(e)+" is not installed: install PostgreSQL and MariaDB (Debian/Ubuntu: apt-get install postgresql mariadb-server mariadb-backup)")
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		list, err := p.List(ctx)
		if err != nil {
			t.Errorf("cleanup list: %v", err)
		}
		for _, inst := range list {
			if err := p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}); err != nil {
				t.Errorf("cleanup delete %s: %v", inst.ID, err)
			}
		}
		require.NoError(t, p.Close())
	})
	return p
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
