package exoscale_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	v3 "github.com/exoscale/egoscale/v3"
	"github.com/exoscale/egoscale/v3/credentials"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simhttp"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
	"github.com/agiledeploy/dbaaskit/providers/exoscale"
	"github.com/agiledeploy/dbaaskit/providers/exoscale/exoscalesim"
)

// checker validates every request a client sends and every response the
// simulator gives against the official description, as a handler in
// front of the simulator.
type checker struct {
	doc *openapi3.T
	sim http.Handler

	mu       sync.Mutex
	problems []string
	routes   map[string]int
}

func newChecker(t *testing.T, sim http.Handler) *checker {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(specsPath(t))
	require.NoError(t, err)
	return &checker{doc: doc, sim: sim, routes: map[string]int{}}
}

// findRoute matches the request against the description's paths. The
// document as a whole does not pass kin-openapi's validation (schemas of
// other products use OpenAPI 3.1 type arrays and non-RE2 patterns), so
// its router cannot be built; the DBaaS schemas are checked in full on
// every request and response.
func (c *checker) findRoute(r *http.Request) (*routers.Route, map[string]string, error) {
	path := strings.TrimPrefix(r.URL.Path, "/v2")
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for tmpl, item := range c.doc.Paths.Map() {
		tsegs := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		params := map[string]string{}
		match := true
		for i, ts := range tsegs {
			if strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}") {
				params[strings.Trim(ts, "{}")] = segs[i]
			} else if ts != segs[i] {
				match = false
				break
			}
		}
		if op := item.GetOperation(r.Method); match && op != nil {
			return &routers.Route{Spec: c.doc, Server: c.doc.Servers[0], Path: tmpl, PathItem: item, Method: r.Method, Operation: op}, params, nil
		}
	}
	return nil, nil, fmt.Errorf("no path of the description matches")
}

