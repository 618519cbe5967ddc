package dosim_test

import (
	"context"
	"database/sql"
	"net/http"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

// TestGodoDatabasesAndUsers drives /dbs and /users with the unmodified
// godo client: the envelopes, the generated and readable passwords, the
// reset, and the API's 404 and 422 answers.
func TestGodoDatabasesAndUsers(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	_, client := start(t, dosim.Options{Clock: clock, ProvisionDelay: 5 * time.Minute}, "tok")
	ctx := context.Background()
	c, _, err := client.Databases.Create(ctx, createReq("apps"))
	require.NoError(t, err)

	_, _, err = client.Databases.CreateDB(ctx, c.ID, &godo.DatabaseCreateDBRequest{Name: "early"})
	apiError(t, err, http.StatusUnprocessableEntity) // still creating
	clock.Advance(5 * time.Minute)

	db, _, err := client.Databases.CreateDB(ctx, c.ID, &godo.DatabaseCreateDBRequest{Name: "alpha"})
	require.NoError(t, err)
	assert.Equal(t, "alpha", db.Name)
	_, _, err = client.Databases.CreateDB(ctx, c.ID, &godo.DatabaseCreateDBRequest{Name: "alpha"})
	apiError(t, err, http.StatusUnprocessableEntity)
	_, _, err = client.Databases.CreateDB(ctx, c.ID, &godo.DatabaseCreateDBRequest{Name: "no spaces"})
	apiError(t, err, http.StatusUnprocessableEntity)
	dbs, _, err := client.Databases.ListDBs(ctx, c.ID, nil)
	require.NoError(t, err)
	assert.Equal(t, []godo.DatabaseDB{{Name: "defaultdb"}, {Name: "alpha"}}, dbs)
	got, _, err := client.Databases.GetDB(ctx, c.ID, "alpha")
	require.NoError(t, err)
	assert.Equal(t, "alpha", got.Name)

	u, _, err := client.Databases.CreateUser(ctx, c.ID, &godo.DatabaseCreateUserRequest{Name: "app-01"})
	require.NoError(t, err)
	assert.Equal(t, "app-01", u.Name)
	assert.Equal(t, "normal", u.Role)
	require.NotEmpty(t, u.Password, "the API generates the password")
	_, _, err = client.Databases.CreateUser(ctx, c.ID, &godo.DatabaseCreateUserRequest{Name: "app-01"})
	apiError(t, err, http.StatusUnprocessableEntity)
	_, _, err = client.Databases.CreateUser(ctx, c.ID, &godo.DatabaseCreateUserRequest{Name: "doadmin"})
	apiError(t, err, http.StatusUnprocessableEntity)
	_, _, err = client.Databases.CreateUser(ctx, c.ID, &godo.DatabaseCreateUserRequest{Name: "m", MySQLSettings: &godo.DatabaseMySQLUserSettings{AuthPlugin: "caching_sha2_password"}})
	apiError(t, err, http.StatusUnprocessableEntity) // mysql_settings on a PostgreSQL cluster

	read, _, err := client.Databases.GetUser(ctx, c.ID, "app-01")
	require.NoError(t, err)
	assert.Equal(t, u.Password, read.Password, "the password reads back")
	users, _, err := client.Databases.ListUsers(ctx, c.ID, nil)
	require.NoError(t, err)
	require.Len(t, users, 2)
	assert.Equal(t, "doadmin", users[0].Name)
	assert.Equal(t, "primary", users[0].Role)
	assert.Equal(t, "app-01", users[1].Name)

	reset, _, err := client.Databases.ResetUserAuth(ctx, c.ID, "app-01", &godo.DatabaseResetUserAuthRequest{})
	require.NoError(t, err)
	assert.NotEqual(t, u.Password, reset.Password, "a reset generates a new password")
	read, _, err = client.Databases.GetUser(ctx, c.ID, "app-01")
	require.NoError(t, err)
	assert.Equal(t, reset.Password, read.Password)

	_, err = client.Databases.DeleteUser(ctx, c.ID, "doadmin")
	apiError(t, err, http.StatusUnprocessableEntity)
	_, err = client.Databases.DeleteUser(ctx, c.ID, "app-01")
	require.NoError(t, err)
	_, err = client.Databases.DeleteUser(ctx, c.ID, "app-01")
	apiError(t, err, http.StatusNotFound)
	_, _, err = client.Databases.GetUser(ctx, c.ID, "app-01")
	apiError(t, err, http.StatusNotFound)
	_, _, err = client.Databases.ResetUserAuth(ctx, c.ID, "app-01", &godo.DatabaseResetUserAuthRequest{})
	apiError(t, err, http.StatusNotFound)

	_, err = client.Databases.DeleteDB(ctx, c.ID, "defaultdb")
	apiError(t, err, http.StatusUnprocessableEntity)
	_, err = client.Databases.DeleteDB(ctx, c.ID, "alpha")
	require.NoError(t, err)
	_, err = client.Databases.DeleteDB(ctx, c.ID, "alpha")
	apiError(t, err, http.StatusNotFound)
	_, _, err = client.Databases.GetDB(ctx, c.ID, "alpha")
	apiError(t, err, http.StatusNotFound)

	const missing = "0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11"
	_, _, err = client.Databases.ListUsers(ctx, missing, nil)
	apiError(t, err, http.StatusNotFound)
	_, _, err = client.Databases.CreateDB(ctx, missing, &godo.DatabaseCreateDBRequest{Name: "x"})
	apiError(t, err, http.StatusNotFound)
}

// TestUsersAreReal: with a backend that lends its admin connection, a
// database and a user made through the API exist on the server, the user
// logs in with the API's password (and the reset one), and the cluster's
// delete drops them.
func TestUsersAreReal(t *testing.T) {
	backend := realdbtest.Open(t, realdb.Options{Prefix: "dosimusr"}, true)
	_, client := start(t, dosim.Options{Backend: backend}, "tok")
	for _, engine := range []string{"pg", "mysql"} {
		t.Run(engine, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			req := createReq("real-users-" + engine)
			if engine == "mysql" {
				req.Version = "8"
			}
			req.EngineSlug = engine
			c, _, err := client.Databases.Create(ctx, req)
			require.NoError(t, err)
			name := "dosim_app_" + engine
			_, _, err = client.Databases.CreateDB(ctx, c.ID, &godo.DatabaseCreateDBRequest{Name: name})
			require.NoError(t, err)
			u, _, err := client.Databases.CreateUser(ctx, c.ID, &godo.DatabaseCreateUserRequest{Name: name})
			require.NoError(t, err)

			conn := &dbaas.ConnectionInfo{Engine: dbaas.Postgres, Endpoint: dbaas.Endpoint{Host: c.Connection.Host, Port: c.Connection.Port},
				User: u.Name, Password: dbaas.NewSecret(u.Password), Database: c.Connection.Database, TLS: dbaas.TLSDisable}
			if engine == "mysql" {
				// A new MySQL user has no rights on any database: it
				// logs in to none.
				conn.Engine, conn.Database = dbaas.MySQL, ""
			}
			require.NoError(t, ping(ctx, conn), "the user logs in with the API's password")
			if engine == "mysql" {
				// PostgreSQL on the machine trusts loopback: only MariaDB
				// checks passwords.
				bad := *conn
				bad.Password = dbaas.NewSecret("not-" + u.Password)
				require.Error(t, ping(ctx, &bad), "a wrong password is refused")
				reset, _, err := client.Databases.ResetUserAuth(ctx, c.ID, name, &godo.DatabaseResetUserAuthRequest{})
				require.NoError(t, err)
				require.Error(t, ping(ctx, conn), "the old password no longer logs in")
				conn.Password = dbaas.NewSecret(reset.Password)
				require.NoError(t, ping(ctx, conn), "the reset password logs in")
			}
			assert.True(t, onServer(t, ctx, conn.Engine, "database", name))
			assert.True(t, onServer(t, ctx, conn.Engine, "user", name))

			_, err = client.Databases.Delete(ctx, c.ID)
			require.NoError(t, err)
			assert.False(t, onServer(t, ctx, conn.Engine, "database", name), "the cluster's delete drops its databases")
			assert.False(t, onServer(t, ctx, conn.Engine, "user", name), "and its users")
		})
	}
}

func ping(ctx context.Context, conn *dbaas.ConnectionInfo) error {
	db, err := sqlconn.Open(conn, dbaas.DSNOptions{ConnectTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}

// onServer reports whether a database or user of that name exists on the
// machine's server of engine.
func onServer(t *testing.T, ctx context.Context, engine dbaas.Engine, kind, name string) bool {
	t.Helper()
	driver, dsn := "pgx", realdb.DefaultPostgresURL
	q := map[string]string{"database": "SELECT count(*) FROM pg_database WHERE datname = $1", "user": "SELECT count(*) FROM pg_roles WHERE rolname = $1"}[kind]
	if engine.MySQLFamily() {
		driver, dsn = "mysql", realdb.DefaultMariaDBDSN
		q = map[string]string{"database": "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", "user": "SELECT count(*) FROM mysql.user WHERE user = ?"}[kind]
	}
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRowContext(ctx, q, name).Scan(&n))
	return n > 0
}
