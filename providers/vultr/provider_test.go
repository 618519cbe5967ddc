package vultr_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vultr/govultr/v3"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/vultr"
	"github.com/agiledeploy/dbaaskit/providers/vultr/vultrsim"
)

// available creates a database from spec and waits until it is running.
func available(t *testing.T, e *env, clock dbaas.Clock, sp dbaas.Spec) *dbaas.Instance {
	t.Helper()
	ctx := context.Background()
	inst, err := e.p.Create(ctx, sp)
	require.NoError(t, err)
	inst, err = dbaas.Wait(ctx, e.p, inst.ID, dbaas.WaitOptions{Clock: clock, Timeout: time.Hour})
	require.NoError(t, err)
	return inst
}

func TestOpenNeedsAKey(t *testing.T) {
	t.Setenv(vultr.TokenEnv, "")
	_, err := dbaas.Open(context.Background(), vultr.Name, dbaas.Config{})
	require.ErrorIs(t, err, dbaas.ErrPermissionDenied)
	assert.Contains(t, err.Error(), vultr.TokenEnv, "the error names the variable to set")

	t.Setenv(vultr.TokenEnv, "from-env")
	p, err := dbaas.Open(context.Background(), vultr.Name, dbaas.Config{})
	require.NoError(t, err)
	var c *govultr.Client
	require.True(t, p.As(&c), "As hands out the govultr client")
	assert.NotNil(t, c)
	require.NoError(t, p.Close())
}

func TestOpenRefusesBadSettings(t *testing.T) {
	tests := []struct{ key, value string }{
		{vultr.SettingRetries, "0"},
		{vultr.SettingRetryWait, "soon"},
		{vultr.SettingRetryMaxWait, "-1s"},
		{vultr.SettingRateLimit, "0"},
		{vultr.SettingRateBurst, "x"},
		{"colour", "blue"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, err := dbaas.Open(context.Background(), vultr.Name, dbaas.Config{Token: dbaas.NewSecret("t"),
				Settings: map[string]string{tt.key: tt.value}})
			require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), "settings."+tt.key)
		})
	}
}

// TestCapabilitiesWithoutCredentials checks what the registration says,
// readable without a key.
func TestCapabilitiesWithoutCredentials(t *testing.T) {
	c, err := dbaas.CapabilitiesOf(vultr.Name)
	require.NoError(t, err)
	assert.Equal(t, []dbaas.Engine{dbaas.Postgres, dbaas.MySQL}, c.Engines)
	assert.False(t, c.CustomPort)
	assert.Contains(t, c.RefusedFields, "Port")
	assert.False(t, c.OnDemandBackup)
	assert.True(t, c.PointInTimeRestore)
	assert.True(t, c.EmptyAccessIsWorld)
	assert.Equal(t, dbaas.AppUsersAPI, c.AppUsers)
}

