package dosim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

// FuzzRequestBodies sends arbitrary bodies to the endpoints that parse
// one (create, firewall replace): the simulator answers with success or a
// 4xx error body, never 5xx, and a refused firewall body changes nothing.
func FuzzRequestBodies(f *testing.F) {
	f.Add([]byte(`{"name":"backend","engine":"pg","version":"16","region":"nyc3","size":"db-s-2vcpu-4gb","num_nodes":2}`))
	f.Add([]byte(`{"name":"b","backup_restore":{"database_name":"x"}}`))
	f.Add([]byte(`{"rules":[{"type":"ip_addr","value":"10.0.0.0/8"}]}`))
	f.Add([]byte(`{"rules":[{"type":"tag"}]`))
	f.Add([]byte(`null`))
	sim := dosim.New(dosim.Options{})
	f.Cleanup(func() { _ = sim.Close() })
	send := func(method, path string, body []byte) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer t")
		sim.ServeHTTP(rec, req)
		return rec
	}
	rec := send(http.MethodPost, "/v2/databases", []byte(`{"name":"fuzz-target","engine":"mysql","region":"ams3","size":"db-s-1vcpu-1gb","num_nodes":1}`))
	var created struct {
		Database struct {
			ID string `json:"id"`
		} `json:"database"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil || created.Database.ID == "" {
		f.Fatalf("create the fuzz target: %d %s", rec.Code, rec.Body)
	}
	fw := "/v2/databases/" + created.Database.ID + "/firewall"
	f.Fuzz(func(t *testing.T, body []byte) {
		if rec := send(http.MethodPost, "/v2/databases", body); rec.Code >= 500 {
			t.Fatalf("create answered %d: %s", rec.Code, rec.Body)
		}
		before := send(http.MethodGet, fw, nil).Body.String()
		rec := send(http.MethodPut, fw, body)
		switch {
		case rec.Code >= 500:
			t.Fatalf("firewall answered %d: %s", rec.Code, rec.Body)
		case rec.Code >= 400 && send(http.MethodGet, fw, nil).Body.String() != before:
			t.Fatalf("a refused firewall body (%d) changed the rules", rec.Code)
		}
	})
}
