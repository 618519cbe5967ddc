package linodesim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
)

// FuzzRequests sends arbitrary create bodies and list filters: the
// simulator answers every one with a status the API uses and a JSON body
// of the API's shapes, and never panics.
func FuzzRequests(f *testing.F) {
	f.Add(`{"label":"ok-db","region":"us-east","type":"g6-nanode-1","engine":"postgresql/16"}`, `{"label":"ok-db"}`)
	f.Add(`{"label":"x","allow_list":["1.2.3.4/33"],"cluster_size":"3"}`, `{"+order_by":"created","id":5}`)
	f.Add(`{"fork":{"source":1,"restore_time":"yesterday"}}`, `{"colour":"blue"}`)
	f.Add(`[1,2]`, `not json`)
	sim := linodesim.New(linodesim.Options{})
	f.Fuzz(func(t *testing.T, body, filter string) {
		post := httptest.NewRequest(http.MethodPost, "/v4/databases/postgresql/instances", strings.NewReader(body))
		post.Header.Set("Authorization", "Bearer fuzz")
		list := httptest.NewRequest(http.MethodGet, "/v4/databases/instances", nil)
		list.Header.Set("Authorization", "Bearer fuzz")
		list.Header.Set("X-Filter", filter)
		for _, r := range []*http.Request{post, list} {
			w := httptest.NewRecorder()
			sim.ServeHTTP(w, r)
			if w.Code != http.StatusOK && w.Code != http.StatusBadRequest {
				t.Fatalf("%s %s: status %d", r.Method, r.URL.Path, w.Code)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			var v map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
				t.Fatalf("answer is not a JSON object: %v: %s", err, w.Body)
			}
			if w.Code == http.StatusBadRequest {
				errs, ok := v["errors"].([]any)
				if !ok || len(errs) == 0 {
					t.Fatalf("400 without errors: %s", w.Body)
				}
			}
		}
	})
}
