package exoscale_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v3 "github.com/exoscale/egoscale/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/exoscale"
	"github.com/agiledeploy/dbaaskit/providers/exoscale/exoscalesim"
)

const (
	createPG = "POST /v2/dbaas-postgres/{name}"
	getPG    = "GET /v2/dbaas-postgres/{name}"
	updatePG = "PUT /v2/dbaas-postgres/{name}"
)

// running creates a PostgreSQL service and waits until it runs.
func running(t *testing.T, e *env, clock dbaas.Clock, name string) *dbaas.Instance {
	t.Helper()
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec(name, dbaas.Postgres))
	require.NoError(t, err)
	inst, err = dbaas.Wait(ctx, e.p, inst.ID, dbaas.WaitOptions{Clock: clock})
	require.NoError(t, err)
	return inst
}

func TestRetriesIdempotentRequestsOn429And5xx(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, exoscalesim.Options{}, nil)
	inst := running(t, e, clock, "retry-db")
	e.sim.ResetCalls()
	e.sim.Inject(
		simkit.Fault{Op: getPG, Status: http.StatusServiceUnavailable},
		simkit.Fault{Op: getPG, Status: http.StatusTooManyRequests, RetryAfter: 2 * time.Second},
		simkit.Fault{Op: getPG, Status: http.StatusBadGateway},
	)
	got, err := e.p.Get(context.Background(), inst.ID)
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusAvailable, got.Status)
	assert.EqualValues(t, 4, e.sim.Calls(getPG), "three failures, then the answer")

	e.sim.Inject(simkit.Fault{Op: getPG, Status: http.StatusInternalServerError, Times: -1})
	_, err = e.p.Get(context.Background(), inst.ID)
	require.Error(t, err, "retries end")
	var apiErr *v3.APIError
	require.ErrorAs(t, err, &apiErr, "egoscale's error stays reachable")
	assert.ErrorIs(t, err, v3.ErrInternalServerError)
	e.sim.ClearFaults()
}

func TestCreateIsNotResentBlindly(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, exoscalesim.Options{}, nil)
	ctx := context.Background()
	tests := []struct {
		name      string
		fault     simkit.Fault
		wantPosts int64
	}{
		{name: "answer lost after the service was made", fault: simkit.Fault{Op: createPG, Status: http.StatusBadGateway, AfterHandling: true}, wantPosts: 1},
		{name: "connection dropped after the service was made", fault: simkit.Fault{Op: createPG, Drop: true, AfterHandling: true}, wantPosts: 1},
		{name: "refused before anything was made", fault: simkit.Fault{Op: createPG, Status: http.StatusServiceUnavailable}, wantPosts: 2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.sim.ResetCalls()
			e.sim.Inject(tt.fault)
			name := fmt.Sprintf("ambiguous-%d", i)
			inst, err := e.p.Create(ctx, spec(name, dbaas.Postgres))
			require.NoError(t, err)
			assert.Equal(t, name, inst.ID)
			assert.Equal(t, tt.wantPosts, e.sim.Calls(createPG))
			list, err := e.p.List(ctx)
			require.NoError(t, err)
			var n int
			for _, x := range list {
				if x.Name == name {
					n++
				}
			}
			assert.Equal(t, 1, n, "exactly one service of that name")
		})
	}
}

func TestFailedOperationIsAnError(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, exoscalesim.Options{OperationDelay: 20 * time.Second}, nil)
	ctx := context.Background()

	e.sim.FailOperations("create-dbaas-service-pg", 1, "incorrect", "plan startup-4 is not available right now")
	_, err := e.p.Create(ctx, spec("failed-db", dbaas.Postgres))
	require.Error(t, err)
	var opErr *exoscale.OperationError
	require.ErrorAs(t, err, &opErr)
	assert.Equal(t, v3.OperationStateFailure, opErr.Operation.State)
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument, "reason incorrect")
	assert.Contains(t, err.Error(), "not available right now")
	_, err = e.p.Get(ctx, "failed-db")
	assert.ErrorIs(t, err, dbaas.ErrNotFound)

	inst := running(t, e, clock, "filtered-db")
	e.sim.FailOperations("update-dbaas-service-pg", 1, "unavailable", "maintenance in progress")
	err = e.p.Allow(ctx, inst.ID, dbaas.MustParseSource("192.0.2.0/24"))
	require.ErrorAs(t, err, &opErr)
	got, err := e.p.Access(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, []dbaas.Source{dbaas.MustParseSource("10.0.0.0/24")}, got, "the failed update changed nothing")
}

