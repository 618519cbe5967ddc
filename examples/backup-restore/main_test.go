package main

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

func TestBackupRestoreOnLocalPostgres(t *testing.T) {
	if !hasLocalPostgres() {
		testenv.Skip(t, "the local provider finds no PostgreSQL: install postgresql-15")
	}
	// The servers' user must be able to enter the state directory.
	dir, err := os.MkdirTemp("", "backup-restore-example-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, run(ctx, []string{"-state-dir", dir}, &out))
	assert.Contains(t, out.String(), "created backup-demo (postgres)")
	assert.Contains(t, out.String(), `restored backup-demo-copy holds: ["before the backup"]`)

	// Both instances are gone again.
	p, err := dbaas.Open(ctx, "local", dbaas.Config{Settings: map[string]string{"state_dir": dir}})
	require.NoError(t, err)
	list, err := p.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list)
}

// hasLocalPostgres reports whether the local provider finds PostgreSQL,
// wherever its binaries live (Debian keeps them off PATH).
func hasLocalPostgres() bool {
	for _, in := range local.Discover(context.Background()) {
		if in.Engine == dbaas.Postgres {
			return true
		}
	}
	return false
}

func TestBackupRestoreRefusesAProviderWithoutBackups(t *testing.T) {
	err := run(context.Background(), []string{"-provider", "nope"}, &bytes.Buffer{})
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	err = run(context.Background(), []string{"-engine", "oracle"}, &bytes.Buffer{})
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
}
