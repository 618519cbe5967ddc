package dump

// The tests in this file build databases on the machine's real MariaDB and
// PostgreSQL servers that trigger the rules, dump them with the real
// mariadb-dump, pg_dump and pg_dumpall, rewrite the dumps and import them
// as a user without superuser rights, then compare every table's rows with
// the source. The dumps are generated at each run; none is committed.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
)

const (
	mariaAddr = "127.0.0.1:3306"
	pgHost    = "127.0.0.1"
)

func uniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "_" + hex.EncodeToString(b)
}

// runTool runs a real client program and returns its standard output.
func runTool(t *testing.T, stdin []byte, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.Bytes(), nil
}

func mustRun(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	out, err := runTool(t, stdin, name, args...)
	require.NoError(t, err)
	return out
}

// mariadb connects as root to the real MariaDB, or skips.
func mariadb(t *testing.T) *sql.DB {
	t.Helper()
	testenv.LookPath(t, "mariadb-dump", "apt-get install mariadb-client")
	testenv.LookPath(t, "mariadb", "apt-get install mariadb-client")
	db, err := sql.Open("mysql", "root@tcp("+mariaAddr+")/?multiStatements=true")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Ping(); err != nil {
		testenv.Skip(t, "MariaDB is not running on "+mariaAddr+" (root without password): "+err.Error())
	}
	return db
}

func mexec(t *testing.T, db *sql.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		_, err := db.Exec(s)
		require.NoError(t, err, s)
	}
}

// trickyStrings look like the statements the rules change; rows holding
// them must come through byte for byte.
var trickyStrings = []string{
	"CREATE DEFINER=`root`@`localhost` PROCEDURE x() SELECT 1;",
	"/*!50013 DEFINER=`admin`@`%` SQL SECURITY DEFINER */",
	"SET @@GLOBAL.GTID_PURGED='3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5';",
	"SET @@SESSION.SQL_LOG_BIN= 0;",
	"ALTER TABLE public.t OWNER TO doadmin;",
	"GRANT ALL ON SCHEMA public TO rds_superuser;",
	") ENGINE=MyISAM ROW_FORMAT=FIXED COLLATE=utf8mb4_0900_ai_ci;",
	"it's a 'quoted' \"string\" with \\backslashes\\ and ; semicolons",
	"line one\nline two\r\n\\.\nCOPY x FROM stdin;\n\tcolumn",
	"$$ dollar $tag$ quotes $$ -- not a comment /* nor this */ # nor this",
	"\\restrict abc\n\\unrestrict abc",
	"DELIMITER ;;",
}

// mariaChecksums returns, per table, the row count and a hash of its rows
// in a stable order.
func mariaChecksums(t *testing.T, db *sql.DB, schema string) map[string]string {
	t.Helper()
	rows, err := db.Query("SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'", schema)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rows.Err())
	sums := map[string]string{}
	for _, tb := range tables {
		r, err := db.Query(fmt.Sprintf("SELECT * FROM `%s`.`%s`", schema, tb))
		require.NoError(t, err)
		cols, err := r.Columns()
		require.NoError(t, err)
		var hashes []string
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for r.Next() {
			require.NoError(t, r.Scan(ptrs...))
			h := sha256.New()
			for _, v := range vals {
				if v == nil {
					h.Write([]byte{0})
				} else {
					fmt.Fprintf(h, "%d:", len(v))
					h.Write(v)
				}
			}
			hashes = append(hashes, hex.EncodeToString(h.Sum(nil)))
		}
		require.NoError(t, r.Err())
		slices.Sort(hashes)
		sum := sha256.Sum256([]byte(strings.Join(hashes, ",")))
		sums[tb] = fmt.Sprintf("%d rows %x", len(hashes), sum[:8])
	}
	return sums
}

