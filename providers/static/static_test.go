package static_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/internal/certs"
	"github.com/agiledeploy/dbaaskit/providers/static"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func caPEM(t *testing.T) []byte {
	t.Helper()
	ca, err := certs.NewCA("test CA", time.Now(), time.Hour)
	require.NoError(t, err)
	return ca.PEM
}

func TestConformance(t *testing.T) {
	p, err := static.New(
		static.Database{Name: "shop", Engine: dbaas.Postgres, Endpoint: dbaas.Endpoint{Host: "db.example.com"},
			User: "app", Password: dbaas.NewSecret("s3cret-pw"), Database: "shop", CACertPEM: caPEM(t)},
		static.Database{Name: "blog", Engine: dbaas.MariaDB, Endpoint: dbaas.Endpoint{Host: "10.0.0.7", Port: 3307},
			User: "blog", Password: dbaas.NewSecret("0ther-pw"), TLS: dbaas.TLSDisable, CACertPEM: caPEM(t)},
	)
	require.NoError(t, err)
	dbaastest.RunConformance(t, dbaastest.Harness{
		Provider: p,
		Spec: func(name string, engine dbaas.Engine) dbaas.Spec {
			return dbaas.Spec{Name: name, Engine: engine, Size: "fixed"}
		},
	})
}

func TestReadsConfiguration(t *testing.T) {
	ca := caPEM(t)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, ca, 0o600))
	pwFile := filepath.Join(dir, "pw")
	require.NoError(t, os.WriteFile(pwFile, []byte("from-a-file\n"), 0o600))

	p, err := dbaas.Open(context.Background(), static.Name, dbaas.Config{Settings: map[string]string{
		"engine": "postgresql", "host": "db.internal", "private_host": "10.1.0.9", "user": "app",
		"password_file": pwFile, "database": "app", "tls": "verify-full", "ca_file": caFile, "name": "main",
	}})
	require.NoError(t, err)
	ctx := context.Background()

	inst, err := p.Get(ctx, "main")
	require.NoError(t, err)
	assert.Equal(t, dbaas.Postgres, inst.Engine)
	assert.Equal(t, dbaas.Endpoint{Host: "db.internal", Port: 5432}, inst.Endpoint, "the engine's port by default")
	assert.Equal(t, dbaas.Endpoint{Host: "10.1.0.9", Port: 5432}, inst.PrivateEndpoint)
	assert.Equal(t, dbaas.StatusAvailable, inst.Status)
	assert.Equal(t, static.Name, inst.Provider)

	conn, err := p.Connection(ctx, "main")
	require.NoError(t, err)
	assert.Equal(t, "from-a-file", conn.Password.Reveal())
	assert.Equal(t, dbaas.TLSVerifyFull, conn.TLS)
	assert.Equal(t, ca, conn.CACertPEM)
	u, err := conn.PostgresURL(dbaas.DSNOptions{})
	require.NoError(t, err)
	assert.Contains(t, u, "db.internal:5432/app")

	// The password never shows in printed or marshalled values.
	js, err := json.Marshal(conn)
	require.NoError(t, err)
	assert.NotContains(t, string(js), "from-a-file")
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", conn, *conn, conn), "from-a-file")

	list, err := p.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "main", list[0].ID)

	_, err = p.Get(ctx, "other")
	assert.ErrorIs(t, err, dbaas.ErrNotFound)
	assert.Contains(t, err.Error(), "main", "the error lists what is configured")
	_, err = p.Connection(ctx, "other")
	assert.ErrorIs(t, err, dbaas.ErrNotFound)

	caps := p.Capabilities()
	assert.False(t, caps.Provision)
	assert.False(t, caps.Access)
	assert.False(t, caps.OnDemandBackup || caps.ListBackups || caps.Restore || caps.PointInTimeRestore || caps.FinalBackup)
	assert.True(t, caps.ReadablePassword)
	assert.True(t, caps.CACertificate)
	assert.True(t, caps.PrivateNetwork)
}

