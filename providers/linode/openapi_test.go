package linode_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/linode/linodego"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/providers/linode"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
)

// relax lets every object of the description hold properties it does not
// list: the 4.189 description predates fields the API sends today
// (platform, members, oldest_restore_time, …: the recordings show them),
// and the check here is of the fields it does describe.
func relax(s *openapi3.Schema, seen map[*openapi3.Schema]bool) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	s.AdditionalProperties = openapi3.AdditionalProperties{}
	for name, p := range s.Properties {
		if p.Value != nil {
			switch name {
			case "duration":
				// Maintenance windows of 4 hours are in the recordings;
				// the description still caps them at 3.
				p.Value.Max = nil
			case "used_disk_size_gb":
				// The recorded create answer has null here.
				p.Value.Nullable = true
			}
		}
		relax(p.Value, seen)
	}
	if s.Items != nil {
		relax(s.Items.Value, seen)
	}
	for _, list := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
		for _, r := range list {
			relax(r.Value, seen)
		}
	}
}

// linodeRouter loads the Linode OpenAPI description beside the
// repository, or skips.
func linodeRouter(t *testing.T) routers.Router {
	t.Helper()
	path := filepath.Join(filepath.Dir(recordings(t)), "openapi-4.189.0.yaml")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("the Linode OpenAPI description is not at %s: skipping the spec check", path)
	}
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	require.NoError(t, err)
	// The description says date-time, and its examples, like the API,
	// carry no zone ("2022-01-01T00:01:01"); hold timestamps to that.
	// (Response validation reads only the global format table, and no
	// other test of this package uses kin-openapi.)
	openapi3.DefineStringFormatValidator("date-time", openapi3.NewRegexpFormatValidator(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$`))
	seen := map[*openapi3.Schema]bool{}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					relax(mt.Schema.Value, seen)
				}
			}
			for _, resp := range op.Responses.Map() {
				if resp.Value == nil {
					continue
				}
				for _, mt := range resp.Value.Content {
					relax(mt.Schema.Value, seen)
				}
			}
		}
	}
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation(), openapi3.DisableSchemaPatternValidation())
	require.NoError(t, err)
	return router
}

// specCheck validates every request that reaches the simulator, and its
// answer, against the description; routes the description lacks (newer
// than 4.189) are noted and passed through.
type specCheck struct {
	t      *testing.T
	router routers.Router
	next   http.Handler

	mu        sync.Mutex
	checked   map[string]int
	undefined map[string]int
}

func (c *specCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	require.NoError(c.t, err)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	c.next.ServeHTTP(rec, r)
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())

	probe := httptest.NewRequest(r.Method, "https://api.linode.com"+r.URL.RequestURI(), bytes.NewReader(body))
	probe.Header = r.Header.Clone()
	key := r.Method + " " + r.URL.Path
	route, params, err := c.router.FindRoute(probe)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.undefined[key]++
		return
	}
	c.checked[route.Method+" "+route.Path]++
	in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	assert.NoError(c.t, openapi3filter.ValidateRequest(context.Background(), in), "request %s %s", key, body)
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	assert.NoError(c.t, openapi3filter.ValidateResponse(context.Background(), out), "response to %s: %d %s", key, rec.Code, rec.Body)
}

// TestTrafficMatchesOpenAPI drives the adapter (and linodego for the
// catalog endpoints) against the simulator and validates what both sides
// send against Linode's OpenAPI description.
func TestTrafficMatchesOpenAPI(t *testing.T) {
	router := linodeRouter(t)
	clock := fakeclock.NewAuto(epoch)
	sim := linodesim.New(linodesim.Options{Clock: clock, ProvisionDelay: linode.TypicalProvisioning})
	check := &specCheck{t: t, router: router, next: sim, checked: map[string]int{}, undefined: map[string]int{}}
	srv := httptest.NewServer(check)
	t.Cleanup(func() {
		srv.Close()
		require.NoError(t, sim.Close())
	})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	p, err := linode.New(context.Background(), dbaas.Config{Token: dbaas.NewSecret("spec"), BaseURL: srv.URL, Region: "us-east",
		HTTPClient: &http.Client{Transport: tr}, Settings: map[string]string{linode.SettingRetries: "0"}}, linode.WithClock(clock))
	require.NoError(t, err)
	ctx := context.Background()

	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		s := spec("spec-"+string(engine), engine)
		s.Nodes = 3
		s.Access = []dbaas.Source{dbaas.CIDR("203.0.113.1/32")}
		inst, err := p.Create(ctx, s)
		require.NoError(t, err)
		_, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{Clock: clock})
		require.NoError(t, err)
		require.NoError(t, p.Allow(ctx, inst.ID, dbaas.CIDR("192.0.2.0/24")))
		require.NoError(t, p.Revoke(ctx, inst.ID, dbaas.CIDR("203.0.113.1/32")))
		_, err = p.Connection(ctx, inst.ID)
		require.NoError(t, err)
		_, err = p.Backups(ctx, inst.ID)
		require.NoError(t, err)
		bad := spec("spec-bad-"+string(engine), engine)
		bad.Region = "mars-1"
		_, err = p.Create(ctx, bad)
		require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
		require.NoError(t, p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
		_, err = p.Get(ctx, inst.ID)
		require.ErrorIs(t, err, dbaas.ErrNotFound)
	}
	_, err = p.List(ctx)
	require.NoError(t, err)
	var client *linodego.Client
	require.True(t, p.As(&client))
	_, err = client.ListDatabaseEngines(ctx, nil)
	require.NoError(t, err)
	_, err = client.GetDatabaseEngine(ctx, nil, "postgresql/16")
	require.NoError(t, err)
	_, err = client.ListDatabaseTypes(ctx, nil)
	require.NoError(t, err)
	_, err = client.GetDatabaseType(ctx, nil, "g6-standard-1")
	require.NoError(t, err)

	check.mu.Lock()
	defer check.mu.Unlock()
	for _, route := range []string{
		"POST /{apiVersion}/databases/postgresql/instances", "GET /{apiVersion}/databases/postgresql/instances/{instanceId}",
		"PUT /{apiVersion}/databases/postgresql/instances/{instanceId}", "DELETE /{apiVersion}/databases/postgresql/instances/{instanceId}",
		"GET /{apiVersion}/databases/postgresql/instances/{instanceId}/credentials", "GET /{apiVersion}/databases/postgresql/instances/{instanceId}/ssl",
		"POST /{apiVersion}/databases/mysql/instances", "GET /{apiVersion}/databases/mysql/instances/{instanceId}",
		"PUT /{apiVersion}/databases/mysql/instances/{instanceId}", "GET /{apiVersion}/databases/instances",
		"GET /{apiVersion}/databases/engines", "GET /{apiVersion}/databases/engines/{engineId}",
		"GET /{apiVersion}/databases/types", "GET /{apiVersion}/databases/types/{typeId}",
	} {
		assert.Positive(t, check.checked[route], "%s was checked", route)
	}
	assert.Empty(t, check.undefined, fmt.Sprintf("requests on routes the description lacks: %v", check.undefined))
}