// buildMariaSource creates a database that triggers the MariaDB rules and
// fills it with rows that look like the statements the rules change.
func buildMariaSource(t *testing.T, db *sql.DB) string {
	t.Helper()
	src := uniqueName("dbaas_dump_src")
	mexec(t, db, "CREATE DATABASE `"+src+"`")
	t.Cleanup(func() { _, _ = db.Exec("DROP DATABASE IF EXISTS `" + src + "`") })
	q := func(s string) string { return "`" + src + "`." + s }
	mexec(t, db,
		"CREATE TABLE "+q("t_pk")+" (id INT PRIMARY KEY, s TEXT, b BLOB, n DECIMAL(20,6), d DATETIME) ENGINE=InnoDB",
		"CREATE TABLE "+q("t_myisam")+" (id INT, s VARCHAR(200)) ENGINE=MyISAM ROW_FORMAT=FIXED",
		"CREATE TABLE "+q("t_aria")+" (id INT PRIMARY KEY, s VARCHAR(200)) ENGINE=Aria PAGE_CHECKSUM=1 TRANSACTIONAL=1",
		"CREATE TABLE "+q("t_memory")+" (id INT PRIMARY KEY, s VARCHAR(200)) ENGINE=MEMORY",
		"CREATE TABLE "+q("t_nokey")+" (a INT, s TEXT) ENGINE=InnoDB",
		"CREATE TABLE "+q("t_compressed")+" (id INT PRIMARY KEY, s TEXT) ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8",
		"CREATE TABLE "+q("t_uca")+" (id INT PRIMARY KEY, s VARCHAR(100)) COLLATE=utf8mb4_uca1400_ai_ci",
	)
	// routines, views and triggers are created from inside the database, as
	// an application would, so their bodies name no schema
	in, err := sql.Open("mysql", "root@tcp("+mariaAddr+")/"+src)
	require.NoError(t, err)
	defer in.Close()
	mexec(t, in,
		"CREATE DEFINER=`root`@`localhost` PROCEDURE p_count() SELECT COUNT(*) FROM t_pk",
		"CREATE DEFINER=`root`@`localhost` FUNCTION f_twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2",
		"CREATE DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW v_pk AS SELECT id, s FROM t_pk",
		"CREATE DEFINER=`root`@`localhost` TRIGGER tr_nokey BEFORE INSERT ON t_nokey FOR EACH ROW SET NEW.a = NEW.a",
		"CREATE DEFINER=`root`@`localhost` EVENT e_noop ON SCHEDULE EVERY 1 DAY DISABLE DO SELECT 1",
	)
	for i, s := range trickyStrings {
		_, err := db.Exec("INSERT INTO "+q("t_pk")+" VALUES (?, ?, ?, ?, ?)", i, s, []byte(s+"\x00\xff\x1a"), "-12345.678901", "2024-02-29 23:59:59")
		require.NoError(t, err)
		for _, tb := range []string{"t_myisam", "t_aria", "t_memory", "t_nokey", "t_compressed", "t_uca"} {
			col := "id"
			if tb == "t_nokey" {
				col = "a"
			}
			v := s
			if len(v) > 100 {
				v = v[:100]
			}
			_, err := db.Exec("INSERT INTO "+q(tb)+" ("+col+", s) VALUES (?, ?)", i, v)
			require.NoError(t, err)
		}
	}
	mexec(t, db, "INSERT INTO "+q("t_pk")+" (id) VALUES (1000)")
	return src
}

// mariaImporter creates an empty database and a user with every privilege
// on it and none elsewhere, as a managed service's admin would have.
func mariaImporter(t *testing.T, db *sql.DB) (dbname, user string) {
	t.Helper()
	dbname, user = uniqueName("dbaas_dump_dst"), uniqueName("dbaas_imp")
	mexec(t, db, "CREATE DATABASE `"+dbname+"`",
		"CREATE USER '"+user+"'@'127.0.0.1'",
		"GRANT ALL PRIVILEGES ON `"+dbname+"`.* TO '"+user+"'@'127.0.0.1'")
	t.Cleanup(func() {
		_, _ = db.Exec("DROP DATABASE IF EXISTS `" + dbname + "`")
		_, _ = db.Exec("DROP USER IF EXISTS '" + user + "'@'127.0.0.1'")
	})
	return dbname, user
}

func rewriteBytes(t *testing.T, dump []byte, target Target) ([]byte, *Report) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(dump), "")
	require.NoError(t, err)
	var out bytes.Buffer
	rep, err := Rewrite(context.Background(), &out, r, target)
	require.NoError(t, err)
	return out.Bytes(), rep
}

