package local

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/sqltest"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var engines = []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB}

// tableSums returns, per table of the instance's database, its row count
// and a checksum of its content.
func tableSums(t *testing.T, conn *dbaas.ConnectionInfo) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	if conn.Engine == dbaas.Postgres {
		c := sqltest.PG(t, conn)
		rows, err := c.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
		require.NoError(t, err)
		tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		for _, tb := range tables {
			var n int64
			var sum string
			q := fmt.Sprintf("SELECT count(*), coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') FROM %s x", pgx.Identifier{tb}.Sanitize())
			require.NoError(t, c.QueryRow(ctx, q).Scan(&n, &sum))
			out[tb] = fmt.Sprintf("%d rows, md5 %s", n, sum)
		}
		return out
	}
	db := sqltest.MySQL(t, conn)
	rows, err := db.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1")
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var tb string
		require.NoError(t, rows.Scan(&tb))
		tables = append(tables, tb)
	}
	require.NoError(t, rows.Close())
	for _, tb := range tables {
		var n int64
		var name string
		var sum sql.NullInt64
		require.NoError(t, db.QueryRowContext(ctx, "SELECT count(*) FROM `"+tb+"`").Scan(&n))
		require.NoError(t, db.QueryRowContext(ctx, "CHECKSUM TABLE `"+tb+"`").Scan(&name, &sum))
		out[tb] = fmt.Sprintf("%d rows, checksum %d", n, sum.Int64)
	}
	return out
}

// populate makes two tables with a few thousand rows.
func populate(t *testing.T, conn *dbaas.ConnectionInfo) {
	t.Helper()
	if conn.Engine == dbaas.Postgres {
		sqltest.Exec(t, conn,
			"CREATE TABLE items (id int PRIMARY KEY, name text, price numeric(10,2))",
			"INSERT INTO items SELECT g, 'item ' || g, g * 1.25 FROM generate_series(1, 5000) g",
			"CREATE TABLE orders (id serial PRIMARY KEY, item int REFERENCES items, at timestamptz DEFAULT now())",
			"INSERT INTO orders (item) SELECT 1 + g % 5000 FROM generate_series(1, 3000) g")
		return
	}
	sqltest.Exec(t, conn,
		"CREATE TABLE items (id int PRIMARY KEY, name varchar(64), price decimal(10,2))",
		"INSERT INTO items SELECT seq, CONCAT('item ', seq), seq * 1.25 FROM seq_1_to_5000",
		"CREATE TABLE orders (id int AUTO_INCREMENT PRIMARY KEY, item int, at timestamp DEFAULT CURRENT_TIMESTAMP)",
		"INSERT INTO orders (item) SELECT 1 + seq % 5000 FROM seq_1_to_3000")
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(string(e), func(t *testing.T) {
			p := newProvider(t, e)
			ctx := context.Background()
			src := createWait(t, p, spec("round", e))
			conn, err := p.Connection(ctx, src.ID)
			require.NoError(t, err)
			populate(t, conn)
			want := tableSums(t, conn)
			require.Len(t, want, 2)

			b, err := p.Backup(ctx, src.ID, "before-late-order")
			require.NoError(t, err)
			assert.Equal(t, dbaas.BackupAvailable, b.Status)
			assert.Positive(t, b.SizeBytes)
			assert.False(t, b.CreatedAt.IsZero())
			sqltest.Exec(t, conn, "INSERT INTO orders (item) VALUES (42)")
			assert.NotEqual(t, want, tableSums(t, conn), "the late order changes the source")

			list, err := p.Backups(ctx, src.ID)
			require.NoError(t, err)
			require.Len(t, list, 1)
			assert.Equal(t, b.ID, list[0].ID)
			assert.Equal(t, b.SizeBytes, list[0].SizeBytes)

			newPW := dbaas.NewSecret("Restored-pw-" + strconv.Itoa(os.Getpid()))
			rs := spec("round-copy", e)
			rs.AdminPassword = newPW
			restored, err := p.Restore(ctx, dbaas.FromBackup(b.ID), rs)
			require.NoError(t, err)
			assert.Equal(t, dbaas.StatusRestoring, restored.Status)
			waitAvailable(t, p, restored.ID)
			rconn, err := p.Connection(ctx, restored.ID)
			require.NoError(t, err)
			assert.NotEqual(t, conn.Endpoint.Port, rconn.Endpoint.Port)
			assert.Equal(t, newPW.Reveal(), rconn.Password.Reveal(), "the restore took the new password")
			assert.Equal(t, want, tableSums(t, rconn), "every table of the restore equals the source at backup time")
			assert.NotEqual(t, conn.CACertPEM, rconn.CACertPEM, "the restore has a CA of its own")
			ok, err := encryptedSession(t, rconn, rconn.CACertPEM, loopback, "127.0.0.1")
			require.NoError(t, err, "the restore presents a certificate of its own CA")
			assert.True(t, ok)
			_, err = encryptedSession(t, rconn, conn.CACertPEM, loopback, "127.0.0.1")
			assert.Error(t, err, "the restore does not present the source's certificate")

			old := *rconn
			old.Password = conn.Password
			if e == dbaas.Postgres {
				u, err := old.PostgresURL(dbaas.DSNOptions{})
				require.NoError(t, err)
				_, err = pgx.Connect(ctx, u)
				require.Error(t, err, "the backup's password no longer opens the restore")
			} else {
				db, err := mysqlDB(&old)
				require.NoError(t, err)
				assert.Error(t, db.PingContext(ctx), "the backup's password no longer opens the restore")
				_ = db.Close()
			}
		})
	}
}