func (c *checker) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *checker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	// The description's server is https://api-{zone}.exoscale.com/v2.
	vr := r.Clone(context.Background())
	vr.URL, _ = url.Parse("https://api-ch-gva-2.exoscale.com" + r.URL.RequestURI())
	vr.Host = vr.URL.Host
	vr.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	c.sim.ServeHTTP(rec, r)

	route, params, err := c.findRoute(vr)
	if err != nil {
		c.fail("%s %s: not in the description: %v", r.Method, r.URL.Path, err)
	} else {
		c.mu.Lock()
		c.routes[route.Method+" "+route.Path]++
		c.mu.Unlock()
		in := &openapi3filter.RequestValidationInput{Request: vr, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			c.fail("request %s %s %s: %v", r.Method, r.URL.Path, body, err)
		}
		vr.Body = io.NopCloser(bytes.NewReader(body))
		// The description gives the 200 answers only: error answers
		// ({"message": …}) have no schema there to check.
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
			Body: io.NopCloser(bytes.NewReader(rec.Body.Bytes())), Options: &openapi3filter.Options{}}
		if rec.Code == http.StatusOK {
			out.Options.IncludeResponseStatus = true
		}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			c.fail("response to %s %s (%d): %v", r.Method, r.URL.Path, rec.Code, err)
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// TestRequestsAndResponsesMatchOpenAPI runs every call of the adapter,
// and the egoscale calls it does not make, through the checker.
func TestRequestsAndResponsesMatchOpenAPI(t *testing.T) {
	clock := fakeclock.NewAuto(epoch)
	sim := exoscalesim.New(exoscalesim.Options{Clock: clock, ProvisionDelay: 10 * time.Minute, OperationDelay: 30 * time.Second})
	t.Cleanup(func() { assert.NoError(t, sim.Close()) })
	c := newChecker(t, sim)
	srv, err := simhttp.Start(c)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })
	p, err := exoscale.New(context.Background(), dbaas.Config{Token: dbaas.NewSecret(exoscalesim.DefaultAPIKey), BaseURL: srv.URL + "/v2"},
		exoscale.WithClock(clock), exoscale.WithAPISecret(dbaas.NewSecret(exoscalesim.DefaultAPISecret)))
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	ctx := context.Background()
	wait := dbaas.WaitOptions{Clock: clock}

	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MySQL} {
		s := spec("api-"+string(engine), engine)
		s.AdminUser, s.AdminPassword, s.DeletionProtection = "owner", dbaas.NewSecret("Owner-pass_1234"), true
		inst, err := p.Create(ctx, s)
		require.NoError(t, err)
		_, err = dbaas.Wait(ctx, p, inst.ID, wait)
		require.NoError(t, err)
		_, err = p.List(ctx)
		require.NoError(t, err)
		_, err = p.Connection(ctx, inst.ID)
		require.NoError(t, err)
		require.NoError(t, p.Allow(ctx, inst.ID, dbaas.MustParseSource("192.0.2.1")))
		require.NoError(t, p.Revoke(ctx, inst.ID, dbaas.MustParseSource("192.0.2.1"), dbaas.MustParseSource("10.0.0.0/24")))
		backups, err := p.Backups(ctx, inst.ID)
		require.NoError(t, err)
		require.Len(t, backups, 2, "the first automatic backup and the point-in-time window")
		r1, err := p.Restore(ctx, dbaas.FromBackup(backups[0].ID), spec("api-r1-"+string(engine), engine))
		require.NoError(t, err)
		r2, err := p.Restore(ctx, dbaas.AtTime(inst.ID, backups[1].LatestRestore.Add(-time.Second)), spec("api-r2-"+string(engine), engine))
		require.NoError(t, err)

		require.NoError(t, p.EnsureDatabase(ctx, inst.ID, "shop"))
		_, err = p.Databases(ctx, inst.ID)
		require.NoError(t, err)
		_, err = p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "shop", Database: "shop", Password: dbaas.NewSecret("shop-password-1")})
		require.NoError(t, err)
		_, err = p.RotatePassword(ctx, inst.ID, "shop")
		require.NoError(t, err)
		_, err = p.Users(ctx, inst.ID)
		require.NoError(t, err)
		require.NoError(t, p.DropUser(ctx, inst.ID, "shop"))
		require.NoError(t, p.DropDatabase(ctx, inst.ID, "shop"))

		// Errors: protected, taken, missing, invalid.
		require.ErrorIs(t, p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}), dbaas.ErrConflict)
		_, err = p.Create(ctx, s)
		require.ErrorIs(t, err, dbaas.ErrAlreadyExists)
		bad := spec("api-bad-"+string(engine), engine)
		bad.Size = "enormous-64"
		_, err = p.Create(ctx, bad)
		require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
		for _, id := range []string{r1.ID, r2.ID} {
			require.NoError(t, p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true}))
		}
	}

	// The calls of the client the adapter does not make.
	var client *v3.Client
	require.True(t, p.As(&client))
	_, err = client.GetDBAASServiceType(ctx, "pg")
	require.NoError(t, err)
	op, err := client.UpdateDBAASServicePG(ctx, "api-postgres", v3.UpdateDBAASServicePGRequest{TerminationProtection: v3.Bool(false)})
	require.NoError(t, err)
	clock.Advance(time.Minute)
	_, err = client.GetOperation(ctx, op.ID)
	require.NoError(t, err)
	_, err = client.DeleteDBAASServicePG(ctx, "api-postgres")
	require.NoError(t, err)
	_, err = client.UpdateDBAASServiceMysql(ctx, "api-mysql", v3.UpdateDBAASServiceMysqlRequest{TerminationProtection: v3.Bool(false), Plan: "business-4"})
	require.NoError(t, err)
	clock.Advance(time.Minute)
	_, err = client.DeleteDBAASServiceMysql(ctx, "api-mysql")
	require.NoError(t, err)
	unsigned, err := v3.NewClient(credentials.NewStaticCredentials(exoscalesim.DefaultAPIKey, "wrong"), v3.ClientOptWithEndpoint(v3.Endpoint(srv.URL+"/v2")))
	require.NoError(t, err)
	_, err = unsigned.ListDBAASServices(ctx)
	require.ErrorIs(t, err, v3.ErrForbidden)

	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Empty(t, c.problems)
	t.Logf("checked against the description: %v", c.routes)
	for _, r := range []string{"POST /dbaas-postgres/{name}", "POST /dbaas-mysql/{name}", "GET /operation/{id}", "GET /dbaas-service",
		"PUT /dbaas-postgres/{name}", "GET /dbaas-postgres/{service-name}/user/{username}/password/reveal", "GET /dbaas-ca-certificate",
		"DELETE /dbaas-service/{name}", "POST /dbaas-mysql/{service-name}/database", "PUT /dbaas-mysql/{service-name}/user/{username}/password/reset"} {
		assert.Positive(t, c.routes[r], "route %s was exercised", r)
	}
}

func specsPath(t *testing.T) string {
	t.Helper()
	return testenv.SpecsDir(t, "exoscale", "openapi.yaml")
}
