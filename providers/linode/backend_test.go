package linode_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
	"github.com/agiledeploy/dbaaskit/providers/linode"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
)

// newRealDB returns a backend on the machine's PostgreSQL and MariaDB,
// closed after the test. Linode's API gives no database name (Connection
// reports the provider's "database" setting), so every database of a run
// has the same random name, one per server at a time.
func newRealDB(t *testing.T) (b *realdb.Backend, database string) {
	t.Helper()
	database = randomName("lsim_")
	b = realdbtest.Open(t, realdb.Options{Prefix: "linodesim", Database: database}, true)
	return b, database
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// TestBackendDatabasesAcceptConnections creates a database of each engine
// on a simulator with real databases attached and connects to each
// through what Connection returns.
func TestBackendDatabasesAcceptConnections(t *testing.T) {
	backend, database := newRealDB(t)
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, linodesim.Options{ProvisionDelay: linode.TypicalProvisioning, Backend: backend},
		map[string]string{linode.SettingDatabase: database})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			inst, err := e.p.Create(ctx, spec("real-"+string(engine), engine))
			require.NoError(t, err)
			_, err = dbaas.Wait(ctx, e.p, inst.ID, dbaas.WaitOptions{Clock: clock})
			require.NoError(t, err)
			conn, err := e.p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, "127.0.0.1", conn.Endpoint.Host)
			assert.True(t, strings.HasPrefix(conn.User, "linodesim_"), "the credentials are the attached database's: %s", conn.User)

			var gotUser, gotDB string
			if engine == dbaas.Postgres {
				url, err := conn.PostgresURL(dbaas.DSNOptions{})
				require.NoError(t, err)
				c, err := pgx.Connect(ctx, url)
				require.NoError(t, err)
				defer c.Close(ctx)
				_, err = c.Exec(ctx, "CREATE TABLE marks (v text); INSERT INTO marks VALUES ('written')")
				require.NoError(t, err)
				require.NoError(t, c.QueryRow(ctx, "SELECT current_user, current_database()").Scan(&gotUser, &gotDB))
			} else {
				dsn, err := sqlconn.MySQLDSN(conn, "linode-backend-test", dbaas.DSNOptions{})
				require.NoError(t, err)
				db, err := sql.Open("mysql", dsn)
				require.NoError(t, err)
				defer db.Close()
				_, err = db.ExecContext(ctx, "CREATE TABLE marks (v text)")
				require.NoError(t, err)
				require.NoError(t, db.QueryRowContext(ctx, "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1), DATABASE()").Scan(&gotUser, &gotDB))
			}
			assert.Equal(t, conn.User, gotUser)
			assert.Equal(t, database, gotDB)

			require.NoError(t, e.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
			attached, _ := backend.Held()
			assert.Zero(t, attached, "delete detaches the database")
		})
	}
}