func TestKilledServerIsSeenAndRestarts(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(string(e), func(t *testing.T) {
			p := newProvider(t, e)
			ctx := context.Background()
			inst := createWait(t, p, spec("killed", e))
			conn, err := p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			require.NoError(t, writeMark(ctx, conn, "survives"))

			r, err := p.s.store.readRecord(inst.ID)
			require.NoError(t, err)
			pid := p.s.serverPID(r)
			require.NotZero(t, pid)
			require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
			require.Eventually(t, func() bool {
				got, err := p.Get(ctx, inst.ID)
				return err == nil && got.Status == dbaas.StatusFailed
			}, 10*time.Second, 20*time.Millisecond)
			got, err := p.Get(ctx, inst.ID)
			require.NoError(t, err)
			assert.Contains(t, got.RawStatus, "not running")
			_, err = p.Backup(ctx, inst.ID, "")
			assert.ErrorIs(t, err, dbaas.ErrConflict, "no backup of a dead server")

			require.NoError(t, p.Start(ctx, inst.ID))
			got, err = p.Get(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, dbaas.StatusAvailable, got.Status)
			marks, err := readMarks(ctx, conn)
			require.NoError(t, err)
			assert.Equal(t, []string{"survives"}, marks)
		})
	}
}

func TestConcurrentCreatesGetDistinctPorts(t *testing.T) {
	t.Parallel()
	p := newProvider(t, engines...)
	ctx := context.Background()
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inst, err := p.Create(ctx, spec(fmt.Sprintf("cc-%d", i), engines[i%2]))
			if err == nil {
				ids[i] = inst.ID
				_, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{FirstDelay: 100 * time.Millisecond, MaxDelay: time.Second, Expected: -1, Timeout: 3 * time.Minute})
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	ports := map[int]string{}
	for i := range n {
		require.NoError(t, errs[i], "create %d", i)
		conn, err := p.Connection(ctx, ids[i])
		require.NoError(t, err)
		_, dup := ports[conn.Endpoint.Port]
		assert.False(t, dup, "port %d given twice", conn.Endpoint.Port)
		ports[conn.Endpoint.Port] = ids[i]
		require.NoError(t, writeMark(ctx, conn, ids[i]))
		marks, err := readMarks(ctx, conn)
		require.NoError(t, err)
		assert.Equal(t, []string{ids[i]}, marks, "each port reaches its own server")
	}
}

// connectFrom opens a session to the instance from a chosen local
// address, through host:port.
func connectFrom(ctx context.Context, conn *dbaas.ConnectionInfo, local net.IP, host string) error {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: local}, Timeout: 3 * time.Second}
	addr := net.JoinHostPort(host, strconv.Itoa(conn.Endpoint.Port))
	if conn.Engine == dbaas.Postgres {
		u, err := conn.PostgresURL(dbaas.DSNOptions{})
		if err != nil {
			return err
		}
		cfg, err := pgx.ParseConfig(u)
		if err != nil {
			return err
		}
		cfg.DialFunc = func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
		cfg.Fallbacks = nil
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		return c.Close(ctx)
	}
	cfg, err := sqlconn.MySQLConfig(conn, dbaas.DSNOptions{})
	if err != nil {
		return err
	}
	cfg.DialFunc = func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(c)
	defer db.Close()
	return db.PingContext(ctx)
}

