package local

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/sqlq"
	"github.com/agiledeploy/dbaaskit/internal/sqltest"
)

// tenants makes two instances of engine e on one provider: a, whose admin
// user attacks, and b, whose files it tries to read.
func tenants(t *testing.T, e dbaas.Engine) (p *Provider, a *dbaas.ConnectionInfo, ra, rb *record) {
	t.Helper()
	p = newProvider(t, e)
	ctx := context.Background()
	ia := createWait(t, p, spec("tenant-a", e))
	ib := createWait(t, p, spec("tenant-b", e))
	a, err := p.Connection(ctx, ia.ID)
	require.NoError(t, err)
	ra, err = p.s.store.readRecord(ia.ID)
	require.NoError(t, err)
	rb, err = p.s.store.readRecord(ib.ID)
	require.NoError(t, err)
	return p, a, ra, rb
}

// secretsOf are the strings of b that no other instance may learn.
func secretsOf(rb *record) []string { return []string{rb.Password, rb.SuperPassword} }

// assertNoSecret fails when out holds one of b's secrets.
func assertNoSecret(t *testing.T, out string, rb *record, what string) {
	t.Helper()
	for _, s := range secretsOf(rb) {
		if s != "" {
			assert.NotContains(t, out, s, "%s: another instance's secret leaked", what)
		}
	}
}

// pgMajor is the server's major version.
func pgMajor(t *testing.T, ctx context.Context, db *sql.DB) int {
	t.Helper()
	var v string
	require.NoError(t, db.QueryRowContext(ctx, "SHOW server_version_num").Scan(&v))
	n, err := strconv.Atoi(v)
	require.NoError(t, err)
	return n / 10000
}

// TestAdminCannotReadAnotherInstance is the attack of one tenant on
// another: as instance A's admin user, read instance B's state file (its
// password), its TLS key and its data or configuration through the
// servers' own ways to reach files and programs. Every attempt is
// refused.
func TestAdminCannotReadAnotherInstance(t *testing.T) {
	t.Parallel()
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		p, a, ra, rb := tenants(t, dbaas.Postgres)
		ctx := context.Background()
		targets := []string{p.s.store.recordPath(rb.ID), p.s.keyFile(rb),
			filepath.Join(p.s.store.serverDir(rb.ID), "data", "PG_VERSION"),
			filepath.Join(p.s.store.serverDir(rb.ID), "data", "pg_hba.conf")}

		su := *a
		su.User, su.Password = pgSuperuser, dbaas.NewSecret(ra.SuperPassword)
		c, err := pgx.Connect(ctx, mustPostgresURL(t, &su))
		if assert.Error(t, err, "the provider's superuser cannot log in over TCP") {
			assert.Contains(t, err.Error(), "rejects connection", "pg_hba.conf rejects it")
		} else {
			_ = c.Close(ctx)
		}

		db := sqlOpen(t, a)
		var super bool
		require.NoError(t, db.QueryRowContext(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super))
		assert.False(t, super, "the admin user is no superuser")
		for _, role := range []string{"pg_read_server_files", "pg_write_server_files", "pg_execute_server_program"} {
			var member bool
			require.NoError(t, db.QueryRowContext(ctx, "SELECT pg_has_role(current_user, $1, 'USAGE')", role).Scan(&member))
			assert.False(t, member, "the admin user has no %s", role)
		}
		// One connection: the temporary table lives in it.
		conn, err := db.Conn(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		_, err = conn.ExecContext(ctx, "CREATE TEMP TABLE leak (line text)")
		require.NoError(t, err)

		attack := func(t *testing.T) {
			t.Helper()
			for _, f := range targets {
				for _, q := range []string{
					"COPY leak FROM PROGRAM " + sqlq.PGString("cat "+f),
					"COPY leak FROM " + sqlq.PGString(f),
					"SELECT pg_read_file(" + sqlq.PGString(f) + ")",
					"SELECT encode(pg_read_binary_file(" + sqlq.PGString(f) + "), 'escape')",
					"SELECT lo_import(" + sqlq.PGString(f) + ")::text",
				} {
					var out sql.NullString
					err := conn.QueryRowContext(ctx, q).Scan(&out)
					if err == sql.ErrNoRows {
						err = nil // COPY returns no rows: it ran
					}
					assert.Error(t, err, "refused: %s", q)
					assertNoSecret(t, out.String, rb, q)
				}
			}
			var all sql.NullString
			require.NoError(t, conn.QueryRowContext(ctx, "SELECT string_agg(line, E'\\n') FROM leak").Scan(&all))
			assert.Empty(t, all.String, "nothing of the other instance was read")
		}
		t.Run("as admin", attack)

		// PostgreSQL 15 and older let CREATEROLE grant the predefined
		// roles; the server then runs the program as its own system user,
		// which cannot enter another instance's files.
		_, err = conn.ExecContext(ctx, "GRANT pg_execute_server_program, pg_read_server_files TO current_user")
		if err != nil {
			return // PostgreSQL 16 and later: CREATEROLE cannot grant them
		}
		if rb.OSUser == "" {
			t.Logf("PostgreSQL %d lets CREATEROLE grant pg_execute_server_program; with every server under one system user only root's separate users would keep B's files apart", pgMajor(t, ctx, db))
			return
		}
		t.Run("with the roles CREATEROLE grants", attack)
	})

	t.Run("mariadb", func(t *testing.T) {
		t.Parallel()
		p, a, ra, rb := tenants(t, dbaas.MariaDB)
		ctx := context.Background()
		bdir := p.s.store.serverDir(rb.ID)
		targets := []string{p.s.store.recordPath(rb.ID), p.s.keyFile(rb), filepath.Join(bdir, "my.cnf"),
			filepath.Join(bdir, "data", "mysql", "global_priv.MAD")}

		su := *a
		su.User, su.Password = "root", dbaas.NewSecret(ra.SuperPassword)
		assert.Error(t, pingMySQL(ctx, &su), "the provider's superuser cannot log in over TCP")

		db := sqltest.MySQL(t, a)
		conn, err := db.Conn(ctx)
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		var priv string
		require.NoError(t, conn.QueryRowContext(ctx, "SELECT @@secure_file_priv").Scan(&priv))
		assert.Equal(t, (mariadb{p: p.s}).filesDir(ra)+"/", priv, "files reach only the instance's own empty directory")
		_, err = conn.ExecContext(ctx, "CREATE TABLE leak (line TEXT)")
		require.NoError(t, err)
		for _, f := range targets {
			var out sql.NullString
			err := conn.QueryRowContext(ctx, "SELECT LOAD_FILE(?)", f).Scan(&out)
			assert.True(t, err != nil || !out.Valid, "LOAD_FILE of %s is refused", f)
			assertNoSecret(t, out.String, rb, "LOAD_FILE "+f)
			_, err = conn.ExecContext(ctx, "LOAD DATA INFILE "+sqlq.MyString(f)+" INTO TABLE leak LINES TERMINATED BY '\\0'")
			assert.Error(t, err, "LOAD DATA INFILE %s is refused", f)
		}
		out := filepath.Join(bdir, "data", "planted.txt")
		_, err = conn.ExecContext(ctx, "SELECT 'x' INTO OUTFILE "+sqlq.MyString(out))
		assert.Error(t, err, "SELECT INTO OUTFILE into another instance is refused")
		assert.NoFileExists(t, out)
		_, err = conn.ExecContext(ctx, "GRANT FILE, SUPER ON *.* TO CURRENT_USER")
		assert.Error(t, err, "the admin user cannot grant itself FILE or SUPER")
		var n int
		require.NoError(t, conn.QueryRowContext(ctx, "SELECT count(*) FROM leak").Scan(&n))
		assert.Zero(t, n, "nothing of the other instance was read")
	})
}

