package local

import (
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/sqltest"
)

// encryptedSession connects from local to host:port checking the server
// certificate against ca and the host name (verify-full), and reports
// whether the server sees the session as encrypted.
func encryptedSession(t *testing.T, conn *dbaas.ConnectionInfo, ca []byte, local net.IP, host string) (bool, error) {
	t.Helper()
	ctx := context.Background()
	c := *conn
	c.TLS, c.CACertPEM, c.Endpoint.Host = dbaas.TLSVerifyFull, ca, host
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: local}}
	addr := net.JoinHostPort(host, strconv.Itoa(c.Endpoint.Port))
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	if c.Engine == dbaas.Postgres {
		caFile, err := c.WriteCAFile(t.TempDir())
		require.NoError(t, err)
		u, err := c.PostgresURL(dbaas.DSNOptions{CAFile: caFile})
		require.NoError(t, err)
		cfg, err := pgx.ParseConfig(u)
		require.NoError(t, err)
		require.NotNil(t, cfg.TLSConfig, "verify-full sets up TLS")
		cfg.DialFunc = dial
		cfg.Fallbacks = nil
		pc, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return false, err
		}
		defer pc.Close(ctx)
		var ssl bool
		err = pc.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl)
		return ssl, err
	}
	cfg, err := sqlconn.MySQLConfig(&c, dbaas.DSNOptions{})
	require.NoError(t, err)
	cfg.DialFunc = dial
	connector, err := mysql.NewConnector(cfg)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	defer db.Close()
	var name, cipher string
	if err := db.QueryRowContext(ctx, "SHOW STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil {
		return false, err
	}
	return cipher != "", nil
}

// plainSession connects from local to host:port without TLS.
func plainSession(conn *dbaas.ConnectionInfo, local net.IP, host string) error {
	c := *conn
	c.TLS, c.CACertPEM = dbaas.TLSDisable, nil
	return connectFrom(context.Background(), &c, local, host)
}

var loopback = net.IPv4(127, 0, 0, 1)

func TestConnectionsUseTLSWithTheInstanceCA(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, e)
			ctx := context.Background()
			inst := createWait(t, p, spec("tls", e))
			conn, err := p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, dbaas.TLSRequire, conn.TLS)
			block, _ := pem.Decode(conn.CACertPEM)
			require.NotNil(t, block, "a PEM CA certificate")
			ca, err := x509.ParseCertificate(block.Bytes)
			require.NoError(t, err)
			assert.True(t, ca.IsCA)

			ok, err := encryptedSession(t, conn, conn.CACertPEM, loopback, "127.0.0.1")
			require.NoError(t, err, "verify-full against the instance's CA")
			assert.True(t, ok, "the server sees an encrypted session")

			other, err := newCerts("other")
			require.NoError(t, err)
			_, err = encryptedSession(t, conn, other.caPEM, loopback, "127.0.0.1")
			assert.Error(t, err, "a client trusting another CA refuses the server")

			// The default URL or DSN (TLS required, no CA file) connects too.
			if e == dbaas.Postgres {
				var ssl bool
				require.NoError(t, sqltest.PG(t, conn).QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl))
				assert.True(t, ssl)
			} else {
				var name, cipher string
				require.NoError(t, sqltest.MySQL(t, conn).QueryRowContext(ctx, "SHOW STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher))
				assert.NotEmpty(t, cipher)
			}

			r, err := p.s.store.readRecord(inst.ID)
			require.NoError(t, err)
			for _, f := range []string{p.s.caFile(r), p.s.certFile(r), p.s.keyFile(r)} {
				fi, err := os.Stat(f)
				require.NoError(t, err)
				assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
				assert.Equal(t, uint32(p.s.account(r).uid), fi.Sys().(*syscall.Stat_t).Uid, "%s belongs to the servers' user", f)
			}
			state, err := os.ReadFile(p.s.store.recordPath(inst.ID))
			require.NoError(t, err)
			assert.NotContains(t, string(state), "PRIVATE KEY", "no key in state")

			pemCert, err := os.ReadFile(p.s.certFile(r))
			require.NoError(t, err)
			block, _ = pem.Decode(pemCert)
			require.NotNil(t, block)
			cert, err := x509.ParseCertificate(block.Bytes)
			require.NoError(t, err)
			roots := x509.NewCertPool()
			roots.AddCert(ca)
			names := []string{"localhost", "127.0.0.1", "::1"}
			if h, err := os.Hostname(); err == nil && h != "" {
				names = append(names, h)
			}
			for _, n := range names {
				_, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: n})
				assert.NoError(t, err, "the certificate names %s", n)
			}
		})
	}
}

