package exoscalesim_test

import (
	"context"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	v3 "github.com/exoscale/egoscale/v3"
	"github.com/exoscale/egoscale/v3/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/exoscale/exoscalesim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start serves a simulator and returns it with an unmodified egoscale
// client signed with key and secret.
func start(t *testing.T, opts exoscalesim.Options, key, secret string) (*exoscalesim.Server, *v3.Client) {
	t.Helper()
	sim, url, err := exoscalesim.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, sim.Close()) })
	client, err := v3.NewClient(credentials.NewStaticCredentials(key, secret),
		v3.ClientOptWithEndpoint(v3.Endpoint(url)), v3.ClientOptWithHTTPClient(&http.Client{}))
	require.NoError(t, err)
	return sim, client
}

func startDefault(t *testing.T, opts exoscalesim.Options) (*exoscalesim.Server, *v3.Client) {
	t.Helper()
	return start(t, opts, exoscalesim.DefaultAPIKey, exoscalesim.DefaultAPISecret)
}

// succeed waits for op with the client's own Wait and requires success.
func succeed(t *testing.T, client *v3.Client, op *v3.Operation, err error) {
	t.Helper()
	require.NoError(t, err)
	done, err := client.Wait(context.Background(), op, v3.OperationStateSuccess)
	require.NoError(t, err)
	assert.Equal(t, v3.OperationStateSuccess, done.State)
}

