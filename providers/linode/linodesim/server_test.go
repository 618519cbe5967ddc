package linodesim_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/linode/linodego"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// start runs a simulator for the test and closes it at the end.
func start(t *testing.T, opts linodesim.Options) (*linodesim.Server, string) {
	t.Helper()
	sim, url, err := linodesim.Start(opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	return sim, url
}

// client is an unmodified linodego client pointed at the simulator, with
// short retry waits so that retried faults cost little time.
func client(t *testing.T, url string) *linodego.Client {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := linodego.NewClient(&http.Client{Transport: tr})
	c.SetToken("test-token")
	c.SetBaseURL(url)
	c.SetRetryCount(3)
	c.SetRetryWaitTime(time.Millisecond)
	c.SetRetryMaxWaitTime(20 * time.Millisecond)
	return &c
}

func TestLinodegoLifeCycle(t *testing.T) {
	clock := fakeclock.New(epoch)
	_, url := start(t, linodesim.Options{Clock: clock, ProvisionDelay: 10 * time.Minute})
	c := client(t, url)
	ctx := context.Background()

	engines, err := c.ListDatabaseEngines(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, engines, len(linodesim.Engines()))
	e, err := c.GetDatabaseEngine(ctx, nil, "mysql/8")
	require.NoError(t, err)
	assert.Equal(t, "mysql", e.Engine)
	types, err := c.ListDatabaseTypes(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, types, len(linodesim.Types()))
	typ, err := c.GetDatabaseType(ctx, nil, "g6-nanode-1")
	require.NoError(t, err)
	assert.Equal(t, 1024, typ.Memory)
	assert.Equal(t, 3, typ.Engines.PostgreSQL[1].Quantity)

	db, err := c.CreatePostgresDatabase(ctx, linodego.PostgresCreateOptions{
		Label: "pg-one", Region: "us-east", Type: "g6-nanode-1", Engine: "postgresql/16",
		AllowList: []string{"203.0.113.1", "192.0.1.0/24"}, ClusterSize: 3,
	})
	require.NoError(t, err)
	assert.Equal(t, linodego.DatabaseStatusProvisioning, db.Status)
	assert.Equal(t, []string{"192.0.1.0/24", "203.0.113.1/32"}, db.AllowList, "written back in CIDR form, sorted")
	assert.Equal(t, "16", db.Version)
	assert.Nil(t, db.OldestRestoreTime, "no restore window while provisioning")
	require.NotNil(t, db.Created)
	assert.Equal(t, epoch, db.Created.UTC())

	clock.Advance(9 * time.Minute)
	got, err := c.GetPostgresDatabase(ctx, db.ID)
	require.NoError(t, err)
	assert.Equal(t, linodego.DatabaseStatusProvisioning, got.Status)
	clock.Advance(time.Minute)
	got, err = c.GetPostgresDatabase(ctx, db.ID)
	require.NoError(t, err)
	assert.Equal(t, linodego.DatabaseStatusActive, got.Status)
	assert.Equal(t, "16.6", got.Version)
	require.NotNil(t, got.OldestRestoreTime)
	assert.Len(t, got.Members, 3)

	list := []string{"10.0.0.0/8"}
	upd, err := c.UpdatePostgresDatabase(ctx, db.ID, linodego.PostgresUpdateOptions{AllowList: &list})
	require.NoError(t, err)
	assert.Equal(t, []string{"10.0.0.0/8"}, upd.AllowList, "PUT replaces the list")

	cred, err := c.GetPostgresDatabaseCredentials(ctx, db.ID)
	require.NoError(t, err)
	require.NoError(t, c.ResetPostgresDatabaseCredentials(ctx, db.ID))
	cred2, err := c.GetPostgresDatabaseCredentials(ctx, db.ID)
	require.NoError(t, err)
	assert.NotEqual(t, cred.Password, cred2.Password)
	assert.Equal(t, cred.Username, cred2.Username)

	ssl, err := c.GetPostgresDatabaseSSL(ctx, db.ID)
	require.NoError(t, err)
	block, _ := pem.Decode(ssl.CACertificate)
	require.NotNil(t, block, "ca_certificate is base64 of a PEM")
	_, err = x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)

	require.NoError(t, c.PatchPostgresDatabase(ctx, db.ID))
	got, err = c.GetPostgresDatabase(ctx, db.ID)
	require.NoError(t, err)
	assert.Equal(t, linodego.DatabaseStatusUpdating, got.Status)
	_, err = c.UpdatePostgresDatabase(ctx, db.ID, linodego.PostgresUpdateOptions{AllowList: &list})
	require.Error(t, err, "a PUT needs an active database")
	clock.Advance(3 * time.Minute)

	require.NoError(t, c.SuspendPostgresDatabase(ctx, db.ID))
	got, err = c.GetPostgresDatabase(ctx, db.ID)
	require.NoError(t, err)
	assert.Equal(t, linodego.DatabaseStatusSuspended, got.Status)
	require.NoError(t, c.ResumePostgresDatabase(ctx, db.ID))
	got, err = c.GetPostgresDatabase(ctx, db.ID)
	require.NoError(t, err)
	assert.Equal(t, linodego.DatabaseStatusResuming, got.Status)
	clock.Advance(10 * time.Minute)
	got, err = c.GetPostgresDatabase(ctx, db.ID)
	require.NoError(t, err)
	assert.Equal(t, linodego.DatabaseStatusActive, got.Status)

	my, err := c.CreateMySQLDatabase(ctx, linodego.MySQLCreateOptions{
		Label: "my-one", Region: "us-east", Type: "g6-standard-1", Engine: "mysql/8"})
	require.NoError(t, err)
	_, err = c.GetPostgresDatabase(ctx, my.ID)
	assert.True(t, linodego.IsNotFound(err), "a MySQL database is not under the postgresql path")
	myGot, err := c.GetMySQLDatabase(ctx, my.ID)
	require.NoError(t, err)
	assert.Equal(t, "mysql", myGot.Engine)
	mys, err := c.ListMySQLDatabases(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, mys, 1)
	all, err := c.ListDatabases(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, all, 2)
	_, err = c.GetMySQLDatabaseCredentials(ctx, my.ID)
	require.NoError(t, err)
	_, err = c.GetMySQLDatabaseSSL(ctx, my.ID)
	require.NoError(t, err)

	require.NoError(t, c.DeletePostgresDatabase(ctx, db.ID))
	_, err = c.GetPostgresDatabase(ctx, db.ID)
	assert.True(t, linodego.IsNotFound(err))
	require.NoError(t, c.DeleteMySQLDatabase(ctx, my.ID))
	err = c.DeleteMySQLDatabase(ctx, my.ID)
	assert.True(t, linodego.IsNotFound(err))
}

