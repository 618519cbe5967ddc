package linode_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
	"github.com/agiledeploy/dbaaskit/providers/linode"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
)

// serverBackend is a test-only simdb.Backend on the machine's running
// PostgreSQL (127.0.0.1:5432, postgres, trust) and MariaDB
// (127.0.0.1:3306, root): each key gets a login of its own and a real
// database. Linode's API gives no database name (Connection reports the
// provider's "database" setting), so every database of a run is named
// alike, one per server at a time.
type serverBackend struct {
	database string
	pgAdmin  string
	myAdmin  *sql.DB

	mu   sync.Mutex
	keys map[string]attached
}

type attached struct {
	engine dbaas.Engine
	user   string
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func newServerBackend(t *testing.T) *serverBackend {
	t.Helper()
	for _, addr := range []string{"127.0.0.1:5432", "127.0.0.1:3306"} {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			testenv.Skip(t, "no database server on "+addr+": install and start postgresql (15) and mariadb-server")
			return nil
		}
		_ = c.Close()
	}
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", "127.0.0.1:3306"
	my, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	t.Cleanup(func() { _ = my.Close() })
	return &serverBackend{
		database: randomName("lsim_"),
		pgAdmin:  "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable",
		myAdmin:  my,
		keys:     map[string]attached{},
	}
}

func (b *serverBackend) pgExec(ctx context.Context, stmts ...string) error {
	c, err := pgx.Connect(ctx, b.pgAdmin)
	if err != nil {
		return err
	}
	defer c.Close(ctx)
	for _, s := range stmts {
		if _, err := c.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func (b *serverBackend) myExec(ctx context.Context, stmts ...string) error {
	for _, s := range stmts {
		if _, err := b.myAdmin.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func (b *serverBackend) Attach(ctx context.Context, key string, engine dbaas.Engine, _ string) (*simdb.Database, error) {
	b.mu.Lock()
	for k, a := range b.keys {
		if a.engine == engine {
			b.mu.Unlock()
			return nil, fmt.Errorf("backend: %s already holds the %s database", k, engine)
		}
	}
	user, password := randomName("lu_"), randomName("pw")
	b.keys[key] = attached{engine: engine, user: user}
	b.mu.Unlock()
	var err error
	port := 5432
	if engine == dbaas.Postgres {
		err = b.pgExec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", user, password),
			fmt.Sprintf("CREATE DATABASE %s OWNER %s", b.database, user))
	} else {
		port = 3306
		err = b.myExec(ctx, "CREATE DATABASE "+b.database,
			fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", user, password),
			fmt.Sprintf("GRANT ALL ON %s.* TO '%s'@'%%'", b.database, user))
	}
	if err != nil {
		_ = b.Detach(ctx, key)
		return nil, err
	}
	return &simdb.Database{Endpoint: dbaas.Endpoint{Host: "127.0.0.1", Port: port}, User: user,
		Password: dbaas.NewSecret(password), Database: b.database}, nil
}

func (b *serverBackend) Detach(ctx context.Context, key string) error {
	b.mu.Lock()
	a, ok := b.keys[key]
	delete(b.keys, key)
	b.mu.Unlock()
	if !ok {
		return nil
	}
	if a.engine == dbaas.Postgres {
		return b.pgExec(ctx, "DROP DATABASE IF EXISTS "+b.database+" WITH (FORCE)", "DROP ROLE IF EXISTS "+a.user)
	}
	return b.myExec(ctx, "DROP DATABASE IF EXISTS "+b.database, fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", a.user))
}

// TestBackendDatabasesAcceptConnections creates a database of each engine
// on a simulator with real databases attached and connects to each
// through what Connection returns.
func TestBackendDatabasesAcceptConnections(t *testing.T) {
	backend := newServerBackend(t)
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, linodesim.Options{ProvisionDelay: linode.TypicalProvisioning, Backend: backend},
		map[string]string{linode.SettingDatabase: backend.database})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			inst, err := e.p.Create(ctx, spec("real-"+string(engine), engine))
			require.NoError(t, err)
			_, err = dbaas.Wait(ctx, e.p, inst.ID, dbaas.WaitOptions{Clock: clock})
			require.NoError(t, err)
			conn, err := e.p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, "127.0.0.1", conn.Endpoint.Host)
			backend.mu.Lock()
			var user string
			for _, a := range backend.keys {
				if a.engine == engine {
					user = a.user
				}
			}
			backend.mu.Unlock()
			assert.Equal(t, user, conn.User, "the credentials are the attached database's")

			var gotUser, gotDB string
			if engine == dbaas.Postgres {
				url, err := conn.PostgresURL(dbaas.DSNOptions{})
				require.NoError(t, err)
				c, err := pgx.Connect(ctx, url)
				require.NoError(t, err)
				defer c.Close(ctx)
				_, err = c.Exec(ctx, "CREATE TABLE marks (v text); INSERT INTO marks VALUES ('written')")
				require.NoError(t, err)
				require.NoError(t, c.QueryRow(ctx, "SELECT current_user, current_database()").Scan(&gotUser, &gotDB))
			} else {
				dsn, err := conn.MySQLDSN("linode-backend-test", dbaas.DSNOptions{})
				require.NoError(t, err)
				db, err := sql.Open("mysql", dsn)
				require.NoError(t, err)
				defer db.Close()
				_, err = db.ExecContext(ctx, "CREATE TABLE marks (v text)")
				require.NoError(t, err)
				require.NoError(t, db.QueryRowContext(ctx, "SELECT SUBSTRING_INDEX(CURRENT_USER(), '@', 1), DATABASE()").Scan(&gotUser, &gotDB))
			}
			assert.Equal(t, user, gotUser)
			assert.Equal(t, backend.database, gotDB)

			require.NoError(t, e.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
			backend.mu.Lock()
			assert.Empty(t, backend.keys, "delete detaches the database")
			backend.mu.Unlock()
		})
	}
}
