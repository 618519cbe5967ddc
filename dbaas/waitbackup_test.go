package dbaas

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// backupListProvider answers Backups from a script of lists, one per
// call, then the last forever; errs are returned by the first calls.
type backupListProvider struct {
	scriptedProvider
	lists [][]*Backup
	errs  []error
	calls atomic.Int64
}

func (p *backupListProvider) Backups(ctx context.Context, id string) ([]*Backup, error) {
	n := int(p.calls.Add(1)) - 1
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if n < len(p.errs) && p.errs[n] != nil {
		return nil, p.errs[n]
	}
	return p.lists[min(n, len(p.lists)-1)], nil
}

// backupsWith lists a backup "bk-1" in status st beside an older one that
// failed, which the wait must not mistake for it.
func backupsWith(st BackupStatus) []*Backup {
	return []*Backup{
		{ID: "bk-0", InstanceID: "db", Status: BackupFailed},
		{ID: "bk-1", InstanceID: "db", Status: st, Kind: BackupManual},
	}
}

func TestWaitBackupUntilAvailable(t *testing.T) {
	p := &backupListProvider{lists: [][]*Backup{backupsWith(BackupCreating), backupsWith(BackupCreating), backupsWith(BackupAvailable)}}
	// A long provisioning hint must not slow a backup wait down.
	p.caps = Capabilities{TypicalProvisioning: 10 * time.Minute}
	clk := &instantClock{now: time.Unix(0, 0)}
	var seen []BackupStatus
	b, err := WaitBackup(context.Background(), p, "db", "bk-1", WaitBackupOptions{Clock: clk,
		Progress: func(b *Backup, _ time.Duration, err error) {
			require.NoError(t, err)
			seen = append(seen, b.Status)
		}})
	require.NoError(t, err)
	assert.Equal(t, "bk-1", b.ID)
	assert.Equal(t, BackupAvailable, b.Status)
	assert.EqualValues(t, 3, p.calls.Load())
	assert.Equal(t, []BackupStatus{BackupCreating, BackupCreating, BackupAvailable}, seen)
	require.Len(t, clk.sleeps, 2)
	for i, base := range []time.Duration{2 * time.Second, 4 * time.Second} {
		assert.InDelta(t, float64(base), float64(clk.sleeps[i]), float64(base)/10+1, "sleep %d", i)
	}
}

func TestWaitBackupVanishedIsNotFound(t *testing.T) {
	p := &backupListProvider{lists: [][]*Backup{backupsWith(BackupCreating), backupsWith(BackupCreating)[:1]}}
	b, err := WaitBackup(context.Background(), p, "db", "bk-1", WaitBackupOptions{Clock: &instantClock{}})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "bk-1")
	assert.Contains(t, err.Error(), "no longer listed; it was creating")
	require.NotNil(t, b)
	assert.Equal(t, BackupCreating, b.Status, "the last backup seen")
	assert.EqualValues(t, 2, p.calls.Load())

	p = &backupListProvider{lists: [][]*Backup{backupsWith(BackupCreating)}}
	_, err = WaitBackup(context.Background(), p, "db", "bk-9", WaitBackupOptions{Clock: &instantClock{}})
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Contains(t, err.Error(), "instance db lists no backup with this id")
	assert.EqualValues(t, 1, p.calls.Load(), "an unknown id ends the wait at once")
}

func TestWaitBackupFailedStatusStopsAtOnce(t *testing.T) {
	for _, st := range []BackupStatus{BackupFailed, BackupDeleting} {
		t.Run(string(st), func(t *testing.T) {
			failed := backupsWith(st)
			failed[1].RawStatus = "cloud-" + string(st)
			p := &backupListProvider{lists: [][]*Backup{backupsWith(BackupCreating), failed, backupsWith(BackupAvailable)}}
			b, err := WaitBackup(context.Background(), p, "db", "bk-1", WaitBackupOptions{Clock: &instantClock{}})
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrConflict)
			assert.NotErrorIs(t, err, ErrNotFound)
			assert.Contains(t, err.Error(), "wait backup bk-1")
			assert.Contains(t, err.Error(), "is "+string(st)+" (cloud-"+string(st)+"), it will not become available")
			assert.Equal(t, st, b.Status)
			assert.EqualValues(t, 2, p.calls.Load())
		})
	}
}

func TestWaitBackupTimeout(t *testing.T) {
	p := &backupListProvider{lists: [][]*Backup{backupsWith(BackupCreating)}}
	clk := &instantClock{now: time.Unix(0, 0)}
	_, err := WaitBackup(context.Background(), p, "db", "bk-1", WaitBackupOptions{Clock: clk, Timeout: 5 * time.Minute})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrTimeout)
	assert.Contains(t, err.Error(), "wait backup bk-1: timeout: still creating after 5m0s, wanted available")
	assert.Equal(t, time.Unix(0, 0).Add(5*time.Minute), clk.Now())
}

func TestWaitBackupCancellation(t *testing.T) {
	p := &backupListProvider{lists: [][]*Backup{backupsWith(BackupCreating)}}
	ctx, cancel := context.WithCancel(context.Background())
	_, err := WaitBackup(ctx, p, "db", "bk-1", WaitBackupOptions{FirstDelay: time.Hour, Clock: cancelClock{cancel}})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.EqualValues(t, 1, p.calls.Load())

	_, err = WaitBackup(ctx, p, "db", "bk-1", WaitBackupOptions{Clock: &instantClock{}})
	assert.ErrorIs(t, err, context.Canceled)
	assert.EqualValues(t, 1, p.calls.Load(), "a cancelled context makes no call")
}

func TestWaitBackupRetriesRateLimitAndStopsOnOtherErrors(t *testing.T) {
	p := &backupListProvider{lists: [][]*Backup{backupsWith(BackupAvailable)},
		errs: []error{&Error{Op: "backups", ID: "db", Kind: ErrRateLimited}}}
	b, err := WaitBackup(context.Background(), p, "db", "bk-1", WaitBackupOptions{Clock: &instantClock{}})
	require.NoError(t, err)
	assert.Equal(t, BackupAvailable, b.Status)
	assert.EqualValues(t, 2, p.calls.Load())

	p = &backupListProvider{lists: [][]*Backup{backupsWith(BackupAvailable)},
		errs: []error{&Error{Op: "backups", ID: "db", Kind: ErrPermissionDenied}}}
	_, err = WaitBackup(context.Background(), p, "db", "bk-1", WaitBackupOptions{Clock: &instantClock{}})
	assert.ErrorIs(t, err, ErrPermissionDenied)
	assert.EqualValues(t, 1, p.calls.Load())
}

func TestWaitBackupRefusesBadInputWithNoCall(t *testing.T) {
	p := &backupListProvider{lists: [][]*Backup{backupsWith(BackupAvailable)}}
	for _, tc := range []struct {
		name               string
		p                  Provider
		ctx                context.Context
		instance, backupID string
		field              string
	}{
		{"nil provider", nil, context.Background(), "db", "bk-1", "provider"},
		{"nil context", p, nil, "db", "bk-1", "ctx"},
		{"no instance", p, context.Background(), "", "bk-1", "instance_id"},
		{"no backup", p, context.Background(), "db", "", "backup_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := WaitBackup(tc.ctx, tc.p, tc.instance, tc.backupID, WaitBackupOptions{Clock: &instantClock{}})
			requireInvalidFields(t, err, tc.field)
		})
	}
	assert.Zero(t, p.calls.Load())
}