func TestClientPostgresEndpoints(t *testing.T) {
	sim, client := startDefault(t, exoscalesim.Options{})
	ctx := context.Background()

	types, err := client.ListDBAASServiceTypes(ctx)
	require.NoError(t, err)
	pg, err := types.FindDBAASServiceType("pg")
	require.NoError(t, err)
	assert.Contains(t, pg.AvailableVersions, "16")
	one, err := client.GetDBAASServiceType(ctx, "mysql")
	require.NoError(t, err)
	assert.Equal(t, "8", one.DefaultVersion)

	op, err := client.CreateDBAASServicePG(ctx, "shop-db", v3.CreateDBAASServicePGRequest{
		Plan: "startup-4", Version: "16", IPFilter: []string{"10.0.0.0/24"}, TerminationProtection: v3.Bool(true),
		AdminUsername: "shopadmin", AdminPassword: "Secret-pass_123",
	})
	succeed(t, client, op, err)
	assert.Equal(t, "/v2/dbaas-postgres/shop-db", op.Reference.Link)
	assert.Equal(t, "create-dbaas-service-pg", op.Reference.Command)

	svc, err := client.GetDBAASServicePG(ctx, "shop-db")
	require.NoError(t, err)
	assert.Equal(t, v3.EnumServiceStateRunning, svc.State)
	assert.Equal(t, "startup-4", svc.Plan)
	assert.Equal(t, "16", svc.Version)
	assert.Equal(t, "ch-gva-2", svc.Zone)
	assert.Equal(t, []string{"10.0.0.0/24"}, svc.IPFilter)
	assert.True(t, *svc.TerminationProtection)
	require.NotEmpty(t, svc.Components)
	assert.Equal(t, "pg", svc.Components[0].Component)
	assert.Equal(t, "shopadmin", svc.URIParams["user"])
	assert.Equal(t, "require", svc.URIParams["sslmode"])
	assert.Empty(t, svc.URIParams["password"], "passwords only through reveal")
	require.Len(t, svc.Backups, 1, "the first automatic backup is taken when the service comes up")
	assert.Contains(t, svc.Databases, v3.DBAASDatabaseName("defaultdb"))

	list, err := client.ListDBAASServices(ctx)
	require.NoError(t, err)
	require.Len(t, list.DBAASServices, 1)
	assert.Equal(t, v3.DBAASServiceTypeName("pg"), list.DBAASServices[0].Type)

	secret, err := client.RevealDBAASPostgresUserPassword(ctx, "shop-db", "shopadmin")
	require.NoError(t, err)
	assert.Equal(t, "Secret-pass_123", secret.Password)

	op, err = client.UpdateDBAASServicePG(ctx, "shop-db", v3.UpdateDBAASServicePGRequest{IPFilter: []string{"10.0.0.0/24", "192.0.2.7/32"}})
	succeed(t, client, op, err)
	svc, err = client.GetDBAASServicePG(ctx, "shop-db")
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.0/24", "192.0.2.7/32"}, svc.IPFilter)

	op, err = client.CreateDBAASPostgresUser(ctx, "shop-db", v3.CreateDBAASPostgresUserRequest{Username: "app"})
	succeed(t, client, op, err)
	op, err = client.ResetDBAASPostgresUserPassword(ctx, "shop-db", "app", v3.ResetDBAASPostgresUserPasswordRequest{Password: "app-password-1"})
	succeed(t, client, op, err)
	secret, err = client.RevealDBAASPostgresUserPassword(ctx, "shop-db", "app")
	require.NoError(t, err)
	assert.Equal(t, "app-password-1", secret.Password)
	op, err = client.CreateDBAASPGDatabase(ctx, "shop-db", v3.CreateDBAASPGDatabaseRequest{DatabaseName: "shop"})
	succeed(t, client, op, err)
	svc, err = client.GetDBAASServicePG(ctx, "shop-db")
	require.NoError(t, err)
	assert.Contains(t, svc.Databases, v3.DBAASDatabaseName("shop"))
	assert.Len(t, svc.Users, 2)
	op, err = client.DeleteDBAASPGDatabase(ctx, "shop-db", "shop")
	succeed(t, client, op, err)
	op, err = client.DeleteDBAASPostgresUser(ctx, "shop-db", "app")
	succeed(t, client, op, err)

	ca, err := client.GetDBAASCACertificate(ctx)
	require.NoError(t, err)
	block, _ := pem.Decode([]byte(ca.Certificate))
	require.NotNil(t, block)
	assert.Equal(t, "CERTIFICATE", block.Type)

	// A fork from the backup, by its time.
	op, err = client.CreateDBAASServicePG(ctx, "shop-copy", v3.CreateDBAASServicePGRequest{
		Plan: "startup-4", ForkFromService: "shop-db", RecoveryBackupTime: svc.Backups[0].BackupTime.Format(time.RFC3339),
	})
	succeed(t, client, op, err)

	_, err = client.DeleteDBAASServicePG(ctx, "shop-db")
	require.ErrorIs(t, err, v3.ErrForbidden, "termination protection refuses the delete")
	op, err = client.UpdateDBAASServicePG(ctx, "shop-db", v3.UpdateDBAASServicePGRequest{TerminationProtection: v3.Bool(false)})
	succeed(t, client, op, err)
	op, err = client.DeleteDBAASServicePG(ctx, "shop-db")
	succeed(t, client, op, err)
	op, err = client.DeleteDBAASService(ctx, "shop-copy")
	succeed(t, client, op, err)
	_, err = client.GetDBAASServicePG(ctx, "shop-db")
	require.ErrorIs(t, err, v3.ErrNotFound)
	assert.Positive(t, sim.Writes())
}