// TestBadInputMakesNoCall checks that what the adapter can know is wrong
// is refused, naming the field, before any call but the one read of the
// plans (made once per provider).
func TestBadInputMakesNoCall(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, vultrsim.Options{}, nil)
	ctx := context.Background()
	_, err := e.p.List(ctx)
	require.NoError(t, err)
	// Read the plans once, with a valid create.
	available(t, e, clock, spec("warm-up", dbaas.Postgres))

	tests := []struct {
		name   string
		mutate func(*dbaas.Spec)
		kind   error
		field  string
	}{
		{"plan", func(s *dbaas.Spec) { s.Size = "vultr-dbaas-galactic-cc-64-1000-512" }, dbaas.ErrInvalidArgument, "size"},
		{"region", func(s *dbaas.Spec) { s.Region = "mars" }, dbaas.ErrInvalidArgument, "region"},
		{"version", func(s *dbaas.Spec) { s.Version = "9" }, dbaas.ErrInvalidArgument, "version"},
		{"mysql version", func(s *dbaas.Spec) { s.Engine, s.Version = dbaas.MySQL, "5.7" }, dbaas.ErrInvalidArgument, "version"},
		{"nodes", func(s *dbaas.Spec) { s.Nodes = 3 }, dbaas.ErrInvalidArgument, "nodes"},
		{"admin user", func(s *dbaas.Spec) { s.AdminUser = "boss" }, dbaas.ErrInvalidArgument, "admin_user"},
		{"database", func(s *dbaas.Spec) { s.Database = "shop" }, dbaas.ErrInvalidArgument, "database"},
		{"tags", func(s *dbaas.Spec) { s.Tags = map[string]string{"a": "1", "b": "2"} }, dbaas.ErrInvalidArgument, "tags"},
		{"no access", func(s *dbaas.Spec) { s.Access = nil }, dbaas.ErrInvalidArgument, "access"},
		{"maintenance", func(s *dbaas.Spec) { s.Options = map[string]string{vultr.OptionMaintenanceTime: "25:00"} }, dbaas.ErrInvalidArgument, "options.maintenance_time"},
		{"engine", func(s *dbaas.Spec) { s.Engine = dbaas.MariaDB }, dbaas.ErrUnsupported, "mariadb"},
		{"port", func(s *dbaas.Spec) { s.Port = 5432 }, dbaas.ErrUnsupported, "Port"},
		{"storage", func(s *dbaas.Spec) { s.StorageGB = 80 }, dbaas.ErrUnsupported, "StorageGB"},
		{"admin password", func(s *dbaas.Spec) { s.AdminPassword = dbaas.NewSecret("a-long-password") }, dbaas.ErrUnsupported, "AdminPassword"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := spec("bad-input", dbaas.Postgres)
			tt.mutate(&sp)
			before := e.sim.TotalCalls()
			_, err := e.p.Create(ctx, sp)
			require.ErrorIs(t, err, tt.kind)
			assert.Contains(t, err.Error(), tt.field)
			assert.Equal(t, before, e.sim.TotalCalls(), "no call for input the adapter can check")
		})
	}
	assert.Zero(t, e.sim.Calls("POST /v2/databases")-1, "only the warm-up create was sent")
}

// TestAPIRefusalIsInvalidArgument checks that an input only the API can
// refuse (here a VPC id is fine for the adapter) comes back as
// ErrInvalidArgument with the API's error reachable.
func TestAPIRefusalIsInvalidArgument(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, vultrsim.Options{}, nil)
	inst := available(t, e, clock, spec("src-db", dbaas.Postgres))
	err := e.p.Allow(context.Background(), inst.ID, dbaas.CIDR("203.0.113.0/24"))
	require.NoError(t, err)
	e.sim.Inject(simkit.Fault{Op: "PUT /v2/databases/{id}", Status: http.StatusUnprocessableEntity, Message: "Invalid trusted IP."})
	err = e.p.Allow(context.Background(), inst.ID, dbaas.CIDR("198.51.100.0/24"))
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	var ae *vultr.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnprocessableEntity, ae.StatusCode)
	assert.Equal(t, "Invalid trusted IP.", ae.Message)
	assert.Error(t, errors.Unwrap(ae), "govultr's own error is kept")
}

func TestNotFoundAndStatuses(t *testing.T) {
	clock := fakeclock.New(epoch)
	e := newEnv(t, clock, vultrsim.Options{ProvisionDelay: 10 * time.Minute}, nil)
	ctx := context.Background()
	_, err := e.p.Get(ctx, missingID)
	require.ErrorIs(t, err, dbaas.ErrNotFound)
	var ae *vultr.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusNotFound, ae.StatusCode)

	inst, err := e.p.Create(ctx, spec("status-db", dbaas.MySQL))
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusProvisioning, inst.Status)
	assert.Equal(t, "Rebuilding", inst.RawStatus)
	clock.Advance(10 * time.Minute)
	inst, err = e.p.Get(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusAvailable, inst.Status)
	assert.Equal(t, "Running", inst.RawStatus)
	assert.Equal(t, "ewr", inst.Region)
	assert.Equal(t, plan, inst.Size)
	assert.Equal(t, 1, inst.Nodes)
	assert.Equal(t, 55, inst.StorageGB)
	require.NoError(t, dbaas.CheckPort(inst, inst.Endpoint.Port))
	assert.Error(t, dbaas.CheckPort(inst, 3306), "Vultr chooses the port: a configured 3306 is caught")

	// A plan change rebalances the database while it serves.
	var c *govultr.Client
	require.True(t, e.p.As(&c))
	_, _, err = c.Database.Update(ctx, inst.ID, &govultr.DatabaseUpdateReq{Plan: "vultr-dbaas-startup-cc-2-80-4"})
	require.NoError(t, err)
	inst, err = e.p.Get(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusModifying, inst.Status)
	assert.Equal(t, "Rebalancing", inst.RawStatus)
	assert.True(t, inst.Status.Usable())
}

