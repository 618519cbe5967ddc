package sqlconn_test

import (
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/certs"
)

func caPEM(t *testing.T) []byte {
	t.Helper()
	ca, err := certs.NewCA("test ca", time.Now(), time.Hour)
	require.NoError(t, err)
	return ca.PEM
}

func TestMySQLConfigCarriesItsOwnTLS(t *testing.T) {
	c := &dbaas.ConnectionInfo{Engine: dbaas.MySQL, Endpoint: dbaas.Endpoint{Host: "127.0.0.1", Port: 40001},
		User: "doadmin", Password: dbaas.NewSecret("secret-pw"), Database: "defaultdb",
		TLS: dbaas.TLSVerifyFull, CACertPEM: caPEM(t), ServerName: "db.example.com"}
	cfg, err := sqlconn.MySQLConfig(c, dbaas.DSNOptions{})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:40001", cfg.Addr)
	assert.Equal(t, "secret-pw", cfg.Passwd)
	require.NotNil(t, cfg.TLS)
	assert.Equal(t, "db.example.com", cfg.TLS.ServerName, "verify-full checks the real name behind a tunnel")
	assert.Empty(t, cfg.TLSConfig, "no named, process-wide TLS registration")
	assert.True(t, cfg.InterpolateParams)

	dsn, err := sqlconn.MySQLDSN(c, "sqlconn-test", dbaas.DSNOptions{})
	require.NoError(t, err)
	parsed, err := mysql.ParseDSN(dsn)
	require.NoError(t, err)
	require.NotNil(t, parsed.TLS, "MySQLDSN registers the TLS configuration it names")
	assert.Equal(t, "db.example.com", parsed.TLS.ServerName)

	_, err = sqlconn.MySQLDSN(c, "", dbaas.DSNOptions{})
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument, "a DSN with TLS needs a name to register under")
	plain := &dbaas.ConnectionInfo{Engine: dbaas.MariaDB, Endpoint: dbaas.Endpoint{Host: "h", Port: 3306}, User: "u"}
	dsn, err = sqlconn.MySQLDSN(plain, "", dbaas.DSNOptions{})
	require.NoError(t, err)
	assert.Contains(t, dsn, "tcp(h:3306)")
	_, err = sqlconn.MySQLConfig(&dbaas.ConnectionInfo{Engine: dbaas.Postgres, Endpoint: plain.Endpoint}, dbaas.DSNOptions{})
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
}

func TestPgxConfigChecksTheNameBehindATunnel(t *testing.T) {
	c := &dbaas.ConnectionInfo{Engine: dbaas.Postgres, Endpoint: dbaas.Endpoint{Host: "127.0.0.1", Port: 40002},
		PrivateEndpoint: dbaas.Endpoint{Host: "10.0.0.5", Port: 25060},
		User:            "doadmin", Password: dbaas.NewSecret("p@ss:w/rd"), Database: "defaultdb",
		TLS: dbaas.TLSVerifyFull, CACertPEM: caPEM(t), ServerName: "db.example.com"}
	cfg, err := sqlconn.PgxConfig(c, dbaas.DSNOptions{})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", cfg.Host)
	assert.Equal(t, uint16(40002), cfg.Port)
	assert.Equal(t, "p@ss:w/rd", cfg.Password)
	require.NotNil(t, cfg.TLSConfig)
	assert.Equal(t, "db.example.com", cfg.TLSConfig.ServerName)
	assert.False(t, cfg.TLSConfig.InsecureSkipVerify, "verify-full checks chain and name")
	assert.Empty(t, cfg.Fallbacks, "no silent fallback to plain TCP")

	c.ServerName = ""
	cfg, err = sqlconn.PgxConfig(c, dbaas.DSNOptions{Private: true})
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.5", cfg.Host)
	assert.Equal(t, "10.0.0.5", cfg.TLSConfig.ServerName, "the private endpoint's name")

	url, err := c.PostgresURL(dbaas.DSNOptions{})
	require.NoError(t, err)
	assert.Contains(t, url, "sslmode=verify-full")
	c.ServerName = "db.example.com"
	url, err = c.PostgresURL(dbaas.DSNOptions{})
	require.NoError(t, err)
	assert.Contains(t, url, "sslmode=verify-ca", "a URL cannot name another server: the chain is still checked")
}
