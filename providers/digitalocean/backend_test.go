package digitalocean_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

// TestBackendDatabaseAcceptsConnections proves the Backend hook: the
// connection the adapter returns reaches a real database.
func TestBackendDatabaseAcceptsConnections(t *testing.T) {
	backend := realdbtest.Open(t, realdb.Options{Prefix: "dosim"}, true)
	e := newEnv(t, dosim.Options{Backend: backend, ProvisionDelay: 50 * time.Millisecond}, digitalocean.Options{})
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			inst, err := e.p.Create(ctx, spec("real-"+string(engine), engine))
			require.NoError(t, err)
			_, err = dbaas.Wait(ctx, e.p, inst.ID, dbaas.WaitOptions{FirstDelay: 10 * time.Millisecond, Expected: -1})
			require.NoError(t, err)
			conn, err := e.p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, dbaas.Endpoint{Host: "127.0.0.1", Port: engine.DefaultPort()}, conn.Endpoint)
			assert.Equal(t, dbaas.TLSDisable, conn.TLS, "the backend speaks no TLS, and the cluster says so")
			assert.Empty(t, conn.CACertPEM)

			value := "v-" + inst.ID[:8]
			if engine == dbaas.Postgres {
				url, err := conn.PostgresURL(dbaas.DSNOptions{})
				require.NoError(t, err)
				db, err := pgx.Connect(ctx, url)
				require.NoError(t, err)
				var got string
				_, err = db.Exec(ctx, `CREATE TABLE marker (v text)`)
				require.NoError(t, err)
				_, err = db.Exec(ctx, `INSERT INTO marker VALUES ($1)`, value)
				require.NoError(t, err)
				require.NoError(t, db.QueryRow(ctx, `SELECT v || current_database() || current_user FROM marker`).Scan(&got))
				assert.Equal(t, value+conn.Database+conn.User, got)
				require.NoError(t, db.Close(ctx))
			} else {
				cfg, err := sqlconn.MySQLConfig(conn, dbaas.DSNOptions{})
				require.NoError(t, err)
				connector, err := mysql.NewConnector(cfg)
				require.NoError(t, err)
				db := sql.OpenDB(connector)
				_, err = db.ExecContext(ctx, `CREATE TABLE marker (v varchar(64))`)
				require.NoError(t, err)
				_, err = db.ExecContext(ctx, `INSERT INTO marker VALUES (?)`, value)
				require.NoError(t, err)
				var got, dbName string
				require.NoError(t, db.QueryRowContext(ctx, `SELECT v, DATABASE() FROM marker`).Scan(&got, &dbName))
				assert.Equal(t, value, got)
				assert.Equal(t, conn.Database, dbName)
				require.NoError(t, db.Close())
			}

			attached, _ := backend.Held()
			require.NoError(t, e.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
			after, _ := backend.Held()
			assert.Equal(t, attached-1, after, "delete detached the database")
			assert.False(t, databaseExists(t, ctx, engine, conn.Database), "the database is gone")
		})
	}
}

func databaseExists(t *testing.T, ctx context.Context, engine dbaas.Engine, name string) bool {
	t.Helper()
	var n int
	if engine == dbaas.Postgres {
		conn, err := pgx.Connect(ctx, realdb.DefaultPostgresURL)
		require.NoError(t, err)
		defer conn.Close(ctx)
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n))
		return n > 0
	}
	db, err := sql.Open("mysql", realdb.DefaultMariaDBDSN)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?`, name).Scan(&n))
	return n > 0
}

// TestBackupCarriesData proves that a restored automatic backup holds
// the data written before the backup was listed, and none written after:
// dosim copies a backup's data when a request first finds it due.
func TestBackupCarriesData(t *testing.T) {
	backend := realdbtest.Open(t, realdb.Options{Prefix: "dosim"}, true)
	clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	e := newEnv(t, dosim.Options{Backend: backend, Clock: clock}, digitalocean.Options{})
	wait := dbaas.WaitOptions{FirstDelay: 10 * time.Millisecond, Expected: -1, Clock: clock}
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			src, err := e.p.Create(ctx, spec("data-"+string(engine), engine))
			require.NoError(t, err)
			_, err = dbaas.Wait(ctx, e.p, src.ID, wait)
			require.NoError(t, err)
			conn, err := e.p.Connection(ctx, src.ID)
			require.NoError(t, err)
			require.NoError(t, realdb.WriteMarker(ctx, conn, "before"))

			clock.Advance(24*time.Hour + time.Minute) // the next daily backup is due
			backups, err := e.p.Backups(ctx, src.ID)
			require.NoError(t, err)
			var latest *dbaas.Backup
			for _, b := range backups {
				if b.Kind != dbaas.BackupPointInTime && (latest == nil || b.CreatedAt.After(latest.CreatedAt)) {
					latest = b
				}
			}
			require.NotNil(t, latest, "a daily backup is listed")
			require.NoError(t, realdb.WriteMarker(ctx, conn, "after"))

			restored, err := e.p.Restore(ctx, dbaas.FromBackup(latest.ID), spec("rst-"+string(engine), engine))
			require.NoError(t, err)
			_, err = dbaas.Wait(ctx, e.p, restored.ID, wait)
			require.NoError(t, err)
			rconn, err := e.p.Connection(ctx, restored.ID)
			require.NoError(t, err)
			assert.NotEqual(t, conn.User, rconn.User, "the restored cluster has its own login")
			got, err := realdb.ReadMarkers(ctx, rconn)
			require.NoError(t, err)
			assert.Equal(t, []string{"before"}, got)
			got, err = realdb.ReadMarkers(ctx, conn)
			require.NoError(t, err)
			assert.ElementsMatch(t, []string{"before", "after"}, got, "the source keeps its data")

			_, copies := backend.Held()
			assert.Positive(t, copies)
			for _, id := range []string{restored.ID, src.ID} {
				require.NoError(t, e.p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true}))
			}
			_, copies = backend.Held()
			assert.Zero(t, copies, "the backups' copies go with the cluster")
		})
	}
}
