package migrate

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/sqlq"
)

// Table statuses in a VerifyReport.
const (
	// StatusMatch: same row count and checksum (or, without a primary
	// key, same count).
	StatusMatch = "match"
	// StatusMismatch: the counts or the checksums differ.
	StatusMismatch = "mismatch"
	// StatusMissing: the table is in the source and not in the target.
	StatusMissing = "missing-in-target"
	// StatusExtra: the table is in the target and not in the source.
	StatusExtra = "extra-in-target"
)

// TableResult is the comparison of one table.
type TableResult struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	// PrimaryKey is false for a table without one: rows have no order to
	// hash in, so only the counts are compared.
	PrimaryKey     bool   `json:"primary_key"`
	SourceRows     int64  `json:"source_rows"`
	TargetRows     int64  `json:"target_rows"`
	SourceChecksum string `json:"source_checksum,omitempty"`
	TargetChecksum string `json:"target_checksum,omitempty"`
}

// ObjectResult is a view, routine, trigger or sequence found on one side
// only (or, for a PostgreSQL sequence, at another value).
type ObjectResult struct {
	Kind     string `json:"kind"`
	Name     string `json:"name"`
	InSource bool   `json:"in_source"`
	InTarget bool   `json:"in_target"`
}

// VerifyReport compares a source database with its copy.
type VerifyReport struct {
	// Match is true when every table and object matches.
	Match  bool          `json:"match"`
	Tables []TableResult `json:"tables"`
	// Objects lists the differences among views, routines, triggers and
	// sequences; empty when they match.
	Objects []ObjectResult `json:"objects"`
	// Seconds is how long verification took.
	Seconds float64 `json:"seconds"`
}

// Mismatches returns the tables that do not match.
func (r *VerifyReport) Mismatches() []TableResult {
	var out []TableResult
	for _, t := range r.Tables {
		if t.Status != StatusMatch {
			out = append(out, t)
		}
	}
	return out
}