// TestConnection checks the connection of a database in a VPC: public
// host, private host, port apart from both, CA, TLS, admin credentials.
func TestConnection(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, vultrsim.Options{}, nil)
	sp := spec("vpc-db", dbaas.Postgres)
	sp.PrivateNetwork = "d39bf0bf-e050-47d4-a291-5d6fc736f250"
	sp.Tags = map[string]string{"team": "shop"}
	inst := available(t, e, clock, sp)
	assert.Equal(t, map[string]string{"team": "shop"}, inst.Tags)
	conn, err := e.p.Connection(context.Background(), inst.ID)
	require.NoError(t, err)
	require.NoError(t, conn.Endpoint.Validate())
	require.NoError(t, conn.PrivateEndpoint.Validate())
	assert.NotEqual(t, conn.Endpoint.Host, conn.PrivateEndpoint.Host)
	assert.Equal(t, inst.Endpoint, conn.Endpoint)
	assert.Equal(t, vultr.AdminUser, conn.User)
	assert.Equal(t, vultr.DefaultDatabase, conn.Database)
	assert.False(t, conn.Password.IsZero())
	assert.Equal(t, dbaas.TLSRequire, conn.TLS)
	assert.Contains(t, string(conn.CACertPEM), "BEGIN CERTIFICATE")
	assert.NotContains(t, fmt.Sprintf("%v %+v", conn, conn), conn.Password.Reveal(), "the password never prints")
}

// TestRetriesIdempotentRequests checks that reads and writes that are
// safe to repeat are sent again after a 429 or a 5xx, and that a create
// is sent again after a 429 (refused before anything was done).
func TestRetriesIdempotentRequests(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, vultrsim.Options{}, nil)
	ctx := context.Background()
	inst := available(t, e, clock, spec("retry-db", dbaas.Postgres))

	tests := []struct {
		name  string
		op    string
		fault simkit.Fault
		call  func() error
		calls int64
	}{
		{"get after 503", "GET /v2/databases/{id}", simkit.Fault{Status: 503, Times: 2},
			func() error { _, err := e.p.Get(ctx, inst.ID); return err }, 3},
		{"get after 429", "GET /v2/databases/{id}", simkit.Fault{Status: 429, Times: 3},
			func() error { _, err := e.p.Get(ctx, inst.ID); return err }, 4},
		{"get after a dropped connection", "GET /v2/databases/{id}", simkit.Fault{Drop: true},
			func() error { _, err := e.p.Get(ctx, inst.ID); return err }, 2},
		{"list after 500", "GET /v2/databases", simkit.Fault{Status: 500},
			func() error { _, err := e.p.List(ctx); return err }, 2},
		{"update of trusted IPs after 502", "PUT /v2/databases/{id}", simkit.Fault{Status: 502},
			func() error { return e.p.Allow(ctx, inst.ID, dbaas.CIDR("192.0.2.0/24")) }, 2},
		{"backups after 503", "GET /v2/databases/{id}/backups", simkit.Fault{Status: 503},
			func() error { _, err := e.p.Backups(ctx, inst.ID); return err }, 2},
		{"create after 429", "POST /v2/databases", simkit.Fault{Status: 429},
			func() error { _, err := e.p.Create(ctx, spec("after-429", dbaas.MySQL)); return err }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fault.Op = tt.op
			before := e.sim.Calls(tt.op)
			e.sim.Inject(tt.fault)
			require.NoError(t, tt.call())
			assert.Equal(t, tt.calls, e.sim.Calls(tt.op)-before)
			assert.Empty(t, e.sim.Faults())
		})
	}

	t.Run("delete whose answer was lost", func(t *testing.T) {
		doomed := available(t, e, clock, spec("doomed-db", dbaas.Postgres))
		e.sim.Inject(simkit.Fault{Op: "DELETE /v2/databases/{id}", Drop: true, AfterHandling: true})
		require.NoError(t, e.p.Delete(ctx, doomed.ID, dbaas.DeleteOptions{SkipFinalBackup: true}), "the 404 of the retry is the first try's success")
		_, err := e.p.Get(ctx, doomed.ID)
		require.ErrorIs(t, err, dbaas.ErrNotFound)
		require.ErrorIs(t, e.p.Delete(ctx, doomed.ID, dbaas.DeleteOptions{SkipFinalBackup: true}), dbaas.ErrNotFound, "a plain second delete")
	})
	t.Run("gives up with the sentinel", func(t *testing.T) {
		e.sim.Inject(simkit.Fault{Op: "GET /v2/databases/{id}", Status: 429, Times: -1})
		defer e.sim.ClearFaults()
		before := e.sim.Calls("GET /v2/databases/{id}")
		_, err := e.p.Get(ctx, inst.ID)
		require.ErrorIs(t, err, dbaas.ErrRateLimited)
		assert.EqualValues(t, 5, e.sim.Calls("GET /v2/databases/{id}")-before, "the default of 5 attempts")
	})
	t.Run("a 4xx is not retried", func(t *testing.T) {
		before := e.sim.Calls("GET /v2/databases/{id}")
		_, err := e.p.Get(ctx, missingID)
		require.ErrorIs(t, err, dbaas.ErrNotFound)
		assert.EqualValues(t, 1, e.sim.Calls("GET /v2/databases/{id}")-before)
	})
}