func TestClientMySQLEndpoints(t *testing.T) {
	_, client := startDefault(t, exoscalesim.Options{})
	ctx := context.Background()
	op, err := client.CreateDBAASServiceMysql(ctx, "blog-db", v3.CreateDBAASServiceMysqlRequest{Plan: "hobbyist-2", Version: "8"})
	succeed(t, client, op, err)
	svc, err := client.GetDBAASServiceMysql(ctx, "blog-db")
	require.NoError(t, err)
	assert.Equal(t, v3.EnumServiceStateRunning, svc.State)
	assert.Equal(t, "REQUIRED", svc.URIParams["ssl-mode"])
	admin := svc.URIParams["user"].(string)
	secret, err := client.RevealDBAASMysqlUserPassword(ctx, "blog-db", admin)
	require.NoError(t, err)
	assert.NotEmpty(t, secret.Password)

	op, err = client.UpdateDBAASServiceMysql(ctx, "blog-db", v3.UpdateDBAASServiceMysqlRequest{IPFilter: []string{"203.0.113.0/24"}})
	succeed(t, client, op, err)
	op, err = client.CreateDBAASMysqlUser(ctx, "blog-db", v3.CreateDBAASMysqlUserRequest{Username: "blog", Authentication: v3.EnumMysqlAuthenticationPluginMysqlNativePassword})
	succeed(t, client, op, err)
	op, err = client.ResetDBAASMysqlUserPassword(ctx, "blog-db", "blog", v3.ResetDBAASMysqlUserPasswordRequest{})
	succeed(t, client, op, err)
	op, err = client.CreateDBAASMysqlDatabase(ctx, "blog-db", v3.CreateDBAASMysqlDatabaseRequest{DatabaseName: "blog"})
	succeed(t, client, op, err)
	svc, err = client.GetDBAASServiceMysql(ctx, "blog-db")
	require.NoError(t, err)
	assert.Equal(t, []string{"203.0.113.0/24"}, svc.IPFilter)
	assert.Contains(t, svc.Databases, v3.DBAASMysqlDatabaseName("blog"))
	op, err = client.DeleteDBAASMysqlDatabase(ctx, "blog-db", "blog")
	succeed(t, client, op, err)
	op, err = client.DeleteDBAASMysqlUser(ctx, "blog-db", "blog")
	succeed(t, client, op, err)
	_, err = client.GetDBAASServicePG(ctx, "blog-db")
	require.ErrorIs(t, err, v3.ErrNotFound, "a MySQL service is not found among PostgreSQL ones")
	op, err = client.DeleteDBAASServiceMysql(ctx, "blog-db")
	succeed(t, client, op, err)
}

// TestClientWaitsForPendingOperation runs the client's own Wait on an
// operation that is pending until the simulator's clock moves.
func TestClientWaitsForPendingOperation(t *testing.T) {
	clock := fakeclock.New(time.Now())
	_, client := startDefault(t, exoscalesim.Options{Clock: clock, OperationDelay: time.Minute, ProvisionDelay: 10 * time.Minute})
	ctx := context.Background()
	op, err := client.CreateDBAASServicePG(ctx, "slow-db", v3.CreateDBAASServicePGRequest{Plan: "startup-4"})
	require.NoError(t, err)
	require.Equal(t, v3.OperationStatePending, op.State)
	got, err := client.GetOperation(ctx, op.ID)
	require.NoError(t, err)
	assert.Equal(t, v3.OperationStatePending, got.State)
	clock.Advance(time.Minute)
	done, err := client.Wait(ctx, op, v3.OperationStateSuccess)
	require.NoError(t, err)
	assert.Equal(t, v3.OperationStateSuccess, done.State)
	svc, err := client.GetDBAASServicePG(ctx, "slow-db")
	require.NoError(t, err)
	assert.Equal(t, v3.EnumServiceStateRebuilding, svc.State, "the service still provisions after its operation")
	clock.Advance(10 * time.Minute)
	svc, err = client.GetDBAASServicePG(ctx, "slow-db")
	require.NoError(t, err)
	assert.Equal(t, v3.EnumServiceStateRunning, svc.State)
}

func TestClientFailedOperation(t *testing.T) {
	sim, client := startDefault(t, exoscalesim.Options{})
	sim.FailOperations("create-dbaas-service-pg", 1, "unavailable", "no capacity in zone")
	ctx := context.Background()
	op, err := client.CreateDBAASServicePG(ctx, "doomed", v3.CreateDBAASServicePGRequest{Plan: "startup-4"})
	require.NoError(t, err, "the API accepts the request")
	_, err = client.Wait(ctx, op, v3.OperationStateSuccess)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no capacity in zone")
	_, err = client.GetDBAASServicePG(ctx, "doomed")
	assert.ErrorIs(t, err, v3.ErrNotFound, "a failed create makes nothing")
}