// Verify compares the user tables of two databases of the same engine
// family: per table the row count and a checksum of its rows read in
// primary-key order, each in a canonical text form both sides share
// (PostgreSQL's row text with the session in UTC and ISO dates; MySQL's
// column values with lengths, NULL marked apart, in UTC), computed on
// both sides at once. Tables without a primary key are compared by count
// only and say so. Views, routines, triggers and sequences (with their
// values) are compared by name.
func Verify(ctx context.Context, src, dst *dbaas.ConnectionInfo) (*VerifyReport, error) {
	start := time.Now()
	if src == nil || dst == nil {
		return nil, fmt.Errorf("verify: connection info is nil: %w", dbaas.ErrInvalidArgument)
	}
	if (src.Engine == dbaas.Postgres) != (dst.Engine == dbaas.Postgres) {
		return nil, fmt.Errorf("verify: cannot compare %s with %s: %w", src.Engine, dst.Engine, dbaas.ErrInvalidArgument)
	}
	s, err := openSide(ctx, src)
	if err != nil {
		return nil, fmt.Errorf("verify: source %s: %w", src.Endpoint, err)
	}
	defer s.close()
	d, err := openSide(ctx, dst)
	if err != nil {
		return nil, fmt.Errorf("verify: target %s: %w", dst.Endpoint, err)
	}
	defer d.close()

	var st, dt []tableInfo
	var so, do []string
	if err := both(func() (err error) { st, so, err = inventory(ctx, s); return },
		func() (err error) { dt, do, err = inventory(ctx, d); return }); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	rep := &VerifyReport{Match: true, Tables: []TableResult{}, Objects: []ObjectResult{}}
	targets := map[string]tableInfo{}
	for _, t := range dt {
		targets[t.name] = t
	}
	for _, t := range st {
		res := TableResult{Name: t.name, PrimaryKey: len(t.pk) > 0}
		dti, ok := targets[t.name]
		delete(targets, t.name)
		if !ok {
			res.Status = StatusMissing
			if res.SourceRows, _, err = s.hash(ctx, t, false); err != nil {
				return rep, fmt.Errorf("verify: source table %s: %w", t.name, err)
			}
			rep.Tables = append(rep.Tables, res)
			rep.Match = false
			continue
		}
		var sSum, dSum string
		withSum := res.PrimaryKey && slices.Equal(t.pk, dti.pk)
		if err := both(func() (err error) { res.SourceRows, sSum, err = s.hash(ctx, t, withSum); return },
			func() (err error) { res.TargetRows, dSum, err = d.hash(ctx, dti, withSum); return }); err != nil {
			return rep, fmt.Errorf("verify: table %s: %w", t.name, err)
		}
		res.SourceChecksum, res.TargetChecksum = sSum, dSum
		res.Status = StatusMatch
		if res.SourceRows != res.TargetRows || sSum != dSum || res.PrimaryKey != (len(dti.pk) > 0) {
			res.Status = StatusMismatch
			rep.Match = false
		}
		rep.Tables = append(rep.Tables, res)
	}
	for _, t := range dt {
		if _, extra := targets[t.name]; extra {
			res := TableResult{Name: t.name, Status: StatusExtra, PrimaryKey: len(t.pk) > 0}
			if res.TargetRows, _, err = d.hash(ctx, t, false); err != nil {
				return rep, fmt.Errorf("verify: target table %s: %w", t.name, err)
			}
			rep.Tables = append(rep.Tables, res)
			rep.Match = false
		}
	}
	rep.Objects = diffObjects(so, do)
	if len(rep.Objects) > 0 {
		rep.Match = false
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// both runs f and g at once and returns the first error.
func both(f, g func() error) error {
	var wg sync.WaitGroup
	var ef, eg error
	wg.Add(1)
	go func() { defer wg.Done(); ef = f() }()
	eg = g()
	wg.Wait()
	if ef != nil {
		return ef
	}
	return eg
}

func inventory(ctx context.Context, s side) ([]tableInfo, []string, error) {
	ts, err := s.tables(ctx)
	if err != nil {
		return nil, nil, err
	}
	objs, err := s.objects(ctx)
	return ts, objs, err
}

// diffObjects lists the objects ("kind name") found on one side only.
func diffObjects(src, dst []string) []ObjectResult {
	in := map[string]int{}
	for _, o := range src {
		in[o] |= 1
	}
	for _, o := range dst {
		in[o] |= 2
	}
	out := []ObjectResult{}
	for o, m := range in {
		if m == 3 {
			continue
		}
		kind, name, _ := strings.Cut(o, " ")
		out = append(out, ObjectResult{Kind: kind, Name: name, InSource: m&1 != 0, InTarget: m&2 != 0})
	}
	slices.SortFunc(out, func(a, b ObjectResult) int { return strings.Compare(a.Kind+" "+a.Name, b.Kind+" "+b.Name) })
	return out
}

// tableInfo is a user table and its primary key's columns.
type tableInfo struct {
	name   string // schema.table (PostgreSQL) or table (MySQL), for people
	quoted string // the name quoted for SQL
	pk     []string
	order  string // ORDER BY list; empty without a primary key
}

// side reads one database for Verify.
type side interface {
	tables(ctx context.Context) ([]tableInfo, error)
	objects(ctx context.Context) ([]string, error)
	// hash counts the rows and, when sum, hashes them in key order.
	hash(ctx context.Context, t tableInfo, sum bool) (int64, string, error)
	close()
}

func openSide(ctx context.Context, c *dbaas.ConnectionInfo) (side, error) {
	if c.Engine == dbaas.Postgres {
		return openPG(ctx, c)
	}
	return openMySQL(ctx, c)
}

// rowHash hashes rows as a sequence of length-prefixed fields, so that
// no two different rows or tables hash alike by shifting bytes.
type rowHash struct {
	h   hash.Hash
	buf [binary.MaxVarintLen64 + 1]byte
}

func newRowHash() *rowHash { return &rowHash{h: sha256.New()} }

// field adds one value; null marks SQL NULL, which differs from "".
func (r *rowHash) field(b []byte, null bool) {
	if null {
		r.buf[0] = 0xff
		_, _ = r.h.Write(r.buf[:1])
		return
	}
	r.buf[0] = 0
	n := binary.PutUvarint(r.buf[1:], uint64(len(b)))
	_, _ = r.h.Write(r.buf[:n+1])
	_, _ = r.h.Write(b)
}

func (r *rowHash) endRow() {
	r.buf[0] = 0xfe
	_, _ = r.h.Write(r.buf[:1])
}

func (r *rowHash) sum() string { return hex.EncodeToString(r.h.Sum(nil)) }

// pgSide reads PostgreSQL.
type pgSide struct{ c *pgx.Conn }

func openPG(ctx context.Context, conn *dbaas.ConnectionInfo) (*pgSide, error) {
	ca := ""
	if len(conn.CACertPEM) > 0 && conn.TLS != dbaas.TLSDisable && conn.TLS != "" {
		dir, err := os.MkdirTemp("", "dbaas-verify-")
		if err != nil {
			return nil, fmt.Errorf("write the CA for the client: %w", err)
		}
		defer os.RemoveAll(dir)
		if ca, err = conn.WriteCAFile(dir); err != nil {
			return nil, err
		}
	}
	url, err := conn.PostgresURL(dbaas.DSNOptions{CAFile: ca})
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("connection settings: %w", dbaas.ErrInvalidArgument)
	}
	// canonical text for every type whose output a setting changes
	cfg.RuntimeParams["timezone"] = "UTC"
	cfg.RuntimeParams["datestyle"] = "ISO, YMD"
	cfg.RuntimeParams["intervalstyle"] = "postgres"
	cfg.RuntimeParams["extra_float_digits"] = "1"
	cfg.RuntimeParams["bytea_output"] = "hex"
	cfg.RuntimeParams["lc_monetary"] = "C"
	cfg.RuntimeParams["application_name"] = "dbaas verify"
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &pgSide{c: c}, nil
}

func (p *pgSide) close() { _ = p.c.Close(context.Background()) }

const pgUserSchemas = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'`

// pgNotExtension leaves out what an extension owns: CREATE EXTENSION
// makes it again.
const pgNotExtension = `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = %s AND d.deptype = 'e')`

func (p *pgSide) tables(ctx context.Context) ([]tableInfo, error) {
	rows, err := p.c.Query(ctx, `
SELECT n.nspname, c.relname,
  quote_ident(n.nspname) || '.' || quote_ident(c.relname),
  coalesce((SELECT array_agg(quote_ident(a.attname) || CASE WHEN a.attcollation <> 0 THEN ' COLLATE "C"' ELSE '' END ORDER BY k.ord)
   FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, ord), pg_attribute a
   WHERE i.indrelid = c.oid AND i.indisprimary AND a.attrelid = c.oid AND a.attnum = k.attnum), '{}')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND `+pgUserSchemas+` AND `+fmt.Sprintf(pgNotExtension, "c.oid")+`
ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	var out []tableInfo
	for rows.Next() {
		var schema, name, quoted string
		var pk []string
		if err := rows.Scan(&schema, &name, &quoted, &pk); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		out = append(out, tableInfo{name: schema + "." + name, quoted: quoted, pk: pk, order: strings.Join(pk, ", ")})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return out, nil
}

func (p *pgSide) objects(ctx context.Context) ([]string, error) {
	rows, err := p.c.Query(ctx, `
SELECT 'view ' || n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('v', 'm') AND `+pgUserSchemas+` AND `+fmt.Sprintf(pgNotExtension, "c.oid")+`
UNION ALL
SELECT 'routine ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE `+pgUserSchemas+` AND `+fmt.Sprintf(pgNotExtension, "p.oid")+`
UNION ALL
SELECT 'trigger ' || n.nspname || '.' || c.relname || '.' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND `+pgUserSchemas+`
UNION ALL
SELECT 'sequence ' || schemaname || '.' || sequencename || '=' || coalesce(last_value::text, 'unused') FROM pg_sequences s
 WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		return nil, fmt.Errorf("list views, routines, triggers and sequences: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list views, routines, triggers and sequences: %w", err)
	}
	return out, nil
}

func (p *pgSide) hash(ctx context.Context, t tableInfo, sum bool) (int64, string, error) {
	if !sum {
		var n int64
		if err := p.c.QueryRow(ctx, "SELECT count(*) FROM ONLY "+t.quoted).Scan(&n); err != nil {
			return 0, "", err
		}
		return n, "", nil
	}
	rows, err := p.c.Query(ctx, "SELECT r::text FROM ONLY "+t.quoted+" r ORDER BY "+t.order, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	h := newRowHash()
	var n int64
	for rows.Next() {
		v := rows.RawValues()[0]
		h.field(v, v == nil)
		h.endRow()
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, "", err
	}
	return n, h.sum(), nil
}

// mysqlSide reads MySQL or MariaDB.
type mysqlSide struct {
	db *sql.DB
	c  *sql.Conn
}

func openMySQL(ctx context.Context, conn *dbaas.ConnectionInfo) (*mysqlSide, error) {
	cfg, err := sqlconn.MySQLConfig(conn, dbaas.DSNOptions{})
	if err != nil {
		return nil, err
	}
	// values as the server writes them: no conversion to Go types
	cfg.ParseTime = false
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("connection settings: %w", dbaas.ErrInvalidArgument)
	}
	db := sql.OpenDB(connector)
	c, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect: %w", err)
	}
	return &mysqlSide{db: db, c: c}, nil
}