// TestNoDuplicateCreate checks that a create whose answer is lost (the
// database was made, the client cannot know) is not sent again blindly:
// the label is looked up, and the database found is the one returned.
func TestNoDuplicateCreate(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, vultrsim.Options{}, nil)
	ctx := context.Background()
	tests := []struct {
		name  string
		fault simkit.Fault
		posts int64
	}{
		{"dropped after handling", simkit.Fault{Drop: true, AfterHandling: true}, 1},
		{"500 after handling", simkit.Fault{Status: 500, AfterHandling: true}, 1},
		{"503 before handling", simkit.Fault{Status: 503}, 2},
		{"dropped before handling", simkit.Fault{Drop: true}, 2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("once-%d", i)
			tt.fault.Op = "POST /v2/databases"
			before := e.sim.Calls("POST /v2/databases")
			e.sim.Inject(tt.fault)
			inst, err := e.p.Create(ctx, spec(name, dbaas.Postgres))
			require.NoError(t, err)
			assert.Equal(t, name, inst.Name)
			assert.Equal(t, tt.posts, e.sim.Calls("POST /v2/databases")-before)
			list, err := e.p.List(ctx)
			require.NoError(t, err)
			n := 0
			for _, x := range list {
				if x.Name == name {
					n++
					assert.Equal(t, inst.ID, x.ID)
				}
			}
			assert.Equal(t, 1, n, "one database of the label")
		})
	}
	t.Run("a taken label", func(t *testing.T) {
		before := e.sim.Calls("POST /v2/databases")
		_, err := e.p.Create(ctx, spec("once-0", dbaas.MySQL))
		require.ErrorIs(t, err, dbaas.ErrAlreadyExists)
		assert.Zero(t, e.sim.Calls("POST /v2/databases")-before)
	})
}

