package dbaas

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/agiledeploy/dbaaskit/internal/certs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err)
	return v
}

func testCA(t *testing.T) []byte {
	t.Helper()
	ca, err := certs.NewCA("test ca", time.Now(), time.Hour)
	require.NoError(t, err)
	return ca.PEM
}

func TestPostgresURL(t *testing.T) {
	c := &ConnectionInfo{Engine: Postgres, Endpoint: Endpoint{Host: "db.example.com", Port: 25060},
		PrivateEndpoint: Endpoint{Host: "private-db.example.com", Port: 25060},
		User:            "doadmin", Password: NewSecret("p@ss:w/rd"), Database: "defaultdb", TLS: TLSRequire}
	s, err := c.PostgresURL(DSNOptions{CAFile: "/tmp/ca.pem"})
	require.NoError(t, err)
	u, err := url.Parse(s)
	require.NoError(t, err)
	assert.Equal(t, "postgres", u.Scheme)
	assert.Equal(t, "db.example.com:25060", u.Host)
	pw, _ := u.User.Password()
	assert.Equal(t, "p@ss:w/rd", pw, "special characters survive escaping")
	assert.Equal(t, "/defaultdb", u.Path)
	assert.Equal(t, "verify-ca", u.Query().Get("sslmode"))
	assert.Equal(t, "/tmp/ca.pem", u.Query().Get("sslrootcert"))

	s, err = c.PostgresURL(DSNOptions{Private: true})
	require.NoError(t, err)
	u, _ = url.Parse(s)
	assert.Equal(t, "private-db.example.com:25060", u.Host)
	assert.Equal(t, "require", u.Query().Get("sslmode"))
	assert.Empty(t, u.Query().Get("sslrootcert"))

	c.PrivateEndpoint = Endpoint{}
	_, err = c.PostgresURL(DSNOptions{Private: true})
	assert.ErrorIs(t, err, ErrUnsupported)
	c.Endpoint.Host = "db.example.com:25060"
	_, err = c.PostgresURL(DSNOptions{})
	assert.ErrorIs(t, err, ErrInvalidArgument, "a host holding a port is refused")
	var nilInfo *ConnectionInfo
	_, err = nilInfo.PostgresURL(DSNOptions{})
	assert.ErrorIs(t, err, ErrInvalidArgument)
	_, err = (&ConnectionInfo{Engine: MySQL, Endpoint: Endpoint{Host: "h", Port: 1}}).PostgresURL(DSNOptions{})
	assert.ErrorIs(t, err, ErrInvalidArgument)
}

func TestConnectionInfoNeverPrintsPassword(t *testing.T) {
	c := ConnectionInfo{Engine: Postgres, Endpoint: Endpoint{Host: "h", Port: 5432}, User: "u", Password: NewSecret("s3cr3t-value")}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		assert.NotContains(t, fmt.Sprintf(f, c), "s3cr3t-value")
		assert.NotContains(t, fmt.Sprintf(f, &c), "s3cr3t-value")
	}
	b, err := json.Marshal(c)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "s3cr3t-value")
}

func TestWriteCAFile(t *testing.T) {
	ca := testCA(t)
	dir := t.TempDir()
	p, err := (&ConnectionInfo{CACertPEM: ca}).WriteCAFile(dir)
	require.NoError(t, err)
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.Equal(t, ca, got)
	p, err = (&ConnectionInfo{}).WriteCAFile(dir)
	assert.NoError(t, err)
	assert.Empty(t, p)
}

func TestEndpoint(t *testing.T) {
	assert.NoError(t, Endpoint{Host: "db.example.com", Port: 5432}.Validate())
	assert.NoError(t, Endpoint{Host: "2001:db8::1", Port: 5432}.Validate())
	assert.Equal(t, "[2001:db8::1]:5432", Endpoint{Host: "2001:db8::1", Port: 5432}.Address())
	assert.ErrorIs(t, Endpoint{Host: "db:5432", Port: 5432}.Validate(), ErrInvalidArgument)
	assert.ErrorIs(t, Endpoint{Host: "db", Port: 0}.Validate(), ErrInvalidArgument)
	assert.ErrorIs(t, Endpoint{}.Validate(), ErrInvalidArgument)
	e, err := SplitEndpoint("db.example.com:25060")
	require.NoError(t, err)
	assert.Equal(t, Endpoint{Host: "db.example.com", Port: 25060}, e)
	_, err = SplitEndpoint("db.example.com")
	assert.ErrorIs(t, err, ErrInvalidArgument)
	_, err = SplitEndpoint("db:http")
	assert.ErrorIs(t, err, ErrInvalidArgument)
}

func TestEngineAndStatus(t *testing.T) {
	for in, want := range map[string]Engine{"pg": Postgres, "PostgreSQL": Postgres, "mysql": MySQL, "MariaDB": MariaDB} {
		got, err := ParseEngine(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := ParseEngine("oracle")
	assert.ErrorIs(t, err, ErrInvalidArgument)
	assert.Equal(t, 5432, Postgres.DefaultPort())
	assert.Equal(t, 3306, MariaDB.DefaultPort())
	assert.True(t, StatusFailed.Terminal())
	assert.False(t, StatusProvisioning.Terminal())
	assert.True(t, StatusBackingUp.Usable())
	assert.False(t, Status("creating").Valid())
	for _, s := range Statuses() {
		assert.True(t, s.Valid())
	}
}

func TestWithConnectionIsForOneInstance(t *testing.T) {
	info := &ConnectionInfo{Engine: Postgres, Endpoint: Endpoint{Host: "db.example", Port: 5432}, User: "admin"}
	ctx := WithConnection(context.Background(), "shop", info)
	got, ok := ContextConnection(ctx, "shop")
	require.True(t, ok)
	assert.Same(t, info, got)
	_, ok = ContextConnection(ctx, "blog")
	assert.False(t, ok, "another instance's calls do not get it")
	_, ok = ContextConnection(context.Background(), "shop")
	assert.False(t, ok)
	assert.Equal(t, context.Background(), WithConnection(context.Background(), "shop", nil))
}
