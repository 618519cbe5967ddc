package dosim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

// specRouter loads the official OpenAPI description from ../shared/specs
// beside the repository, or skips the test when it is absent.
func specRouter(t *testing.T) routers.Router {
	t.Helper()
	path := testenv.SpecsDir(t, "digitalocean", "openapi-bundled.yaml")
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	require.NoError(t, err)
	// The description holds an invalid example elsewhere in the API;
	// examples are not what is checked here.
	router, err := legacy.NewRouter(doc, openapi3.DisableExamplesValidation())
	require.NoError(t, err)
	return router
}

type exchange struct {
	method, path string
	body         any
	token        string
	status       int
}

// TestResponsesMatchOpenAPI sends the adapter's requests, and the error
// cases, to the simulator and validates every response (status, headers,
// body) against the official description.
func TestResponsesMatchOpenAPI(t *testing.T) {
	router := specRouter(t)
	clock := fakeclock.New(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	sim := dosim.New(dosim.Options{Clock: clock, ProvisionDelay: 5 * time.Minute, RateLimit: simkit.Rate{Limit: 100}})
	t.Cleanup(func() { require.NoError(t, sim.Close()) })

	do := func(x exchange) []byte {
		t.Helper()
		var body io.Reader = http.NoBody
		var raw []byte
		if x.body != nil {
			var err error
			raw, err = json.Marshal(x.body)
			require.NoError(t, err)
			body = bytes.NewReader(raw)
		}
		req := httptest.NewRequest(x.method, "https://api.digitalocean.com"+x.path, body)
		if x.token != "-" {
			req.Header.Set("Authorization", "Bearer tok")
		}
		if x.body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		require.Equal(t, x.status, rec.Code, "%s %s: %s", x.method, x.path, rec.Body.String())

		route, params, err := router.FindRoute(req)
		require.NoError(t, err, "%s %s is in the description", x.method, x.path)
		in := &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		}
		if x.body != nil {
			req.Body = io.NopCloser(bytes.NewReader(raw))
		}
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
			Body:    io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}
		require.NoError(t, openapi3filter.ValidateResponse(context.Background(), out), "%s %s answered %s", x.method, x.path, rec.Body.String())
		return rec.Body.Bytes()
	}

	create := map[string]any{
		"name": "backend", "engine": "pg", "version": "16", "region": "nyc3", "size": "db-s-2vcpu-4gb",
		"num_nodes": 2, "storage_size_mib": 61440, "tags": []string{"production"},
		"rules": []map[string]string{{"type": "ip_addr", "value": "192.168.1.1"}, {"type": "tag", "value": "web"}},
	}
	do(exchange{method: "GET", path: "/v2/databases/options", status: 200})
	var created struct {
		Database struct {
			ID                 string `json:"id"`
			PrivateNetworkUUID string `json:"private_network_uuid"`
		} `json:"database"`
	}
	require.NoError(t, json.Unmarshal(do(exchange{method: "POST", path: "/v2/databases", body: create, status: 201}), &created))
	id := created.Database.ID
	do(exchange{method: "GET", path: "/v2/databases", status: 200})
	do(exchange{method: "GET", path: "/v2/databases?tag_name=production&page=1&per_page=1", status: 200})
	do(exchange{method: "GET", path: "/v2/databases/" + id, status: 200})
	do(exchange{method: "GET", path: "/v2/databases/" + id + "/ca", status: 200})
	do(exchange{method: "PUT", path: "/v2/databases/" + id + "/firewall", status: 204,
		body: map[string]any{"rules": []map[string]string{{"type": "droplet", "value": "163973392"}, {"type": "k8s", "value": "ff2a6c52-5a44-4b63-b99c-0e98e7a63d61"}}}})
	do(exchange{method: "GET", path: "/v2/databases/" + id + "/firewall", status: 200})
	do(exchange{method: "GET", path: "/v2/databases/" + id + "/backups", status: 200})
	clock.Advance(30 * time.Hour)
	var backups struct {
		Backups []struct {
			CreatedAt string `json:"created_at"`
		} `json:"backups"`
	}
	require.NoError(t, json.Unmarshal(do(exchange{method: "GET", path: "/v2/databases/" + id + "/backups", status: 200}), &backups))
	require.Len(t, backups.Backups, 2)
	restore := map[string]any{"name": "backend-restored", "engine": "pg", "version": "16", "region": "nyc3", "size": "db-s-2vcpu-4gb", "num_nodes": 2,
		"backup_restore": map[string]string{"database_name": "backend", "backup_created_at": backups.Backups[0].CreatedAt}}
	do(exchange{method: "POST", path: "/v2/databases", body: restore, status: 201})
	do(exchange{method: "GET", path: "/v2/vpcs/" + created.Database.PrivateNetworkUUID, status: 200})
	do(exchange{method: "GET", path: "/v2/vpcs?per_page=3&page=2", status: 200})

	// Error answers.
	do(exchange{method: "GET", path: "/v2/databases/" + strings.Repeat("0", 8) + "-0000-4000-8000-" + strings.Repeat("0", 12), status: 404})
	do(exchange{method: "GET", path: "/v2/databases", token: "-", status: 401})
	bad := map[string]any{"name": "other", "engine": "pg", "region": "mars1", "size": "db-s-2vcpu-4gb", "num_nodes": 1}
	do(exchange{method: "POST", path: "/v2/databases", body: bad, status: 422})
	sim.Inject(dosim.Fault{Op: "GET /v2/databases/{id}", Status: 500})
	do(exchange{method: "GET", path: "/v2/databases/" + id, status: 500})
	sim.SetRateLimit(simkit.Rate{Limit: 1}, simkit.Rate{})
	do(exchange{method: "GET", path: "/v2/databases", status: 200})
	do(exchange{method: "GET", path: "/v2/databases", status: 429})
	sim.SetRateLimit(simkit.Rate{}, simkit.Rate{})
	do(exchange{method: "DELETE", path: "/v2/databases/" + id, status: 204})
}
