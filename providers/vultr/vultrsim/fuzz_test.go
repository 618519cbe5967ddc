package vultrsim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agiledeploy/dbaaskit/providers/vultr/vultrsim"
)

// FuzzBodies sends arbitrary bodies to the endpoints that read one and
// checks that the simulator answers every one with JSON and never a 5xx
// or a panic.
func FuzzBodies(f *testing.F) {
	f.Add(`{"database_engine":"pg","database_engine_version":"16","region":"ewr","plan":"vultr-dbaas-hobbyist-cc-1-25-1","label":"x","trusted_ips":["1.2.3.4"]}`, `{"trusted_ips":["10.0.0.0/8"],"plan":"huge"}`)
	f.Add(`{"trusted_ips":[1]}`, `{"type":"pitr","date":"2026-13-01","time":"25:00:00","label":"y","plan":"p","region":"ewr"}`)
	f.Add(`[]`, `null`)
	f.Fuzz(func(t *testing.T, create, other string) {
		sim := vultrsim.New(vultrsim.Options{})
		defer sim.Close()
		send := func(method, path, body string) []byte {
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer t")
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
			}
			if rec.Code != http.StatusNoContent && (rec.Header().Get("Content-Type") != "application/json" || !json.Valid(rec.Body.Bytes())) {
				t.Fatalf("%s %s %q: not a JSON answer: %s", method, path, body, rec.Body)
			}
			return rec.Body.Bytes()
		}
		var out struct {
			Database struct {
				ID string `json:"id"`
			} `json:"database"`
		}
		_ = json.Unmarshal(send(http.MethodPost, "/v2/databases", create), &out)
		id := out.Database.ID
		if id == "" {
			id = "none"
		}
		for _, p := range []string{"", "/restore", "/fork", "/users", "/dbs"} {
			method := http.MethodPost
			if p == "" {
				method = http.MethodPut
			}
			send(method, "/v2/databases/"+id+p, other)
		}
		send(http.MethodPut, "/v2/databases/"+id+"/users/vultradmin", other)
	})
}
