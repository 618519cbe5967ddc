package dosim_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

// snapRecorder is a Backend and Snapshotter that records the copies; the
// adapter's TestBackupCarriesData proves them on real servers.
type snapRecorder struct {
	recordingBackend
	mu       sync.Mutex
	snaps    map[string]string // snapshot key -> cluster
	restored map[string]string // new cluster -> cluster copied
	dropped  int
	failSnap bool
}

func (r *snapRecorder) Snapshot(_ context.Context, key, snapshotKey string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failSnap {
		return errors.New("disk full")
	}
	r.snaps[snapshotKey] = key
	return nil
}

func (r *snapRecorder) Restore(ctx context.Context, snapshotKey, newKey string, engine dbaas.Engine, version string) (*simdb.Database, error) {
	r.mu.Lock()
	src, ok := r.snaps[snapshotKey]
	if ok {
		r.restored[newKey] = src
	}
	r.mu.Unlock()
	if !ok {
		return nil, &dbaas.Error{Op: "restore", ID: snapshotKey, Kind: dbaas.ErrNotFound}
	}
	return r.Attach(ctx, newKey, engine, version)
}

func (r *snapRecorder) DropSnapshot(_ context.Context, snapshotKey string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.snaps[snapshotKey]; ok {
		delete(r.snaps, snapshotKey)
		r.dropped++
	}
	return nil
}

func (r *snapRecorder) counts() (held, dropped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.snaps), r.dropped
}

// TestBackupsCarryData: a daily backup is copied when a request first
// finds it due and listed only once copied; a restore attaches the copy;
// copies go past retention and with the cluster.
func TestBackupsCarryData(t *testing.T) {
	rec := &snapRecorder{recordingBackend: recordingBackend{attached: map[string]dbaas.Engine{}},
		snaps: map[string]string{}, restored: map[string]string{}}
	clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	_, client := start(t, dosim.Options{Backend: rec, Clock: clock}, "tok")
	ctx := context.Background()

	src, _, err := client.Databases.Create(ctx, createReq("copied"))
	require.NoError(t, err)
	backups, _, err := client.Databases.ListBackups(ctx, src.ID, nil)
	require.NoError(t, err)
	require.Len(t, backups, 1, "the backup taken when the cluster came online")
	held, _ := rec.counts()
	assert.Equal(t, 1, held)

	clock.Advance(24 * time.Hour)
	rec.mu.Lock()
	rec.failSnap = true
	rec.mu.Unlock()
	backups, _, err = client.Databases.ListBackups(ctx, src.ID, nil)
	require.NoError(t, err)
	assert.Len(t, backups, 1, "a backup whose copy failed is not listed")
	rec.mu.Lock()
	rec.failSnap = false
	rec.mu.Unlock()
	backups, _, err = client.Databases.ListBackups(ctx, src.ID, nil)
	require.NoError(t, err)
	require.Len(t, backups, 2, "the next request copies it")

	req := createReq("restored")
	req.BackupRestore = &godo.DatabaseBackupRestore{DatabaseName: "copied", BackupCreatedAt: backups[1].CreatedAt.UTC().Format(time.RFC3339)}
	restored, _, err := client.Databases.Create(ctx, req)
	require.NoError(t, err)
	rec.mu.Lock()
	assert.Equal(t, src.ID, rec.restored[restored.ID], "the restore attached the backup's copy")
	rec.mu.Unlock()

	clock.Advance(7 * 24 * time.Hour)
	_, _, err = client.Databases.ListBackups(ctx, src.ID, nil)
	require.NoError(t, err)
	_, dropped := rec.counts()
	assert.Equal(t, 2, dropped, "backups past retention drop their copies")

	_, err = client.Databases.Delete(ctx, src.ID)
	require.NoError(t, err)
	held, _ = rec.counts()
	assert.Zero(t, held, "the copies go with the cluster")

	req = createReq("too-late")
	req.BackupRestore = &godo.DatabaseBackupRestore{DatabaseName: "copied"}
	_, _, err = client.Databases.Create(ctx, req)
	apiError(t, err, http.StatusUnprocessableEntity)
}
