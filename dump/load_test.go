package dump

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/sqltest"
	"github.com/agiledeploy/dbaaskit/providers/local"
	"github.com/agiledeploy/dbaaskit/providers/local/localtest"
)

// localInstances starts available instances of engine on the local
// provider, real servers that are deleted at the end of the test.
func localInstances(t *testing.T, engine dbaas.Engine, n int) (*local.Provider, []*dbaas.ConnectionInfo) {
	t.Helper()
	p := localtest.New(t, engine)
	conns := make([]*dbaas.ConnectionInfo, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst, err := p.Create(context.Background(), dbaas.Spec{Name: "dump-" + string(rune('a'+i)), Engine: engine, Size: "small"})
			if err == nil {
				inst, err = dbaas.Wait(context.Background(), p, inst.ID, dbaas.WaitOptions{FirstDelay: 100 * time.Millisecond, Timeout: 3 * time.Minute})
			}
			if err == nil {
				conns[i], err = p.Connection(context.Background(), inst.ID)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	return p, conns
}

// TestTakeBadConnections checks that Take fails clearly, naming the
// cause and never the password, when the server is unreachable or the
// password wrong.
func TestTakeBadConnections(t *testing.T) {
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB} {
		t.Run(string(engine), func(t *testing.T) {
			_, conns := localInstances(t, engine, 1)
			good := conns[0]
			wrong := *good
			wrong.Password = dbaas.NewSecret("not-the-password-x9")
			closed := *good
			closed.Endpoint.Port = 1
			tests := []struct {
				name string
				conn *dbaas.ConnectionInfo
				want []string
			}{
				{"wrong password", &wrong, map[dbaas.Engine][]string{dbaas.Postgres: {"password authentication failed"}, dbaas.MariaDB: {"Access denied", "mariadb-dump"}}[engine]},
				{"unreachable", &closed, []string{"127.0.0.1:1"}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					var out bytes.Buffer
					err := Take(context.Background(), tc.conn, &out, TakeOptions{})
					require.Error(t, err)
					for _, w := range tc.want {
						assert.Contains(t, err.Error(), w)
					}
					assert.NotContains(t, err.Error(), tc.conn.Password.Reveal())
					assert.NotContains(t, out.String(), "Dump completed")
				})
			}
		})
	}
}

// TestLoadFailures loads dumps the server refuses or that end early: the
// error names the dump's line (the input's, though the rewrite dropped
// statements before it) and the server's message, and a PostgreSQL load
// commits nothing.
func TestLoadFailures(t *testing.T) {
	pgTrapped := pgHeader + "SET statement_timeout = 0;\nALTER SCHEMA public OWNER TO rdsadmin;\nCREATE TABLE public.a (id int PRIMARY KEY);\nALTER TABLE public.a OWNER TO rdsadmin;\n" +
		"COPY public.a (id) FROM stdin;\n1\n2\n\\.\n"
	myTrapped := myHeader + "SET @@SESSION.SQL_LOG_BIN= 0;\nSET @@GLOBAL.GTID_PURGED='3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5';\nCREATE TABLE `a` (`id` int PRIMARY KEY);\n" +
		"INSERT INTO `a` VALUES (1),(2);\n"
	tests := []struct {
		engine  dbaas.Engine
		name    string
		dump    string
		wantErr []string
		is      error
		line    int
		tables  []string // what the target holds afterwards; "?" when it may be either
	}{
		{dbaas.Postgres, "refused statement", pgTrapped + "INSERT INTO public.missing VALUES (1);\n" + pgTrailer,
			[]string{"dump line 13", `relation "public.missing" does not exist`}, nil, 13, nil},
		{dbaas.Postgres, "truncated", pgTrapped, []string{"trailer"}, ErrTruncated, 0, nil},
		{dbaas.MariaDB, "refused statement", myTrapped + "INSERT INTO `missing` VALUES (1);\n" + myTrailer,
			[]string{"dump line 6", "ERROR 1146 (42S02)", "missing' doesn't exist"}, nil, 6, []string{"a"}},
		// the client is stopped before it reads the end: what it ran, ran
		{dbaas.MariaDB, "truncated", myTrapped, []string{"trailer"}, ErrTruncated, 0, []string{"?"}},
	}
	conns := map[dbaas.Engine]*dbaas.ConnectionInfo{}
	for _, e := range []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB} {
		_, cs := localInstances(t, e, 1)
		conns[e] = cs[0]
	}
	for _, tc := range tests {
		t.Run(string(tc.engine)+"/"+tc.name, func(t *testing.T) {
			conn := conns[tc.engine]
			resetDatabase(t, conn)
			rep, err := Load(context.Background(), conn, strings.NewReader(tc.dump), Target{Provider: "digitalocean"})
			require.Error(t, err)
			for _, w := range tc.wantErr {
				assert.Contains(t, err.Error(), w)
			}
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			var le *LoadError
			if tc.line > 0 {
				require.ErrorAs(t, err, &le)
				assert.Equal(t, tc.line, le.Line)
			}
			require.NotNil(t, rep)
			assert.False(t, rep.Committed)
			if len(tc.tables) != 1 || tc.tables[0] != "?" {
				assert.Equal(t, tc.tables, tablesOf(t, conn), "what the target holds")
			}
		})
	}
}

