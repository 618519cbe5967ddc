package realdb_test

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The backend is what simulators hold.
var _ interface {
	simdb.Backend
	simdb.Snapshotter
} = (*realdb.Backend)(nil)

// newBackend returns a backend on the machine's servers, closed (and
// checked to leave nothing) at the end of the test.
func newBackend(t *testing.T, opts realdb.Options) *realdb.Backend {
	t.Helper()
	return realdbtest.Open(t, opts, true)
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  realdb.Options
		field string
	}{
		{"prefix with a dash", realdb.Options{Prefix: "sim-db"}, "Prefix"},
		{"prefix too long", realdb.Options{Prefix: "abcdefghijklmnopqrstu"}, "Prefix"},
		{"database with a quote", realdb.Options{Database: "a`b"}, "Database"},
		{"socket DSN", realdb.Options{MariaDBDSN: "root@unix(/run/mysqld/mysqld.sock)/"}, "MariaDBDSN"},
		{"broken DSN", realdb.Options{MariaDBDSN: "root@tcp(127.0.0.1:3306"}, "MariaDBDSN"},
		{"broken URL", realdb.Options{PostgresURL: "postgres://%zz"}, "PostgresURL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := realdb.New(tc.opts)
			require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			v, ok := dbaas.AsValidationError(err)
			require.True(t, ok)
			assert.Equal(t, []string{tc.field}, v.Fields())
		})
	}
}

// client is a connection made with what a simulator hands out.
type client struct {
	pg *pgx.Conn
	my *sql.DB
}

func connect(t *testing.T, ctx context.Context, engine dbaas.Engine, db *simdb.Database) *client {
	t.Helper()
	if engine == dbaas.Postgres {
		c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", db.User, db.Password.Reveal(), db.Endpoint.Address(), db.Database))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		return &client{pg: c}
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = db.User, db.Password.Reveal(), "tcp", db.Endpoint.Address(), db.Database
	c, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.PingContext(ctx))
	return &client{my: c}
}

func (c *client) exec(t *testing.T, ctx context.Context, q string, args ...any) {
	t.Helper()
	var err error
	if c.pg != nil {
		_, err = c.pg.Exec(ctx, q, args...)
	} else {
		_, err = c.my.ExecContext(ctx, q, args...)
	}
	require.NoError(t, err, q)
}

func (c *client) values(t *testing.T, ctx context.Context) []string {
	t.Helper()
	var out []string
	if c.pg != nil {
		rows, err := c.pg.Query(ctx, "SELECT v FROM marks")
		require.NoError(t, err)
		out, err = pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
	} else {
		rows, err := c.my.QueryContext(ctx, "SELECT v FROM marks")
		require.NoError(t, err)
		defer rows.Close()
		for rows.Next() {
			var v string
			require.NoError(t, rows.Scan(&v))
			out = append(out, v)
		}
		require.NoError(t, rows.Err())
	}
	sort.Strings(out)
	return out
}

// exists reports whether the server holds database name, and login user.
func exists(t *testing.T, ctx context.Context, engine dbaas.Engine, name, user string) (db, login bool) {
	t.Helper()
	var n, m int
	if engine == dbaas.Postgres {
		c, err := pgx.Connect(ctx, realdb.DefaultPostgresURL)
		require.NoError(t, err)
		defer c.Close(ctx)
		require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n))
		require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", user).Scan(&m))
		return n > 0, m > 0
	}
	c, err := sql.Open("mysql", realdb.DefaultMariaDBDSN)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.QueryRowContext(ctx, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&n))
	require.NoError(t, c.QueryRowContext(ctx, "SELECT count(*) FROM mysql.user WHERE user = ?", user).Scan(&m))
	return n > 0, m > 0
}