func TestTLSIsRequiredBeyondLoopback(t *testing.T) {
	t.Parallel()
	ip := outsideIP(t)
	if ip == nil {
		t.Skip("no non-loopback address on this machine: connections from beyond loopback cannot be made")
	}
	for _, e := range engines {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, e)
			ctx := context.Background()
			inst := createWait(t, p, spec("tls-wide", e))
			conn, err := p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			near := dbaas.CIDR("127.0.0.2/32")
			require.NoError(t, p.Allow(ctx, inst.ID, dbaas.CIDR(ip.String()+"/32"), near))

			assert.Error(t, plainSession(conn, ip, ip.String()), "plain TCP from an outside address is refused")
			ok, err := encryptedSession(t, conn, conn.CACertPEM, ip, ip.String())
			require.NoError(t, err, "TLS from an outside address gets in, and the certificate names the address")
			assert.True(t, ok)
			require.NoError(t, plainSession(conn, loopback, "127.0.0.1"), "loopback may stay plain")
			require.NoError(t, plainSession(conn, net.IPv4(127, 0, 0, 2), "127.0.0.1"), "an allowed loopback source may stay plain")

			r, err := p.s.store.readRecord(inst.ID)
			require.NoError(t, err)
			if e == dbaas.Postgres {
				hba, err := os.ReadFile(filepath.Join(postgres{p: p.s}.dataDir(r), "pg_hba.conf"))
				require.NoError(t, err)
				assert.Contains(t, string(hba), "hostssl all          all   "+ip.String()+"/32")
			} else {
				var ssl string
				require.NoError(t, sqltest.MySQL(t, conn).QueryRowContext(ctx, "SELECT ssl_type FROM mysql.user WHERE User = ? AND Host = ?", r.AdminUser, ip.String()).Scan(&ssl))
				assert.Equal(t, "ANY", ssl, "the outside account requires TLS")
			}
		})
	}
}

// TestInstanceWithoutCAKeepsPlainTCP stands for an instance made before
// the servers spoke TLS: its state has no CA.
func TestInstanceWithoutCAKeepsPlainTCP(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			p := newProvider(t, e)
			ctx := context.Background()
			inst := createWait(t, p, spec("old", e))
			require.NoError(t, p.Stop(ctx, inst.ID))
			r, err := p.s.store.readRecord(inst.ID)
			require.NoError(t, err)
			r.CACert = ""
			require.NoError(t, p.s.store.writeRecord(r))
			for _, f := range []string{p.s.caFile(r), p.s.certFile(r), p.s.keyFile(r)} {
				require.NoError(t, os.Remove(f))
			}
			require.NoError(t, p.Start(ctx, inst.ID))

			conn, err := p.Connection(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, dbaas.TLSDisable, conn.TLS)
			assert.Empty(t, conn.CACertPEM)
			if e == dbaas.Postgres {
				var ssl bool
				require.NoError(t, sqltest.PG(t, conn).QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl))
				assert.False(t, ssl)
			} else {
				var name, cipher string
				require.NoError(t, sqltest.MySQL(t, conn).QueryRowContext(ctx, "SHOW STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher))
				assert.Empty(t, cipher)
			}
			other, err := newCerts("other")
			require.NoError(t, err)
			_, err = encryptedSession(t, conn, other.caPEM, loopback, "127.0.0.1")
			assert.Error(t, err, "the server speaks no TLS")
		})
	}
}

func TestPgHBARequiresTLSBeyondLoopback(t *testing.T) {
	hba := pgHBA(&record{CACert: "x", Access: []string{"10.0.0.0/8", "127.0.0.2/32"}})
	for _, want := range []string{
		"host    all          all   127.0.0.1/32  scram-sha-256",
		"host    all          all   ::1/128  scram-sha-256",
		"host    all          all   127.0.0.2/32  scram-sha-256",
		"hostssl all          all   10.0.0.0/8  scram-sha-256",
		"hostssl replication  all   10.0.0.0/8  scram-sha-256",
	} {
		assert.Contains(t, hba, want)
	}
	assert.NotContains(t, hba, "host    all          all   10.0.0.0/8")
	assert.True(t, isLoopback("127.0.0.0/8"))
	assert.False(t, isLoopback("0.0.0.0/0"))
	assert.False(t, isLoopback("garbage"))
}
