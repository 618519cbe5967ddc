package simsql_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
	"github.com/agiledeploy/dbaaskit/internal/simdb/simsql"
)

// plain is a Backend that lends no admin connection.
type plain struct{ simdb.Backend }

func TestRunWithoutAdmin(t *testing.T) {
	ran := false
	f := func(context.Context, *simsql.Server) error { ran = true; return nil }
	require.NoError(t, simsql.Run(context.Background(), plain{}, "k", dbaas.Postgres, f))
	require.NoError(t, simsql.Run(context.Background(), nil, "k", dbaas.Postgres, f))
	assert.False(t, ran, "nothing to run without a simdb.Admin")
	assert.False(t, simsql.Backed(plain{}))
	assert.False(t, simsql.Backed(nil))
}

// TestStatements runs each statement on the machine's servers: a
// database owned by one login, another login granted it, which builds
// there and is released and dropped; the drop of the database takes the
// grants on it away (MySQL and MariaDB keep them otherwise).
func TestStatements(t *testing.T) {
	backend := realdbtest.Open(t, realdb.Options{Prefix: "simsql"}, true)
	assert.True(t, simsql.Backed(backend))
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			sfx := "_" + string(engine)[:2]
			owner, app, db := "simsql_owner"+sfx, "simsql_app"+sfx, "simsql_db"+sfx
			pw := dbaas.NewSecret("Simsql-pass-1")
			run := func(f func(ctx context.Context, srv *simsql.Server) error) error {
				return simsql.Run(context.Background(), backend, "any", engine, f)
			}
			drop := func(ctx context.Context, srv *simsql.Server) error {
				if err := srv.DropDatabase(ctx, db); err != nil {
					return err
				}
				for _, u := range []string{app, owner} {
					if err := srv.ReleaseUser(ctx, u, srv.Conn.User); err != nil {
						return err
					}
					if err := srv.DropUser(ctx, u); err != nil {
						return err
					}
				}
				return nil
			}
			require.NoError(t, run(drop), "what an interrupted run left")
			t.Cleanup(func() { assert.NoError(t, run(drop)) })

			var conn dbaas.ConnectionInfo
			require.NoError(t, run(func(ctx context.Context, srv *simsql.Server) error {
				conn = *srv.Conn
				assert.Equal(t, engine == dbaas.Postgres, srv.PG())
				require.NoError(t, srv.CreateUser(ctx, owner, pw))
				require.Error(t, srv.CreateUser(ctx, owner, pw), "a name the server has is refused")
				require.Error(t, srv.UserFree(ctx, srv.Conn.User), "the admin's name too")
				require.NoError(t, srv.CreateDatabase(ctx, db, owner))
				require.Error(t, srv.CreateDatabase(ctx, db, owner), "a database the server has is refused")
				require.NoError(t, srv.CreateUser(ctx, app, pw))
				return srv.GrantAll(ctx, app, db)
			}))

			asApp := open(t, &conn, app, pw, db)
			_, err := asApp.Exec("CREATE TABLE t (id int)")
			require.NoError(t, err, "the granted user builds in the database")
			require.NoError(t, asApp.Close())
			asOwner := open(t, &conn, owner, pw, db)
			_, err = asOwner.Exec("CREATE TABLE o (id int)")
			require.NoError(t, err, "and so does its owner")
			require.NoError(t, asOwner.Close())
			newPW := dbaas.NewSecret("Simsql-pass-2")
			require.NoError(t, run(func(ctx context.Context, srv *simsql.Server) error {
				return srv.SetPassword(ctx, app, newPW)
			}))
			require.NoError(t, open(t, &conn, app, newPW, db).Close(), "the new password logs in")

			require.NoError(t, run(func(ctx context.Context, srv *simsql.Server) error {
				if srv.PG() {
					require.Error(t, srv.DropUser(ctx, app), "a role that owns a table is not dropped as it is")
				}
				require.NoError(t, srv.ReleaseUser(ctx, app, owner))
				require.NoError(t, srv.DropUser(ctx, app))
				require.NoError(t, srv.DropUser(ctx, app), "an absent user is no error")
				require.NoError(t, srv.ReleaseUser(ctx, app, owner), "nor to release")
				require.NoError(t, srv.UserFree(ctx, app), "the user is gone")
				if srv.PG() {
					return nil
				}
				require.NoError(t, srv.DropDatabase(ctx, db))
				var n int
				require.NoError(t, srv.DB.QueryRowContext(ctx, "SELECT count(*) FROM mysql.db WHERE db = ?", db).Scan(&n))
				assert.Zero(t, n, "no grant outlives the database")
				return nil
			}))
			if engine == dbaas.Postgres {
				asOwner = open(t, &conn, owner, pw, db)
				var tableOwner string
				require.NoError(t, asOwner.QueryRow("SELECT tableowner FROM pg_tables WHERE tablename = 't'").Scan(&tableOwner))
				assert.Equal(t, owner, tableOwner, "the released user's table went to the heir")
				require.NoError(t, asOwner.Close())
			}
		})
	}
}

func open(t *testing.T, conn *dbaas.ConnectionInfo, user string, pw dbaas.Secret, database string) *sql.DB {
	t.Helper()
	c := *conn
	c.User, c.Password, c.Database = user, pw, database
	db, err := sqlconn.Open(&c, dbaas.DSNOptions{ConnectTimeout: 5 * time.Second})
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	require.NoError(t, db.Ping(), "%s logs in to %s", user, database)
	return db
}