// outsideIP is an address of this machine outside the loopback network.
func outsideIP(t *testing.T) net.IP {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.To4()
		}
	}
	return nil
}

func TestAccessIsEnforcedByTheServer(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(string(e), func(t *testing.T) {
			p := newProvider(t, e)
			ctx := context.Background()
			inst := createWait(t, p, spec("acl", e))
			conn, err := p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			alias := net.IPv4(127, 0, 0, 2)

			require.NoError(t, connectFrom(ctx, conn, net.IPv4(127, 0, 0, 1), "127.0.0.1"), "loopback is always allowed")
			require.Error(t, connectFrom(ctx, conn, alias, "127.0.0.1"), "127.0.0.2 is not allowed yet")

			src := dbaas.CIDR("127.0.0.2/32")
			require.NoError(t, p.Allow(ctx, inst.ID, src))
			require.NoError(t, p.Allow(ctx, inst.ID, src), "allow is idempotent")
			require.NoError(t, connectFrom(ctx, conn, alias, "127.0.0.1"), "allowed source gets in")
			got, err := p.Access(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, []dbaas.Source{src}, got)

			require.NoError(t, p.Revoke(ctx, inst.ID, src))
			require.NoError(t, p.Revoke(ctx, inst.ID, src), "revoke is idempotent")
			require.Error(t, connectFrom(ctx, conn, alias, "127.0.0.1"), "revoked source is refused")

			ip := outsideIP(t)
			if ip == nil {
				t.Log("no non-loopback address on this machine: listening beyond loopback not checked")
				return
			}
			require.Error(t, connectFrom(ctx, conn, ip, ip.String()), "the server listens on loopback only by default")
			wide := dbaas.CIDR(ip.String() + "/32")
			require.NoError(t, p.Allow(ctx, inst.ID, wide))
			require.NoError(t, connectFrom(ctx, conn, ip, ip.String()), "an allowed outside source gets in")
			require.NoError(t, p.Revoke(ctx, inst.ID, wide))
			require.Error(t, connectFrom(ctx, conn, ip, ip.String()), "back on loopback only after revoke")
			require.NoError(t, connectFrom(ctx, conn, net.IPv4(127, 0, 0, 1), "127.0.0.1"))
		})
	}
}

func TestStateSurvivesTheProcess(t *testing.T) {
	t.Parallel()
	p := newProvider(t, dbaas.Postgres)
	ctx := context.Background()
	q, err := New(ctx, Options{StateDir: p.StateDir()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })

	created, err := p.Create(ctx, spec("persist", dbaas.Postgres))
	require.NoError(t, err)
	seen, err := q.Get(ctx, created.ID)
	require.NoError(t, err)
	assert.Contains(t, []dbaas.Status{dbaas.StatusProvisioning, dbaas.StatusAvailable}, seen.Status,
		"another process sees a create in progress, not a dead one (%s)", seen.RawStatus)
	inst := waitAvailable(t, p, created.ID)
	conn, err := p.Connection(ctx, inst.ID)
	require.NoError(t, err)
	list, err := q.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, inst.ID, list[0].ID)
	assert.Equal(t, dbaas.StatusAvailable, list[0].Status)
	conn2, err := q.Connection(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, conn.Endpoint, conn2.Endpoint)
	assert.Equal(t, conn.Password.Reveal(), conn2.Password.Reveal())

	require.NoError(t, q.Stop(ctx, inst.ID))
	got, err := p.Get(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusStopped, got.Status, "a stop by another process is seen")
	require.Error(t, writeMark(ctx, conn, "x"), "a stopped server refuses connections")
	alias := dbaas.CIDR("127.0.0.2/32")
	require.NoError(t, p.Allow(ctx, inst.ID, alias), "access of a stopped instance changes too")
	require.NoError(t, p.Start(ctx, inst.ID))
	require.NoError(t, writeMark(ctx, conn, "x"))
	require.NoError(t, connectFrom(ctx, conn, net.IPv4(127, 0, 0, 2), "127.0.0.1"), "what was allowed while stopped holds after start")
}

