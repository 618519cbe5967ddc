package local

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
)

// stateDir makes a temporary state directory the servers' user can
// enter (t.TempDir's parents are mode 0700) and checks at the end that
// no server whose files lie under it is still running.
func stateDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "dbaaskit-local-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711))
	t.Cleanup(func() {
		if pids := strays(dir); len(pids) > 0 {
			t.Errorf("servers still running under %s: pids %v", dir, pids)
			for _, pid := range pids {
				killLeftovers(context.Background(), pid)
			}
		}
		_ = os.RemoveAll(dir)
	})
	return dir
}

// strays lists processes whose command line names dir.
func strays(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(dir+"/")) && alive(pid, dir+"/") {
			out = append(out, pid)
		}
	}
	return out
}

// newProvider returns a provider on a fresh state directory; at the end
// it deletes every instance left and closes. It skips (fails under
// DBAAS_INTEGRATION=1) when an engine in need is not installed.
func newProvider(t *testing.T, need ...dbaas.Engine) *Provider {
	t.Helper()
	dir := stateDir(t)
	p, err := New(context.Background(), Options{StateDir: dir})
	require.NoError(t, err)
	for _, e := range need {
		if !p.Capabilities().SupportsEngine(e) {
			hint := installPostgres
			if e == dbaas.MariaDB {
				hint = installMariaDB
			}
			testenv.Skip(t, string(e)+" is not installed: "+hint)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		require.NoError(t, p.Close())
		// A closed provider answers nothing: clean up with another one on
		// the same state, as another process would.
		q, err := New(ctx, Options{StateDir: dir})
		require.NoError(t, err)
		defer q.Close()
		list, err := q.List(ctx)
		if err != nil {
			t.Errorf("cleanup list: %v", err)
		}
		for _, inst := range list {
			if err := q.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}); err != nil {
				t.Errorf("cleanup delete %s: %v", inst.ID, err)
			}
		}
	})
	return p
}

func spec(name string, e dbaas.Engine) dbaas.Spec {
	return dbaas.Spec{Name: name, Engine: e, Size: "small"}
}

// createWait creates an instance and waits until it is available.
func createWait(t *testing.T, p *Provider, s dbaas.Spec) *dbaas.Instance {
	t.Helper()
	ctx := context.Background()
	inst, err := p.Create(ctx, s)
	require.NoError(t, err)
	return waitAvailable(t, p, inst.ID)
}

func waitAvailable(t *testing.T, p *Provider, id string) *dbaas.Instance {
	t.Helper()
	inst, err := dbaas.Wait(context.Background(), p, id, dbaas.WaitOptions{FirstDelay: 100 * time.Millisecond, MaxDelay: 500 * time.Millisecond, Timeout: 3 * time.Minute, Expected: -1})
	require.NoError(t, err)
	return inst
}
