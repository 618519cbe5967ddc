package vultr_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb/localdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
	"github.com/agiledeploy/dbaaskit/internal/simdb/simsql"
	"github.com/agiledeploy/dbaaskit/internal/sqltest"
	"github.com/agiledeploy/dbaaskit/providers/local/localtest"
	"github.com/agiledeploy/dbaaskit/providers/vultr"
	"github.com/agiledeploy/dbaaskit/providers/vultr/vultrsim"
)

// TestAppsAreReal: with the machine's PostgreSQL and MariaDB behind the
// simulator, the logical databases and users the adapter makes through
// the API are real on the server: the administrator's connection uses
// an ensured database, a user logs in with the password the API answers
// (generated or given, and after a change) and may use every logical
// database made through the API but nothing else, and the drops, and the
// database's delete, remove them from the server.
func TestAppsAreReal(t *testing.T) {
	backend := realdbtest.Open(t, realdb.Options{Prefix: "vultrapps"}, true)
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, vultrsim.Options{Backend: backend}, nil)
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			sfx := "_" + string(engine)[:2]
			const shop, more, left = "shopdb", "shopdb_more", "shopdb_left"
			gen, chosen, leftUser, taken := "vultr_gen"+sfx, "vultr_set"+sfx, "vultr_left"+sfx, "vultr_taken"+sfx
			server := onServer{t: t, backend: backend, engine: engine}
			server.clear([]string{shop, more, left}, []string{gen, chosen, leftUser, taken})

			inst := available(t, e, clock, spec("apps-real-"+string(engine), engine))
			t.Cleanup(func() {
				_ = e.p.Delete(context.Background(), inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true})
			})
			conn, err := e.p.Connection(ctx, inst.ID)
			require.NoError(t, err)

			// The application database, used with the reported connection.
			require.NoError(t, e.p.EnsureDatabase(ctx, inst.ID, shop))
			assert.True(t, server.has("database", shop), "the database is made on the server")
			admin := sqltest.Login(t, sqltest.As(conn, conn.User, conn.Password, shop))
			_, err = admin.ExecContext(ctx, "CREATE TABLE orders (id int)")
			require.NoError(t, err, "the administrator builds in the ensured database")
			_, err = admin.ExecContext(ctx, "INSERT INTO orders VALUES (1)")
			require.NoError(t, err)
			require.NoError(t, admin.Close())

			// A user with the password Vultr chooses.
			u, err := e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: gen})
			require.NoError(t, err)
			require.False(t, u.Password.IsZero())
			assert.True(t, server.has("user", gen), "the user is made on the server")
			asGen := sqltest.Login(t, sqltest.As(conn, gen, u.Password, shop))
			_, err = asGen.ExecContext(ctx, "CREATE TABLE mine (id int)")
			require.NoError(t, err, "the user may build in the logical databases")
			_, err = asGen.ExecContext(ctx, "INSERT INTO mine VALUES (7)")
			require.NoError(t, err)
			require.NoError(t, asGen.Close())
			if engine.MySQLFamily() {
				// PostgreSQL on the machine trusts loopback: only MariaDB
				// checks passwords.
				assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, gen, dbaas.NewSecret("not-"+u.Password.Reveal()), shop)), "a wrong password is refused")
				assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, gen, u.Password, conn.Database)), "the default database is not the user's")
				var n int
				require.NoError(t, sqltest.Login(t, sqltest.As(conn, gen, u.Password, shop)).QueryRowContext(ctx, "SELECT count(*) FROM orders").Scan(&n))
				assert.Equal(t, 1, n, "all privileges on the database's tables")
			} else {
				def := sqltest.Login(t, sqltest.As(conn, gen, u.Password, conn.Database))
				_, err = def.ExecContext(ctx, "CREATE TABLE intruder (id int)")
				assert.Error(t, err, "the default database is not the user's")
				require.NoError(t, def.Close())
				var mighty bool
				require.NoError(t, sqltest.Login(t, sqltest.As(conn, gen, u.Password, shop)).QueryRowContext(ctx,
					"SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication FROM pg_roles WHERE rolname = current_user").Scan(&mighty))
				assert.False(t, mighty, "no role-wide right")
			}

			// A database made after the user is the user's too.
			require.NoError(t, e.p.EnsureDatabase(ctx, inst.ID, more))
			asGen = sqltest.Login(t, sqltest.As(conn, gen, u.Password, more))
			_, err = asGen.ExecContext(ctx, "CREATE TABLE later (id int)")
			require.NoError(t, err, "a later logical database is usable too")
			require.NoError(t, asGen.Close())

			// A user with a password of the caller's.
			pw := dbaas.NewSecret("Chosen-pass-4711")
			c, err := e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: chosen, Database: shop, Password: pw})
			require.NoError(t, err)
			assert.Equal(t, pw.Reveal(), c.Password.Reveal())
			require.NoError(t, sqltest.Login(t, sqltest.As(conn, chosen, pw, shop)).Close())

			// A change of password (PUT) reaches the server.
			changed := dbaas.NewSecret("Changed-pass-4712")
			c, err = e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: chosen, Password: changed})
			require.NoError(t, err)
			assert.Equal(t, changed.Reveal(), c.Password.Reveal())
			require.NoError(t, sqltest.Login(t, sqltest.As(conn, chosen, changed, shop)).Close(), "the new password logs in")
			rotated, err := e.p.RotatePassword(ctx, inst.ID, gen)
			require.NoError(t, err)
			require.NoError(t, sqltest.Login(t, sqltest.As(conn, gen, rotated.Password, shop)).Close(), "a rotated password logs in")
			if engine.MySQLFamily() {
				assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, chosen, pw, shop)), "the old password no longer logs in")
				assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, gen, u.Password, shop)), "nor the one before the rotation")
			}

			// The drops remove them from the server; the tables a
			// PostgreSQL user made stay, the administrator's.
			require.NoError(t, e.p.DropUser(ctx, inst.ID, gen))
			assert.False(t, server.has("user", gen), "the user is dropped on the server")
			assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, gen, rotated.Password, shop)), "a dropped user no longer logs in")
			admin = sqltest.Login(t, sqltest.As(conn, conn.User, conn.Password, shop))
			var n int
			require.NoError(t, admin.QueryRowContext(ctx, "SELECT count(*) FROM mine").Scan(&n))
			assert.Equal(t, 1, n, "the dropped user's data stays")
			require.NoError(t, admin.Close())
			require.NoError(t, e.p.DropUser(ctx, inst.ID, chosen))
			assert.False(t, server.has("user", chosen))
			for _, d := range []string{shop, more} {
				require.NoError(t, e.p.DropDatabase(ctx, inst.ID, d))
				assert.False(t, server.has("database", d), "%s is dropped on the server", d)
			}
			assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, conn.User, conn.Password, shop)), "a dropped database is gone")

			// What the server refuses is a 500 that changes nothing: a
			// user or a database another instance of the shared server
			// has already (made through the API, or its own).
			other := available(t, e, clock, spec("apps-other-"+string(engine), engine))
			t.Cleanup(func() {
				_ = e.p.Delete(context.Background(), other.ID, dbaas.DeleteOptions{SkipFinalBackup: true})
			})
			otherConn, err := e.p.Connection(ctx, other.ID)
			require.NoError(t, err)
			_, err = e.p.EnsureUser(ctx, other.ID, dbaas.UserSpec{Name: taken})
			require.NoError(t, err)
			_, err = e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: taken})
			requireStatus(t, err, http.StatusInternalServerError)
			users, err := e.p.Users(ctx, inst.ID)
			require.NoError(t, err)
			assert.Empty(t, users, "no user recorded")
			err = e.p.EnsureDatabase(ctx, inst.ID, otherConn.Database)
			requireStatus(t, err, http.StatusInternalServerError)
			dbs, err := e.p.Databases(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, []string{conn.Database}, dbs, "no database recorded")
			require.NoError(t, sqltest.Ping(ctx, otherConn), "the other instance keeps its login and database")

			// The database's delete drops what is left of them.
			_, err = e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: leftUser, Database: left})
			require.NoError(t, err)
			require.True(t, server.has("database", left))
			require.True(t, server.has("user", leftUser))
			require.NoError(t, e.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
			assert.False(t, server.has("database", left), "the delete drops the logical databases")
			assert.False(t, server.has("user", leftUser), "and the users")
		})
	}
}