// TestLoadFixesTrapsAndRunsAsTheUser loads a dump full of another
// provider's traps as an application user that owns nothing but its
// database: the fixes are applied on the way and the objects are its own.
func TestLoadFixesTrapsAndRunsAsTheUser(t *testing.T) {
	_, conns := localInstances(t, dbaas.Postgres, 1)
	admin := conns[0]
	sqltest.Exec(t, admin, "CREATE ROLE app LOGIN PASSWORD 'app-secret-1'", "GRANT CREATE ON SCHEMA public TO app")
	app := *admin
	app.User, app.Password = "app", dbaas.NewSecret("app-secret-1")
	roles, err := Roles(context.Background(), &app)
	require.NoError(t, err)
	assert.Equal(t, []string{"app"}, roles)

	in := pgHeader + "\\restrict abc\nSET default_table_access_method = heap;\nCREATE TABLE public.a (id int PRIMARY KEY, v text);\nALTER TABLE public.a OWNER TO admin;\n" +
		"COPY public.a (id, v) FROM stdin;\n1\tx;y\n2\t\\N\n\\.\nGRANT SELECT ON TABLE public.a TO rds_superuser;\nCOMMENT ON EXTENSION plpgsql IS 'x';\n\\unrestrict abc\n" + pgTrailer
	var seen []Progress
	rep, err := Load(context.Background(), &app, strings.NewReader(in), Target{Provider: "digitalocean", Roles: roles}, WithProgress(func(p Progress) { seen = append(seen, p) }))
	require.NoError(t, err)
	assert.True(t, rep.Committed)
	assert.Equal(t, []string{"public.a"}, rep.Tables)
	assert.Equal(t, int64(len(in)), rep.Bytes)
	assert.GreaterOrEqual(t, rep.Rewrite.Fixed(), 3, "%v", rep.Rewrite.Findings)
	require.NotEmpty(t, seen)
	assert.Equal(t, Progress{Bytes: int64(len(in)), Tables: 1}, seen[len(seen)-1])
	// the admin user is no superuser: the rows are the owner's to read
	assert.Equal(t, [][]string{{"app"}}, rows(t, admin, "SELECT tableowner FROM pg_tables WHERE tablename = 'a'"))
	assert.Equal(t, [][]string{{"2"}}, rows(t, &app, "SELECT count(*)::text FROM public.a"))
}

// TestPickPgTool checks the choice of pg_dump for a server: the oldest
// installed that is not older than the server, and a clear error when
// none is.
func TestPickPgTool(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"13", "16"} {
		dir := filepath.Join(root, v, "bin")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "pg_dump"), []byte("#!/bin/sh\n"), 0o755))
	}
	// a directory without the program, as when only the server is there
	require.NoError(t, os.MkdirAll(filepath.Join(root, "17", "bin"), 0o755))
	oldDirs := pgBinDirs
	pgBinDirs = func() []string {
		return []string{filepath.Join(root, "16", "bin"), filepath.Join(root, "13", "bin"), filepath.Join(root, "17", "bin")}
	}
	// on PATH, a wrapper that is asked only when no directory has one
	path := filepath.Join(root, "path")
	require.NoError(t, os.MkdirAll(path, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(path, "pg_dump"), []byte("#!/bin/sh\necho 'pg_dump (PostgreSQL) 18.1'\n"), 0o755))
	t.Setenv("PATH", path)
	pgToolsMu.Lock()
	delete(pgToolsSeen, "pg_dump")
	pgToolsMu.Unlock()
	t.Cleanup(func() {
		pgBinDirs = oldDirs
		pgToolsMu.Lock()
		delete(pgToolsSeen, "pg_dump")
		pgToolsMu.Unlock()
	})
	tests := []struct {
		server  int
		want    string
		wantErr string
	}{
		{12, "13", ""},
		{13, "13", ""},
		{15, "16", ""},
		{17, "", "the server is PostgreSQL 17 but the newest pg_dump installed is 16 (have 13, 16): install postgresql-client-17"},
	}
	for _, tc := range tests {
		path, err := pickPgTool(context.Background(), "pg_dump", tc.server)
		if tc.wantErr != "" {
			require.ErrorIs(t, err, ErrNoClient)
			assert.Contains(t, err.Error(), tc.wantErr)
			continue
		}
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(root, tc.want, "bin", "pg_dump"), path)
	}

	pgBinDirs = func() []string { return nil }
	pgToolsMu.Lock()
	delete(pgToolsSeen, "pg_dump")
	pgToolsMu.Unlock()
	got, err := pickPgTool(context.Background(), "pg_dump", 17)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(path, "pg_dump"), got, "the one on PATH, asked its version")
}

