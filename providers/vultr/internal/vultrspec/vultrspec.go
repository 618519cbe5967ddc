// Package vultrspec checks HTTP exchanges with the Vultr API against its
// official OpenAPI description (../shared/specs/vultr/openapi.yaml beside
// the repository), for the tests of the adapter and the simulator.
//
// The description is read as published, except for what OpenAPI 3.0
// cannot express and kin-openapi would refuse: type names it does not
// have (int, float, mixed, enum) are read as integer, number, any and
// string, and its server URL (https://api.vultr.com/v2) is dropped, so
// that requests are matched by their path after /v2. Two things the
// description does not say per operation are accepted as its
// introduction documents them for every one: 429 (rate limit) and 5xx
// answers.
package vultrspec

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/agiledeploy/dbaaskit/internal/testenv"
)

var (
	loadOnce sync.Once
	router   routers.Router
	loadErr  error
)

// Router returns the router of the official description, or skips the
// test (through testenv.SpecsDir) when the description is absent.
func Router(t testing.TB) routers.Router {
	t.Helper()
	path := testenv.SpecsDir(t, "vultr", "openapi.yaml")
	loadOnce.Do(func() { router, loadErr = load(path) })
	if loadErr != nil {
		t.Fatalf("load %s: %v", path, loadErr)
	}
	return router
}

func load(path string) (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		return nil, err
	}
	doc.Servers = nil
	seen := map[*openapi3.Schema]bool{}
	for _, s := range doc.Components.Schemas {
		fixTypes(s, seen)
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				for _, mt := range op.RequestBody.Value.Content {
					fixTypes(mt.Schema, seen)
				}
			}
			for _, resp := range op.Responses.Map() {
				if resp.Value != nil {
					for _, mt := range resp.Value.Content {
						fixTypes(mt.Schema, seen)
					}
				}
			}
		}
	}
	return gorillamux.NewRouter(doc)
}

// fixTypes rewrites the type names OpenAPI 3.0 lacks, everywhere in s.
func fixTypes(ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if s.Type != nil {
		var types openapi3.Types
		for _, t := range *s.Type {
			switch t {
			case "int":
				types = append(types, openapi3.TypeInteger)
			case "float":
				types = append(types, openapi3.TypeNumber)
			case "enum":
				types = append(types, openapi3.TypeString)
			case "mixed":
			default:
				types = append(types, t)
			}
		}
		if len(types) == 0 {
			s.Type = nil
		} else {
			s.Type = &types
		}
	}
	for _, p := range s.Properties {
		fixTypes(p, seen)
	}
	fixTypes(s.Items, seen)
	fixTypes(s.AdditionalProperties.Schema, seen)
	for _, l := range [][]*openapi3.SchemaRef{s.AllOf, s.AnyOf, s.OneOf} {
		for _, x := range l {
			fixTypes(x, seen)
		}
	}
	fixTypes(s.Not, seen)
}

// Check validates one exchange: the request (path, query, body) and the
// response (status, body) against the description, and returns what
// breaks it. With strict false, a request the description refuses is
// accepted when it was answered 4xx: the API refused it too (tests of
// bad input send such requests on purpose).
func Check(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte, strict bool) error {
	t.Helper()
	r := req.Clone(context.Background())
	r.URL.Path = strings.TrimPrefix(r.URL.Path, "/v2")
	r.URL.RawPath = ""
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.RequestURI = ""
	route, params, err := Router(t).FindRoute(r)
	if err != nil {
		return fmt.Errorf("%s %s is not in the description: %w", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		if strict || status < 400 || status >= 500 {
			return fmt.Errorf("request %s %s (answered %d): %w", req.Method, req.URL.Path, status, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(respBody)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: status != http.StatusTooManyRequests && status < 500,
		},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("response %d to %s %s (%s): %w", status, req.Method, req.URL.Path, respBody, err)
	}
	return nil
}

// Handler serves h and checks every exchange with Check (strict as
// there), failing t (with Errorf, from the serving goroutine) on each one
// that breaks the description. A response that h hijacks (a dropped
// connection) is not checked.
func Handler(t testing.TB, h http.Handler, strict bool) http.Handler {
	t.Helper()
	Router(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read request body: %v", err)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{ResponseRecorder: httptest.NewRecorder(), w: w}
		h.ServeHTTP(rec, r)
		if rec.hijacked {
			return
		}
		res := rec.Result()
		respBody := rec.Body.Bytes()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(respBody)
		if err := Check(t, r, body, res.StatusCode, res.Header, respBody, strict); err != nil {
			t.Errorf("the exchange breaks the official description: %v", err)
		}
	})
}

// recorder keeps the answer for checking, and hands a hijack to the real
// writer.
type recorder struct {
	*httptest.ResponseRecorder
	w        http.ResponseWriter
	hijacked bool
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.w.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	r.hijacked = true
	return hj.Hijack()
}