func TestConcurrentAllowLosesNoEntry(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, exoscalesim.Options{OperationDelay: time.Second}, nil)
	inst := running(t, e, clock, "busy-db")
	ctx := context.Background()
	const n = 24
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = e.p.Allow(ctx, inst.ID, dbaas.MustParseSource(fmt.Sprintf("198.51.100.%d", i+1))) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	got, err := e.p.Access(ctx, inst.ID)
	require.NoError(t, err)
	assert.Len(t, got, n+1)
	for i := range n {
		assert.Contains(t, got, dbaas.MustParseSource(fmt.Sprintf("198.51.100.%d", i+1)))
	}
}

func TestRevokeTheLastEntryEmptiesTheFilter(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, exoscalesim.Options{}, nil)
	inst := running(t, e, clock, "closed-db")
	ctx := context.Background()
	require.NoError(t, e.p.Revoke(ctx, inst.ID, dbaas.MustParseSource("10.0.0.0/24")))
	got, err := e.p.Access(ctx, inst.ID)
	require.NoError(t, err)
	assert.Empty(t, got, "egoscale leaves an empty ip-filter out; the adapter sends it")
	writes := e.sim.Writes()
	require.NoError(t, e.p.Revoke(ctx, inst.ID, dbaas.MustParseSource("10.0.0.0/24")))
	assert.Equal(t, writes, e.sim.Writes(), "revoking an absent entry writes nothing")
}

func TestSignatureProblemsReadAsSuch(t *testing.T) {
	tests := []struct {
		name   string
		opts   exoscalesim.Options
		secret string
		want   string
	}{
		{name: "wrong secret", secret: "not-the-secret", want: "Invalid request signature"},
		{name: "clock skew", opts: exoscalesim.Options{SignatureClock: fakeclock.New(time.Now().Add(time.Hour))}, secret: exoscalesim.DefaultAPISecret, want: "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim, url, err := exoscalesim.Start(tt.opts)
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, sim.Close()) })
			p, err := exoscale.New(context.Background(), dbaas.Config{Token: dbaas.NewSecret(exoscalesim.DefaultAPIKey), BaseURL: url},
				exoscale.WithAPISecret(dbaas.NewSecret(tt.secret)))
			require.NoError(t, err)
			t.Cleanup(func() { assert.NoError(t, p.Close()) })
			_, err = p.Get(context.Background(), "any-db")
			require.ErrorIs(t, err, dbaas.ErrPermissionDenied)
			assert.NotErrorIs(t, err, dbaas.ErrNotFound)
			var sigErr *exoscale.SignatureError
			require.ErrorAs(t, err, &sigErr)
			assert.Contains(t, err.Error(), tt.want)
			assert.Contains(t, err.Error(), "clock")
			assert.NotContains(t, err.Error(), tt.secret)
		})
	}
}

func TestForbiddenCallIsNoSignatureProblem(t *testing.T) {
	e := newEnv(t, nil, exoscalesim.Options{}, nil)
	e.sim.Inject(simkit.Fault{Op: "GET /v2/dbaas-service", Status: http.StatusForbidden, Message: "Forbidden: the role of this key does not allow dbaas operations"})
	_, err := e.p.List(context.Background())
	require.ErrorIs(t, err, dbaas.ErrPermissionDenied)
	var sigErr *exoscale.SignatureError
	assert.False(t, errors.As(err, &sigErr), "a refused call is not a refused signature: %v", err)
	assert.Contains(t, err.Error(), "role of this key")
}

