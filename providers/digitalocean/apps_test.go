package digitalocean_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
	"github.com/agiledeploy/dbaaskit/internal/sqltest"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
	"github.com/agiledeploy/dbaaskit/toolkit"
)

// TestAppsThroughAPI: databases and users are made, listed and dropped
// through the API, idempotently; a user made without a database or a
// chosen password needs no SQL, nor does dropping a MySQL user, so no
// real database is behind the cluster here.
func TestAppsThroughAPI(t *testing.T) {
	e := newEnv(t, dosim.Options{}, digitalocean.Options{})
	ctx := context.Background()
	assert.Equal(t, dbaas.AppUsersAPI, e.p.Capabilities().AppUsers)
	inst, err := e.p.Create(ctx, spec("apps-api", dbaas.MySQL))
	require.NoError(t, err)

	for range 2 {
		require.NoError(t, e.p.EnsureDatabase(ctx, inst.ID, "shop"), "ensure database is idempotent")
	}
	require.Equal(t, int64(1), e.sim.Calls("POST /v2/databases/{id}/dbs"), "an existing database is not made again")
	dbs, err := e.p.Databases(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"defaultdb", "shop"}, dbs)

	u, err := e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "shop"})
	require.NoError(t, err)
	require.False(t, u.Password.IsZero(), "the cloud's generated password comes back")
	again, err := e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "shop"})
	require.NoError(t, err)
	assert.Equal(t, u.Password.Reveal(), again.Password.Reveal(), "an existing user keeps its password, read back")
	assert.Equal(t, int64(1), e.sim.Calls("POST /v2/databases/{id}/users"))
	assert.NotContains(t, u.Password.String()+again.Password.String(), u.Password.Reveal(), "the password prints redacted")

	rotated, err := e.p.RotatePassword(ctx, inst.ID, "shop")
	require.NoError(t, err)
	assert.NotEqual(t, u.Password.Reveal(), rotated.Password.Reveal())
	assert.Equal(t, int64(1), e.sim.Calls("POST /v2/databases/{id}/users/{name}/reset_auth"), "the cloud resets the password")
	_, err = e.p.RotatePassword(ctx, inst.ID, "nobody")
	assert.ErrorIs(t, err, dbaas.ErrNotFound)

	for range 2 {
		require.NoError(t, e.p.DropUser(ctx, inst.ID, "shop"), "drop user is idempotent")
		require.NoError(t, e.p.DropDatabase(ctx, inst.ID, "shop"), "drop database is idempotent")
	}
	users, err := e.p.Users(ctx, inst.ID)
	require.NoError(t, err)
	assert.Empty(t, users, "doadmin is no application user")
	dbs, err = e.p.Databases(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"defaultdb"}, dbs)

	const missing = "0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11"
	for name, call := range map[string]func() error{
		"ensure database": func() error { return e.p.EnsureDatabase(ctx, missing, "shop") },
		"drop database":   func() error { return e.p.DropDatabase(ctx, missing, "shop") },
		"drop user":       func() error { return e.p.DropUser(ctx, missing, "shop") },
		"ensure user": func() error {
			_, err := e.p.EnsureUser(ctx, missing, dbaas.UserSpec{Name: "shop"})
			return err
		},
	} {
		assert.ErrorIs(t, call(), dbaas.ErrNotFound, "%s on a missing cluster is not taken for an absent database or user", name)
	}
}

