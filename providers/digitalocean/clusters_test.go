package digitalocean_test

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

func TestCreateRefusesBadInputBeforeAnyChange(t *testing.T) {
	e := newEnv(t, dosim.Options{}, digitalocean.Options{})
	vpcOther := e.sim.AddVPC("nyc3", "10.200.0.0/20")
	tests := []struct {
		name  string
		edit  func(*dbaas.Spec)
		kind  error
		field string
		calls bool // whether reading the options or VPCs is needed to know
	}{
		{"shared rule", func(s *dbaas.Spec) { s.Name = "x" }, dbaas.ErrInvalidArgument, "name", false},
		{"mariadb", func(s *dbaas.Spec) { s.Engine = dbaas.MariaDB }, dbaas.ErrUnsupported, "mariadb", false},
		{"port", func(s *dbaas.Spec) { s.Port = 5432 }, dbaas.ErrInvalidArgument, "port", false},
		{"admin user", func(s *dbaas.Spec) { s.AdminUser = "admin" }, dbaas.ErrInvalidArgument, "admin_user", false},
		{"admin password", func(s *dbaas.Spec) { s.AdminPassword = dbaas.NewSecret("Secret-123") }, dbaas.ErrUnsupported, "AdminPassword", false},
		{"database", func(s *dbaas.Spec) { s.Database = "app" }, dbaas.ErrInvalidArgument, "database", false},
		{"subnet", func(s *dbaas.Spec) { s.Subnet = "sub-1" }, dbaas.ErrUnsupported, "Subnet", false},
		{"storage", func(s *dbaas.Spec) { s.StorageGB = 25 }, dbaas.ErrInvalidArgument, "storage_gb", false},
		{"retention", func(s *dbaas.Spec) { s.BackupRetentionDays = 14 }, dbaas.ErrInvalidArgument, "backup_retention_days", false},
		{"deletion protection", func(s *dbaas.Spec) { s.DeletionProtection = true }, dbaas.ErrUnsupported, "DeletionProtection", false},
		{"public access", func(s *dbaas.Spec) { s.PublicAccess = true }, dbaas.ErrUnsupported, "PublicAccess", false},
		{"tag", func(s *dbaas.Spec) { s.Tags = map[string]string{"team": "a.b"} }, dbaas.ErrInvalidArgument, "tags[team]", false},
		{"options", func(s *dbaas.Spec) { s.Options = map[string]string{"x": "y"} }, dbaas.ErrInvalidArgument, "options", false},
		{"source kind", func(s *dbaas.Spec) { s.Access = []dbaas.Source{{Kind: dbaas.SourceSecurityGroup, Value: "sg-1"}} }, dbaas.ErrUnsupported, "sg", false},
		{"world", func(s *dbaas.Spec) { s.Access = []dbaas.Source{dbaas.CIDR("0.0.0.0/0")} }, dbaas.ErrInvalidArgument, "access[0]", false},
		{"region", func(s *dbaas.Spec) { s.Region = "mars1" }, dbaas.ErrInvalidArgument, "region", true},
		{"size", func(s *dbaas.Spec) { s.Size = "db-s-64vcpu-1tb" }, dbaas.ErrInvalidArgument, "size", true},
		{"size for nodes", func(s *dbaas.Spec) { s.Nodes = 3 }, dbaas.ErrInvalidArgument, "size", true},
		{"version", func(s *dbaas.Spec) { s.Version = "9.6" }, dbaas.ErrInvalidArgument, "version", true},
		{"unknown vpc", func(s *dbaas.Spec) { s.PrivateNetwork = "d455e75d-4858-4eec-8c95-da2f0a5f93a7" }, dbaas.ErrInvalidArgument, "private_network", true},
		{"vpc elsewhere", func(s *dbaas.Spec) { s.PrivateNetwork = vpcOther }, dbaas.ErrInvalidArgument, "private_network", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := spec("refused", dbaas.Postgres)
			tt.edit(&sp)
			before := e.sim.TotalCalls()
			_, err := e.p.Create(context.Background(), sp)
			require.ErrorIs(t, err, tt.kind)
			assert.Contains(t, err.Error(), tt.field, "the error names the field")
			if !tt.calls {
				assert.Equal(t, before, e.sim.TotalCalls(), "refused before any call")
			}
			assert.Zero(t, e.sim.Calls("POST /v2/databases"), "no create was sent")
		})
	}
}

func TestAPIRejectionsNameTheField(t *testing.T) {
	// Input only the API can judge: its 422 surfaces as ErrInvalidArgument
	// naming the field, with the godo error reachable.
	e := newEnv(t, dosim.Options{}, digitalocean.Options{})
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec("source", dbaas.Postgres))
	require.NoError(t, err)
	_, err = e.p.Restore(ctx, dbaas.FromBackup(inst.ID+"/2020-01-01T00:00:00Z"), spec("fork", dbaas.Postgres))
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	var de *dbaas.Error
	require.True(t, errors.As(err, &de))
	assert.Equal(t, "backup_id", de.Field)
	var er *godo.ErrorResponse
	require.True(t, errors.As(err, &er))
	assert.Equal(t, 422, er.Response.StatusCode)

	var client *godo.Client
	require.True(t, e.p.As(&client))
	_, err = e.p.Create(ctx, spec("source", dbaas.Postgres))
	require.ErrorIs(t, err, dbaas.ErrAlreadyExists)
	assert.True(t, errors.As(err, &er))
}

