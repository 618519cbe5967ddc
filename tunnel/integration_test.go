package tunnel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"hash"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/sshtest"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// The machine's database servers the integration tests reach through
// sshd: PostgreSQL 15 with trust authentication and MariaDB with a root
// user without password, both on loopback.
var (
	postgresEndpoint = dbaas.Endpoint{Host: "127.0.0.1", Port: 5432}
	mariadbEndpoint  = dbaas.Endpoint{Host: "127.0.0.1", Port: 3306}
)

func need(t *testing.T, e dbaas.Endpoint, what string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", e.Address(), time.Second)
	if err != nil {
		testenv.Skip(t, what+" is not running on "+e.Address()+": start it (Debian: apt-get install "+
			map[int]string{5432: "postgresql-15", 3306: "mariadb-server"}[e.Port]+")")
	}
	_ = c.Close()
}

// sshdRelay is a real OpenSSH sshd the tests forward through.
type sshdRelay struct {
	key   *sshtest.Key
	sshd  *sshtest.Sshd
	known string
}

func startRelays(t *testing.T, n int) []*sshdRelay {
	t.Helper()
	dir := t.TempDir()
	key := sshtest.NewKey(t, dir)
	var out []*sshdRelay
	var lines []string
	for range n {
		s := sshtest.StartSshd(t, sshtest.SshdOptions{AuthorizedKeys: []ssh.PublicKey{key.Public}})
		out = append(out, &sshdRelay{key: key, sshd: s})
		lines = append(lines, s.KnownHostsLine())
	}
	known := sshtest.WriteKnownHosts(t, dir, lines...)
	for _, r := range out {
		r.known = known
	}
	return out
}

func (r *sshdRelay) relay() Relay { return Relay{Hop: Hop{Host: r.sshd.Addr, User: r.sshd.User}} }

func (r *sshdRelay) config(remote dbaas.Endpoint) Config {
	return Config{
		Relays:            []Relay{r.relay()},
		Remote:            remote,
		Auth:              Auth{KeyFiles: []string{r.key.Path}},
		KnownHosts:        []string{r.known},
		DialTimeout:       3 * time.Second,
		KeepaliveInterval: time.Second,
		DrainTimeout:      2 * time.Second,
	}
}

func pgConnect(ctx context.Context, tn *Tunnel) (*pgx.Conn, error) {
	e := tn.Endpoint()
	return pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable&connect_timeout=5", e.Address()))
}

func pgQueryInt(ctx context.Context, tn *Tunnel, q string) (int, error) {
	c, err := pgConnect(ctx, tn)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.Background())
	var n int
	err = c.QueryRow(ctx, q).Scan(&n)
	return n, err
}

// rows generates n lines of COPY text ("id<TAB>payload") and hashes what
// it hands out.
type rows struct {
	n, i int
	buf  bytes.Buffer
	h    hash.Hash
}

func (r *rows) Read(p []byte) (int, error) {
	for r.buf.Len() < len(p) && r.i < r.n {
		r.buf.WriteString(strconv.Itoa(r.i))
		r.buf.WriteByte('\t')
		// 96 bytes that differ from row to row.
		for j := range 12 {
			r.buf.WriteString(strconv.FormatUint(uint64(r.i)*2654435761+uint64(j)*40503+3e12, 36)[:8])
		}
		r.buf.WriteByte('\n')
		r.i++
	}
	if r.buf.Len() == 0 {
		return 0, io.EOF
	}
	n, _ := r.buf.Read(p)
	r.h.Write(p[:n])
	return n, nil
}

func TestIntegrationPostgresCopy100MB(t *testing.T) {
	leakCheck(t)
	need(t, postgresEndpoint, "PostgreSQL")
	r := startRelays(t, 1)[0]
	tn := openTunnel(t, r.config(postgresEndpoint))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := pgConnect(ctx, tn)
	require.NoError(t, err)
	defer c.Close(context.Background())
	_, err = c.Exec(ctx, "CREATE TEMP TABLE tunnel_copy (id int PRIMARY KEY, payload text)")
	require.NoError(t, err)

	const n = 1_000_000 // rows of about 104 bytes: 100 MB
	in := &rows{n: n, h: sha256.New()}
	tag, err := c.PgConn().CopyFrom(ctx, in, "COPY tunnel_copy FROM STDIN")
	require.NoError(t, err)
	require.EqualValues(t, n, tag.RowsAffected())

	out := sha256.New()
	counted := &countWriter{w: out}
	tag, err = c.PgConn().CopyTo(ctx, counted, "COPY (SELECT * FROM tunnel_copy ORDER BY id) TO STDOUT")
	require.NoError(t, err)
	require.EqualValues(t, n, tag.RowsAffected())
	assert.Greater(t, counted.n, int64(100_000_000))
	assert.Equal(t, in.h.Sum(nil), out.Sum(nil), "what came out is byte for byte what went in")
	st := tn.Stats()
	assert.Greater(t, st.BytesToRemote, counted.n)
	assert.Greater(t, st.BytesFromRemote, counted.n)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return c.w.Write(p) }

func TestIntegrationMariaDB(t *testing.T) {
	leakCheck(t)
	need(t, mariadbEndpoint, "MariaDB")
	r := startRelays(t, 1)[0]
	tn := openTunnel(t, r.config(mariadbEndpoint))
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr, cfg.Timeout = "root", "tcp", tn.Endpoint().Address(), 5*time.Second
	db, err := sql.Open("mysql", cfg.FormatDSN())
	require.NoError(t, err)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var version string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version))
	assert.Contains(t, version, "MariaDB")
	var big string
	require.NoError(t, db.QueryRowContext(ctx, "SELECT REPEAT('x', 8*1024*1024)").Scan(&big))
	assert.Len(t, big, 8*1024*1024)
	db.SetMaxOpenConns(8)
	for i := range 50 {
		var n int
		require.NoError(t, db.QueryRowContext(ctx, "SELECT ?+1", i).Scan(&n))
		require.Equal(t, i+1, n)
	}
	require.NoError(t, db.Close())
	assert.EqualValues(t, 0, tn.Stats().FailedDials)
}