// requireStatus requires err to be the API's answer with status.
func requireStatus(t *testing.T, err error, status int) {
	t.Helper()
	var ae *vultr.APIError
	require.True(t, errors.As(err, &ae), "an API error: %v", err)
	assert.Equal(t, status, ae.StatusCode)
}

// onServer looks at the machine's server of engine with its admin
// connection.
type onServer struct {
	t       *testing.T
	backend *realdb.Backend
	engine  dbaas.Engine
}

func (s onServer) run(f func(ctx context.Context, srv *simsql.Server) error) {
	s.t.Helper()
	require.NoError(s.t, simsql.Run(context.Background(), s.backend, "", s.engine, f))
}

// has reports whether the server has a database or a user of that name.
func (s onServer) has(kind, name string) bool {
	s.t.Helper()
	var ok bool
	s.run(func(ctx context.Context, srv *simsql.Server) (err error) {
		ok, err = srv.Has(ctx, kind, name)
		return err
	})
	return ok
}

// clear drops what a run stopped before its cleanup left on the shared
// server.
func (s onServer) clear(dbs, users []string) {
	s.t.Helper()
	s.run(func(ctx context.Context, srv *simsql.Server) error {
		return srv.DropApps(ctx, dbs, users, srv.Conn.User)
	})
}

