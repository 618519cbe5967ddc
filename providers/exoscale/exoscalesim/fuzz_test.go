package exoscalesim_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/agiledeploy/dbaaskit/providers/exoscale/exoscalesim"
)

// FuzzSignature sends requests with arbitrary Authorization headers,
// paths and bodies: none may be answered as signed, and none may make the
// simulator fail.
func FuzzSignature(f *testing.F) {
	f.Add("EXO2-HMAC-SHA256 credential="+exoscalesim.DefaultAPIKey+",expires=9999999999,signature=AAAA", "/v2/dbaas-service", "")
	f.Add("EXO2-HMAC-SHA256 credential=x,signed-query-args=a;b,expires=1,signature=", "/v2/dbaas-postgres/x?a=1&b=2", `{"plan":"startup-4"}`)
	f.Add("EXO2-HMAC-SHA256 ,,,==", "/v2/operation/%zz", "{")
	f.Add("", "/v2/dbaas-ca-certificate", "")
	sim := exoscalesim.New(exoscalesim.Options{})
	f.Cleanup(func() { _ = sim.Close() })
	f.Fuzz(func(t *testing.T, auth, target, body string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t") {
			return
		}
		var req *http.Request
		func() {
			defer func() { _ = recover() }() // httptest panics on what no client could send
			req = httptest.NewRequest(http.MethodPost, "http://127.0.0.1"+target, strings.NewReader(body))
		}()
		if req == nil {
			return
		}
		req.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden && rec.Code != http.StatusNotFound {
			t.Fatalf("unsigned request answered %d: %s", rec.Code, rec.Body.String())
		}
	})
}
