package migrate

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
	"github.com/agiledeploy/dbaaskit/providers/local"
	"github.com/agiledeploy/dbaaskit/providers/local/localtest"
)

// localProvider returns a local provider of the test's own with engine
// and its dump tool installed.
func localProvider(t *testing.T, engine dbaas.Engine) *local.Provider {
	t.Helper()
	p := localtest.New(t, engine)
	testenv.LookPath(t, map[dbaas.Engine]string{dbaas.Postgres: "pg_dump", dbaas.MariaDB: "mariadb-dump"}[engine], "install postgresql-client or mariadb-client")
	return p
}

// instances creates available instances with the given names at once.
func instances(t *testing.T, p dbaas.Provider, engine dbaas.Engine, names ...string) []*dbaas.Instance {
	t.Helper()
	out := make([]*dbaas.Instance, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = CreateTarget(context.Background(), p, dbaas.Spec{Name: n, Engine: engine, Size: "small"}, 3*time.Minute)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	return out
}

func connInfo(t *testing.T, p dbaas.Provider, id string) *dbaas.ConnectionInfo {
	t.Helper()
	c, err := p.Connection(context.Background(), id)
	require.NoError(t, err)
	return c
}

// pgData is a database with every common type, text that looks like
// the dump's own syntax, NULLs, a table without a primary key, a text
// primary key, a function, a trigger, a view and a sequence.
var pgData = []string{
	`CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, note text, data bytea, doc jsonb, raw json,
	  price numeric(14,4), at timestamptz, day date, f double precision, flag boolean, tags text[], updated timestamptz)`,
	`INSERT INTO items (name, note, data, doc, raw, price, at, day, f, flag, tags) VALUES
	  ('it''s; quoted', E'tab\there\nnew line \\. and \\\\ backslash', '\x00ff10'::bytea, '{"a": [1, "x;y"]}', '{"b" : 2}',
	   12345.6789, '2024-02-29 23:59:59.123456+05:30', '2024-02-29', 0.1, true, ARRAY['a,b', 'c"d']),
	  ('nulls', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	  ('\.', E'\\.\n\\.', '', 'null', '[]', -0.0001, 'infinity', '0001-01-01', 'NaN', false, '{}')`,
	`INSERT INTO items (name, note, price, at, f) SELECT 'row ' || g, repeat('x;', g % 50), g * 1.5, timestamptz '2020-01-01 00:00+00' + g * interval '1 hour', g / 7.0 FROM generate_series(1, 3000) g`,
	`CREATE TABLE log (at timestamptz, msg text)`,
	`INSERT INTO log SELECT now(), 'no key ' || g FROM generate_series(1, 50) g`,
	`CREATE TABLE codes (code text, region int, label varchar(20), PRIMARY KEY (code, region))`,
	`INSERT INTO codes VALUES ('a', 1, 'x'), ('B', 1, 'y'), ('b', 2, NULL), ('É', 1, 'accent'), ('_', 3, ';')`,
	`CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated := now(); RETURN NEW; END $$`,
	`CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch()`,
	`CREATE VIEW expensive AS SELECT id, name FROM items WHERE price > 100`,
	`CREATE SEQUENCE tickets START 7`,
	`SELECT setval('tickets', 42)`,
}

// mariaData is the same for MariaDB, with a procedure and DEFINERs.
var mariaData = []string{
	"CREATE TABLE items (id bigint AUTO_INCREMENT PRIMARY KEY, name varchar(100) NOT NULL, note text, data blob, doc json," +
		" price decimal(14,4), at datetime(6), ts timestamp(3) NULL, day date, f double, flag boolean, updated datetime NULL)",
	`INSERT INTO items (name, note, data, doc, price, at, ts, day, f, flag) VALUES
	  ('it''s; quoted', 'tab\there\nnew line \\. and \\\\ backslash "dq"', X'00FF10', '{"a": [1, "x;y"]}', 12345.6789,
	   '2024-02-29 23:59:59.123456', '2024-02-29 12:00:00.5', '2024-02-29', 0.1, true),
	  ('nulls', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
	  ('\\.', '\\.\n\\.', '', 'null', -0.0001, '1000-01-01 00:00:00', '1970-01-02 00:00:00', '1000-01-01', -1e300, false)`,
	`INSERT INTO items (name, note, price, at, f) SELECT CONCAT('row ', seq), REPEAT('x;', seq % 50), seq * 1.5,
	  '2020-01-01' + INTERVAL seq HOUR, seq / 7.0 FROM seq_1_to_3000`,
	"CREATE TABLE log (at datetime, msg text)",
	"INSERT INTO log SELECT NOW(), CONCAT('no key ', seq) FROM seq_1_to_50",
	"CREATE TABLE codes (code varchar(10), region int, label varchar(20), PRIMARY KEY (code, region))",
	"INSERT INTO codes VALUES ('a', 1, 'x'), ('B', 1, 'y'), ('b', 2, NULL), ('É', 1, 'accent'), ('_', 3, ';')",
	"CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW SET NEW.updated = NOW()",
	"CREATE VIEW expensive AS SELECT id, name FROM items WHERE price > 100",
	"CREATE PROCEDURE count_items(OUT n int) BEGIN SELECT COUNT(*) INTO n FROM items; END",
}