func TestEverythingElseIsUnsupported(t *testing.T) {
	p, err := static.New(static.Database{Engine: dbaas.MySQL, Endpoint: dbaas.Endpoint{Host: "db"}, User: "u"})
	require.NoError(t, err)
	ctx := context.Background()
	id := static.DefaultName
	calls := map[string]func() error{
		"create": func() error {
			_, err := p.Create(ctx, dbaas.Spec{Name: "x", Engine: dbaas.MySQL, Size: "s"})
			return err
		},
		"delete":  func() error { return p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true}) },
		"allow":   func() error { return p.Allow(ctx, id, dbaas.CIDR("10.0.0.0/8")) },
		"revoke":  func() error { return p.Revoke(ctx, id, dbaas.CIDR("10.0.0.0/8")) },
		"access":  func() error { _, err := p.Access(ctx, id); return err },
		"backup":  func() error { _, err := p.Backup(ctx, id, "b"); return err },
		"backups": func() error { _, err := p.Backups(ctx, id); return err },
		"restore": func() error {
			_, err := p.Restore(ctx, dbaas.FromBackup("b"), dbaas.Spec{Name: "x", Engine: dbaas.MySQL, Size: "s"})
			return err
		},
	}
	for op, call := range calls {
		t.Run(op, func(t *testing.T) {
			err := call()
			assert.ErrorIs(t, err, dbaas.ErrUnsupported)
			assert.Contains(t, err.Error(), op)
		})
	}
	caps := p.Capabilities()
	assert.False(t, caps.ReadablePassword, "no password configured")
	assert.False(t, caps.CACertificate, "no CA configured")
	conn, err := p.Connection(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, 3306, conn.Endpoint.Port)
	assert.Equal(t, dbaas.TLSRequire, conn.TLS, "TLS is on unless turned off")
}

func TestBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not pem"), 0o600))
	base := func() map[string]string {
		return map[string]string{"engine": "postgres", "host": "db", "user": "app"}
	}
	tests := []struct {
		name   string
		change func(s map[string]string)
		field  string
	}{
		{name: "unknown setting", change: func(s map[string]string) { s["hostname"] = "x" }, field: "hostname"},
		{name: "no engine", change: func(s map[string]string) { delete(s, "engine") }, field: "settings.engine"},
		{name: "bad engine", change: func(s map[string]string) { s["engine"] = "oracle" }, field: "settings.engine"},
		{name: "no host", change: func(s map[string]string) { delete(s, "host") }, field: "endpoint.host"},
		{name: "host with port", change: func(s map[string]string) { s["host"] = "db:5432" }, field: "endpoint.host"},
		{name: "port not a number", change: func(s map[string]string) { s["port"] = "x" }, field: "settings.port"},
		{name: "port out of range", change: func(s map[string]string) { s["port"] = "70000" }, field: "endpoint.port"},
		{name: "no user", change: func(s map[string]string) { delete(s, "user") }, field: "user"},
		{name: "bad tls", change: func(s map[string]string) { s["tls"] = "prefer" }, field: "tls"},
		{name: "password twice", change: func(s map[string]string) { s["password"] = "a"; s["password_file"] = "/x" }, field: "password_file"},
		{name: "missing password file", change: func(s map[string]string) { s["password_file"] = filepath.Join(dir, "none") }, field: "settings.password_file"},
		{name: "missing ca file", change: func(s map[string]string) { s["ca_file"] = filepath.Join(dir, "none") }, field: "settings.ca_file"},
		{name: "ca not pem", change: func(s map[string]string) { s["ca_file"] = bad }, field: "ca"},
		{name: "name with space", change: func(s map[string]string) { s["name"] = "a b" }, field: "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.change(s)
			_, err := dbaas.Open(context.Background(), static.Name, dbaas.Config{Settings: s})
			require.Error(t, err)
			assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), tc.field)
		})
	}
	_, err := static.New()
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	_, err = static.New(static.Database{Engine: dbaas.MySQL, Endpoint: dbaas.Endpoint{Host: "a"}, User: "u"},
		static.Database{Engine: dbaas.MySQL, Endpoint: dbaas.Endpoint{Host: "b"}, User: "u"})
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument, "two databases with the default name")
}

// The registered capabilities are known without configuration, and an
// opened provider never claims more than them.
func TestCapabilitiesWithoutConfiguration(t *testing.T) {
	reg, err := dbaas.CapabilitiesOf(static.Name)
	require.NoError(t, err)
	assert.False(t, reg.Provision || reg.Access || reg.OnDemandBackup || reg.Restore)
	assert.True(t, reg.ReadablePassword && reg.CACertificate && reg.PrivateNetwork, "the most a configuration can give")

	p, err := static.New(static.Database{Engine: dbaas.Postgres, Endpoint: dbaas.Endpoint{Host: "db"}, User: "u",
		Password: dbaas.NewSecret("pw-12345")})
	require.NoError(t, err)
	caps := p.Capabilities()
	assert.True(t, caps.ReadablePassword)
	assert.False(t, caps.CACertificate, "no CA configured")
	assert.False(t, caps.PrivateNetwork, "no private endpoint configured")
	require.NoError(t, p.Close())
	_, err = p.Get(context.Background(), static.DefaultName)
	assert.ErrorIs(t, err, dbaas.ErrConflict, "a closed provider answers nothing")
}