func TestOpenNeedsCredentials(t *testing.T) {
	dir := t.TempDir()
	open := filepath.Join(dir, "open")
	require.NoError(t, os.WriteFile(open, []byte("s3cret\n"), 0o644))
	closed := filepath.Join(dir, "closed")
	require.NoError(t, os.WriteFile(closed, []byte("s3cret\n"), 0o600))
	tests := []struct {
		name     string
		key      string
		env      map[string]string
		settings map[string]string
		region   string
		want     string
		kind     error
	}{
		{name: "no key", env: map[string]string{exoscale.EnvAPISecret: "s"}, want: exoscale.EnvAPIKey, kind: dbaas.ErrPermissionDenied},
		{name: "no secret", key: "EXOkey", want: exoscale.EnvAPISecret, kind: dbaas.ErrPermissionDenied},
		{name: "secret file readable by others", key: "EXOkey", settings: map[string]string{exoscale.SettingAPISecretFile: open}, want: "0600", kind: dbaas.ErrInvalidArgument},
		{name: "unknown zone", key: "EXOkey", env: map[string]string{exoscale.EnvAPISecret: "s"}, region: "us-east-1", want: "region", kind: dbaas.ErrInvalidArgument},
		{name: "bad pace", key: "EXOkey", env: map[string]string{exoscale.EnvAPISecret: "s"}, settings: map[string]string{exoscale.SettingRequestsPerSecond: "fast"}, want: "requests_per_second", kind: dbaas.ErrInvalidArgument},
		{name: "secret file", key: "EXOkey", settings: map[string]string{exoscale.SettingAPISecretFile: closed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(exoscale.EnvAPIKey, "")
			t.Setenv(exoscale.EnvAPISecret, "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			p, err := dbaas.Open(context.Background(), exoscale.Name, dbaas.Config{Token: dbaas.NewSecret(tt.key), Settings: tt.settings, Region: tt.region})
			if tt.want == "" {
				require.NoError(t, err)
				require.NoError(t, p.Close())
				return
			}
			require.ErrorIs(t, err, tt.kind)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestBadInputIsRefusedBeforeAnyCall(t *testing.T) {
	e := newEnv(t, nil, exoscalesim.Options{}, nil)
	tests := []struct {
		name  string
		edit  func(*dbaas.Spec)
		kind  error
		field string
	}{
		{name: "version not in the description", edit: func(s *dbaas.Spec) { s.Version = "12" }, kind: dbaas.ErrInvalidArgument, field: "version"},
		{name: "another zone", edit: func(s *dbaas.Spec) { s.Region = "de-fra-1" }, kind: dbaas.ErrInvalidArgument, field: "region"},
		{name: "admin password outside the API's characters", edit: func(s *dbaas.Spec) { s.AdminPassword = dbaas.NewSecret("Pass!word#1") }, kind: dbaas.ErrInvalidArgument, field: "admin_password"},
		{name: "nodes come with the plan", edit: func(s *dbaas.Spec) { s.Nodes = 2 }, kind: dbaas.ErrUnsupported},
		{name: "no tags", edit: func(s *dbaas.Spec) { s.Tags = map[string]string{"team": "web"} }, kind: dbaas.ErrUnsupported},
		{name: "no custom port", edit: func(s *dbaas.Spec) { s.Port = 6543 }, kind: dbaas.ErrUnsupported},
		{name: "engine", edit: func(s *dbaas.Spec) { s.Engine = dbaas.MariaDB }, kind: dbaas.ErrUnsupported},
		{name: "security groups are not sources here", edit: func(s *dbaas.Spec) { s.Access = []dbaas.Source{{Kind: dbaas.SourceSecurityGroup, Value: "sg-1"}} }, kind: dbaas.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec("refused-db", dbaas.Postgres)
			tt.edit(&s)
			before := e.sim.TotalCalls()
			_, err := e.p.Create(context.Background(), s)
			require.ErrorIs(t, err, tt.kind)
			if tt.field != "" {
				ve, ok := dbaas.AsValidationError(err)
				require.True(t, ok, "%v", err)
				assert.Equal(t, []string{tt.field}, ve.Fields())
			}
			assert.Equal(t, before, e.sim.TotalCalls(), "no call")
		})
	}
	t.Run("plan unknown to the API", func(t *testing.T) {
		s := spec("refused-db", dbaas.Postgres)
		s.Size = "gigantic-512"
		_, err := e.p.Create(context.Background(), s)
		ve, ok := dbaas.AsValidationError(err)
		require.True(t, ok, "%v", err)
		assert.Equal(t, []string{"size"}, ve.Fields())
		var apiErr *v3.APIError
		assert.ErrorAs(t, err, &apiErr, "the API's answer stays reachable")
		_, err = e.p.Get(context.Background(), "refused-db")
		assert.ErrorIs(t, err, dbaas.ErrNotFound, "nothing half made")
	})
}

func TestRestoreRefusals(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, exoscalesim.Options{}, nil)
	inst := running(t, e, clock, "source-db")
	ctx := context.Background()
	backups, err := e.p.Backups(ctx, inst.ID)
	require.NoError(t, err)
	require.Len(t, backups, 2)
	assert.Equal(t, dbaas.BackupAutomated, backups[0].Kind)
	assert.Equal(t, dbaas.BackupPointInTime, backups[1].Kind)

	posts := e.sim.Calls(createPG)
	_, err = e.p.Restore(ctx, dbaas.FromBackup("source-db/no-such-backup"), spec("copy-db", dbaas.Postgres))
	assert.ErrorIs(t, err, dbaas.ErrNotFound)
	_, err = e.p.Restore(ctx, dbaas.FromBackup(backups[0].ID), spec("copy-db", dbaas.MySQL))
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument, "a restore keeps the engine")
	_, err = e.p.Restore(ctx, dbaas.AtTime(inst.ID, backups[1].EarliestRestore.Add(-time.Hour)), spec("copy-db", dbaas.Postgres))
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument, "before the window")
	_, err = e.p.Backup(ctx, inst.ID, "manual")
	assert.ErrorIs(t, err, dbaas.ErrUnsupported)
	assert.Equal(t, posts, e.sim.Calls(createPG), "no create was sent")

	hobby := spec("hobby-db", dbaas.Postgres)
	hobby.Size = "hobbyist-2"
	_, err = e.p.Create(ctx, hobby)
	require.NoError(t, err)
	_, err = dbaas.Wait(ctx, e.p, "hobby-db", dbaas.WaitOptions{Clock: clock})
	require.NoError(t, err)
	list, err := e.p.Backups(ctx, "hobby-db")
	require.NoError(t, err)
	require.Len(t, list, 1, "a plan without point-in-time recovery lists no window")
	_, err = e.p.Restore(ctx, dbaas.AtTime("hobby-db", clock.Now()), spec("copy-db", dbaas.Postgres))
	assert.ErrorIs(t, err, dbaas.ErrUnsupported)
}

func TestDeletionProtection(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, exoscalesim.Options{}, nil)
	ctx := context.Background()
	s := spec("kept-db", dbaas.Postgres)
	s.DeletionProtection = true
	_, err := e.p.Create(ctx, s)
	require.NoError(t, err)
	err = e.p.Delete(ctx, "kept-db", dbaas.DeleteOptions{SkipFinalBackup: true})
	require.ErrorIs(t, err, dbaas.ErrConflict)
	assert.Contains(t, err.Error(), "termination protection")
	_, err = e.p.Get(ctx, "kept-db")
	require.NoError(t, err, "still there")
	require.ErrorIs(t, e.p.Delete(ctx, "missing-db", dbaas.DeleteOptions{SkipFinalBackup: true}), dbaas.ErrNotFound)
}