func TestSignatures(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		secret  string
		sigTime time.Time
		want    string
	}{
		{name: "wrong secret", key: exoscalesim.DefaultAPIKey, secret: "not-the-secret", want: "Invalid request signature"},
		{name: "unknown key", key: "EXOunknown", secret: exoscalesim.DefaultAPISecret, want: "Invalid API key"},
		{name: "expired", key: exoscalesim.DefaultAPIKey, secret: exoscalesim.DefaultAPISecret, sigTime: time.Now().Add(time.Hour), want: "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := exoscalesim.Options{}
			if !tt.sigTime.IsZero() {
				opts.SignatureClock = fakeclock.New(tt.sigTime)
			}
			sim, client := start(t, opts, tt.key, tt.secret)
			_, err := client.ListDBAASServices(context.Background())
			require.ErrorIs(t, err, v3.ErrForbidden)
			var apiErr *v3.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Contains(t, apiErr.Message, tt.want)
			assert.EqualValues(t, 1, sim.Calls("GET /v2/dbaas-service"))
		})
	}
	t.Run("unsigned", func(t *testing.T) {
		sim, url, err := exoscalesim.Start(exoscalesim.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, sim.Close()) })
		resp, err := http.Get(url + "/dbaas-service")
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Zero(t, sim.Writes())
	})
}

func TestRateLimitAndFaults(t *testing.T) {
	clock := fakeclock.New(time.Now())
	sim, client := startDefault(t, exoscalesim.Options{Clock: clock, RateLimit: simkit.Rate{Limit: 2, Window: time.Second}})
	ctx := context.Background()
	for range 2 {
		_, err := client.ListDBAASServices(ctx)
		require.NoError(t, err)
	}
	_, err := client.ListDBAASServices(ctx)
	require.ErrorIs(t, err, v3.ErrTooManyRequests)
	assert.EqualValues(t, 1, sim.RateLimited())
	clock.Advance(time.Second)
	_, err = client.ListDBAASServices(ctx)
	require.NoError(t, err, "the bucket refills on the simulator's clock")

	sim.Inject(simkit.Fault{Op: "GET /v2/dbaas-service", Status: http.StatusServiceUnavailable})
	_, err = client.ListDBAASServices(ctx)
	require.ErrorIs(t, err, v3.ErrServiceUnavailable)
	var apiErr *v3.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.NotEmpty(t, apiErr.Message)
}

// TestUpdateTakesEffectWhenItsOperationEnds: a read while the operation
// is pending shows the service as it was.
func TestUpdateTakesEffectWhenItsOperationEnds(t *testing.T) {
	clock := fakeclock.New(time.Now())
	_, client := startDefault(t, exoscalesim.Options{Clock: clock, OperationDelay: time.Minute})
	ctx := context.Background()
	_, err := client.CreateDBAASServiceMysql(ctx, "shop-db", v3.CreateDBAASServiceMysqlRequest{Plan: "startup-4", IPFilter: []string{"10.0.0.0/8"}})
	require.NoError(t, err)
	op, err := client.UpdateDBAASServiceMysql(ctx, "shop-db", v3.UpdateDBAASServiceMysqlRequest{IPFilter: []string{"192.0.2.0/24"}})
	require.NoError(t, err)
	require.Equal(t, v3.OperationStatePending, op.State)
	svc, err := client.GetDBAASServiceMysql(ctx, "shop-db")
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.0/8"}, svc.IPFilter, "not yet")
	clock.Advance(time.Minute)
	svc, err = client.GetDBAASServiceMysql(ctx, "shop-db")
	require.NoError(t, err)
	assert.Equal(t, []string{"192.0.2.0/24"}, svc.IPFilter)
}