func TestRejectsBadInput(t *testing.T) {
	_, url := start(t, linodesim.Options{})
	c := client(t, url)
	ctx := context.Background()
	_, err := c.CreatePostgresDatabase(ctx, linodego.PostgresCreateOptions{
		Label: "taken", Region: "us-east", Type: "g6-nanode-1", Engine: "postgresql/16"})
	require.NoError(t, err)

	good := linodego.PostgresCreateOptions{Label: "fine", Region: "us-east", Type: "g6-nanode-1", Engine: "postgresql/16"}
	tests := []struct {
		name  string
		edit  func(o *linodego.PostgresCreateOptions)
		field string
	}{
		{"region", func(o *linodego.PostgresCreateOptions) { o.Region = "mars-1" }, "region"},
		{"type", func(o *linodego.PostgresCreateOptions) { o.Type = "g6-huge-9" }, "type"},
		{"engine", func(o *linodego.PostgresCreateOptions) { o.Engine = "postgresql/9" }, "engine"},
		{"engine of the other path", func(o *linodego.PostgresCreateOptions) { o.Engine = "mysql/8" }, "engine"},
		{"short label", func(o *linodego.PostgresCreateOptions) { o.Label = "ab" }, "label"},
		{"label characters", func(o *linodego.PostgresCreateOptions) { o.Label = "-bad label" }, "label"},
		{"label in use", func(o *linodego.PostgresCreateOptions) { o.Label = "taken" }, "label"},
		{"cluster size", func(o *linodego.PostgresCreateOptions) { o.ClusterSize = 2 }, "cluster_size"},
		{"allow list", func(o *linodego.PostgresCreateOptions) { o.AllowList = []string{"10.0.0.1/8"} }, "allow_list"},
		{"allow list ipv6", func(o *linodego.PostgresCreateOptions) { o.AllowList = []string{"2001:db8::/32"} }, "allow_list"},
		{"fork source", func(o *linodego.PostgresCreateOptions) { o.Fork = &linodego.DatabaseFork{Source: 99} }, "fork.source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.edit(&o)
			_, err := c.CreatePostgresDatabase(ctx, o)
			require.Error(t, err)
			assert.True(t, linodego.ErrHasStatus(err, http.StatusBadRequest), "%v", err)
			assert.Contains(t, err.Error(), "["+tt.field+"]")
		})
	}
	dbs, err := c.ListPostgresDatabases(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, dbs, 1, "no refused create left anything behind")
}

