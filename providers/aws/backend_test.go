package aws_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
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
	awsp "github.com/agiledeploy/dbaaskit/providers/aws"
)

const (
	pgAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=5"
	myAdminDSN = "root@tcp(127.0.0.1:3306)/?timeout=5s"
)

// serverBackend is a test-only simdb.Backend that makes a database and a
// user per simulated instance on the machine's running PostgreSQL and
// MariaDB servers.
type serverBackend struct {
	mu    sync.Mutex
	made  map[string]attached
	drops int
}

type attached struct {
	engine dbaas.Engine
	name   string
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (b *serverBackend) Attach(ctx context.Context, key string, engine dbaas.Engine, _ string) (*simdb.Database, error) {
	name := "awssim_" + strings.ReplaceAll(key, "-", "_") + "_" + randomHex(3)
	password := "Pw" + randomHex(12)
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
			fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s'", name, password),
			fmt.Sprintf("CREATE DATABASE %s OWNER %s", name, name),
		} {
			if _, err := conn.Exec(ctx, q); err != nil {
				return nil, err
			}
		}
	default:
		port = 3306
		db, err := sql.Open("mysql", myAdminDSN)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		for _, q := range []string{
			"CREATE DATABASE `" + name + "`",
			fmt.Sprintf("CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'", name, password),
			fmt.Sprintf("CREATE USER '%s'@'localhost' IDENTIFIED BY '%s'", name, password),
			fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'127.0.0.1', '%s'@'localhost'", name, name, name),
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return nil, err
			}
		}
	}
	b.mu.Lock()
	b.made[key] = attached{engine: engine, name: name}
	b.mu.Unlock()
	return &simdb.Database{Endpoint: dbaas.Endpoint{Host: "127.0.0.1", Port: port}, User: name, Password: dbaas.NewSecret(password), Database: name}, nil
}

func (b *serverBackend) Detach(ctx context.Context, key string) error {
	b.mu.Lock()
	m, ok := b.made[key]
	delete(b.made, key)
	b.drops++
	b.mu.Unlock()
	if !ok {
		return nil
	}
	if m.engine == dbaas.Postgres {
		conn, err := pgx.Connect(ctx, pgAdminURL)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+m.name+" WITH (FORCE)"); err != nil {
			return err
		}
		_, err = conn.Exec(ctx, "DROP ROLE IF EXISTS "+m.name)
		return err
	}
	db, err := sql.Open("mysql", myAdminDSN)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range []string{"DROP DATABASE IF EXISTS `" + m.name + "`", "DROP USER IF EXISTS '" + m.name + "'@'127.0.0.1', '" + m.name + "'@'localhost'"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func requireServer(t *testing.T, addr, what string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		testenv.Skip(t, what+" is not running on "+addr+": install and start it (Debian: postgresql-15, mariadb-server)")
		return
	}
	_ = c.Close()
}

// TestConnectionReachesRealDatabase proves the Backend hook end to end:
// the endpoint and the managed master credentials the adapter returns
// open a real PostgreSQL or MariaDB database.
func TestConnectionReachesRealDatabase(t *testing.T) {
	requireServer(t, "127.0.0.1:5432", "PostgreSQL")
	requireServer(t, "127.0.0.1:3306", "MariaDB")
	clock := fakeclock.NewAuto(start)
	backend := &serverBackend{made: map[string]attached{}}
	simOpts := realistic
	simOpts.Clock, simOpts.Backend = clock, backend
	// The local servers speak plain TCP; RDS would require TLS.
	e := newEnv(t, simOpts, awsp.Options{TLS: dbaas.TLSDisable})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			id := "real-" + string(engine)
			_, err := e.p.Create(ctx, spec(id, engine))
			require.NoError(t, err)
			inst, err := dbaas.Wait(ctx, e.p, id, dbaas.WaitOptions{Clock: clock})
			require.NoError(t, err)
			conn, err := e.p.Connection(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, inst.Endpoint, conn.Endpoint)
			require.NoError(t, dbaas.CheckPort(inst, conn.Endpoint.Port))
			assert.False(t, conn.Password.IsZero(), "the managed password, read from Secrets Manager")

			value := "v-" + randomHex(4)
			if engine == dbaas.Postgres {
				url, err := conn.PostgresURL(dbaas.DSNOptions{})
				require.NoError(t, err)
				db, err := pgx.Connect(ctx, url)
				require.NoError(t, err)
				defer db.Close(ctx)
				_, err = db.Exec(ctx, "CREATE TABLE marks (v text)")
				require.NoError(t, err)
				_, err = db.Exec(ctx, "INSERT INTO marks VALUES ($1)", value)
				require.NoError(t, err)
				var got string
				require.NoError(t, db.QueryRow(ctx, "SELECT v FROM marks").Scan(&got))
				assert.Equal(t, value, got)
			} else {
				cfg, err := conn.MySQLConfig("", dbaas.DSNOptions{})
				require.NoError(t, err)
				connector, err := mysql.NewConnector(cfg)
				require.NoError(t, err)
				db := sql.OpenDB(connector)
				defer db.Close()
				_, err = db.ExecContext(ctx, "CREATE TABLE marks (v varchar(32))")
				require.NoError(t, err)
				_, err = db.ExecContext(ctx, "INSERT INTO marks VALUES (?)", value)
				require.NoError(t, err)
				var got string
				require.NoError(t, db.QueryRowContext(ctx, "SELECT v FROM marks").Scan(&got))
				assert.Equal(t, value, got)
			}
			require.NoError(t, e.p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true}))
		})
	}
	// Deletes finish on the simulated clock; Close detaches what is left.
	clock.Advance(time.Hour)
	require.NoError(t, e.sim.Close())
	backend.mu.Lock()
	defer backend.mu.Unlock()
	assert.Empty(t, backend.made, "every database was dropped")
	assert.Equal(t, 3, backend.drops)
}