func (m *mysqlSide) close() {
	_ = m.c.Close()
	_ = m.db.Close()
}

func (m *mysqlSide) tables(ctx context.Context) ([]tableInfo, error) {
	rows, err := m.c.QueryContext(ctx, `
SELECT t.table_name, coalesce(k.column_name, ''), coalesce(c.data_type, '')
FROM information_schema.tables t
LEFT JOIN information_schema.key_column_usage k ON k.table_schema = t.table_schema AND k.table_name = t.table_name AND k.constraint_name = 'PRIMARY'
LEFT JOIN information_schema.columns c ON c.table_schema = k.table_schema AND c.table_name = k.table_name AND c.column_name = k.column_name
WHERE t.table_schema = DATABASE() AND t.table_type = 'BASE TABLE'
ORDER BY t.table_name, k.ordinal_position`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var out []tableInfo
	for rows.Next() {
		var name, col, typ string
		if err := rows.Scan(&name, &col, &typ); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].name != name {
			out = append(out, tableInfo{name: name, quoted: sqlq.MyIdent(name)})
		}
		if col == "" {
			continue
		}
		t := &out[len(out)-1]
		t.pk = append(t.pk, col)
		key := sqlq.MyIdent(col)
		if strings.Contains(typ, "char") || strings.Contains(typ, "text") || typ == "enum" || typ == "set" {
			// byte order: the target's collation may sort otherwise
			key = "CAST(" + key + " AS BINARY)"
		}
		if t.order != "" {
			t.order += ", "
		}
		t.order += key
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return out, nil
}

func (m *mysqlSide) objects(ctx context.Context) ([]string, error) {
	rows, err := m.c.QueryContext(ctx, `
SELECT CONCAT('view ', table_name) FROM information_schema.views WHERE table_schema = DATABASE()
UNION ALL
SELECT CONCAT('routine ', LOWER(routine_type), ' ', routine_name) FROM information_schema.routines WHERE routine_schema = DATABASE()
UNION ALL
SELECT CONCAT('trigger ', event_object_table, '.', trigger_name) FROM information_schema.triggers WHERE trigger_schema = DATABASE()`)
	if err != nil {
		return nil, fmt.Errorf("list views, routines and triggers: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("list views, routines and triggers: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (m *mysqlSide) hash(ctx context.Context, t tableInfo, sum bool) (int64, string, error) {
	if !sum {
		var n int64
		if err := m.c.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+t.quoted).Scan(&n); err != nil {
			return 0, "", err
		}
		return n, "", nil
	}
	rows, err := m.c.QueryContext(ctx, "SELECT * FROM "+t.quoted+" ORDER BY "+t.order)
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, "", err
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	h := newRowHash()
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, "", err
		}
		for _, v := range vals {
			h.field(v, v == nil)
		}
		h.endRow()
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, "", err
	}
	return n, h.sum(), nil
}