func scanBytes(t *testing.T, dump []byte, target Target) *Report {
	t.Helper()
	r, err := NewReader(bytes.NewReader(dump), "")
	require.NoError(t, err)
	rep, err := Scan(context.Background(), r, target)
	require.NoError(t, err)
	return rep
}

func ruleIDs(fs []Finding) []string {
	var ids []string
	for _, f := range fs {
		if !slices.Contains(ids, f.Rule) {
			ids = append(ids, f.Rule)
		}
	}
	slices.Sort(ids)
	return ids
}

// dataLines returns the row data of a dump: the INSERT statements and
// COPY rows, in order.
func dataLines(t *testing.T, dump []byte) []string {
	t.Helper()
	r, err := NewReader(bytes.NewReader(dump), "")
	require.NoError(t, err)
	var out []string
	for {
		st, err := r.Next()
		if err != nil {
			break
		}
		if st.Kind == KindData {
			var rest bytes.Buffer
			require.NoError(t, r.Rest(&rest))
			out = append(out, string(st.Text)+rest.String())
		}
	}
	return out
}

func TestFixtureMariaDBImportsAfterRewrite(t *testing.T) {
	db := mariadb(t)
	src := buildMariaSource(t, db)
	dump := mustRun(t, nil, "mariadb-dump", "-h127.0.0.1", "-uroot", "--routines", "--events", "--triggers", src)

	for _, target := range []Target{{Provider: "aws", Engine: dbaas.MariaDB}, {Provider: "azure", Engine: dbaas.MariaDB}} {
		t.Run(target.Provider, func(t *testing.T) {
			before := scanBytes(t, dump, target)
			assert.Equal(t, FormatMariaDBDump, before.Format)
			assert.Subset(t, ruleIDs(before.Findings), []string{"mysql-definer", "mysql-engine", "mysql-row-format"})

			fixed, rep := rewriteBytes(t, dump, target)
			assert.Empty(t, rep.Failing(), "every failing finding has a fix")
			assert.Equal(t, len(before.Findings), len(rep.Findings))
			assert.Equal(t, dataLines(t, dump), dataLines(t, fixed), "rows are copied byte for byte")
			after := scanBytes(t, fixed, target)
			assert.Empty(t, after.Failing(), "a rewritten dump scans clean: %v", after.Failing())

			dst, user := mariaImporter(t, db)
			// the dump as taken fails for a user without SUPER: the rules matter
			_, err := runTool(t, dump, "mariadb", "-h127.0.0.1", "-u"+user, dst)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "denied")

			dst, user = mariaImporter(t, db)
			mustRun(t, fixed, "mariadb", "-h127.0.0.1", "-u"+user, dst)
			assert.Equal(t, mariaChecksums(t, db, src), mariaChecksums(t, db, dst))
			var engines []string
			rows, err := db.Query("SELECT DISTINCT engine FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'", dst)
			require.NoError(t, err)
			for rows.Next() {
				var e string
				require.NoError(t, rows.Scan(&e))
				engines = append(engines, e)
			}
			assert.Equal(t, []string{"InnoDB"}, engines)
			var n int
			require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = ?", dst).Scan(&n))
			assert.Equal(t, 2, n, "procedure and function imported")
		})
	}
}

func TestFixtureMariaDBIntoMySQLTargets(t *testing.T) {
	db := mariadb(t)
	src := buildMariaSource(t, db)
	dump := mustRun(t, nil, "mariadb-dump", "-h127.0.0.1", "-uroot", "--routines", "--events", "--triggers", src)
	rep := scanBytes(t, dump, Target{Provider: "digitalocean", Engine: dbaas.MySQL})
	assert.Subset(t, ruleIDs(rep.Findings), []string{"mysql-collation-uca1400", "mysql-definer", "mysql-engine", "mysql-no-primary-key", "mysql-row-format", "mysql-sandbox"})
	var nokey []string
	for _, f := range rep.Findings {
		if f.Rule == "mysql-no-primary-key" {
			nokey = append(nokey, f.Excerpt)
		}
	}
	assert.ElementsMatch(t, []string{"CREATE TABLE `t_myisam` (", "CREATE TABLE `t_nokey` ("}, nokey)

	fixed, rep := rewriteBytes(t, dump, Target{Provider: "digitalocean", Engine: dbaas.MySQL})
	assert.Equal(t, []string{"mysql-no-primary-key"}, ruleIDs(rep.Failing()), "only the missing keys have no fix")
	assert.False(t, bytes.HasPrefix(fixed, sandboxPrefix))
	assert.Contains(t, string(fixed), "COLLATE=utf8mb4_0900_ai_ci")
	assert.Equal(t, dataLines(t, dump), dataLines(t, fixed))
}

