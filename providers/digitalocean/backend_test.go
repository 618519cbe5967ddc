package digitalocean_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

const (
	pgAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=5"
	myAdminDSN = "root@tcp(127.0.0.1:3306)/?timeout=5s"
)

// serverBackend is a test-only simdb.Backend: for each simulated cluster
// it makes a database and a user of its own on the machine's running
// PostgreSQL (127.0.0.1:5432) or MariaDB (127.0.0.1:3306).
type serverBackend struct {
	mu       sync.Mutex
	attached map[string]dbaas.Engine
}

func newServerBackend(t *testing.T) *serverBackend {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pg, err := pgx.Connect(ctx, pgAdminURL)
	if err != nil {
		testenv.Skip(t, "PostgreSQL is not running on 127.0.0.1:5432 with trust auth for postgres (install postgresql-15 and start it): "+err.Error())
	}
	_ = pg.Close(ctx)
	my, err := sql.Open("mysql", myAdminDSN)
	require.NoError(t, err)
	defer my.Close()
	if err := my.PingContext(ctx); err != nil {
		testenv.Skip(t, "MariaDB is not running on 127.0.0.1:3306 with a password-less root (install mariadb-server and start it): "+err.Error())
	}
	return &serverBackend{attached: map[string]dbaas.Engine{}}
}

// names derives the database and user of a cluster from its key.
func names(key string) (db, user string) {
	h := strings.ReplaceAll(key, "-", "")
	if len(h) > 16 {
		h = h[:16]
	}
	return "dosim_" + h, "dosim_" + h
}

func (b *serverBackend) Attach(ctx context.Context, key string, engine dbaas.Engine, _ string) (*simdb.Database, error) {
	db, user := names(key)
	pw := make([]byte, 12)
	_, _ = rand.Read(pw)
	password := hex.EncodeToString(pw)
	var port int
	switch engine {
	case dbaas.Postgres:
		port = 5432
		conn, err := pgx.Connect(ctx, pgAdminURL)
		if err != nil {
			return nil, err
		}
		defer conn.Close(ctx)
		for _, q := range []string{
			fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, user, password),
			fmt.Sprintf(`CREATE DATABASE %s OWNER %s`, db, user),
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				return nil, fmt.Errorf("attach %s: %w", key, err)
			}
		}
	default:
		port = 3306
		conn, err := sql.Open("mysql", myAdminDSN)
		if err != nil {
			return nil, err
		}
		defer conn.Close()
		stmts := []string{fmt.Sprintf("CREATE DATABASE `%s`", db)}
		for _, host := range []string{"%", "localhost", "127.0.0.1"} {
			stmts = append(stmts,
				fmt.Sprintf("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'", user, host, password),
				fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'%s'", db, user, host))
		}
		for _, q := range stmts {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				return nil, fmt.Errorf("attach %s: %w", key, err)
			}
		}
	}
	b.mu.Lock()
	b.attached[key] = engine
	b.mu.Unlock()
	return &simdb.Database{Endpoint: dbaas.Endpoint{Host: "127.0.0.1", Port: port}, User: user,
		Password: dbaas.NewSecret(password), Database: db}, nil
}

func (b *serverBackend) Detach(ctx context.Context, key string) error {
	b.mu.Lock()
	engine, ok := b.attached[key]
	delete(b.attached, key)
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("detach %s: not attached", key)
	}
	db, user := names(key)
	if engine == dbaas.Postgres {
		conn, err := pgx.Connect(ctx, pgAdminURL)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err1 := conn.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, db))
		_, err2 := conn.Exec(ctx, fmt.Sprintf(`DROP ROLE IF EXISTS %s`, user))
		return errors.Join(err1, err2)
	}
	conn, err := sql.Open("mysql", myAdminDSN)
	if err != nil {
		return err
	}
	defer conn.Close()
	errs := []error{}
	_, err = conn.ExecContext(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS `%s`", db))
	errs = append(errs, err)
	for _, host := range []string{"%", "localhost", "127.0.0.1"} {
		_, err = conn.ExecContext(ctx, fmt.Sprintf("DROP USER IF EXISTS '%s'@'%s'", user, host))
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// TestBackendDatabaseAcceptsConnections proves the Backend hook: the
// connection the adapter returns reaches a real database.
func TestBackendDatabaseAcceptsConnections(t *testing.T) {
	backend := newServerBackend(t)
	e := newEnv(t, dosim.Options{Backend: backend, ProvisionDelay: 50 * time.Millisecond}, digitalocean.Options{})
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			inst, err := e.p.Create(ctx, spec("real-"+string(engine), engine))
			require.NoError(t, err)
			_, err = dbaas.Wait(ctx, e.p, inst.ID, dbaas.WaitOptions{FirstDelay: 10 * time.Millisecond, Expected: -1})
			require.NoError(t, err)
			conn, err := e.p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, dbaas.Endpoint{Host: "127.0.0.1", Port: engine.DefaultPort()}, conn.Endpoint)
			assert.Equal(t, dbaas.TLSDisable, conn.TLS, "the backend speaks no TLS, and the cluster says so")
			assert.Empty(t, conn.CACertPEM)

			value := "v-" + inst.ID[:8]
			if engine == dbaas.Postgres {
				url, err := conn.PostgresURL(dbaas.DSNOptions{})
				require.NoError(t, err)
				db, err := pgx.Connect(ctx, url)
				require.NoError(t, err)
				var got string
				_, err = db.Exec(ctx, `CREATE TABLE marker (v text)`)
				require.NoError(t, err)
				_, err = db.Exec(ctx, `INSERT INTO marker VALUES ($1)`, value)
				require.NoError(t, err)
				require.NoError(t, db.QueryRow(ctx, `SELECT v || current_database() || current_user FROM marker`).Scan(&got))
				assert.Equal(t, value+conn.Database+conn.User, got)
				require.NoError(t, db.Close(ctx))
			} else {
				cfg, err := conn.MySQLConfig("", dbaas.DSNOptions{})
				require.NoError(t, err)
				connector, err := mysql.NewConnector(cfg)
				require.NoError(t, err)
				db := sql.OpenDB(connector)
				_, err = db.ExecContext(ctx, `CREATE TABLE marker (v varchar(64))`)
				require.NoError(t, err)
				_, err = db.ExecContext(ctx, `INSERT INTO marker VALUES (?)`, value)
				require.NoError(t, err)
				var got, dbName string
				require.NoError(t, db.QueryRowContext(ctx, `SELECT v, DATABASE() FROM marker`).Scan(&got, &dbName))
				assert.Equal(t, value, got)
				assert.Equal(t, conn.Database, dbName)
				require.NoError(t, db.Close())
			}

			require.NoError(t, e.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
			backend.mu.Lock()
			_, still := backend.attached[inst.ID]
			backend.mu.Unlock()
			assert.False(t, still, "delete detached the database")
			assert.False(t, databaseExists(t, ctx, engine, conn.Database), "the database is gone")
		})
	}
}

func databaseExists(t *testing.T, ctx context.Context, engine dbaas.Engine, name string) bool {
	t.Helper()
	var n int
	if engine == dbaas.Postgres {
		conn, err := pgx.Connect(ctx, pgAdminURL)
		require.NoError(t, err)
		defer conn.Close(ctx)
		require.NoError(t, conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n))
		return n > 0
	}
	db, err := sql.Open("mysql", myAdminDSN)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?`, name).Scan(&n))
	return n > 0
}
