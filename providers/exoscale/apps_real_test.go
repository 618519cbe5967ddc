package exoscale_test

import (
	"context"
	"testing"
	"time"

	v3 "github.com/exoscale/egoscale/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb/localdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
	"github.com/agiledeploy/dbaaskit/internal/simdb/simsql"
	"github.com/agiledeploy/dbaaskit/internal/sqltest"
	"github.com/agiledeploy/dbaaskit/providers/exoscale"
	"github.com/agiledeploy/dbaaskit/providers/exoscale/exoscalesim"
	"github.com/agiledeploy/dbaaskit/providers/local/localtest"
)

// TestAppsAreReal: with the machine's PostgreSQL and MariaDB behind the
// simulator, the databases and users the adapter makes through the API
// are real on the server: the admin connection uses an ensured database,
// a user logs in with the password the API reveals (generated or given,
// and after a reset), may use every database made through the API and
// read no other, and the drops, and the service's delete, remove them
// from the server. What the server refuses is a 500 that changes nothing.
func TestAppsAreReal(t *testing.T) {
	backend := realdbtest.Open(t, realdb.Options{Prefix: "exoapps"}, true)
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, exoscalesim.Options{Backend: backend, ProvisionDelay: 10 * time.Minute, OperationDelay: 30 * time.Second}, nil)
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			sfx := "_" + string(engine)[:2]
			const shop, more, left = "exo_shop", "exo_shop_more", "exo_shop_left"
			gen, chosen, leftUser, taken, failed := "exo_gen"+sfx, "exo_set"+sfx, "exo_left"+sfx, "exo_taken"+sfx, "exo_failed"+sfx
			server := onServer{t: t, backend: backend, engine: engine}
			server.clear([]string{shop, more, left}, []string{gen, chosen, leftUser, taken, failed})

			inst := runningService(t, e, clock, "apps-real-"+string(engine), engine)
			conn, err := e.p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			other := runningService(t, e, clock, "apps-other-"+string(engine), engine)
			otherConn, err := e.p.Connection(ctx, other.ID)
			require.NoError(t, err)
			// Tables of the admins the application user must not read: in
			// its service's default database and in another service's.
			for _, c := range []*dbaas.ConnectionInfo{conn, otherConn} {
				admin := sqltest.Login(t, c)
				_, err = admin.ExecContext(ctx, "CREATE TABLE secrets (id int)")
				require.NoError(t, err)
				require.NoError(t, admin.Close())
			}

			// The application database, used with the reported connection.
			require.NoError(t, e.p.EnsureDatabase(ctx, inst.ID, shop))
			assert.True(t, server.has("database", shop), "the database is made on the server")
			admin := sqltest.Login(t, sqltest.As(conn, conn.User, conn.Password, shop))
			_, err = admin.ExecContext(ctx, "CREATE TABLE orders (id int)")
			require.NoError(t, err, "the admin builds in the ensured database")
			_, err = admin.ExecContext(ctx, "INSERT INTO orders VALUES (1)")
			require.NoError(t, err)
			require.NoError(t, admin.Close())
			if !engine.MySQLFamily() {
				assert.Equal(t, conn.User, server.owner(shop), "the admin owns the database")
			}

			// A user with the password Exoscale generates.
			u, err := e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: gen, Database: shop})
			require.NoError(t, err)
			require.False(t, u.Password.IsZero())
			assert.True(t, server.has("user", gen), "the user is made on the server")
			asGen := sqltest.Login(t, sqltest.As(conn, gen, u.Password, shop))
			_, err = asGen.ExecContext(ctx, "CREATE TABLE mine (id int)")
			require.NoError(t, err, "the user builds in its database")
			_, err = asGen.ExecContext(ctx, "INSERT INTO mine VALUES (7)")
			require.NoError(t, err)
			require.NoError(t, asGen.Close())
			assert.Error(t, sqltest.Read(ctx, sqltest.As(conn, gen, u.Password, conn.Database), "secrets"), "the default database is not the user's")
			assert.Error(t, sqltest.Read(ctx, sqltest.As(otherConn, gen, u.Password, otherConn.Database), "secrets"), "nor another service's database")
			if engine.MySQLFamily() {
				// PostgreSQL on the machine trusts loopback: only MariaDB
				// checks passwords.
				assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, gen, dbaas.NewSecret("not-"+u.Password.Reveal()), shop)), "a wrong password is refused")
				assert.NoError(t, sqltest.Read(ctx, sqltest.As(conn, gen, u.Password, shop), "orders"), "all privileges on the database's tables")
			} else {
				var mighty bool
				require.NoError(t, sqltest.Login(t, sqltest.As(conn, gen, u.Password, shop)).QueryRowContext(ctx,
					"SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication FROM pg_roles WHERE rolname = current_user").Scan(&mighty))
				assert.False(t, mighty, "no role-wide right")
			}

			// A database made after the user is the user's too.
			require.NoError(t, e.p.EnsureDatabase(ctx, inst.ID, more))
			asGen = sqltest.Login(t, sqltest.As(conn, gen, u.Password, more))
			_, err = asGen.ExecContext(ctx, "CREATE TABLE later (id int)")
			require.NoError(t, err, "a later database is usable too")
			require.NoError(t, asGen.Close())

			// A user with a password of the caller's (a reset after the
			// create), then another reset and a rotation.
			pw := dbaas.NewSecret("Chosen-pass-4711")
			c, err := e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: chosen, Database: shop, Password: pw})
			require.NoError(t, err)
			assert.Equal(t, pw.Reveal(), c.Password.Reveal())
			require.NoError(t, sqltest.Login(t, sqltest.As(conn, chosen, pw, shop)).Close())
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
			// PostgreSQL user made stay, the admin's.
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
			// user or a database another service of the shared server has
			// already (made through the API, or its own).
			_, err = e.p.EnsureUser(ctx, other.ID, dbaas.UserSpec{Name: taken})
			require.NoError(t, err)
			_, err = e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: taken})
			assert.ErrorIs(t, err, v3.ErrInternalServerError)
			users, err := e.p.Users(ctx, inst.ID)
			require.NoError(t, err)
			assert.Empty(t, users, "no user recorded")
			err = e.p.EnsureDatabase(ctx, inst.ID, otherConn.Database)
			assert.ErrorIs(t, err, v3.ErrInternalServerError)
			dbs, err := e.p.Databases(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, []string{conn.Database}, dbs, "no database recorded")
			require.NoError(t, sqltest.Ping(ctx, otherConn), "the other service keeps its login and database")

			// The backend's own database stays the backend's.
			assert.ErrorIs(t, e.p.DropDatabase(ctx, inst.ID, conn.Database), v3.ErrBadRequest, "the default database is the backend's")
			require.NoError(t, sqltest.Ping(ctx, conn), "the admin still logs in to the default database")

			// A write whose operation fails runs no statement.
			e.sim.FailOperations(map[dbaas.Engine]string{dbaas.Postgres: "create-dbaas-postgres-user", dbaas.MySQL: "create-dbaas-mysql-user"}[engine], 1, "fault", "simulated")
			_, err = e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: failed})
			var oe *exoscale.OperationError
			require.ErrorAs(t, err, &oe)
			assert.False(t, server.has("user", failed), "a failed operation makes no user")

			// The service's delete drops what is left of them.
			_, err = e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: leftUser, Database: left})
			require.NoError(t, err)
			require.True(t, server.has("database", left))
			require.True(t, server.has("user", leftUser))
			require.NoError(t, e.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
			assert.False(t, server.has("database", left), "the delete drops the databases")
			assert.False(t, server.has("user", leftUser), "and the users")
			require.NoError(t, e.p.Delete(ctx, other.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
			assert.False(t, server.has("user", taken), "the other service's delete drops its user")
		})
	}
}

