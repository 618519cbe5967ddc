package localdb_test

import (
	"context"
	"fmt"
	"log"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb/localdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

// TestBackendServesRealDatabases checks the backend's own rules (the
// simulators' tests check the databases through each cloud's adapter).
func TestBackendServesRealDatabases(t *testing.T) {
	t.Parallel()
	b, p := newBackend(t, dbaas.MariaDB)
	ctx := context.Background()
	const key = "sim/mysql/1"
	db, err := b.Attach(ctx, key, dbaas.MySQL, "99")
	require.NoError(t, err, "a version not installed falls back to the installed one")
	assert.NotEmpty(t, db.CACertPEM, "the instance's CA is passed through")
	conn := &dbaas.ConnectionInfo{Engine: dbaas.MariaDB, Endpoint: db.Endpoint, User: db.User, Password: db.Password, Database: db.Database}
	require.NoError(t, realdb.WriteMarker(ctx, conn, key))
	again, err := b.Attach(ctx, key, dbaas.MySQL, "")
	require.NoError(t, err)
	assert.Equal(t, db.Endpoint, again.Endpoint, "attach is idempotent per key")

	require.NoError(t, b.Snapshot(ctx, key, "snap-1"))
	require.ErrorIs(t, b.Snapshot(ctx, key, "snap-1"), dbaas.ErrAlreadyExists)
	require.ErrorIs(t, b.Snapshot(ctx, "no-such-key", "snap-2"), dbaas.ErrNotFound)
	require.NoError(t, realdb.WriteMarker(ctx, conn, "after snapshot"))
	copyDB, err := b.Restore(ctx, "snap-1", key+"/copy", dbaas.MySQL, "")
	require.NoError(t, err)
	assert.NotEqual(t, db.Endpoint, copyDB.Endpoint)
	assert.NotEqual(t, db.Password.Reveal(), copyDB.Password.Reveal(), "a restore has credentials of its own")
	copyConn := &dbaas.ConnectionInfo{Engine: dbaas.MariaDB, Endpoint: copyDB.Endpoint, User: copyDB.User, Password: copyDB.Password, Database: copyDB.Database}
	marks, err := realdb.ReadMarkers(ctx, copyConn)
	require.NoError(t, err)
	assert.Equal(t, []string{key}, marks, "the restore holds what the snapshot held and nothing after")
	require.NoError(t, b.Detach(ctx, key+"/copy"))
	require.NoError(t, b.DropSnapshot(ctx, "snap-1"))
	require.NoError(t, b.DropSnapshot(ctx, "snap-1"), "dropping an unknown snapshot is not an error")
	_, err = b.Restore(ctx, "snap-1", key+"/copy2", dbaas.MySQL, "")
	require.ErrorIs(t, err, dbaas.ErrNotFound)

	list, err := p.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1, "only the attached instance is left")
	require.NoError(t, b.Detach(ctx, key))
	require.NoError(t, b.Detach(ctx, key), "detach of a gone key is not an error")
	list, err = p.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, list, "detach removes the local instance")
	assert.Error(t, realdb.WriteMarker(ctx, conn, "gone"), "a detached database is gone")

	_, err = b.Attach(ctx, "", dbaas.MySQL, "")
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
}

// The cloud simulators attach a real local database to each simulated
// instance through a Backend (for example dosim.Options{Backend: b}).
func ExampleNew() {
	ctx := context.Background()
	p, err := local.New(ctx, local.Options{StateDir: "/var/lib/dbaaskit/sim"})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	b := localdb.New(p)
	defer b.Close(ctx)
	db, err := b.Attach(ctx, "cluster-1", dbaas.MySQL, "8.0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(db.Endpoint.Host, db.User, db.Database)
}