func TestServersRunUnprivileged(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("only root drops privileges")
	}
	p := newProvider(t, dbaas.Postgres)
	pw := dbaas.NewSecret("Visible-nowhere-" + strconv.Itoa(os.Getpid()))
	s := spec("unpriv", dbaas.Postgres)
	s.AdminPassword = pw
	inst := createWait(t, p, s)
	r, err := p.s.store.readRecord(inst.ID)
	require.NoError(t, err)
	pid := p.s.serverPID(r)
	require.NotZero(t, pid)
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(fmt.Sprintf("/proc/%d", pid), &st))
	assert.NotZero(t, st.Uid, "the server does not run as root")
	assert.Equal(t, p.s.account(r).uid, int(st.Uid))

	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	require.NoError(t, err)
	assert.NotContains(t, string(cmdline), pw.Reveal(), "no password on the command line")
	log, err := os.ReadFile(filepath.Join(p.s.store.serverDir(inst.ID), "server.log"))
	require.NoError(t, err)
	assert.NotContains(t, string(log), pw.Reveal(), "no password in the server log")
	fi, err := os.Stat(p.s.store.recordPath(inst.ID))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the state file holds the password: owner only")
	fi, err = os.Stat(p.s.store.instancesDir())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), fi.Mode().Perm())
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	p := newProvider(t, dbaas.Postgres)
	ctx := context.Background()
	noRecords := func(t *testing.T) {
		t.Helper()
		list, err := p.List(ctx)
		require.NoError(t, err)
		assert.Empty(t, list, "nothing half made is left")
		ents, err := os.ReadDir(p.s.store.serversDir())
		require.NoError(t, err)
		assert.Empty(t, ents, "no server files are left")
	}

	t.Run("TakenPort", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		s := spec("taken", dbaas.Postgres)
		s.Port = port
		_, err = p.Create(ctx, s)
		require.ErrorIs(t, err, dbaas.ErrConflict)
		assert.Contains(t, err.Error(), fmt.Sprintf("port %d is in use", port))
		assert.Contains(t, err.Error(), "leave port 0")
		noRecords(t)
	})
	t.Run("VersionNotInstalled", func(t *testing.T) {
		s := spec("oldpg", dbaas.Postgres)
		s.Version = "9"
		_, err := p.Create(ctx, s)
		require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
		assert.Contains(t, err.Error(), "version")
		assert.Contains(t, err.Error(), "postgres 9 is not installed")
		noRecords(t)
	})
	t.Run("LocalRules", func(t *testing.T) {
		tests := []struct {
			mutate func(*dbaas.Spec)
			field  string
			kind   error
		}{
			{func(s *dbaas.Spec) { s.Size = "huge" }, "size", dbaas.ErrInvalidArgument},
			{func(s *dbaas.Spec) { s.Nodes = 2 }, "nodes", dbaas.ErrInvalidArgument},
			{func(s *dbaas.Spec) { s.Options = map[string]string{"x": "y"} }, "options[x]", dbaas.ErrInvalidArgument},
			{func(s *dbaas.Spec) { s.Access = []dbaas.Source{{Kind: dbaas.SourceTag, Value: "web"}} }, "source kind tag", dbaas.ErrUnsupported},
			{func(s *dbaas.Spec) { s.StorageGB = 20 }, "StorageGB", dbaas.ErrUnsupported},
			{func(s *dbaas.Spec) { s.PrivateNetwork = "vpc-1" }, "PrivateNetwork", dbaas.ErrUnsupported},
			{func(s *dbaas.Spec) { s.BackupRetentionDays = 7 }, "BackupRetentionDays", dbaas.ErrUnsupported},
		}
		for _, tt := range tests {
			t.Run(tt.field, func(t *testing.T) {
				s := spec("rules", dbaas.Postgres)
				tt.mutate(&s)
				_, err := p.Create(ctx, s)
				require.ErrorIs(t, err, tt.kind)
				assert.Contains(t, err.Error(), tt.field)
				if ve, ok := dbaas.AsValidationError(err); ok {
					assert.Equal(t, []string{tt.field}, ve.Fields())
				}
			})
		}
		noRecords(t)
	})
	t.Run("MySQLIsMariaDB", func(t *testing.T) {
		_, err := p.Create(ctx, spec("oracle", dbaas.MySQL))
		require.ErrorIs(t, err, dbaas.ErrUnsupported)
		assert.Contains(t, err.Error(), "mariadb", "the error names the engines offered")
	})
	t.Run("CorruptStateFile", func(t *testing.T) {
		path := p.s.store.recordPath("local-000000000000")
		require.NoError(t, os.WriteFile(path, []byte(`{"id": "local-0000`), 0o600))
		defer os.Remove(path)
		_, err := p.List(ctx)
		var ce *CorruptStateError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, path, ce.Path)
		assert.Contains(t, err.Error(), path)
		assert.Contains(t, err.Error(), "remove it")
		_, err = p.Get(ctx, "local-000000000000")
		require.ErrorAs(t, err, &ce)
		_, err = p.Create(ctx, spec("aftercorrupt", dbaas.Postgres))
		require.ErrorAs(t, err, &ce, "no create while the state cannot be read: a name or port could clash")
	})
	t.Run("DataDirectoryRemoved", func(t *testing.T) {
		inst := createWait(t, p, spec("vanish", dbaas.Postgres))
		data := filepath.Join(p.s.store.serverDir(inst.ID), "data")
		require.NoError(t, os.RemoveAll(data), "removed while the server runs")
		got, err := p.Get(ctx, inst.ID)
		require.NoError(t, err)
		assert.Equal(t, dbaas.StatusFailed, got.Status)
		assert.Contains(t, got.RawStatus, "data directory missing")
		err = p.Start(ctx, inst.ID)
		require.ErrorIs(t, err, dbaas.ErrConflict)
		assert.Contains(t, err.Error(), data)
		assert.Contains(t, err.Error(), "restore it from a backup")
		_, err = p.Backup(ctx, inst.ID, "")
		require.ErrorIs(t, err, dbaas.ErrConflict)
		require.NoError(t, p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
		assert.Empty(t, strays(p.StateDir()), "delete stops a server whose pid file went with its data")
		noRecords(t)
	})
	t.Run("ClosedWhileProvisioning", func(t *testing.T) {
		q, err := New(ctx, Options{StateDir: stateDir(t)})
		require.NoError(t, err)
		inst, err := q.Create(ctx, spec("interrupted", dbaas.Postgres))
		require.NoError(t, err)
		require.NoError(t, q.Close())
		_, err = q.Create(ctx, spec("after-close", dbaas.Postgres))
		require.ErrorIs(t, err, dbaas.ErrConflict, "a closed provider creates nothing")
		// Another process on the same state sees what Close left.
		q, err = New(ctx, Options{StateDir: q.StateDir()})
		require.NoError(t, err)
		defer q.Close()
		got, err := q.Get(ctx, inst.ID)
		require.NoError(t, err)
		if got.Status == dbaas.StatusAvailable {
			t.Skip("provisioning finished before Close")
		}
		assert.Equal(t, dbaas.StatusFailed, got.Status)
		assert.Contains(t, got.RawStatus, "interrupted")
		ents, err := os.ReadDir(q.s.store.serversDir())
		require.NoError(t, err)
		assert.Empty(t, ents, "an interrupted create leaves no server files")
		assert.Empty(t, strays(q.StateDir()))
		require.NoError(t, q.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
	})
	t.Run("DeletionProtectionAndRestoreMismatch", func(t *testing.T) {
		s := spec("guarded", dbaas.Postgres)
		s.DeletionProtection = true
		inst := createWait(t, p, s)
		err := p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true})
		require.ErrorIs(t, err, dbaas.ErrConflict)
		assert.Contains(t, err.Error(), "deletion protection")
		got, err := p.Get(ctx, inst.ID)
		require.NoError(t, err)
		assert.Equal(t, dbaas.StatusAvailable, got.Status, "a refused delete changes nothing")

		b, err := p.Backup(ctx, inst.ID, "m")
		require.NoError(t, err)
		rs := spec("mismatch-copy", dbaas.MariaDB)
		rs.AdminUser = "someone"
		_, err = p.Restore(ctx, dbaas.FromBackup(b.ID), rs)
		require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
		ve, ok := dbaas.AsValidationError(err)
		require.True(t, ok)
		assert.Equal(t, []string{"engine", "admin_user"}, ve.Fields())
		require.NoError(t, p.DeleteBackup(ctx, b.ID))
		_, err = p.Restore(ctx, dbaas.FromBackup(b.ID), spec("mismatch-copy", dbaas.Postgres))
		require.ErrorIs(t, err, dbaas.ErrNotFound)

		// Lift the protection behind the provider's back so that cleanup
		// can delete it.
		r, err := p.s.store.readRecord(inst.ID)
		require.NoError(t, err)
		r.Protected = false
		require.NoError(t, p.s.store.writeRecord(r))
	})
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := stateDir(t)
	file := filepath.Join(dir, "a-file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))

	_, err := New(ctx, Options{StateDir: filepath.Join(file, "state")})
	require.ErrorIs(t, err, dbaas.ErrPermissionDenied)
	assert.Contains(t, err.Error(), filepath.Join(file, "state"))
	assert.Contains(t, err.Error(), "choose a writable directory")

	if os.Geteuid() == 0 {
		closed := filepath.Join(dir, "closed")
		require.NoError(t, os.Mkdir(closed, 0o700))
		_, err = New(ctx, Options{StateDir: filepath.Join(closed, "state")})
		require.ErrorIs(t, err, dbaas.ErrPermissionDenied)
		assert.Contains(t, err.Error(), "cannot enter "+closed)

		_, err = New(ctx, Options{StateDir: dir, RunAs: "root"})
		require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	}

	_, err = dbaas.Open(ctx, "local", dbaas.Config{Settings: map[string]string{"statedir": dir}})
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "settings.statedir: is unknown")

	p, err := dbaas.Open(ctx, "local", dbaas.Config{Settings: map[string]string{"state_dir": dir}})
	require.NoError(t, err)
	var lp *Provider
	require.True(t, p.As(&lp), "a provider from dbaas.Open hands out the *Provider")
	assert.Equal(t, dir, lp.StateDir())
	require.NoError(t, p.Close())

	none, err := New(ctx, Options{StateDir: dir, Installations: []Installation{}})
	require.NoError(t, err)
	defer none.Close()
	assert.Empty(t, none.Capabilities().Engines)
	_, err = none.Create(ctx, spec("nopg", dbaas.Postgres))
	require.ErrorIs(t, err, dbaas.ErrUnsupported)
	assert.Contains(t, err.Error(), "engine postgres is not installed on this machine: install PostgreSQL")
	_, err = none.Create(ctx, spec("nomaria", dbaas.MariaDB))
	require.ErrorIs(t, err, dbaas.ErrUnsupported)
	assert.Contains(t, err.Error(), "engine mariadb is not installed on this machine: install MariaDB")
	reg, err := dbaas.CapabilitiesOf("local")
	require.NoError(t, err)
	assert.Equal(t, []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB}, reg.Engines, "registered: every engine the provider can run")
}