// TestAppsOnOwnServers: with a local server of its own behind each
// service (localdb, which makes Exoscale's avnadmin and defaultdb), the
// database ensured through the API is avnadmin's, a user logs in to it
// with the password the API reveals, and no longer after a reset or a
// drop, and the drops remove them; avnadmin's password, the backend's,
// is not reset.
func TestAppsOnOwnServers(t *testing.T) {
	lp := localtest.New(t, dbaas.Postgres, dbaas.MariaDB)
	backend := localdb.New(lp)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		require.NoError(t, backend.Close(ctx))
	})
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			// A simulator and provider per engine: the provider reads the
			// organization's CA once, and each local server has a CA of
			// its own.
			clock := fakeclock.NewAuto(epoch)
			e := newEnv(t, clock, exoscalesim.Options{Backend: backend}, nil)
			inst := runningService(t, e, clock, "apps-own-"+string(engine), engine)
			conn, err := e.p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, "avnadmin", conn.User, "Exoscale's account, on a server of the service's own")
			assert.Equal(t, "defaultdb", conn.Database)

			require.NoError(t, e.p.EnsureDatabase(ctx, inst.ID, "shopdb"))
			admin := sqltest.Login(t, sqltest.As(conn, conn.User, conn.Password, "shopdb"))
			_, err = admin.ExecContext(ctx, "CREATE TABLE orders (id int)")
			require.NoError(t, err, "the admin builds in the ensured database")
			if !engine.MySQLFamily() {
				var owner string
				require.NoError(t, admin.QueryRowContext(ctx, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()").Scan(&owner))
				assert.Equal(t, "avnadmin", owner, "avnadmin owns the database")
			}
			require.NoError(t, admin.Close())
			def := sqltest.Login(t, conn)
			_, err = def.ExecContext(ctx, "CREATE TABLE secrets (id int)")
			require.NoError(t, err)
			require.NoError(t, def.Close())

			// Made with the password Exoscale generates, then given one (a
			// reset).
			var before dbaas.Secret
			for _, pw := range []dbaas.Secret{{}, dbaas.NewSecret("Own-pass-4711")} {
				u, err := e.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "shop_app", Database: "shopdb", Password: pw})
				require.NoError(t, err)
				if !pw.IsZero() {
					assert.Equal(t, pw.Reveal(), u.Password.Reveal())
					assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, "shop_app", before, "shopdb")), "the password before the reset is refused")
				}
				before = u.Password
				asUser := sqltest.Login(t, sqltest.As(conn, "shop_app", u.Password, "shopdb"))
				_, err = asUser.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS mine (id int)")
				require.NoError(t, err, "the user builds in its database")
				require.NoError(t, asUser.Close())
				assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, "shop_app", dbaas.NewSecret("not-"+u.Password.Reveal()), "shopdb")), "a wrong password is refused")
				assert.Error(t, sqltest.Read(ctx, sqltest.As(conn, "shop_app", u.Password, conn.Database), "secrets"), "the default database is not the user's")
			}
			require.NoError(t, e.p.DropUser(ctx, inst.ID, "shop_app"))
			assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, "shop_app", dbaas.NewSecret("Own-pass-4711"), "shopdb")), "a dropped user no longer logs in")
			require.NoError(t, e.p.DropDatabase(ctx, inst.ID, "shopdb"))
			assert.Error(t, sqltest.Ping(ctx, sqltest.As(conn, conn.User, conn.Password, "shopdb")), "a dropped database is gone")

			// The admin's login is the backend's.
			_, err = e.p.RotatePassword(ctx, inst.ID, conn.User)
			assert.ErrorIs(t, err, v3.ErrBadRequest, "the primary user's password is the backend's")
			require.NoError(t, sqltest.Ping(ctx, conn), "the admin still logs in")
			require.NoError(t, e.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
		})
	}
}

// runningService creates a service of engine and waits until it runs;
// the test's end deletes it unless the test did.
func runningService(t *testing.T, e *env, clock dbaas.Clock, name string, engine dbaas.Engine) *dbaas.Instance {
	t.Helper()
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec(name, engine))
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = e.p.Delete(context.Background(), inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true})
	})
	inst, err = dbaas.Wait(ctx, e.p, inst.ID, dbaas.WaitOptions{Clock: clock, Timeout: time.Hour})
	require.NoError(t, err)
	return inst
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

// owner is the owner of PostgreSQL database name.
func (s onServer) owner(name string) string {
	s.t.Helper()
	var owner string
	s.run(func(ctx context.Context, srv *simsql.Server) error {
		return srv.DB.QueryRowContext(ctx, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1", name).Scan(&owner)
	})
	return owner
}

// clear drops what a run stopped before its cleanup left on the shared
// server.
func (s onServer) clear(dbs, users []string) {
	s.t.Helper()
	s.run(func(ctx context.Context, srv *simsql.Server) error {
		return srv.DropApps(ctx, dbs, users, srv.Conn.User)
	})
}
