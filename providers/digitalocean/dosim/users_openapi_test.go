package dosim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

// TestUsersMatchOpenAPI validates the requests the adapter sends to /dbs
// and /users, and every answer (the 404 and 422 ones included), against
// the official description.
func TestUsersMatchOpenAPI(t *testing.T) {
	router := specRouter(t)
	sim := dosim.New(dosim.Options{})
	t.Cleanup(func() { require.NoError(t, sim.Close()) })

	do := func(method, path string, body any, status int) []byte {
		t.Helper()
		var raw []byte
		if body != nil {
			var err error
			raw, err = json.Marshal(body)
			require.NoError(t, err)
		}
		req := httptest.NewRequest(method, "https://api.digitalocean.com"+path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer tok")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		require.Equal(t, status, rec.Code, "%s %s: %s", method, path, rec.Body.String())

		route, params, err := router.FindRoute(req)
		require.NoError(t, err, "%s %s is in the description", method, path)
		in := &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		}
		req.Body = io.NopCloser(bytes.NewReader(raw))
		if body != nil {
			require.NoError(t, openapi3filter.ValidateRequest(context.Background(), in), "%s %s request", method, path)
		}
		out := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
			Body:    io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
			Options: &openapi3filter.Options{IncludeResponseStatus: true},
		}
		require.NoError(t, openapi3filter.ValidateResponse(context.Background(), out), "%s %s answered %s", method, path, rec.Body.String())
		return rec.Body.Bytes()
	}

	var created struct {
		Database struct {
			ID string `json:"id"`
		} `json:"database"`
	}
	require.NoError(t, json.Unmarshal(do("POST", "/v2/databases", map[string]any{
		"name": "apps", "engine": "mysql", "version": "8", "region": "nyc3", "size": "db-s-1vcpu-1gb", "num_nodes": 1,
	}, http.StatusCreated), &created))
	base := "/v2/databases/" + created.Database.ID

	do("POST", base+"/dbs", map[string]string{"name": "alpha"}, http.StatusCreated)
	do("POST", base+"/dbs", map[string]string{"name": "alpha"}, http.StatusUnprocessableEntity)
	do("GET", base+"/dbs", nil, http.StatusOK)
	do("GET", base+"/dbs/alpha", nil, http.StatusOK)
	do("POST", base+"/users", map[string]string{"name": "app_01"}, http.StatusCreated)
	do("POST", base+"/users", map[string]any{"name": "app_02", "mysql_settings": map[string]string{"auth_plugin": "mysql_native_password"}}, http.StatusCreated)
	do("POST", base+"/users", map[string]string{"name": "app_01"}, http.StatusUnprocessableEntity)
	do("GET", base+"/users", nil, http.StatusOK)
	do("GET", base+"/users/app_01", nil, http.StatusOK)
	do("POST", base+"/users/app_01/reset_auth", map[string]any{}, http.StatusOK)
	do("POST", base+"/users/app_01/reset_auth", map[string]any{"mysql_settings": map[string]string{"auth_plugin": "caching_sha2_password"}}, http.StatusOK)
	do("DELETE", base+"/users/app_01", nil, http.StatusNoContent)
	do("GET", base+"/users/app_01", nil, http.StatusNotFound)
	do("DELETE", base+"/users/app_01", nil, http.StatusNotFound)
	do("POST", base+"/users/app_01/reset_auth", map[string]any{}, http.StatusNotFound)
	do("DELETE", base+"/dbs/alpha", nil, http.StatusNoContent)
	do("DELETE", base+"/dbs/alpha", nil, http.StatusNotFound)
	do("GET", base+"/dbs/alpha", nil, http.StatusNotFound)
	do("GET", "/v2/databases/0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11/dbs", nil, http.StatusNotFound)
}