func TestErrorsMapToSentinels(t *testing.T) {
	e := newEnv(t, dosim.Options{Token: "right"}, digitalocean.Options{Token: dbaas.NewSecret("wrong-token-value")})
	ctx := context.Background()
	_, err := e.p.List(ctx)
	require.ErrorIs(t, err, dbaas.ErrPermissionDenied)
	var er *godo.ErrorResponse
	require.True(t, errors.As(err, &er), "the godo error stays reachable")
	assert.Equal(t, 401, er.Response.StatusCode)
	assert.NotContains(t, err.Error(), "wrong-token-value", "the token never reaches an error")

	ok := newEnv(t, dosim.Options{}, digitalocean.Options{})
	_, err = ok.p.Get(ctx, "0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11")
	require.ErrorIs(t, err, dbaas.ErrNotFound)
	require.True(t, errors.As(err, &er))
	assert.Equal(t, 404, er.Response.StatusCode)
}

func TestTokenIsRequiredAtOpen(t *testing.T) {
	t.Setenv("DIGITALOCEAN_TOKEN", "")
	t.Setenv("DIGITALOCEAN_ACCESS_TOKEN", "")
	_, err := digitalocean.New(digitalocean.Options{})
	require.ErrorIs(t, err, dbaas.ErrPermissionDenied)
	assert.Contains(t, err.Error(), "DIGITALOCEAN_TOKEN")
	_, err = dbaas.Open(context.Background(), "digitalocean", dbaas.Config{})
	require.ErrorIs(t, err, dbaas.ErrPermissionDenied)

	sim, url, err := dosim.Start(dosim.Options{Token: "from-env"})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	for _, env := range []string{"DIGITALOCEAN_TOKEN", "DIGITALOCEAN_ACCESS_TOKEN"} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, "from-env")
			p, err := dbaas.Open(context.Background(), "digitalocean", dbaas.Config{BaseURL: url})
			require.NoError(t, err)
			_, err = p.List(context.Background())
			require.NoError(t, err, "the token from %s is sent", env)
		})
	}
}

func TestOpenSettings(t *testing.T) {
	ctx := context.Background()
	cfg := dbaas.Config{Token: dbaas.NewSecret("t"), Settings: map[string]string{"rate_limit": "100", "hourly_rate_limit": "2000", "max_retries": "2"}}
	_, err := dbaas.Open(ctx, "digitalocean", cfg)
	require.NoError(t, err)
	cfg.Settings = map[string]string{"rate_limt": "100"}
	_, err = dbaas.Open(ctx, "digitalocean", cfg)
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "rate_limt")
	cfg.Settings = map[string]string{"rate_limit": "lots"}
	_, err = dbaas.Open(ctx, "digitalocean", cfg)
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "rate_limit")
}

func TestMappingOfClusters(t *testing.T) {
	clock := fakeclock.New(epoch)
	e := newEnv(t, dosim.Options{Clock: clock, ProvisionDelay: 6 * time.Minute}, digitalocean.Options{})
	ctx := context.Background()
	sp := spec("mapped", dbaas.MySQL)
	sp.Nodes, sp.StorageGB, sp.Size = 2, 30, "db-s-2vcpu-4gb"
	sp.Tags = map[string]string{"env": "prod", "web": ""}
	created, err := e.p.Create(ctx, sp)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusProvisioning, created.Status)
	assert.Equal(t, "creating", created.RawStatus)
	assert.Equal(t, "digitalocean", created.Provider)
	assert.Equal(t, dbaas.MySQL, created.Engine)
	assert.Equal(t, "8", created.Version, "8.0 is sent as DigitalOcean's 8")
	assert.Equal(t, 2, created.Nodes)
	assert.Equal(t, 30, created.StorageGB)
	assert.Equal(t, "fra1", created.Region, "the default region")
	assert.Equal(t, map[string]string{"env": "prod", "web": ""}, created.Tags)
	assert.Equal(t, 25060, created.Endpoint.Port)
	assert.True(t, strings.HasPrefix(created.PrivateEndpoint.Host, "private-"))

	// With no Access, only the default VPC's range may connect.
	var client *godo.Client
	require.True(t, e.p.As(&client))
	raw, _, err := client.Databases.Get(ctx, created.ID)
	require.NoError(t, err)
	vpc, _, err := client.VPCs.Get(ctx, raw.PrivateNetworkUUID)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"ip_addr=" + vpc.IPRange: true}, rules(t, e.p, created.ID))

	clock.Advance(6 * time.Minute)
	got, err := e.p.Get(ctx, created.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusAvailable, got.Status)

	backups, err := e.p.Backups(ctx, created.ID)
	require.NoError(t, err)
	require.Len(t, backups, 1)
	assert.Equal(t, dbaas.BackupAutomated, backups[0].Kind)
	assert.Equal(t, created.ID+"/"+backups[0].CreatedAt.Format(time.RFC3339), backups[0].ID)
	_, err = e.p.Backup(ctx, created.ID, "now")
	assert.ErrorIs(t, err, dbaas.ErrUnsupported)
	assert.False(t, e.p.Capabilities().OnDemandBackup)

	fork, err := e.p.Restore(ctx, dbaas.FromBackup(backups[0].ID), spec("mapped-fork", dbaas.MySQL))
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusRestoring, fork.Status)
	assert.Equal(t, "forking", fork.RawStatus)
	_, err = e.p.Restore(ctx, dbaas.FromBackup(backups[0].ID), spec("wrong-engine", dbaas.Postgres))
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "engine")
	_, err = e.p.Restore(ctx, dbaas.AtTime(created.ID, epoch), spec("pitr", dbaas.MySQL))
	assert.ErrorIs(t, err, dbaas.ErrUnsupported)

	assert.ErrorIs(t, e.p.Delete(ctx, created.ID, dbaas.DeleteOptions{}), dbaas.ErrUnsupported, "no final backup exists")
}