// TestConcurrentAllowLosesNothing allows many sources at once, from
// goroutines of one provider and from a second provider (another process,
// as far as the API knows), and checks that every one is in the list.
func TestConcurrentAllowLosesNothing(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, vultrsim.Options{Latency: time.Millisecond}, nil)
	other, err := vultr.New(context.Background(), dbaas.Config{Token: dbaas.NewSecret("other"), BaseURL: e.url, Region: "ewr",
		Settings: map[string]string{vultr.SettingRetryWait: "1ms", vultr.SettingRateLimit: "100000", vultr.SettingRateBurst: "1000"}},
		vultr.WithClock(clock))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, other.Close()) })
	inst := available(t, e, clock, spec("busy-db", dbaas.Postgres))

	var wg sync.WaitGroup
	errs := make(chan error, 32)
	var want []dbaas.Source
	for i := range 32 {
		src := dbaas.CIDR(fmt.Sprintf("198.51.100.%d/32", i))
		want = append(want, src)
		p := e.p
		if i%2 == 1 {
			p = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- p.Allow(context.Background(), inst.ID, src)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := e.p.Access(context.Background(), inst.ID)
	require.NoError(t, err)
	assert.Subset(t, got, want, "no allowed source was lost")
	assert.Len(t, got, len(want)+1)
}

// TestRevokeKeepsTheLastSource checks that the list is never emptied
// without world access: Vultr lets every address in on an empty list.
func TestRevokeKeepsTheLastSource(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, vultrsim.Options{}, nil)
	ctx := context.Background()
	inst := available(t, e, clock, spec("last-db", dbaas.MySQL))
	only := spec("", "").Access[0]
	writes := e.sim.Writes()
	err := e.p.Revoke(ctx, inst.ID, only)
	require.ErrorIs(t, err, dbaas.ErrConflict)
	assert.Contains(t, err.Error(), "WithWorldAccess")
	assert.Equal(t, writes, e.sim.Writes(), "nothing written")
	got, err := e.p.Access(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, []dbaas.Source{only}, got)

	require.NoError(t, e.p.Revoke(dbaas.WithWorldAccess(ctx), inst.ID, only))
	got, err = e.p.Access(ctx, inst.ID)
	require.NoError(t, err)
	assert.Empty(t, got)
}

// TestApps manages application databases and users through the API.
func TestApps(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, vultrsim.Options{}, nil)
	ctx := context.Background()
	inst := available(t, e, clock, spec("apps-db", dbaas.MySQL))
	apps := e.p

	require.NoError(t, apps.EnsureDatabase(ctx, inst.ID, "shop"))
	require.NoError(t, apps.EnsureDatabase(ctx, inst.ID, "shop"), "ensuring twice")
	dbs, err := apps.Databases(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{vultr.DefaultDatabase, "shop"}, dbs)

	u, err := apps.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "shop_app", Database: "orders"})
	require.NoError(t, err)
	assert.False(t, u.Password.IsZero(), "Vultr chose a password and says it")
	again, err := apps.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "shop_app"})
	require.NoError(t, err)
	assert.Equal(t, u.Password.Reveal(), again.Password.Reveal(), "an existing user keeps its password")
	set, err := apps.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "shop_app", Password: dbaas.NewSecret("chosen-pass-1")})
	require.NoError(t, err)
	assert.Equal(t, "chosen-pass-1", set.Password.Reveal())
	dbs, err = apps.Databases(ctx, inst.ID)
	require.NoError(t, err)
	assert.Contains(t, dbs, "orders", "the user's database is ensured")

	users, err := apps.Users(ctx, inst.ID)
	require.NoError(t, err)
	require.Len(t, users, 1, "the administrator is left out")
	assert.Equal(t, "shop_app", users[0].Name)

	fresh, err := apps.RotatePassword(ctx, inst.ID, "shop_app")
	require.NoError(t, err)
	assert.NotEqual(t, "chosen-pass-1", fresh.Password.Reveal())
	assert.False(t, fresh.Password.IsZero())

	require.NoError(t, apps.DropUser(ctx, inst.ID, "shop_app"))
	require.NoError(t, apps.DropUser(ctx, inst.ID, "shop_app"), "dropping an absent user")
	require.NoError(t, apps.DropDatabase(ctx, inst.ID, "shop"))
	require.NoError(t, apps.DropDatabase(ctx, inst.ID, "shop"), "dropping an absent database")
	assert.Error(t, apps.DropDatabase(ctx, missingID, "shop"), "a missing instance is an error")

	t.Run("no duplicate user after a lost answer", func(t *testing.T) {
		e.sim.Inject(simkit.Fault{Op: "POST /v2/databases/{id}/users", Status: 500, AfterHandling: true})
		before := e.sim.Calls("POST /v2/databases/{id}/users")
		u, err := apps.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "late", Password: dbaas.NewSecret("late-pass-1")})
		require.NoError(t, err)
		assert.Equal(t, "late-pass-1", u.Password.Reveal())
		assert.EqualValues(t, 1, e.sim.Calls("POST /v2/databases/{id}/users")-before)
	})
}

