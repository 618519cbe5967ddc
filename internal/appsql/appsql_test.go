package appsql_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/appsql"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
)

// machine is the admin connection of the machine's servers (PostgreSQL
// trust as postgres, MariaDB root without a password).
func machine(engine dbaas.Engine) *dbaas.ConnectionInfo {
	if engine == dbaas.Postgres {
		return &dbaas.ConnectionInfo{Engine: engine, Endpoint: dbaas.Endpoint{Host: "127.0.0.1", Port: 5432}, User: "postgres", Database: "postgres", TLS: dbaas.TLSDisable}
	}
	return &dbaas.ConnectionInfo{Engine: engine, Endpoint: dbaas.Endpoint{Host: "127.0.0.1", Port: 3306}, User: "root", TLS: dbaas.TLSDisable}
}

func exec(t *testing.T, c *dbaas.ConnectionInfo, stmts ...string) {
	t.Helper()
	db, err := sqlconn.Open(c, dbaas.DSNOptions{ConnectTimeout: 5 * time.Second})
	require.NoError(t, err)
	defer db.Close()
	for _, s := range stmts {
		_, err := db.Exec(s)
		require.NoError(t, err, s)
	}
}

func try(c *dbaas.ConnectionInfo, stmt string) error {
	db, err := sqlconn.Open(c, dbaas.DSNOptions{ConnectTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(stmt)
	return err
}

func token() string { return strings.ToLower(rand.Text()[:8]) }

// admins returns the admin connections to test with: the machine's
// superuser, and an admin that is no superuser, as managed clouds give.
func admins(t *testing.T, engine dbaas.Engine) map[string]*dbaas.ConnectionInfo {
	t.Helper()
	root := machine(engine)
	if err := try(root, "SELECT 1"); err != nil {
		testenv.Skip(t, fmt.Sprintf("%s is not running on the machine (install and start it): %v", engine, err))
	}
	name, pw := "apadm"+token(), dbaas.GeneratePassword()
	managed := *root
	managed.User, managed.Password = name, pw
	if engine == dbaas.Postgres {
		exec(t, root, fmt.Sprintf("CREATE ROLE %s LOGIN CREATEDB CREATEROLE PASSWORD '%s'", name, pw.Reveal()))
		t.Cleanup(func() { exec(t, root, "DROP ROLE IF EXISTS "+name) })
	} else {
		exec(t, root, fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", name, pw.Reveal()),
			fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%' WITH GRANT OPTION", name))
		t.Cleanup(func() { exec(t, root, fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", name)) })
	}
	return map[string]*dbaas.ConnectionInfo{"superuser": root, "managed": &managed}
}

func TestApplicationUserHasLeastPrivilege(t *testing.T) {
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB} {
		for who, admin := range admins(t, engine) {
			t.Run(string(engine)+"/"+who, func(t *testing.T) {
				ctx := context.Background()
				a := appsql.Admin{Conn: admin}
				own, other, user := "apown"+token(), "apoth"+token(), "apusr"+token()
				t.Cleanup(func() {
					_ = a.DropUser(ctx, user)
					_ = a.DropDatabase(ctx, own)
					_ = a.DropDatabase(ctx, other)
				})
				require.NoError(t, a.EnsureDatabase(ctx, own))
				require.NoError(t, a.EnsureDatabase(ctx, own), "ensure is idempotent")
				require.NoError(t, a.EnsureDatabase(ctx, other))
				otherConn := *admin
				otherConn.Database = other
				exec(t, &otherConn, "CREATE TABLE secret (v text)", "INSERT INTO secret VALUES ('admin only')")

				u, err := a.EnsureUser(ctx, dbaas.UserSpec{Name: user, Database: own})
				require.NoError(t, err)
				require.False(t, u.Password.IsZero(), "a new user gets a generated password")
				login := *admin
				login.User, login.Password, login.Database = user, u.Password, own
				exec(t, &login, "CREATE TABLE orders (id int PRIMARY KEY, note text)", "INSERT INTO orders VALUES (1, 'mine')")

				readOther := login
				readOther.Database = other
				if engine == dbaas.Postgres {
					assert.Error(t, try(&readOther, "SELECT * FROM secret"), "cannot connect to another database")
					assert.Error(t, try(&login, "CREATE ROLE intruder"), "cannot create roles")
					assert.Error(t, try(&login, "CREATE DATABASE intruder"), "cannot create databases")
				} else {
					assert.Error(t, try(&login, "SELECT * FROM "+other+".secret"), "cannot read another database")
					assert.Error(t, try(&login, "CREATE USER intruder"), "cannot create users")
					assert.Error(t, try(&login, "CREATE DATABASE intruder"), "cannot create databases")
				}

				again, err := a.EnsureUser(ctx, dbaas.UserSpec{Name: user, Database: own})
				require.NoError(t, err, "ensure is idempotent")
				assert.True(t, again.Password.IsZero(), "an existing user keeps its password, which is not readable")
				exec(t, &login, "SELECT 1")

				users, err := a.Users(ctx)
				require.NoError(t, err)
				i := slices.IndexFunc(users, func(x *dbaas.User) bool { return x.Name == user })
				require.GreaterOrEqual(t, i, 0, "Users lists %s", user)
				assert.Equal(t, own, users[i].Database)
				assert.False(t, slices.ContainsFunc(users, func(x *dbaas.User) bool { return x.Name == admin.User }), "the admin is not an application user")
				dbs, err := a.Databases(ctx)
				require.NoError(t, err)
				assert.Subset(t, dbs, []string{own, other})
				assert.NotContains(t, dbs, "mysql")
				assert.NotContains(t, dbs, "postgres")

				hash := passwordHash(t, engine, user)
				rotated, err := a.SetPassword(ctx, user, dbaas.GeneratePassword())
				require.NoError(t, err)
				assert.NotEqual(t, hash, passwordHash(t, engine, user), "the stored password changed")
				if engine != dbaas.Postgres {
					// The machine's PostgreSQL trusts loopback, so only
					// MariaDB can refuse the old password.
					assert.Error(t, try(&login, "SELECT 1"), "the old password no longer logs in")
				}
				login.Password = rotated.Password
				exec(t, &login, "SELECT * FROM orders")
				_, err = a.SetPassword(ctx, "apnone"+token(), dbaas.GeneratePassword())
				assert.ErrorIs(t, err, dbaas.ErrNotFound)

				require.NoError(t, a.DropUser(ctx, user))
				require.NoError(t, a.DropUser(ctx, user), "dropping an absent user is fine")
				assert.Error(t, try(&login, "SELECT 1"))
				users, err = a.Users(ctx)
				require.NoError(t, err)
				assert.False(t, slices.ContainsFunc(users, func(x *dbaas.User) bool { return x.Name == user }))
				require.NoError(t, a.DropDatabase(ctx, own))
				dbs, err = a.Databases(ctx)
				require.NoError(t, err)
				assert.NotContains(t, dbs, own)
			})
		}
	}
}

// passwordHash reads the stored password hash of user as the machine's
// superuser.
func passwordHash(t *testing.T, engine dbaas.Engine, user string) string {
	t.Helper()
	db, err := sqlconn.Open(machine(engine), dbaas.DSNOptions{})
	require.NoError(t, err)
	defer db.Close()
	q := "SELECT rolpassword FROM pg_authid WHERE rolname = $1"
	if engine != dbaas.Postgres {
		q = "SELECT authentication_string FROM mysql.user WHERE user = ? AND host = '%'"
	}
	var h sql.NullString
	require.NoError(t, db.QueryRow(q, user).Scan(&h))
	return h.String
}