func TestFixtureMariaDBSystemSchemaAndGrants(t *testing.T) {
	db := mariadb(t)
	user := uniqueName("dbaas_priv")
	mexec(t, db, "CREATE USER '"+user+"'@'%'", "GRANT SUPER, FILE, PROCESS ON *.* TO '"+user+"'@'%'")
	t.Cleanup(func() { _, _ = db.Exec("DROP USER IF EXISTS '" + user + "'@'%'") })
	dump := mustRun(t, nil, "mariadb-dump", "-h127.0.0.1", "-uroot", "--system=users", "--databases", "mysql")
	rep := scanBytes(t, dump, Target{Provider: "aws"})
	assert.Subset(t, ruleIDs(rep.Findings), []string{"mysql-privileged-grant", "mysql-system-schema"})
	found := false
	for _, f := range rep.Findings {
		if f.Rule == "mysql-privileged-grant" && strings.Contains(f.Excerpt, "SUPER") {
			found = true
		}
	}
	assert.True(t, found, "the SUPER grant is reported: %v", rep.Findings)
	assert.Empty(t, scanBytes(t, dump, Target{Provider: "self"}).Findings, "a self-managed server takes it all")
}

// postgres connects as the superuser to the real PostgreSQL, or skips.
func postgres(t *testing.T, dbname string) *pgx.Conn {
	t.Helper()
	testenv.LookPath(t, "pg_dump", "apt-get install postgresql-client-15")
	testenv.LookPath(t, "psql", "apt-get install postgresql-client-15")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, "postgres://postgres@"+pgHost+":5432/"+dbname+"?sslmode=disable")
	if err != nil {
		testenv.Skip(t, "PostgreSQL is not running on "+pgHost+":5432 (trust auth): "+err.Error())
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func pexec(t *testing.T, conn *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		_, err := conn.Exec(context.Background(), s)
		require.NoError(t, err, s)
	}
}

// providerRoles are the roles the PostgreSQL fixture gives objects to.
// Roles are cluster-wide: they are created when missing and dropped only
// by the test that created them.
var providerRoles = []string{"doadmin", "rds_superuser", "avnadmin"}

func ensureRoles(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	for _, r := range providerRoles {
		tag, err := conn.Exec(context.Background(), "SELECT 1 FROM pg_roles WHERE rolname = $1", r)
		require.NoError(t, err)
		if tag.RowsAffected() > 0 {
			continue
		}
		if _, err := conn.Exec(context.Background(), "CREATE ROLE "+r); err != nil {
			continue // created meanwhile by a parallel test
		}
		t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "DROP ROLE IF EXISTS "+r) })
	}
}

func buildPGSource(t *testing.T, admin *pgx.Conn) string {
	t.Helper()
	// the roles go after the database that holds their objects: their
	// cleanup is registered first, so it runs last
	ensureRoles(t, admin)
	src := uniqueName("dbaas_dump_src")
	pexec(t, admin, "CREATE DATABASE "+src)
	t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+src+" WITH (FORCE)") })
	conn := postgres(t, src)
	pexec(t, conn,
		"CREATE EXTENSION pgcrypto",
		"COMMENT ON SCHEMA public IS 'the public schema, commented'",
		"CREATE TABLE t_rows (id int PRIMARY KEY, s text, b bytea, j jsonb, a text[])",
		"CREATE TABLE t_nokey (s text, n numeric)",
		"ALTER TABLE t_rows OWNER TO doadmin",
		"ALTER TABLE t_nokey OWNER TO avnadmin",
		"GRANT SELECT ON t_rows TO rds_superuser",
		"CREATE FUNCTION f_tricky(x text) RETURNS text LANGUAGE sql AS $fn$ SELECT x || $$;OWNER TO doadmin;$$ || E'\\'' $fn$",
		"ALTER FUNCTION f_tricky(text) OWNER TO rds_superuser",
		"CREATE VIEW v_rows AS SELECT id, s FROM t_rows",
	)
	for i, s := range trickyStrings {
		_, err := conn.Exec(context.Background(), "INSERT INTO t_rows VALUES ($1, $2, $3, $4, $5)", i, s, []byte(s+"\x00\xff"), fmt.Sprintf(`{"k": %q}`, s), []string{s, "x"})
		require.NoError(t, err)
		_, err = conn.Exec(context.Background(), "INSERT INTO t_nokey VALUES ($1, $2)", s, i)
		require.NoError(t, err)
	}
	pexec(t, conn, "INSERT INTO t_rows (id) VALUES (1000)")
	return src
}

