package vultrsim_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vultr/govultr/v3"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simhttp"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/vultr/internal/vultrspec"
	"github.com/agiledeploy/dbaaskit/providers/vultr/vultrsim"
)

var epoch = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// TestMain checks that no test leaves a goroutine behind: the
// simulator's Close stops everything it started.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve starts sim behind the description check and returns an
// unmodified govultr client on it, authenticated as govultr's README
// shows (an oauth2 static token source), without retries so that each
// call is one request.
func serve(t *testing.T, sim *vultrsim.Server) *govultr.Client {
	t.Helper()
	srv, err := simhttp.Start(vultrspec.Handler(t, sim, false))
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		require.NoError(t, sim.Close())
	})
	ctx := context.Background()
	ts := (&oauth2.Config{}).TokenSource(ctx, &oauth2.Token{AccessToken: "sim-token"})
	hc := oauth2.NewClient(ctx, ts)
	c := govultr.NewClient(hc)
	require.NoError(t, c.SetBaseURL(srv.URL))
	c.SetRetryLimit(0)
	t.Cleanup(func() { hc.CloseIdleConnections() })
	return c
}

// TestGovultrEveryEndpoint drives every endpoint the simulator serves
// with the unmodified govultr client, each exchange checked against the
// official description.
func TestGovultrEveryEndpoint(t *testing.T) {
	clock := fakeclock.New(epoch)
	sim := vultrsim.New(vultrsim.Options{Clock: clock, ProvisionDelay: 10 * time.Minute})
	c := serve(t, sim)
	ctx := context.Background()

	plans, _, _, err := c.Database.ListPlans(ctx, &govultr.DBPlanListOptions{Engine: "pg", Nodes: 1, Region: "ewr"})
	require.NoError(t, err)
	require.NotEmpty(t, plans)
	for _, p := range plans {
		assert.Equal(t, 1, p.NumberOfNodes)
		assert.True(t, *p.SupportedEngines.PG)
	}

	db, _, err := c.Database.Create(ctx, &govultr.DatabaseCreateReq{
		DatabaseEngine: "pg", DatabaseEngineVersion: "16", Region: "ewr", Plan: "vultr-dbaas-startup-cc-1-55-2",
		Label: "shop-db", Tag: "web", TrustedIPs: []string{"192.0.2.7", "198.51.100.0/24"},
	})
	require.NoError(t, err)
	assert.Equal(t, "Rebuilding", db.Status)
	assert.Equal(t, "shop-db", db.Label)
	assert.Equal(t, []string{"192.0.2.7/32", "198.51.100.0/24"}, db.TrustedIPs, "a bare address is one host")
	port, err := strconv.Atoi(db.Port)
	require.NoError(t, err, "port is a number in a string")
	assert.Positive(t, port)
	assert.NotContains(t, db.Host, ":", "host without port")
	assert.Contains(t, db.CACertificate, "BEGIN CERTIFICATE")
	assert.Equal(t, "vultradmin", db.User)
	assert.Equal(t, "defaultdb", db.DBName)
	require.NotNil(t, db.PlanReplicas)
	assert.Zero(t, *db.PlanReplicas)

	_, _, err = c.Database.CreateUser(ctx, db.ID, &govultr.DatabaseUserCreateReq{Username: "app"})
	require.ErrorContains(t, err, "not yet running", "users are made on a running database")

	clock.Advance(10 * time.Minute)
	got, _, err := c.Database.Get(ctx, db.ID)
	require.NoError(t, err)
	assert.Equal(t, "Running", got.Status)
	assert.Equal(t, "EWR", got.Region)

	list, meta, _, err := c.Database.List(ctx, &govultr.DBListOptions{Label: "shop-db"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, 1, meta.Total)
	list, _, _, err = c.Database.List(ctx, &govultr.DBListOptions{Label: "other"})
	require.NoError(t, err)
	assert.Empty(t, list)

	updated, _, err := c.Database.Update(ctx, db.ID, &govultr.DatabaseUpdateReq{TrustedIPs: []string{"203.0.113.9/32"}})
	require.NoError(t, err)
	assert.Equal(t, []string{"203.0.113.9/32"}, updated.TrustedIPs, "a PUT replaces the list")
	_, _, err = c.Database.Update(ctx, db.ID, &govultr.DatabaseUpdateReq{TrustedIPs: []string{"10.0.0.1/8"}})
	require.ErrorContains(t, err, "Invalid trusted IP")

	user, _, err := c.Database.CreateUser(ctx, db.ID, &govultr.DatabaseUserCreateReq{Username: "app", Password: "s3cret-pass-word"})
	require.NoError(t, err)
	assert.Equal(t, "s3cret-pass-word", user.Password)
	_, _, err = c.Database.CreateUser(ctx, db.ID, &govultr.DatabaseUserCreateReq{Username: "app"})
	require.ErrorContains(t, err, "already exists")
	users, _, _, err := c.Database.ListUsers(ctx, db.ID)
	require.NoError(t, err)
	require.Len(t, users, 2)
	user, _, err = c.Database.UpdateUser(ctx, db.ID, "app", &govultr.DatabaseUserUpdateReq{Password: ""})
	require.NoError(t, err)
	assert.NotEqual(t, "s3cret-pass-word", user.Password, "an empty password makes the API choose one")
	user, _, err = c.Database.GetUser(ctx, db.ID, "app")
	require.NoError(t, err)
	assert.Equal(t, "app", user.Username)
	require.NoError(t, c.Database.DeleteUser(ctx, db.ID, "app"))
	_, _, err = c.Database.GetUser(ctx, db.ID, "app")
	require.ErrorContains(t, err, "User not found")
	require.ErrorContains(t, c.Database.DeleteUser(ctx, db.ID, "vultradmin"), "cannot be deleted")

	_, _, err = c.Database.CreateDB(ctx, db.ID, &govultr.DatabaseDBCreateReq{Name: "shop"})
	require.NoError(t, err)
	dbs, _, _, err := c.Database.ListDBs(ctx, db.ID)
	require.NoError(t, err)
	assert.Equal(t, []govultr.DatabaseDB{{Name: "defaultdb"}, {Name: "shop"}}, dbs)
	one, _, err := c.Database.GetDB(ctx, db.ID, "shop")
	require.NoError(t, err)
	assert.Equal(t, "shop", one.Name)
	require.NoError(t, c.Database.DeleteDB(ctx, db.ID, "shop"))
	require.ErrorContains(t, c.Database.DeleteDB(ctx, db.ID, "shop"), "not found")

	clock.Advance(30 * time.Hour)
	info, _, err := c.Database.GetBackupInformation(ctx, db.ID)
	require.NoError(t, err)
	assert.Equal(t, "2026-03-04", info.OldestBackup.Date)
	assert.Equal(t, "05:16:07", info.OldestBackup.Time, "the first backup when the database came up")
	assert.Equal(t, "2026-03-05", info.LatestBackup.Date)

	restored, _, err := c.Database.RestoreFromBackup(ctx, db.ID, &govultr.DatabaseBackupRestoreReq{Label: "shop-restored"})
	require.NoError(t, err)
	assert.Equal(t, "Rebuilding", restored.Status)
	assert.Equal(t, got.Plan, restored.Plan, "a restore keeps the plan")
	forked, _, err := c.Database.Fork(ctx, db.ID, &govultr.DatabaseForkReq{
		Label: "shop-fork", Region: "fra", Plan: "vultr-dbaas-business-cc-1-55-2", Type: "pitr", Date: "2026-03-05", Time: "01:00:00",
	})
	require.NoError(t, err)
	assert.Equal(t, "FRA", forked.Region)
	assert.Equal(t, 1, *forked.PlanReplicas, "a business plan has a replica")
	_, _, err = c.Database.Fork(ctx, db.ID, &govultr.DatabaseForkReq{
		Label: "too-old", Region: "ewr", Plan: "vultr-dbaas-startup-cc-1-55-2", Type: "pitr", Date: "2026-03-01", Time: "01:00:00",
	})
	require.ErrorContains(t, err, "outside the backup window")

	for _, id := range []string{db.ID, restored.ID, forked.ID} {
		require.NoError(t, c.Database.Delete(ctx, id))
	}
	_, _, err = c.Database.Get(ctx, db.ID)
	require.ErrorContains(t, err, "not found")
	require.Error(t, c.Database.Delete(ctx, db.ID), "a second delete")
}

// TestPagination reads a long list page by page with the cursors of
// meta.links, as the API documents.
func TestPagination(t *testing.T) {
	sim := vultrsim.New(vultrsim.Options{})
	c := serve(t, sim)
	ctx := context.Background()
	for i := range 7 {
		_, _, err := c.Database.Create(ctx, &govultr.DatabaseCreateReq{DatabaseEngine: "mysql", DatabaseEngineVersion: "8",
			Region: "ams", Plan: "vultr-dbaas-hobbyist-cc-1-25-1", Label: "db-" + strconv.Itoa(i)})
		require.NoError(t, err)
	}
	var labels []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		req, err := c.NewRequest(ctx, http.MethodGet, "/v2/databases?per_page=3&cursor="+cursor, nil)
		require.NoError(t, err)
		var page struct {
			Databases []govultr.Database `json:"databases"`
			Meta      govultr.Meta       `json:"meta"`
		}
		_, err = c.DoWithContext(ctx, req, &page)
		require.NoError(t, err)
		assert.Equal(t, 7, page.Meta.Total)
		for _, d := range page.Databases {
			labels = append(labels, d.Label)
		}
		if page.Meta.Links.Next == "" {
			break
		}
		cursor = page.Meta.Links.Next
	}
	assert.Equal(t, []string{"db-0", "db-1", "db-2", "db-3", "db-4", "db-5", "db-6"}, labels)
}

