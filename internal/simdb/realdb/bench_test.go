package realdb_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
)

// BenchmarkAttach is the baseline: the cost of a fresh database and
// login per simulated instance, made and dropped.
func BenchmarkAttach(b *testing.B) {
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB} {
		b.Run(string(engine), func(b *testing.B) {
			be := benchBackend(b)
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				key := fmt.Sprint("k", i)
				_, err := be.Attach(ctx, key, engine, "")
				require.NoError(b, err)
				require.NoError(b, be.Detach(ctx, key))
			}
		})
	}
}

// BenchmarkSnapshotRestore measures what a simulated backup and restore
// add: a snapshot of a database holding a table of 1000 rows and a
// restore from it, both dropped again. Compare with BenchmarkAttach.
func BenchmarkSnapshotRestore(b *testing.B) {
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB} {
		b.Run(string(engine), func(b *testing.B) {
			be := benchBackend(b)
			ctx := context.Background()
			db, err := be.Attach(ctx, "src", engine, "")
			require.NoError(b, err)
			conn := &dbaas.ConnectionInfo{Engine: engine, Endpoint: db.Endpoint, User: db.User, Password: db.Password, Database: db.Database, TLS: dbaas.TLSDisable}
			for i := range 1000 {
				require.NoError(b, realdb.WriteMarker(ctx, conn, fmt.Sprint("row-", i)))
			}
			for i := 0; b.Loop(); i++ {
				snap, key := fmt.Sprint("s", i), fmt.Sprint("r", i)
				require.NoError(b, be.Snapshot(ctx, "src", snap))
				_, err := be.Restore(ctx, snap, key, engine, "")
				require.NoError(b, err)
				require.NoError(b, be.Detach(ctx, key))
				require.NoError(b, be.DropSnapshot(ctx, snap))
			}
		})
	}
}

func benchBackend(b *testing.B) *realdb.Backend {
	b.Helper()
	return realdbtest.Open(b, realdb.Options{Prefix: "realdbbench"}, true)
}