func TestDiscoverFindsInstalledServers(t *testing.T) {
	insts := Discover(context.Background())
	for _, in := range insts {
		switch in.Engine {
		case dbaas.Postgres:
			assert.FileExists(t, filepath.Join(in.BinDir, "initdb"))
			assert.True(t, strings.HasPrefix(in.Full, in.Version), "%s of %s", in.Version, in.Full)
		case dbaas.MariaDB:
			assert.FileExists(t, in.Server)
			assert.FileExists(t, in.InstallDB)
			assert.Regexp(t, `^\d+\.\d+$`, in.Version)
		default:
			t.Errorf("unexpected engine %s", in.Engine)
		}
	}
	_, err := pick(insts, dbaas.Postgres, "")
	if err != nil {
		t.Skip("no PostgreSQL here: " + err.Error())
	}
}

func TestPick(t *testing.T) {
	insts := []Installation{
		{Engine: dbaas.Postgres, Version: "16", Full: "16.4"},
		{Engine: dbaas.Postgres, Version: "15", Full: "15.20"},
		{Engine: dbaas.MariaDB, Version: "10.11", Full: "10.11.19"},
	}
	tests := []struct {
		engine  dbaas.Engine
		version string
		want    string
		kind    error
		says    string
	}{
		{dbaas.Postgres, "", "16", nil, ""},
		{dbaas.Postgres, "15", "15", nil, ""},
		{dbaas.Postgres, "15.20", "15", nil, ""},
		{dbaas.Postgres, "14", "", dbaas.ErrInvalidArgument, "postgres 14 is not installed (installed: 16, 15)"},
		{dbaas.MariaDB, "10", "10.11", nil, ""},
		{dbaas.MariaDB, "11.4", "", dbaas.ErrInvalidArgument, "installed: 10.11"},
		{dbaas.MySQL, "", "", dbaas.ErrUnsupported, "use engine mariadb"},
	}
	for _, tt := range tests {
		t.Run(string(tt.engine)+"/"+tt.version, func(t *testing.T) {
			in, err := pick(insts, tt.engine, tt.version)
			if tt.kind != nil {
				require.ErrorIs(t, err, tt.kind)
				assert.Contains(t, err.Error(), tt.says)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, in.Version)
		})
	}
}