func pgChecksums(t *testing.T, dbname string) map[string]string {
	t.Helper()
	conn := postgres(t, dbname)
	rows, err := conn.Query(context.Background(), "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	sums := map[string]string{}
	for _, tb := range tables {
		rows, err := conn.Query(context.Background(), fmt.Sprintf("SELECT t::text FROM public.%s t", pgx.Identifier{tb}.Sanitize()))
		require.NoError(t, err)
		vals, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		slices.Sort(vals)
		sum := sha256.Sum256([]byte(strings.Join(vals, "\x00")))
		sums[tb] = fmt.Sprintf("%d rows %x", len(vals), sum[:8])
	}
	return sums
}

// pgImporter creates a login role without superuser rights and an empty
// database it owns, as on a managed service.
func pgImporter(t *testing.T, admin *pgx.Conn) (dbname, role string) {
	t.Helper()
	dbname, role = uniqueName("dbaas_dump_dst"), uniqueName("dbaas_imp")
	pexec(t, admin, "CREATE ROLE "+role+" LOGIN NOSUPERUSER NOCREATEROLE", "CREATE DATABASE "+dbname+" OWNER "+role)
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+dbname+" WITH (FORCE)")
		_, _ = admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	return dbname, role
}

func psqlImport(t *testing.T, dump []byte, dbname, role string) error {
	t.Helper()
	_, err := runTool(t, dump, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pgHost, "-U", role, "-d", dbname, "-f", "-")
	return err
}

func TestFixturePostgresImportsAfterRewrite(t *testing.T) {
	admin := postgres(t, "postgres")
	src := buildPGSource(t, admin)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"pg_dump", nil, []string{"pg-comment-on-extension", "pg-grant-role", "pg-owner", "pg-public-schema", "pg-restrict"}},
		{"pg_dump -n public", []string{"-n", "public"}, []string{"pg-grant-role", "pg-owner", "pg-public-schema", "pg-restrict"}},
		{"pg_dump --inserts", []string{"--inserts"}, []string{"pg-comment-on-extension", "pg-grant-role", "pg-owner", "pg-public-schema", "pg-restrict"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dump := mustRun(t, nil, "pg_dump", append([]string{"-h", pgHost, "-U", "postgres"}, append(tc.args, src)...)...)
			dst, role := pgImporter(t, admin)
			target := Target{Provider: "aws", Roles: []string{role}}
			before := scanBytes(t, dump, target)
			assert.Equal(t, FormatPgDump, before.Format)
			assert.Equal(t, tc.want, ruleIDs(before.Findings))

			fixed, rep := rewriteBytes(t, dump, target)
			assert.Empty(t, rep.Failing())
			assert.Equal(t, dataLines(t, dump), dataLines(t, fixed), "rows are copied byte for byte")
			assert.Empty(t, scanBytes(t, fixed, target).Findings)

			// as taken, the dump fails for a role that is not a superuser
			require.Error(t, psqlImport(t, dump, dst, role))
			dst, role = pgImporter(t, admin)
			require.NoError(t, psqlImport(t, fixedFor(t, dump, role), dst, role))
			assert.Equal(t, pgChecksums(t, src), pgChecksums(t, dst))
		})
	}
}

// fixedFor rewrites dump for an aws target whose only role is role.
func fixedFor(t *testing.T, dump []byte, role string) []byte {
	t.Helper()
	fixed, _ := rewriteBytes(t, dump, Target{Provider: "aws", Roles: []string{role}})
	return fixed
}

