package dosim_test

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"golang.org/x/oauth2"

	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// start serves a simulator and returns it with an unmodified godo client
// authenticated the way godo documents (an oauth2 client).
func start(t *testing.T, opts dosim.Options, token string) (*dosim.Server, *godo.Client) {
	t.Helper()
	sim, url, err := dosim.Start(opts)
	require.NoError(t, err)
	hc := oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}))
	hc.Transport.(*oauth2.Transport).Base = &http.Transport{}
	client, err := godo.New(hc, godo.SetBaseURL(url))
	require.NoError(t, err)
	t.Cleanup(func() {
		hc.CloseIdleConnections()
		require.NoError(t, sim.Close())
	})
	return sim, client
}

func createReq(name string) *godo.DatabaseCreateRequest {
	return &godo.DatabaseCreateRequest{Name: name, EngineSlug: "pg", Version: "16", SizeSlug: "db-s-1vcpu-1gb", Region: "fra1", NumNodes: 1}
}

func apiError(t *testing.T, err error, status int) *godo.ErrorResponse {
	t.Helper()
	var er *godo.ErrorResponse
	require.True(t, errors.As(err, &er), "want *godo.ErrorResponse, got %v", err)
	assert.Equal(t, status, er.Response.StatusCode)
	assert.NotEmpty(t, er.Message)
	assert.NotEmpty(t, er.RequestID, "error bodies carry a request_id")
	return er
}

func TestGodoLifeCycle(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	sim, client := start(t, dosim.Options{Clock: clock, ProvisionDelay: 7 * time.Minute}, "tok")
	ctx := context.Background()

	opts, _, err := client.Databases.ListOptions(ctx)
	require.NoError(t, err)
	assert.Contains(t, opts.PostgresSQLOptions.Versions, "16")
	assert.Contains(t, opts.MySQLOptions.Regions, "fra1")

	db, resp, err := client.Databases.Create(ctx, createReq("orders"))
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "creating", db.Status)
	assert.Equal(t, 25060, db.Connection.Port)
	assert.NotContains(t, db.Connection.Host, ":")
	assert.Equal(t, "private-"+db.Connection.Host, db.PrivateConnection.Host)
	assert.Equal(t, "doadmin", db.Connection.User)
	assert.NotEmpty(t, db.Connection.Password)
	assert.NotEmpty(t, db.PrivateNetworkUUID, "a cluster joins the region's default VPC")

	clock.Advance(6 * time.Minute)
	got, _, err := client.Databases.Get(ctx, db.ID)
	require.NoError(t, err)
	assert.Equal(t, "creating", got.Status)
	backups, _, err := client.Databases.ListBackups(ctx, db.ID, nil)
	require.NoError(t, err)
	assert.Empty(t, backups, "no backup before the cluster is online")

	clock.Advance(time.Minute)
	got, _, err = client.Databases.Get(ctx, db.ID)
	require.NoError(t, err)
	assert.Equal(t, "online", got.Status)

	clock.Advance(48 * time.Hour)
	backups, _, err = client.Databases.ListBackups(ctx, db.ID, nil)
	require.NoError(t, err)
	require.Len(t, backups, 3, "one when online, then daily")
	assert.Equal(t, 24*time.Hour, backups[1].CreatedAt.Sub(backups[0].CreatedAt))

	clock.Advance(10 * 24 * time.Hour)
	backups, _, err = client.Databases.ListBackups(ctx, db.ID, nil)
	require.NoError(t, err)
	assert.Len(t, backups, 7, "backups are kept seven days")

	ca, _, err := client.Databases.GetCA(ctx, db.ID)
	require.NoError(t, err)
	block, _ := pem.Decode(ca.Certificate)
	require.NotNil(t, block, "the CA certificate is a PEM (base64 on the wire)")
	assert.Equal(t, "CERTIFICATE", block.Type)

	vpc, _, err := client.VPCs.Get(ctx, db.PrivateNetworkUUID)
	require.NoError(t, err)
	assert.Equal(t, "fra1", vpc.RegionSlug)
	assert.True(t, vpc.Default)
	assert.NotEmpty(t, vpc.IPRange)

	// Restore forks a new cluster from a backup.
	req := createReq("orders-restored")
	req.BackupRestore = &godo.DatabaseBackupRestore{DatabaseName: "orders", BackupCreatedAt: backups[2].CreatedAt.Format(time.RFC3339)}
	fork, _, err := client.Databases.Create(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, "forking", fork.Status)
	req.Name = "orders-restored2"
	req.BackupRestore.BackupCreatedAt = "2020-01-01T00:00:00Z"
	_, _, err = client.Databases.Create(ctx, req)
	apiError(t, err, http.StatusUnprocessableEntity)

	_, err = client.Databases.Delete(ctx, db.ID)
	require.NoError(t, err)
	_, _, err = client.Databases.Get(ctx, db.ID)
	er := apiError(t, err, http.StatusNotFound)
	assert.Contains(t, er.Message, "could not be found")
	_, err = client.Databases.Delete(ctx, db.ID)
	apiError(t, err, http.StatusNotFound)
	assert.Equal(t, int64(2), sim.Calls("DELETE /v2/databases/{id}"))
}