// TestAppsLeastPrivilege: with real databases behind the clusters, a
// user made through the API gets its database over SQL and nothing else,
// a chosen password is set over SQL and logs in, a failed grant leaves
// no user behind, and a PostgreSQL user that owns its database is
// dropped.
func TestAppsLeastPrivilege(t *testing.T) {
	backend := realdbtest.Open(t, realdb.Options{Prefix: "doapps"}, true)
	e := newEnv(t, dosim.Options{Backend: backend}, digitalocean.Options{})
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			inst, err := e.p.Create(ctx, spec("apps-"+string(engine), engine))
			require.NoError(t, err)
			t.Cleanup(func() {
				_ = e.p.Delete(context.Background(), inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true})
			})
			conn, err := e.p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			sfx := "_" + string(engine)[:2]
			dbA, dbB, dbC := "doapps_a"+sfx, "doapps_b"+sfx, "doapps_c"+sfx
			userA, userB, userC := "doa_a"+sfx, "doa_b"+sfx, "doa_c"+sfx
			for _, d := range []string{dbA, dbB, dbC} {
				require.NoError(t, e.p.EnsureDatabase(ctx, inst.ID, d))
			}
			a, err := e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: userA, Database: dbA})
			require.NoError(t, err)
			again, err := e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: userA, Database: dbA})
			require.NoError(t, err)
			assert.Equal(t, a.Password.Reveal(), again.Password.Reveal(), "ensure user is idempotent")
			_, err = e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: userB, Database: dbB})
			require.NoError(t, err)

			asA := open(t, conn, userA, a.Password, dbA)
			_, err = asA.ExecContext(ctx, "CREATE TABLE orders (id int)")
			require.NoError(t, err, "the user may build in its database")
			_, err = asA.ExecContext(ctx, "INSERT INTO orders VALUES (1)")
			require.NoError(t, err)
			assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, userA, a.Password, dbB)), "the user cannot reach another application's database")
			if engine == dbaas.Postgres {
				var mighty bool
				require.NoError(t, asA.QueryRowContext(ctx, "SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication FROM pg_roles WHERE rolname = current_user").Scan(&mighty))
				assert.False(t, mighty, "the user has no role-wide rights")
				var owner string
				require.NoError(t, asA.QueryRowContext(ctx, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()").Scan(&owner))
				assert.Equal(t, userA, owner, "the user owns its database")
			} else {
				assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, userA, a.Password, conn.Database)), "nor the cluster's default database")
				_, err = asA.ExecContext(ctx, "CREATE DATABASE doapps_more")
				assert.Error(t, err, "the user cannot make databases")
				grants, err := strings1(ctx, asA, "SHOW GRANTS")
				require.NoError(t, err)
				assert.Len(t, grants, 2, "USAGE and its database only: %v", grants)
			}
			require.NoError(t, asA.Close())

			users, err := e.p.Users(ctx, inst.ID)
			require.NoError(t, err)
			i := slices.IndexFunc(users, func(u *dbaas.User) bool { return u.Name == userA })
			require.GreaterOrEqual(t, i, 0)
			assert.Equal(t, dbA, users[i].Database, "Users names each user's database")

			// The toolkit's line may choose the password: set over SQL.
			chosen := dbaas.NewSecret("Chosen-pass-4711")
			c, err := e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: userC, Database: dbC, Password: chosen})
			require.NoError(t, err)
			assert.Equal(t, chosen.Reveal(), c.Password.Reveal())
			require.NoError(t, sqltest.Ping(ctx, sqltest.As(conn, userC, chosen, dbC)), "the chosen password logs in")
			again, err = e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: userC, Database: dbC, Password: chosen})
			require.NoError(t, err)
			assert.Equal(t, chosen.Reveal(), again.Password.Reveal())
			if engine.MySQLFamily() { // PostgreSQL on the machine trusts loopback
				generated := e.apiPassword(t, ctx, inst.ID, userC)
				assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, userC, generated, dbC)), "the generated password was replaced")
			}

			// A grant that fails takes the new user away again.
			_, err = e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "doa_bad" + sfx, Database: "doapps_none"})
			require.Error(t, err)
			users, err = e.p.Users(ctx, inst.ID)
			require.NoError(t, err)
			assert.False(t, slices.ContainsFunc(users, func(u *dbaas.User) bool { return u.Name == "doa_bad"+sfx }), "no half-made user")

			rotated, err := e.p.RotatePassword(ctx, inst.ID, userB)
			require.NoError(t, err)
			require.NoError(t, sqltest.Ping(ctx, sqltest.As(conn, userB, rotated.Password, dbB)), "the reset password logs in")

			for _, u := range []string{userA, userB, userC} {
				require.NoError(t, e.p.DropUser(ctx, inst.ID, u), "a user that owns its database is dropped")
			}
			assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, userA, a.Password, dbA)), "a dropped user no longer logs in")
			for _, d := range []string{dbA, dbB, dbC} {
				require.NoError(t, e.p.DropDatabase(ctx, inst.ID, d))
			}
			dbs, err := e.p.Databases(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, []string{conn.Database}, dbs)
		})
	}
}

// apiPassword reads a user's password as the API reports it.
func (e *env) apiPassword(t *testing.T, ctx context.Context, id, user string) dbaas.Secret {
	t.Helper()
	users, err := e.p.Users(ctx, id)
	require.NoError(t, err)
	i := slices.IndexFunc(users, func(u *dbaas.User) bool { return u.Name == user })
	require.GreaterOrEqual(t, i, 0)
	return users[i].Password
}

func open(t *testing.T, conn *dbaas.ConnectionInfo, user string, pw dbaas.Secret, database string) *sql.DB {
	t.Helper()
	db, err := sqlconn.Open(sqltest.As(conn, user, pw, database), dbaas.DSNOptions{ConnectTimeout: 5 * time.Second})
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	require.NoError(t, db.Ping(), "%s logs in to %s", user, database)
	return db
}

func strings1(ctx context.Context, db *sql.DB, q string) ([]string, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, strings.TrimSpace(s))
	}
	return out, rows.Err()
}

// TestToolkitApplyMakesTheAppUser: the toolkit's DigitalOcean line with a
// password makes the cluster, the database and the user through the API,
// sets the line's password over SQL, and the user logs in with it; a
// second Apply changes nothing and reports the same password.
func TestToolkitApplyMakesTheAppUser(t *testing.T) {
	backend := realdbtest.Open(t, realdb.Options{Prefix: "dotk"}, true)
	e := newEnv(t, dosim.Options{Backend: backend}, digitalocean.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const pass = "Sup3rSecretPw"
	line := "MySQL:DBAAS:mysql:fra1:1:db-s-1vcpu-1gb:8:tk-cluster:dotk_shop:dotk_user:" + pass + ":"
	opts := toolkit.Options{Provider: e.p, Port: 3306, CADir: t.TempDir(),
		WebServers: []dbaas.Source{dbaas.MustParseSource("203.0.113.10")},
		Wait:       dbaas.WaitOptions{FirstDelay: 10 * time.Millisecond, Expected: -1}}
	res, err := toolkit.Apply(ctx, line, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = e.p.Delete(context.Background(), res.InstanceID, dbaas.DeleteOptions{SkipFinalBackup: true})
	})
	assert.Equal(t, "dotk_user", res.User)
	assert.Equal(t, pass, res.Password.Reveal(), "the line's password, not the cloud's")
	conn, err := e.p.Connection(ctx, res.InstanceID)
	require.NoError(t, err)
	require.NoError(t, sqltest.Ping(ctx, sqltest.As(conn, res.User, res.Password, res.Database)), "the application logs in with the line's password")

	again, err := toolkit.Apply(ctx, line, opts)
	require.NoError(t, err)
	assert.False(t, again.Created)
	assert.Equal(t, pass, again.Password.Reveal())
	require.NoError(t, sqltest.Ping(ctx, sqltest.As(conn, again.User, again.Password, again.Database)))
}