func TestHostPattern(t *testing.T) {
	tests := []struct{ cidr, want, err string }{
		{"10.1.2.3/32", "10.1.2.3", ""},
		{"10.0.0.0/8", "10.0.0.0/255.0.0.0", ""},
		{"192.168.4.0/22", "192.168.4.0/255.255.252.0", ""},
		{"0.0.0.0/0", "0.0.0.0/0.0.0.0", ""},
		{"2001:db8::1/128", "2001:db8::1", ""},
		{"2001:db8::/32", "", "IPv6 network"},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			got, err := hostPattern(tt.cidr)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestPgHBAListsLoopbackAndSources(t *testing.T) {
	hba := pgHBA(&record{Access: []string{"10.0.0.0/8"}})
	for _, want := range []string{
		"host    all          all   127.0.0.1/32  scram-sha-256",
		"host    all          all   ::1/128  scram-sha-256",
		"host    all          all   10.0.0.0/8  scram-sha-256",
		"host    replication  all   10.0.0.0/8  scram-sha-256",
	} {
		assert.Contains(t, hba, want)
	}
	assert.NotContains(t, hba, "trust")
	assert.False(t, opensWider(&record{Access: []string{"127.0.0.2/32"}}))
	assert.True(t, opensWider(&record{Access: []string{"10.0.0.0/8"}}))
	assert.True(t, opensWider(&record{PublicAccess: true}))
}

func TestGeneratedPassword(t *testing.T) {
	a, b := generatePassword(), generatePassword()
	assert.Len(t, a, 24)
	assert.NotEqual(t, a, b)
	s := dbaas.Spec{Name: "pwd", Engine: dbaas.Postgres, Size: "small", AdminPassword: dbaas.NewSecret(a)}
	assert.NoError(t, s.Validate(),
		"a generated password passes the shared rules")
}

// TestMariaDBLogicalBackupWithoutMariadbBackup proves the fallback for a
// machine without mariadb-backup: a dump of the user databases restores
// into a new instance holding the same tables.
func TestMariaDBLogicalBackupWithoutMariadbBackup(t *testing.T) {
	t.Parallel()
	insts := Discover(context.Background())
	var found bool
	for i := range insts {
		if insts[i].Engine == dbaas.MariaDB {
			insts[i].Backup = ""
			found = insts[i].Dump != "" && insts[i].Client != ""
		}
	}
	if !found {
		newProvider(t, dbaas.MariaDB) // skips when MariaDB is missing
		testenv.Skip(t, "mariadb-dump or the mariadb client is not installed: "+installMariaDB)
	}
	ctx := context.Background()
	p, err := New(ctx, Options{StateDir: stateDir(t), Installations: insts})
	require.NoError(t, err)
	t.Cleanup(func() {
		list, err := p.List(context.Background())
		assert.NoError(t, err)
		for _, inst := range list {
			assert.NoError(t, p.Delete(context.Background(), inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
		}
		assert.NoError(t, p.Close())
	})
	src := createWait(t, p, spec("dumped", dbaas.MariaDB))
	conn, err := p.Connection(ctx, src.ID)
	require.NoError(t, err)
	populate(t, conn)
	want := tableSums(t, conn)
	b, err := p.Backup(ctx, src.ID, "logical")
	require.NoError(t, err)
	br, err := p.s.store.readBackup(b.ID)
	require.NoError(t, err)
	assert.Equal(t, methodMariaDump, br.Method)
	sqltest.Exec(t, conn, "INSERT INTO orders (item) VALUES (42)")

	restored, err := p.Restore(ctx, dbaas.FromBackup(b.ID), spec("dumped-copy", dbaas.MariaDB))
	require.NoError(t, err)
	waitAvailable(t, p, restored.ID)
	rconn, err := p.Connection(ctx, restored.ID)
	require.NoError(t, err)
	assert.Equal(t, want, tableSums(t, rconn), "every table of the restore equals the source at backup time")
}