func TestGodoFirewallReplacesAllRules(t *testing.T) {
	_, client := start(t, dosim.Options{}, "tok")
	ctx := context.Background()
	db, _, err := client.Databases.Create(ctx, createReq("fw-test"))
	require.NoError(t, err)

	rules := []*godo.DatabaseFirewallRule{
		{Type: "ip_addr", Value: "192.168.1.1"}, {Type: "droplet", Value: "163973392"},
		{Type: "tag", Value: "web"}, {Type: "k8s", Value: "ff2a6c52-5a44-4b63-b99c-0e98e7a63d61"},
		{Type: "app", Value: "0e3dbd4b-7b4a-4b7c-9a35-2b9b7d0c3f11"}, {Type: "ip_addr", Value: "10.0.0.0/16"},
	}
	resp, err := client.Databases.UpdateFirewallRules(ctx, db.ID, &godo.DatabaseUpdateFirewallRulesRequest{Rules: rules})
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	got, _, err := client.Databases.GetFirewallRules(ctx, db.ID)
	require.NoError(t, err)
	require.Len(t, got, 6)
	for _, r := range got {
		assert.NotEmpty(t, r.UUID)
		assert.Equal(t, db.ID, r.ClusterUUID)
	}
	keep := got[2]

	_, err = client.Databases.UpdateFirewallRules(ctx, db.ID, &godo.DatabaseUpdateFirewallRulesRequest{Rules: []*godo.DatabaseFirewallRule{{Type: keep.Type, Value: keep.Value}}})
	require.NoError(t, err)
	got, _, err = client.Databases.GetFirewallRules(ctx, db.ID)
	require.NoError(t, err)
	require.Len(t, got, 1, "PUT replaces every rule")
	assert.Equal(t, keep.UUID, got[0].UUID, "a rule kept keeps its uuid")

	for _, bad := range []godo.DatabaseFirewallRule{
		{Type: "ip_addr", Value: "10.0.0.1/8"}, {Type: "ip_addr", Value: "not-an-ip"}, {Type: "droplet", Value: "abc"},
		{Type: "k8s", Value: "nope"}, {Type: "vpc", Value: "x"}, {Type: "", Value: "1.2.3.4"},
	} {
		_, err = client.Databases.UpdateFirewallRules(ctx, db.ID, &godo.DatabaseUpdateFirewallRulesRequest{Rules: []*godo.DatabaseFirewallRule{&bad}})
		er := apiError(t, err, http.StatusUnprocessableEntity)
		assert.Contains(t, er.Message, "rules[0]", bad)
	}
	got, _, err = client.Databases.GetFirewallRules(ctx, db.ID)
	require.NoError(t, err)
	assert.Len(t, got, 1, "a refused PUT changes nothing")
}