// TestRestore checks restores of each kind, and their refusals.
func TestRestore(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, vultrsim.Options{ProvisionDelay: time.Minute}, nil)
	ctx := context.Background()
	src := available(t, e, clock, spec("origin-db", dbaas.Postgres))
	clock.Sleep(49 * time.Hour)
	list, err := e.p.Backups(ctx, src.ID)
	require.NoError(t, err)
	require.Len(t, list, 3, "oldest, latest and the window")
	oldest, latest, window := list[0], list[1], list[2]
	assert.Equal(t, dbaas.BackupAutomated, oldest.Kind)
	assert.True(t, oldest.CreatedAt.Before(latest.CreatedAt))
	assert.Equal(t, dbaas.BackupPointInTime, window.Kind)
	assert.Equal(t, oldest.CreatedAt, window.EarliestRestore)

	fork := func(name string) dbaas.Spec {
		sp := spec(name, dbaas.Postgres)
		sp.Size, sp.Region = "vultr-dbaas-business-cc-1-55-2", "fra"
		sp.Access = []dbaas.Source{dbaas.CIDR("192.0.2.0/24")}
		return sp
	}
	tests := []struct {
		name string
		from dbaas.RestorePoint
		kind string
	}{
		{"latest", dbaas.FromBackup(latest.ID), "basebackup"},
		{"oldest", dbaas.FromBackup(oldest.ID), "pitr"},
		{"moment", dbaas.AtTime(src.ID, latest.CreatedAt.Add(-time.Hour)), "pitr"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := fork(fmt.Sprintf("restored-%d", i))
			inst, err := e.p.Restore(ctx, tt.from, sp)
			require.NoError(t, err)
			assert.Equal(t, "fra", inst.Region)
			assert.Equal(t, 2, inst.Nodes)
			got, err := e.p.Access(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, sp.Access, got, "the spec's trusted IPs replace the source's")
		})
	}
	t.Run("into a VPC", func(t *testing.T) {
		sp := fork("restored-vpc")
		sp.PrivateNetwork = "d39bf0bf-e050-47d4-a291-5d6fc736f250"
		inst, err := e.p.Restore(ctx, dbaas.FromBackup(latest.ID), sp)
		require.NoError(t, err)
		assert.False(t, inst.PrivateEndpoint.IsZero(), "vpc_id reaches the fork (govultr's fork request has no vpc_id)")
	})
	refusals := []struct {
		name string
		from dbaas.RestorePoint
		sp   dbaas.Spec
		kind error
	}{
		{"the window itself", dbaas.FromBackup(window.ID), fork("r-window"), dbaas.ErrInvalidArgument},
		{"a time no backup has", dbaas.FromBackup(src.ID + "@2026-03-04T07:00:00Z"), fork("r-none"), dbaas.ErrNotFound},
		{"a malformed id", dbaas.FromBackup("yesterday"), fork("r-bad"), dbaas.ErrNotFound},
		{"before the window", dbaas.AtTime(src.ID, epoch.Add(-time.Hour)), fork("r-early"), dbaas.ErrInvalidArgument},
		{"in the future", dbaas.AtTime(src.ID, clock.Now().Add(time.Hour)), fork("r-late"), dbaas.ErrInvalidArgument},
		{"another engine", dbaas.FromBackup(latest.ID), spec("r-engine", dbaas.MySQL), dbaas.ErrInvalidArgument},
		{"a taken label", dbaas.FromBackup(latest.ID), fork("origin-db"), dbaas.ErrAlreadyExists},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			before := e.sim.Calls("POST /v2/databases/{id}/fork")
			_, err := e.p.Restore(ctx, tt.from, tt.sp)
			require.ErrorIs(t, err, tt.kind)
			assert.Zero(t, e.sim.Calls("POST /v2/databases/{id}/fork")-before, "no fork sent")
		})
	}
	_, err = e.p.Backup(ctx, src.ID, "now")
	require.ErrorIs(t, err, dbaas.ErrUnsupported, "Vultr has no on-demand backup")
}