func TestCreateInAVPCAllowsItsRange(t *testing.T) {
	e := newEnv(t, dosim.Options{}, digitalocean.Options{})
	vpc := e.sim.AddVPC("fra1", "10.42.0.0/20")
	sp := spec("in-vpc", dbaas.Postgres)
	sp.PrivateNetwork = vpc
	inst, err := e.p.Create(context.Background(), sp)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"ip_addr=10.42.0.0/20": true}, rules(t, e.p, inst.ID))

	open := spec("open-world", dbaas.Postgres)
	open.AllowWorld = true
	inst, err = e.p.Create(context.Background(), open)
	require.NoError(t, err)
	assert.Empty(t, rules(t, e.p, inst.ID), "only AllowWorld leaves the cluster without rules")
}

func TestConnection(t *testing.T) {
	e := newEnv(t, dosim.Options{}, digitalocean.Options{})
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec("conn", dbaas.Postgres))
	require.NoError(t, err)
	c, err := e.p.Connection(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.Postgres, c.Engine)
	assert.NotContains(t, c.Endpoint.Host, ":")
	assert.Equal(t, 25060, c.Endpoint.Port)
	assert.Equal(t, "private-"+c.Endpoint.Host, c.PrivateEndpoint.Host)
	assert.Equal(t, "doadmin", c.User)
	assert.Equal(t, "defaultdb", c.Database)
	assert.Equal(t, dbaas.TLSRequire, c.TLS)
	block, _ := pem.Decode(c.CACertPEM)
	require.NotNil(t, block)
	assert.Equal(t, "CERTIFICATE", block.Type)
	pw := c.Password.Reveal()
	require.NotEmpty(t, pw)
	for _, text := range []string{fmt.Sprintf("%v", c), fmt.Sprintf("%+v", *c), fmt.Sprintf("%#v", c)} {
		assert.NotContains(t, text, pw)
	}
}

func TestListReadsEveryPage(t *testing.T) {
	e := newEnv(t, dosim.Options{}, digitalocean.Options{PageSize: 2})
	ctx := context.Background()
	for i := range 5 {
		_, err := e.p.Create(ctx, spec(fmt.Sprintf("page-%d", i), dbaas.Postgres))
		require.NoError(t, err)
	}
	e.sim.ResetCalls()
	list, err := e.p.List(ctx)
	require.NoError(t, err)
	require.Len(t, list, 5)
	for i, inst := range list {
		assert.Equal(t, fmt.Sprintf("page-%d", i), inst.Name)
	}
	assert.Equal(t, int64(3), e.sim.Calls("GET /v2/databases"))
}

func TestIDsCannotChangeTheRequestPath(t *testing.T) {
	e := newEnv(t, dosim.Options{}, digitalocean.Options{})
	ctx := context.Background()
	for _, id := range []string{"", "../options", "x/firewall", "a?b=c", "a b", strings.Repeat("a", 65)} {
		t.Run(id, func(t *testing.T) {
			calls := []func() error{
				func() error { _, err := e.p.Get(ctx, id); return err },
				func() error { _, err := e.p.Connection(ctx, id); return err },
				func() error { return e.p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true}) },
				func() error { _, err := e.p.Access(ctx, id); return err },
				func() error { return e.p.Allow(ctx, id, dbaas.CIDR("10.0.0.0/8")) },
				func() error { _, err := e.p.Backups(ctx, id); return err },
				func() error {
					_, err := e.p.Restore(ctx, dbaas.FromBackup(id+"/2026-01-01T00:00:00Z"), spec("from-bad", dbaas.Postgres))
					return err
				},
			}
			for i, call := range calls {
				err := call()
				require.ErrorIs(t, err, dbaas.ErrInvalidArgument, "call %d", i)
				assert.Contains(t, err.Error(), "id", "call %d", i)
			}
			assert.Zero(t, e.sim.TotalCalls(), "refused before any call")
		})
	}
}