func TestGodoCreateRefusesInvalidInput(t *testing.T) {
	_, client := start(t, dosim.Options{}, "tok")
	ctx := context.Background()
	_, _, err := client.Databases.Create(ctx, createReq("taken"))
	require.NoError(t, err)

	tests := []struct {
		name string
		edit func(r *godo.DatabaseCreateRequest)
		want string
	}{
		{"region", func(r *godo.DatabaseCreateRequest) { r.Region = "mars1" }, "region"},
		{"size", func(r *godo.DatabaseCreateRequest) { r.SizeSlug = "db-s-64vcpu-1tb" }, "size"},
		{"size for nodes", func(r *godo.DatabaseCreateRequest) { r.NumNodes = 2 }, "size"},
		{"version", func(r *godo.DatabaseCreateRequest) { r.Version = "9" }, "version"},
		{"engine", func(r *godo.DatabaseCreateRequest) { r.EngineSlug = "oracle" }, "engine"},
		{"name", func(r *godo.DatabaseCreateRequest) { r.Name = "Bad_Name" }, "name"},
		{"name taken", func(r *godo.DatabaseCreateRequest) { r.Name = "taken" }, "already in use"},
		{"nodes", func(r *godo.DatabaseCreateRequest) { r.NumNodes = 4 }, "num_nodes"},
		{"storage", func(r *godo.DatabaseCreateRequest) { r.StorageSizeMib = 100 }, "storage_size_mib"},
		{"vpc", func(r *godo.DatabaseCreateRequest) { r.PrivateNetworkUUID = "d455e75d-4858-4eec-8c95-da2f0a5f93a7" }, "private_network_uuid"},
		{"tag", func(r *godo.DatabaseCreateRequest) { r.Tags = []string{"a b"} }, "tags"},
		{"tag too long", func(r *godo.DatabaseCreateRequest) { r.Tags = []string{strings.Repeat("t", 256)} }, "tags"},
		{"tag empty", func(r *godo.DatabaseCreateRequest) { r.Tags = []string{""} }, "tags"},
		{"rule", func(r *godo.DatabaseCreateRequest) {
			r.Rules = []*godo.DatabaseCreateFirewallRule{{Type: "ip_addr", Value: "x"}}
		}, "rules[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := createReq("fresh")
			tt.edit(req)
			_, _, err := client.Databases.Create(ctx, req)
			er := apiError(t, err, http.StatusUnprocessableEntity)
			assert.Contains(t, er.Message, tt.want)
		})
	}
	all, _, err := client.Databases.List(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, all, 1, "nothing is created by a refused request")
}

func TestGodoListPaginates(t *testing.T) {
	_, client := start(t, dosim.Options{}, "tok")
	ctx := context.Background()
	names := []string{"aaa", "bbb", "ccc", "ddd", "eee"}
	for _, n := range names {
		_, _, err := client.Databases.Create(ctx, createReq(n))
		require.NoError(t, err)
	}
	var got []string
	for page := 1; page <= 3; page++ {
		dbs, _, err := client.Databases.List(ctx, &godo.ListOptions{Page: page, PerPage: 2})
		require.NoError(t, err)
		for _, d := range dbs {
			got = append(got, d.Name)
		}
	}
	assert.Equal(t, names, got)

	vpcs, resp, err := client.VPCs.List(ctx, &godo.ListOptions{PerPage: 5})
	require.NoError(t, err)
	assert.Len(t, vpcs, 5)
	require.NotNil(t, resp.Links)
	assert.False(t, resp.Links.IsLastPage())
	require.NotNil(t, resp.Meta)
	assert.Greater(t, resp.Meta.Total, 5)
}

func TestGodoAuthentication(t *testing.T) {
	_, client := start(t, dosim.Options{Token: "right"}, "wrong")
	_, _, err := client.Databases.List(context.Background(), nil)
	er := apiError(t, err, http.StatusUnauthorized)
	assert.Contains(t, er.Message, "authenticate")

	_, url, err := func() (*dosim.Server, string, error) {
		sim, url, err := dosim.Start(dosim.Options{})
		if err == nil {
			t.Cleanup(func() { _ = sim.Close() })
		}
		return sim, url, err
	}()
	require.NoError(t, err)
	noAuth, err := godo.New(&http.Client{Transport: &http.Transport{}}, godo.SetBaseURL(url))
	require.NoError(t, err)
	_, _, err = noAuth.Databases.List(context.Background(), nil)
	apiError(t, err, http.StatusUnauthorized)
	noAuth.HTTPClient.CloseIdleConnections()
}

func TestRateLimitHeadersAnd429(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	sim, client := start(t, dosim.Options{Clock: clock, RateLimit: simkit.Rate{Limit: 3}}, "tok")
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		_, resp, err := client.Databases.List(ctx, nil)
		require.NoError(t, err)
		assert.Equal(t, 3, resp.Rate.Limit)
		assert.Equal(t, 2-i, resp.Rate.Remaining)
		// A request comes back every 20 s: the oldest expires then.
		assert.Equal(t, clock.Now().Add(20*time.Second).Unix(), resp.Rate.Reset.Unix())
	}
	// The oauth2 godo client has no retries configured here: the 429 shows.
	_, resp, err := client.Databases.List(ctx, nil)
	apiError(t, err, http.StatusTooManyRequests)
	assert.Equal(t, "20", resp.Header.Get("Retry-After"), "one request comes back every 20 s")
	clock.Advance(20 * time.Second)
	_, _, err = client.Databases.List(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(5), sim.Calls("GET /v2/databases"))
}