func TestIntegrationSshdRestart(t *testing.T) {
	leakCheck(t)
	need(t, postgresEndpoint, "PostgreSQL")
	r := startRelays(t, 1)[0]
	tn := openTunnel(t, r.config(postgresEndpoint))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	held, err := pgConnect(ctx, tn)
	require.NoError(t, err)
	defer held.Close(context.Background())
	var one int
	require.NoError(t, held.QueryRow(ctx, "SELECT 1").Scan(&one))

	r.sshd.Stop() // sshd and every session: the relay crashed
	require.Error(t, held.QueryRow(ctx, "SELECT 1").Scan(&one), "a connection through the dead relay is lost")
	time.Sleep(500 * time.Millisecond)
	r.sshd.Start()
	restarted := time.Now()
	// Within 2 s of the relay's return a new connection and query work:
	// the connection waits for the new SSH connection rather than fail.
	rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
	defer rcancel()
	n, err := pgQueryInt(rctx, tn, "SELECT 42")
	require.NoError(t, err, "no recovery within 2s of the restart")
	assert.Equal(t, 42, n)
	t.Logf("recovered %s after sshd came back", time.Since(restarted).Round(time.Millisecond))
	assert.GreaterOrEqual(t, tn.Stats().Reconnects, int64(1))
}

func TestIntegrationChangedHostKeyRefused(t *testing.T) {
	leakCheck(t)
	need(t, postgresEndpoint, "PostgreSQL")
	r := startRelays(t, 1)[0]
	cfg := r.config(postgresEndpoint)
	tn := openTunnel(t, cfg)
	_, err := pgQueryInt(context.Background(), tn, "SELECT 1")
	require.NoError(t, err)

	// The relay comes back with another host key: a reinstall, or a
	// machine in the middle. The tunnel must not use it.
	r.sshd.Stop()
	r.sshd.ChangeHostKey()
	r.sshd.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err = tn.WaitReady(ctx)
	require.Error(t, err)
	var he *HostKeyError
	require.ErrorAs(t, err, &he)
	assert.True(t, he.Mismatch)
	assert.Contains(t, err.Error(), ssh.FingerprintSHA256(r.sshd.HostKey))
	_, err = pgQueryInt(context.Background(), tn, "SELECT 1")
	assert.Error(t, err, "no query may go through a relay whose host key changed")

	_, err = Open(context.Background(), cfg)
	require.ErrorAs(t, err, &he)
	assert.Contains(t, err.Error(), r.known)
}

func TestIntegrationTwoRelaysOneKilled(t *testing.T) {
	leakCheck(t)
	need(t, postgresEndpoint, "PostgreSQL")
	rs := startRelays(t, 2)
	cfg := rs[0].config(postgresEndpoint)
	cfg.Relays = []Relay{rs[0].relay(), rs[1].relay()}
	tn := openTunnel(t, cfg)
	assert.Equal(t, rs[0].relay().String(), tn.Stats().Relay)
	_, err := pgQueryInt(context.Background(), tn, "SELECT 1")
	require.NoError(t, err)

	rs[0].sshd.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := pgQueryInt(ctx, tn, "SELECT 7")
	require.NoError(t, err)
	assert.Equal(t, 7, n)
	assert.Equal(t, rs[1].relay().String(), tn.Stats().Relay)
}

func TestIntegrationJumpChain(t *testing.T) {
	leakCheck(t)
	need(t, postgresEndpoint, "PostgreSQL")
	rs := startRelays(t, 2)
	cfg := rs[1].config(postgresEndpoint)
	cfg.Relays = []Relay{{Hop: rs[1].relay().Hop, Jump: []Hop{rs[0].relay().Hop}}}
	tn := openTunnel(t, cfg)
	n, err := pgQueryInt(context.Background(), tn, "SELECT 11")
	require.NoError(t, err)
	assert.Equal(t, 11, n)
	// The jump host's sshd is the only one dialled from here.
	assert.Equal(t, rs[1].relay().String()+" via "+rs[0].sshd.Addr, tn.Stats().Relay)

	// Stop the jump host: the chain is down, and comes back with it.
	rs[0].sshd.Stop()
	require.Eventually(t, func() bool { return !tn.Ready() }, 10*time.Second, 10*time.Millisecond)
	rs[0].sshd.Start()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	n, err = pgQueryInt(ctx, tn, "SELECT 12")
	require.NoError(t, err)
	assert.Equal(t, 12, n)
}

func TestIntegrationPsqlOverUnixSocket(t *testing.T) {
	leakCheck(t)
	need(t, postgresEndpoint, "PostgreSQL")
	psql := testenv.LookPath(t, "psql", "install PostgreSQL's client (Debian: apt-get install postgresql-client-15)")
	r := startRelays(t, 1)[0]
	cfg := r.config(postgresEndpoint)
	dir := t.TempDir()
	cfg.Listen = PostgresSocket(dir, 5432)
	openTunnel(t, cfg)
	out, err := exec.Command(psql, "-h", dir, "-p", "5432", "-U", "postgres", "-d", "postgres", "-Atc", "SELECT 6*7").CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Equal(t, "42", strings.TrimSpace(string(out)))
}