// TestTakeLoadRoundTrip takes a dump of a real database and loads it into
// another, gzip on the way, checking the rows arrive byte for byte.
func TestTakeLoadRoundTrip(t *testing.T) {
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB} {
		t.Run(string(engine), func(t *testing.T) {
			_, conns := localInstances(t, engine, 2)
			src, dst := conns[0], conns[1]
			q := "SELECT id, v FROM t ORDER BY id"
			if engine == dbaas.Postgres {
				sqltest.Exec(t, src, `CREATE TABLE t (id int PRIMARY KEY, v text)`, `INSERT INTO t VALUES (1, E'a\tb\n\\.\n;'), (2, NULL), (3, '''')`)
			} else {
				sqltest.Exec(t, src, "CREATE TABLE t (id int PRIMARY KEY, v text)", `INSERT INTO t VALUES (1, 'a\tb\n\\.\n;'), (2, NULL), (3, '''')`)
			}
			var buf bytes.Buffer
			require.NoError(t, Take(context.Background(), src, &buf, TakeOptions{Gzip: true}))
			require.Equal(t, []byte{0x1f, 0x8b}, buf.Bytes()[:2], "gzip")
			rep, err := Load(context.Background(), dst, &buf, Target{Provider: "self"})
			require.NoError(t, err)
			assert.True(t, rep.Committed)
			assert.Equal(t, rows(t, src, q), rows(t, dst, q))
			assert.Len(t, rows(t, dst, q), 3)
		})
	}
}

// myDB opens conn's database with go-sql-driver/mysql.
func myDB(t *testing.T, conn *dbaas.ConnectionInfo) *sql.DB {
	t.Helper()
	cfg, err := sqlconn.MySQLConfig(conn, dbaas.DSNOptions{})
	require.NoError(t, err)
	cfg.ParseTime = false
	c, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// rows returns the rows of q as text, NULL as "NULL".
func rows(t *testing.T, conn *dbaas.ConnectionInfo, q string) [][]string {
	t.Helper()
	var out [][]string
	if conn.Engine == dbaas.Postgres {
		rs, err := sqltest.PG(t, conn).Query(context.Background(), q, pgx.QueryExecModeSimpleProtocol)
		require.NoError(t, err, q)
		defer rs.Close()
		for rs.Next() {
			var row []string
			for _, v := range rs.RawValues() {
				if v == nil {
					row = append(row, "NULL")
				} else {
					row = append(row, string(v))
				}
			}
			out = append(out, row)
		}
		require.NoError(t, rs.Err())
		return out
	}
	rs, err := myDB(t, conn).Query(q)
	require.NoError(t, err, q)
	defer rs.Close()
	cols, err := rs.Columns()
	require.NoError(t, err)
	for rs.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rs.Scan(ptrs...))
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		out = append(out, row)
	}
	require.NoError(t, rs.Err())
	return out
}

// tablesOf lists the user tables of conn's database.
func tablesOf(t *testing.T, conn *dbaas.ConnectionInfo) []string {
	t.Helper()
	q := "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1"
	if conn.Engine == dbaas.Postgres {
		q = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
	}
	var out []string
	for _, r := range rows(t, conn, q) {
		out = append(out, r[0])
	}
	return out
}

// resetDatabase drops every table of conn's database.
func resetDatabase(t *testing.T, conn *dbaas.ConnectionInfo) {
	t.Helper()
	if conn.Engine == dbaas.Postgres {
		sqltest.Exec(t, conn, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public")
		return
	}
	for _, tb := range tablesOf(t, conn) {
		sqltest.Exec(t, conn, "DROP TABLE `"+tb+"`")
	}
}
