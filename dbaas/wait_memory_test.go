package dbaas_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/providers/memory"
)

// The waits against the reference provider, whose backups and deletes
// take simulated time.
func TestWaitBackupAndWaitDeletedOnMemory(t *testing.T) {
	ctx := context.Background()
	clk := fakeclock.NewAuto(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	p := memory.New(memory.Options{BackupDelay: 7 * time.Minute, DeleteDelay: 3 * time.Minute, Clock: clk})
	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"})
	require.NoError(t, err)

	b, err := p.Backup(ctx, inst.ID, "nightly")
	require.NoError(t, err)
	require.Equal(t, dbaas.BackupCreating, b.Status)
	start := clk.Now()
	got, err := dbaas.WaitBackup(ctx, p, inst.ID, b.ID, dbaas.WaitBackupOptions{Clock: clk})
	require.NoError(t, err)
	assert.Equal(t, b.ID, got.ID)
	assert.Equal(t, dbaas.BackupAvailable, got.Status)
	assert.GreaterOrEqual(t, clk.Now().Sub(start), 7*time.Minute)
	copied, err := p.Restore(ctx, dbaas.FromBackup(got.ID), dbaas.Spec{Name: "shop-copy", Engine: dbaas.Postgres, Size: "small"})
	require.NoError(t, err, "available means restorable")

	require.NoError(t, p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
	start = clk.Now()
	require.NoError(t, dbaas.WaitDeleted(ctx, p, inst.ID, dbaas.WaitDeletedOptions{Clock: clk}))
	assert.GreaterOrEqual(t, clk.Now().Sub(start), 3*time.Minute)
	_, err = p.Get(ctx, inst.ID)
	assert.ErrorIs(t, err, dbaas.ErrNotFound)

	err = dbaas.WaitDeleted(ctx, p, copied.ID, dbaas.WaitDeletedOptions{Clock: clk})
	assert.ErrorIs(t, err, dbaas.ErrConflict, "a live instance not being deleted")
}