func TestFixturePostgresUnfixable(t *testing.T) {
	admin := postgres(t, "postgres")
	src := buildPGSource(t, admin)
	conn := postgres(t, src)
	pub := uniqueName("dbaas_pub")
	pexec(t, conn,
		"CREATE FUNCTION f_evt() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN END $$",
		"CREATE EVENT TRIGGER "+uniqueName("dbaas_evt")+" ON ddl_command_end EXECUTE FUNCTION f_evt()",
		"CREATE PUBLICATION "+pub+" FOR TABLE t_rows",
	)
	dump := mustRun(t, nil, "pg_dump", "-h", pgHost, "-U", "postgres", src)
	rep := scanBytes(t, dump, Target{Provider: "digitalocean"})
	assert.Subset(t, ruleIDs(rep.Failing()), []string{"pg-event-trigger", "pg-publication"})
	for _, f := range rep.Findings {
		if f.Rule == "pg-owner" {
			assert.NotContains(t, f.Excerpt, "doadmin", "digitalocean has doadmin")
		}
	}
}

func TestFixturePgDumpAllRoles(t *testing.T) {
	admin := postgres(t, "postgres")
	ensureRoles(t, admin)
	testenv.LookPath(t, "pg_dumpall", "apt-get install postgresql-client-15")
	dump := mustRun(t, nil, "pg_dumpall", "-h", pgHost, "-U", "postgres", "--globals-only")
	target := Target{Provider: "aiven"}
	rep := scanBytes(t, dump, target)
	assert.Equal(t, FormatPgDumpAll, rep.Format)
	assert.Subset(t, ruleIDs(rep.Findings), []string{"pg-provider-role", "pg-superuser-attributes", "pg-restrict"})
	fixed, rep := rewriteBytes(t, dump, target)
	assert.Empty(t, rep.Failing())
	assert.NotContains(t, string(fixed), " SUPERUSER")
	assert.Contains(t, string(fixed), "ALTER ROLE postgres WITH NOSUPERUSER")
	for _, r := range providerRoles {
		assert.NotContains(t, string(fixed), "CREATE ROLE "+r+";", "provider roles exist only at their provider")
	}
}

func TestRewriteFileLeavesNoPartialOutput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "fixed.sql")
	require.NoError(t, os.WriteFile(out, []byte("the previous complete dump"), 0o600))
	r, err := NewReader(strings.NewReader(myHeader+"CREATE DEFINER=`a`@`b` VIEW v AS SELECT 1;\nINSERT INTO t VALUES ('unterminated"), "")
	require.NoError(t, err)
	_, err = RewriteFile(context.Background(), out, r, Target{Provider: "aws"})
	require.ErrorIs(t, err, ErrSyntax)
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "the previous complete dump", string(got))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "the temporary file is removed")

	r, err = NewReader(strings.NewReader(myHeader+"CREATE DEFINER=`a`@`b` VIEW v AS SELECT 1;\n"+myTrailer), "")
	require.NoError(t, err)
	rep, err := RewriteFile(context.Background(), out, r, Target{Provider: "aws"})
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Fixed())
	got, err = os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, myHeader+"CREATE VIEW v AS SELECT 1;\n"+myTrailer, string(got))
	fi, err := os.Stat(out)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

// TestRewriteFileIntoANamedPipe writes into a path that is not a regular
// file, as /dev/null and /dev/stdout are: it must stay what it is, not be
// replaced by a file renamed over it.
func TestRewriteFileIntoANamedPipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "out")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(fifo)
		if err != nil {
			got <- nil
			return
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		got <- b
	}()
	r, err := NewReader(strings.NewReader(myHeader+"CREATE DEFINER=`a`@`b` VIEW v AS SELECT 1;\n"+myTrailer), "")
	require.NoError(t, err)
	_, err = RewriteFile(context.Background(), fifo, r, Target{Provider: "aws"})
	require.NoError(t, err)
	fi, err := os.Lstat(fifo)
	require.NoError(t, err)
	require.Equal(t, os.ModeNamedPipe, fi.Mode().Type(), "the pipe is still a pipe")
	assert.Equal(t, myHeader+"CREATE VIEW v AS SELECT 1;\n"+myTrailer, string(<-got))
}