func TestUnauthorized(t *testing.T) {
	_, url := start(t, linodesim.Options{Token: "right"})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	for _, token := range []string{"", "wrong"} {
		c := linodego.NewClient(&http.Client{Transport: tr})
		c.SetBaseURL(url)
		if token != "" {
			c.SetToken(token)
		}
		_, err := c.ListDatabases(context.Background(), nil)
		assert.True(t, linodego.ErrHasStatus(err, http.StatusUnauthorized), "token %q: %v", token, err)
	}
}

// get makes a raw request, to check the wire format itself.
func get(t *testing.T, url, path string, header map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer x")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var body map[string]any
	require.NoError(t, json.Unmarshal(b, &body), string(b))
	return resp, body
}

func TestWireFormat(t *testing.T) {
	_, url := start(t, linodesim.Options{})
	c := client(t, url)
	ctx := context.Background()
	for i := range 30 {
		_, err := c.CreateMySQLDatabase(ctx, linodego.MySQLCreateOptions{
			Label: fmt.Sprintf("db-%02d", i), Region: "us-east", Type: "g6-nanode-1", Engine: "mysql/8"})
		require.NoError(t, err)
	}
	all, err := c.ListMySQLDatabases(ctx, &linodego.ListOptions{PageSize: 25})
	require.NoError(t, err)
	assert.Len(t, all, 30, "linodego reads every page")

	resp, body := get(t, url, "/v4/databases/mysql/instances?page=2&page_size=25", nil)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.EqualValues(t, 2, body["page"])
	assert.EqualValues(t, 2, body["pages"])
	assert.EqualValues(t, 30, body["results"])
	assert.Len(t, body["data"], 5)
	first := body["data"].([]any)[0].(map[string]any)
	_, err = time.Parse("2006-01-02T15:04:05", first["created"].(string))
	assert.NoError(t, err, "timestamps carry no zone")

	resp, body = get(t, url, "/v4/databases/mysql/instances", map[string]string{"X-Filter": `{"label":"db-07"}`})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.EqualValues(t, 1, body["results"])

	resp, body = get(t, url, "/v4/databases/mysql/instances?page_size=5", nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	errs := body["errors"].([]any)[0].(map[string]any)
	assert.Equal(t, "page_size", errs["field"])

	resp, _ = get(t, url, "/v4/databases/mysql/instances/1", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestRateLimit(t *testing.T) {
	clock := fakeclock.New(epoch)
	sim, url := start(t, linodesim.Options{Clock: clock, RateLimit: simkit.Rate{Limit: 3}, ListRateLimit: simkit.Rate{Limit: 2}})
	for i := range 2 {
		resp, _ := get(t, url, "/v4/databases/instances", nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "request %d", i)
		assert.Equal(t, "3", resp.Header.Get("X-RateLimit-Limit"))
		assert.Equal(t, fmt.Sprint(2-i), resp.Header.Get("X-RateLimit-Remaining"))
	}
	resp, _ := get(t, url, "/v4/databases/instances", nil)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the collection limit is spent")
	resp, _ = get(t, url, "/v4/databases/engines/mysql%2F8", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a single GET still counts only against the general limit")
	resp, _ = get(t, url, "/v4/databases/engines/mysql%2F8", nil)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "60", resp.Header.Get("Retry-After"))
	assert.Equal(t, fmt.Sprint(epoch.Add(time.Minute).Unix()), resp.Header.Get("X-RateLimit-Reset"))
	clock.Advance(59 * time.Second)
	resp, _ = get(t, url, "/v4/databases/engines/mysql%2F8", nil)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	clock.Advance(time.Second)
	resp, _ = get(t, url, "/v4/databases/engines/mysql%2F8", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "a new window")
	assert.EqualValues(t, 7, sim.TotalCalls())
	assert.EqualValues(t, 3, sim.RateLimited())
}

func TestFaults(t *testing.T) {
	sim, url := start(t, linodesim.Options{})
	c := client(t, url)
	ctx := context.Background()

	sim.Inject(linodesim.Fault{Op: "GET /v4/databases/instances", Status: http.StatusServiceUnavailable, Times: 2})
	_, err := c.ListDatabases(ctx, nil)
	require.NoError(t, err, "linodego retries a 503")
	assert.EqualValues(t, 3, sim.Calls("GET /v4/databases/instances"))

	sim.Inject(linodesim.Fault{Op: "GET /v4/databases/*", Status: http.StatusInternalServerError})
	_, err = c.ListDatabases(ctx, nil)
	assert.True(t, linodego.ErrHasStatus(err, http.StatusInternalServerError), "%v", err)

	// net/http resends a GET once on its own when a reused connection
	// closes, so drop every GET for this check.
	sim.Inject(linodesim.Fault{Op: "GET *", Drop: true, Times: -1})
	_, err = c.ListDatabases(ctx, nil)
	require.Error(t, err, "a dropped connection is an error")
	hits := sim.FaultHits()
	sim.ClearFaults()

	sim.Inject(linodesim.Fault{Op: "POST *", Drop: true, AfterHandling: true})
	_, err = c.CreateMySQLDatabase(ctx, linodego.MySQLCreateOptions{
		Label: "ambiguous", Region: "us-east", Type: "g6-nanode-1", Engine: "mysql/8"})
	require.Error(t, err, "the answer was dropped")
	dbs, err := c.ListMySQLDatabases(ctx, nil)
	require.NoError(t, err)
	require.Len(t, dbs, 1, "but the create took effect")
	assert.Equal(t, "ambiguous", dbs[0].Label)

	sim.Inject(linodesim.Fault{Latency: time.Hour})
	held, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := c.GetMySQLDatabase(held, dbs[0].ID)
		done <- err
	}()
	require.Eventually(t, func() bool { return sim.FaultHits() == 2 }, 10*time.Second, time.Millisecond, "the request is held")
	select {
	case err := <-done:
		t.Fatalf("a request held by latency was answered: %v", err)
	default:
	}
	cancel()
	require.Error(t, <-done, "the caller gives up on a slow answer")
	assert.GreaterOrEqual(t, hits, int64(4))
	assert.True(t, strings.HasPrefix(url, "http://127.0.0.1:"))
}

// TestCloseEndsHeldRequests: Close returns while a request waits on
// injected latency, and leaves no goroutine behind (TestMain checks).
func TestCloseEndsHeldRequests(t *testing.T) {
	sim, url, err := linodesim.Start(linodesim.Options{})
	require.NoError(t, err)
	c := client(t, url)
	sim.Inject(linodesim.Fault{Latency: time.Hour})
	done := make(chan error, 1)
	go func() {
		_, err := c.ListDatabases(context.Background(), nil)
		done <- err
	}()
	require.Eventually(t, func() bool { return sim.FaultHits() == 1 }, 10*time.Second, time.Millisecond)
	require.NoError(t, sim.Close())
	require.Error(t, <-done)
	require.NoError(t, sim.Close(), "Close twice")
}
