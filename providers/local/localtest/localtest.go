// Package localtest gives a test a local provider of its own, on real
// servers, cleaned up when the test ends.
package localtest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

// New returns a local provider on a fresh state directory the servers'
// system users can enter (t.TempDir's parents are mode 0700). When the
// test ends it deletes every instance left, closes the provider and
// removes the directory, reporting what failed. It skips (fails under
// DBAAS_INTEGRATION=1) when an engine in need is not installed.
func New(t testing.TB, need ...dbaas.Engine) *local.Provider {
	t.Helper()
	dir, err := os.MkdirTemp("", "dbaaskit-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	p, err := local.New(context.Background(), local.Options{StateDir: dir})
	if err != nil {
		_ = os.RemoveAll(dir)
		t.Fatal(err)
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
		if err := p.Close(); err != nil {
			t.Errorf("cleanup close: %v", err)
		}
		_ = os.RemoveAll(dir)
	})
	for _, e := range need {
		if !p.Capabilities().SupportsEngine(e) {
			testenv.Skip(t, string(e)+" is not installed: install PostgreSQL and MariaDB (Debian/Ubuntu: apt-get install postgresql mariadb-server mariadb-backup)")
		}
	}
	return p
}