func TestAppsThroughTheAPI(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	e := newEnv(t, clock, exoscalesim.Options{OperationDelay: 5 * time.Second}, nil)
	inst := running(t, e, clock, "app-db")
	apps := e.p
	ctx := context.Background()
	for range 2 {
		require.NoError(t, apps.EnsureDatabase(ctx, inst.ID, "shop"), "ensure is idempotent")
	}
	dbs, err := apps.Databases(ctx, inst.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"defaultdb", "shop"}, dbs)

	u, err := apps.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "shop", Database: "shop"})
	require.NoError(t, err)
	assert.False(t, u.Password.IsZero(), "the API's generated password, revealed")
	again, err := apps.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "shop"})
	require.NoError(t, err)
	assert.Equal(t, u.Password.Reveal(), again.Password.Reveal(), "an existing user keeps its password")
	set, err := apps.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "shop", Database: "shop", Password: dbaas.NewSecret("chosen-password-1")})
	require.NoError(t, err)
	assert.Equal(t, "chosen-password-1", set.Password.Reveal(), "a given password is set")
	rotated, err := apps.RotatePassword(ctx, inst.ID, "shop")
	require.NoError(t, err)
	assert.NotEqual(t, set.Password.Reveal(), rotated.Password.Reveal())
	users, err := apps.Users(ctx, inst.ID)
	require.NoError(t, err)
	require.Len(t, users, 1, "the admin is left out")
	assert.Equal(t, "shop", users[0].Name)
	assert.Equal(t, "shop", users[0].Database, "the database this provider ensured for the user")

	for range 2 {
		require.NoError(t, apps.DropUser(ctx, inst.ID, "shop"))
		require.NoError(t, apps.DropDatabase(ctx, inst.ID, "shop"))
	}
	assert.ErrorIs(t, apps.DropUser(ctx, "missing-db", "shop"), dbaas.ErrNotFound)
}

func TestAsHandsOutTheClient(t *testing.T) {
	e := newEnv(t, nil, exoscalesim.Options{}, nil)
	var client *v3.Client
	require.True(t, e.p.As(&client))
	require.NotNil(t, client)
	_, err := client.ListDBAASServices(context.Background())
	require.NoError(t, err, "the client is configured and signs")
	var other *http.Client
	assert.False(t, e.p.As(&other))
	caps, err := dbaas.CapabilitiesOf(exoscale.Name)
	require.NoError(t, err)
	assert.False(t, caps.OnDemandBackup)
	assert.True(t, caps.PointInTimeRestore)
	assert.Equal(t, dbaas.AppUsersAPI, caps.AppUsers)
}