// sqlOpen opens a database/sql handle on an instance as its admin user.
func sqlOpen(t *testing.T, conn *dbaas.ConnectionInfo) *sql.DB {
	t.Helper()
	db, err := sqlconn.Open(conn, dbaas.DSNOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.PingContext(context.Background()))
	return db
}

// TestEachInstanceHasItsOwnSystemUser: as root, every instance's server
// runs as a system user of its own (not root, not the shared one) that
// owns its files, mode 0700 and 0600; Delete removes that user.
func TestEachInstanceHasItsOwnSystemUser(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root makes system users; without root the servers run as the current user")
	}
	for _, e := range engines {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			p, _, ra, rb := tenants(t, e)
			ctx := context.Background()
			uids := map[int]bool{}
			for _, r := range []*record{ra, rb} {
				require.Equal(t, instanceUser(r.ID), r.OSUser)
				u, err := user.Lookup(r.OSUser)
				require.NoError(t, err)
				uid, _ := strconv.Atoi(u.Uid)
				assert.NotZero(t, uid)
				assert.NotEqual(t, p.s.acct.uid, uid, "not the shared user")
				uids[uid] = true

				var st syscall.Stat_t
				require.NoError(t, syscall.Stat(fmt.Sprintf("/proc/%d", p.s.serverPID(r)), &st))
				assert.Equal(t, uid, int(st.Uid), "the server runs as its instance's user")
				dir := p.s.store.serverDir(r.ID)
				for _, f := range []string{dir, filepath.Join(dir, "data")} {
					fi, err := os.Stat(f)
					require.NoError(t, err)
					assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm(), f)
					assert.Equal(t, uint32(uid), fi.Sys().(*syscall.Stat_t).Uid, f)
				}
				fi, err := os.Stat(p.s.keyFile(r))
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			}
			assert.Len(t, uids, 2, "two instances, two users")

			require.NoError(t, p.Delete(ctx, ra.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
			_, err := user.Lookup(ra.OSUser)
			assert.ErrorAs(t, err, new(user.UnknownUserError), "Delete removed the instance's user")
			_, err = user.LookupGroup(ra.OSUser)
			assert.Error(t, err, "and its group")
		})
	}
}

func mustPostgresURL(t *testing.T, conn *dbaas.ConnectionInfo) string {
	t.Helper()
	u, err := conn.PostgresURL(dbaas.DSNOptions{})
	require.NoError(t, err)
	return u
}

// pingMySQL logs in once with conn.
func pingMySQL(ctx context.Context, conn *dbaas.ConnectionInfo) error {
	db, err := sqlconn.Open(conn, dbaas.DSNOptions{})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}