// TestAppsOnOwnServers: with a local server of its own behind each
// database (localdb, whose admin is the database's own), the logical
// database ensured through the API is used with the reported connection,
// a user logs in to it with the password the API answers, and the drops
// remove them.
func TestAppsOnOwnServers(t *testing.T) {
	lp := localtest.New(t, dbaas.Postgres, dbaas.MariaDB)
	backend := localdb.New(lp)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		require.NoError(t, backend.Close(ctx))
	})
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, vultrsim.Options{Backend: backend}, nil)
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			inst := available(t, e, clock, spec("apps-own-"+string(engine), engine))
			conn, err := e.p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, vultr.DefaultDatabase, conn.Database, "Vultr's account, on a server of the database's own")

			require.NoError(t, e.p.EnsureDatabase(ctx, inst.ID, "shopdb"))
			admin := sqltest.Login(t, sqltest.As(conn, conn.User, conn.Password, "shopdb"))
			_, err = admin.ExecContext(ctx, "CREATE TABLE orders (id int)")
			require.NoError(t, err, "the administrator builds in the ensured database")
			require.NoError(t, admin.Close())

			// Made with the password Vultr chooses, then given one (a PUT).
			var before dbaas.Secret
			for _, pw := range []dbaas.Secret{{}, dbaas.NewSecret("Own-pass-4711")} {
				u, err := e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "shop_app", Database: "shopdb", Password: pw})
				require.NoError(t, err)
				if !pw.IsZero() {
					assert.Equal(t, pw.Reveal(), u.Password.Reveal())
					assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, "shop_app", before, "shopdb")), "the password before the change is refused")
				}
				before = u.Password
				asUser := sqltest.Login(t, sqltest.As(conn, "shop_app", u.Password, "shopdb"))
				_, err = asUser.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS mine (id int)")
				require.NoError(t, err, "the user builds in the logical database")
				require.NoError(t, asUser.Close())
				assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, "shop_app", dbaas.NewSecret("not-"+u.Password.Reveal()), "shopdb")), "a wrong password is refused")
			}
			require.NoError(t, e.p.DropUser(ctx, inst.ID, "shop_app"))
			assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, "shop_app", dbaas.NewSecret("Own-pass-4711"), "shopdb")), "a dropped user no longer logs in")
			require.NoError(t, e.p.DropDatabase(ctx, inst.ID, "shopdb"))
			assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, conn.User, conn.Password, "shopdb")), "a dropped database is gone")
			require.NoError(t, e.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
		})
	}
}