// TestErrorsAndRateLimit checks the error answers govultr reads: 401
// without a token, 422 for a bad create, 429 past the rate limit, and an
// injected 503.
func TestErrorsAndRateLimit(t *testing.T) {
	clock := fakeclock.New(epoch)
	sim := vultrsim.New(vultrsim.Options{Clock: clock, RateLimit: simkit.Rate{Limit: 2, Window: time.Second}})
	c := serve(t, sim)
	ctx := context.Background()

	tests := []struct {
		name string
		req  govultr.DatabaseCreateReq
		want string
	}{
		{"engine", govultr.DatabaseCreateReq{DatabaseEngine: "oracle", DatabaseEngineVersion: "8", Region: "ewr", Plan: "vultr-dbaas-hobbyist-cc-1-25-1", Label: "x"}, "Invalid database engine"},
		{"version", govultr.DatabaseCreateReq{DatabaseEngine: "pg", DatabaseEngineVersion: "9", Region: "ewr", Plan: "vultr-dbaas-hobbyist-cc-1-25-1", Label: "x"}, "Invalid database engine version"},
		{"region", govultr.DatabaseCreateReq{DatabaseEngine: "pg", DatabaseEngineVersion: "16", Region: "mars", Plan: "vultr-dbaas-hobbyist-cc-1-25-1", Label: "x"}, "Invalid region"},
		{"plan", govultr.DatabaseCreateReq{DatabaseEngine: "pg", DatabaseEngineVersion: "16", Region: "ewr", Plan: "huge", Label: "x"}, "Invalid plan"},
		{"label", govultr.DatabaseCreateReq{DatabaseEngine: "pg", DatabaseEngineVersion: "16", Region: "ewr", Plan: "vultr-dbaas-hobbyist-cc-1-25-1"}, "label"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock.Advance(time.Second)
			_, _, err := c.Database.Create(ctx, &tt.req)
			require.ErrorContains(t, err, tt.want)
		})
	}
	assert.Zero(t, sim.Writes()-int64(len(tests)), "every refused create was a write attempt, and nothing more")

	clock.Advance(time.Second)
	_, _, _, err := c.Database.List(ctx, nil)
	require.NoError(t, err)
	_, _, _, err = c.Database.List(ctx, nil)
	require.NoError(t, err)
	_, _, _, err = c.Database.List(ctx, nil)
	require.ErrorContains(t, err, "Rate limit reached")
	assert.EqualValues(t, 1, sim.RateLimited())

	clock.Advance(time.Second)
	sim.Inject(simkit.Fault{Op: "GET /v2/databases", Status: 503})
	_, _, _, err = c.Database.List(ctx, nil)
	require.ErrorContains(t, err, "Service Unavailable")

	clock.Advance(time.Second)
	anon := govultr.NewClient(nil)
	require.NoError(t, anon.SetBaseURL(c.BaseURL.String()))
	anon.SetRetryLimit(0)
	_, _, _, err = anon.Database.List(ctx, nil)
	require.ErrorContains(t, err, "Invalid API token")
}