// TestSnapshotCarriesData proves the life of a backup on each server: a
// restore holds what was written before the snapshot and not what came
// after, under a login of its own; the snapshot outlives its source; and
// everything made is dropped again.
func TestSnapshotCarriesData(t *testing.T) {
	b := newBackend(t, realdb.Options{Prefix: "realdbtest"})
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			key, snap, restored := "src-"+string(engine), "snap-"+string(engine), "rst-"+string(engine)
			src, err := b.Attach(ctx, key, engine, "")
			require.NoError(t, err)
			assert.Equal(t, engine.DefaultPort(), src.Endpoint.Port)
			_, err = b.Attach(ctx, key, engine, "")
			require.ErrorIs(t, err, dbaas.ErrAlreadyExists, "a key attaches once")

			c := connect(t, ctx, engine, src)
			c.exec(t, ctx, "CREATE TABLE marks (v varchar(64) PRIMARY KEY)")
			c.exec(t, ctx, "INSERT INTO marks VALUES ('before')")
			require.NoError(t, b.Snapshot(ctx, key, snap))
			require.ErrorIs(t, b.Snapshot(ctx, key, snap), dbaas.ErrAlreadyExists)
			// The source takes writes again (a new session for PostgreSQL,
			// whose open ones the snapshot ended).
			c = connect(t, ctx, engine, src)
			c.exec(t, ctx, "INSERT INTO marks VALUES ('after')")
			c.exec(t, ctx, "CREATE TABLE later (v int)")
			require.NoError(t, b.Snapshot(ctx, key, "second"))
			require.NoError(t, b.DropSnapshot(ctx, "second"), "a snapshot drops while its source lives")
			c = connect(t, ctx, engine, src)
			c.exec(t, ctx, "CREATE TABLE later2 (v int)")

			require.NoError(t, b.Detach(ctx, key), "the source goes; its snapshot stays")
			gone, login := exists(t, ctx, engine, src.Database, src.User)
			assert.False(t, gone)
			assert.False(t, login)

			other := dbaas.Postgres
			if engine == dbaas.Postgres {
				other = dbaas.MariaDB
			}
			_, err = b.Restore(ctx, snap, restored, other, "")
			require.ErrorIs(t, err, dbaas.ErrInvalidArgument, "a snapshot restores into its own engine")
			_, err = b.Restore(ctx, "no-such-snapshot", restored, engine, "")
			require.ErrorIs(t, err, dbaas.ErrNotFound)

			db, err := b.Restore(ctx, snap, restored, engine, "")
			require.NoError(t, err)
			assert.NotEqual(t, src.User, db.User, "a restore has a login of its own")
			assert.NotEqual(t, src.Password.Reveal(), db.Password.Reveal())
			r := connect(t, ctx, engine, db)
			assert.Equal(t, []string{"before"}, r.values(t, ctx))
			r.exec(t, ctx, "INSERT INTO marks VALUES ('restored')")
			r.exec(t, ctx, "CREATE TABLE more (v int)")
			assert.Equal(t, []string{"before", "restored"}, r.values(t, ctx), "the login owns the restored tables")

			require.NoError(t, b.DropSnapshot(ctx, snap))
			require.NoError(t, b.DropSnapshot(ctx, snap), "dropping twice is fine")
			_, err = b.Restore(ctx, snap, "again", engine, "")
			require.ErrorIs(t, err, dbaas.ErrNotFound)
			require.NoError(t, b.Detach(ctx, restored))
			gone, login = exists(t, ctx, engine, db.Database, db.User)
			assert.False(t, gone)
			assert.False(t, login)
			require.ErrorIs(t, b.Snapshot(ctx, restored, "late"), dbaas.ErrNotFound)
		})
	}
	attached, snapshots := b.Held()
	assert.Zero(t, attached)
	assert.Zero(t, snapshots)
}

func TestAttachRefusesOtherEngines(t *testing.T) {
	b, err := realdb.New(realdb.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close(context.Background())) })
	_, err = b.Attach(context.Background(), "k", dbaas.Engine("redis"), "7")
	require.ErrorIs(t, err, dbaas.ErrUnsupported)
}

// TestCloseDropsEverything leaves instances and snapshots behind and
// proves Close removes them, and refuses work afterwards.
func TestCloseDropsEverything(t *testing.T) {
	b := newBackend(t, realdb.Options{Prefix: "realdbclose"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	made := map[dbaas.Engine][]*simdb.Database{}
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB} {
		db, err := b.Attach(ctx, "a-"+string(engine), engine, "")
		require.NoError(t, err)
		require.NoError(t, b.Snapshot(ctx, "a-"+string(engine), "s-"+string(engine)))
		made[engine] = append(made[engine], db)
	}
	attached, snapshots := b.Held()
	assert.Equal(t, 2, attached)
	assert.Equal(t, 2, snapshots)
	require.NoError(t, b.Close(ctx))
	require.NoError(t, b.Close(ctx), "a second Close does nothing")
	for engine, dbs := range made {
		for _, db := range dbs {
			d, l := exists(t, ctx, engine, db.Database, db.User)
			assert.False(t, d, "%s database %s dropped", engine, db.Database)
			assert.False(t, l, "%s login %s dropped", engine, db.User)
		}
	}
	_, err := b.Attach(ctx, "late", dbaas.Postgres, "")
	require.ErrorIs(t, err, dbaas.ErrConflict)
}

// TestFixedDatabaseNameOnePerServer: with Options.Database, every
// attached database has that name, so a second per server is refused,
// even when both attach at once.
func TestFixedDatabaseNameOnePerServer(t *testing.T) {
	// Random, so that two runs on one machine do not meet.
	name := fmt.Sprintf("realdb_fixed_%d", time.Now().UnixNano())
	b := newBackend(t, realdb.Options{Prefix: "realdbfixed", Database: name})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = b.Attach(ctx, fmt.Sprintf("k%d", i), dbaas.Postgres, "")
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			assert.ErrorIs(t, err, dbaas.ErrConflict)
		}
	}
	assert.Equal(t, 1, ok)
	db, err := b.Attach(ctx, "mysql", dbaas.MySQL, "")
	require.NoError(t, err, "the other server has its own")
	assert.Equal(t, name, db.Database)
}