func TestFaults(t *testing.T) {
	sim, client := start(t, dosim.Options{}, "tok")
	ctx := context.Background()

	sim.Inject(dosim.Fault{Op: "GET /v2/databases", Status: 503}, dosim.Fault{Op: "GET /v2/databases", Status: 429, RetryAfter: 1500 * time.Millisecond})
	_, _, err := client.Databases.List(ctx, nil)
	apiError(t, err, http.StatusServiceUnavailable)
	_, resp, err := client.Databases.List(ctx, nil)
	apiError(t, err, http.StatusTooManyRequests)
	assert.Equal(t, "2", resp.Header.Get("Retry-After"))
	_, _, err = client.Databases.List(ctx, nil)
	require.NoError(t, err, "faults are used up in order")

	sim.Inject(dosim.Fault{Op: "POST /v2/databases", Drop: true})
	_, _, err = client.Databases.Create(ctx, createReq("dropped"))
	require.Error(t, err)
	all, _, err := client.Databases.List(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, all, "a request dropped before handling changes nothing")

	sim.Inject(dosim.Fault{Op: "POST /v2/databases", Drop: true, AfterHandling: true})
	_, _, err = client.Databases.Create(ctx, createReq("ambiguous"))
	require.Error(t, err)
	all, _, err = client.Databases.List(ctx, nil)
	require.NoError(t, err)
	require.Len(t, all, 1, "a request dropped after handling took effect")
	assert.Equal(t, "ambiguous", all[0].Name)

	sim.Inject(dosim.Fault{Op: "GET /v2/databases/options", Latency: 50 * time.Millisecond})
	began := time.Now()
	_, _, err = client.Databases.ListOptions(ctx)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(began), 50*time.Millisecond)
	assert.Equal(t, int64(2), sim.Calls("POST /v2/databases"))
}

func TestConcurrentRequests(t *testing.T) {
	sim, client := start(t, dosim.Options{}, "tok")
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = client.Databases.Create(ctx, createReq("same-name"))
			_, _, _ = client.Databases.List(ctx, nil)
		}()
	}
	wg.Wait()
	all, _, err := client.Databases.List(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, all, 1, "a name is taken once")
	assert.Equal(t, int64(16), sim.Calls("POST /v2/databases"))
}

func TestCloseUnblocksSlowRequests(t *testing.T) {
	sim, url, err := dosim.Start(dosim.Options{Latency: time.Hour})
	require.NoError(t, err)
	client, err := godo.New(oauth2.NewClient(context.Background(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})), godo.SetBaseURL(url))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, _, err := client.Databases.List(context.Background(), nil)
		done <- err
	}()
	require.Eventually(t, func() bool { return sim.TotalCalls() == 1 }, 5*time.Second, 5*time.Millisecond)
	require.NoError(t, sim.Close())
	assert.Error(t, <-done)
	client.HTTPClient.CloseIdleConnections()
}

func TestHourlyQuota(t *testing.T) {
	clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	_, client := start(t, dosim.Options{Clock: clock, RateLimit: simkit.Rate{Limit: 250}, HourlyRateLimit: simkit.Rate{Limit: 300, Window: time.Hour}}, "tok")
	ctx := context.Background()
	_, resp, err := client.Databases.List(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, 300, resp.Rate.Limit, "the headers report the hourly quota")
	assert.Equal(t, 299, resp.Rate.Remaining)
	for i := 0; i < 249; i++ {
		_, _, err = client.Databases.List(ctx, nil)
		require.NoError(t, err)
	}
	_, resp, err = client.Databases.List(ctx, nil)
	apiError(t, err, http.StatusTooManyRequests)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"), "the minute's bucket gives one request back every 240 ms")
	// A minute on, the minute's bucket is full again, and the hour has
	// 50 left plus 5 given back (one every 12 s).
	clock.Advance(time.Minute)
	for i := 0; i < 55; i++ {
		_, _, err = client.Databases.List(ctx, nil)
		require.NoError(t, err, "request %d", i)
	}
	_, resp, err = client.Databases.List(ctx, nil)
	apiError(t, err, http.StatusTooManyRequests)
	assert.Equal(t, "0", resp.Header.Get("RateLimit-Remaining"))
	assert.Equal(t, "12", resp.Header.Get("Retry-After"), "the hour gives one request back every 12 s")
}
