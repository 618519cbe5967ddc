package simkit_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/internal/simhttp"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testSim is the smallest simulator: GET /things reads, POST /things
// writes, errors are {"code":…,"status":…}.
type testSim struct {
	*simkit.Controls
	kit     *simkit.Kit
	handled atomic.Int64
}

func newTestSim(latency time.Duration) *testSim {
	s := &testSim{}
	s.kit = simkit.New(simkit.Config{Latency: latency, Errors: simkit.ErrorWriterFunc(func(w http.ResponseWriter, _ *http.Request, e simkit.Error) {
		if e.Status == 0 {
			e.Status = http.StatusBadRequest
		}
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(simkit.RetryAfterSeconds(e.RetryAfter)))
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(e.Status)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": e.Code, "status": e.Status})
	})})
	s.Controls = s.kit.Controls()
	return s
}

func (s *testSim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := simkit.Call{Op: r.Method + " " + r.URL.Path, Write: r.Method != http.MethodGet}
	s.kit.Serve(w, r, call, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.handled.Add(1)
		w.Header().Set("X-Handled", "yes")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, "made")
	}))
}

// start serves sim on loopback; every request goes through a client of
// its own, closed at the end, so that goleak sees no idle connection.
func start(t *testing.T, sim *testSim) (string, *http.Client) {
	t.Helper()
	srv, err := simhttp.Start(sim)
	require.NoError(t, err)
	t.Cleanup(func() {
		sim.kit.Close()
		require.NoError(t, srv.Close())
	})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return srv.URL, &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

type answer struct {
	status  int
	body    string
	header  http.Header
	dropped bool
}

func do(t *testing.T, c *http.Client, method, url string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	if err != nil {
		return answer{dropped: true}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{status: resp.StatusCode, body: string(b), header: resp.Header}
}

func TestServeAppliesFaults(t *testing.T) {
	tests := []struct {
		name        string
		fault       simkit.Fault
		method      string
		wantStatus  int
		wantCode    string
		wantDropped bool
		wantHandled int64
		wantRetry   string
	}{
		{name: "no matching fault", fault: simkit.Fault{Op: "GET /things", Status: 503}, method: http.MethodPost, wantStatus: 201, wantHandled: 1},
		{name: "status instead of handling", fault: simkit.Fault{Op: "POST /things", Status: 503}, method: http.MethodPost, wantStatus: 503},
		{name: "any op", fault: simkit.Fault{Status: 500}, method: http.MethodGet, wantStatus: 500},
		{name: "prefix", fault: simkit.Fault{Op: "POST *", Status: 502}, method: http.MethodPost, wantStatus: 502},
		{name: "code alone: the writer picks the status", fault: simkit.Fault{Code: "Throttling"}, method: http.MethodGet, wantStatus: 400, wantCode: "Throttling"},
		{name: "429 with retry after", fault: simkit.Fault{Status: 429, RetryAfter: 1500 * time.Millisecond}, method: http.MethodGet, wantStatus: 429, wantRetry: "2"},
		{name: "dropped before handling", fault: simkit.Fault{Op: "POST /things", Drop: true}, method: http.MethodPost, wantDropped: true},
		{name: "dropped after handling", fault: simkit.Fault{Op: "POST /things", Drop: true, AfterHandling: true}, method: http.MethodPost, wantDropped: true, wantHandled: 1},
		{name: "failed after handling", fault: simkit.Fault{Op: "POST /things", Status: 500, AfterHandling: true}, method: http.MethodPost, wantStatus: 500, wantHandled: 1},
		{name: "late after handling", fault: simkit.Fault{Op: "POST /things", Latency: time.Millisecond, AfterHandling: true}, method: http.MethodPost, wantStatus: 201, wantHandled: 1},
		{name: "latency alone", fault: simkit.Fault{Latency: time.Millisecond}, method: http.MethodGet, wantStatus: 201, wantHandled: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := newTestSim(0)
			url, c := start(t, sim)
			sim.Inject(tt.fault)
			a := do(t, c, tt.method, url+"/things")
			assert.Equal(t, tt.wantDropped, a.dropped, "dropped")
			assert.Equal(t, tt.wantHandled, sim.handled.Load(), "handled")
			if tt.wantDropped {
				return
			}
			assert.Equal(t, tt.wantStatus, a.status)
			if tt.wantStatus == 201 {
				assert.Equal(t, "made", a.body)
				assert.Equal(t, "yes", a.header.Get("X-Handled"), "a late answer keeps its headers")
				return
			}
			var body struct{ Code string }
			require.NoError(t, json.Unmarshal([]byte(a.body), &body), a.body)
			assert.Equal(t, tt.wantCode, body.Code)
			assert.Equal(t, tt.wantRetry, a.header.Get("Retry-After"))
		})
	}
}

func TestFaultTimesAndOrder(t *testing.T) {
	sim := newTestSim(0)
	url, c := start(t, sim)
	sim.Inject(simkit.Fault{Op: "GET /things", Status: 503, Times: 2}, simkit.Fault{Op: "GET /things", Status: 429})
	sim.Inject(simkit.Fault{Op: "POST /things", Status: 500, Times: -1})
	require.Len(t, sim.Faults(), 3)

	var got []int
	for range 4 {
		got = append(got, do(t, c, http.MethodGet, url+"/things").status)
	}
	assert.Equal(t, []int{503, 503, 429, 201}, got, "in order, each used up after its Times")
	for range 3 {
		assert.Equal(t, 500, do(t, c, http.MethodPost, url+"/things").status, "a negative Times hits every call")
	}
	left := sim.Faults()
	require.Len(t, left, 1)
	assert.Equal(t, "POST /things", left[0].Op)
	assert.EqualValues(t, 6, sim.FaultHits())

	sim.ClearFaults()
	assert.Empty(t, sim.Faults())
	assert.Zero(t, sim.FaultHits())
	assert.Equal(t, 201, do(t, c, http.MethodPost, url+"/things").status)
}

func TestCounters(t *testing.T) {
	sim := newTestSim(0)
	url, c := start(t, sim)
	sim.Inject(simkit.Fault{Op: "POST /things", Status: 503})
	for _, m := range []string{http.MethodGet, http.MethodGet, http.MethodPost, http.MethodPost, http.MethodDelete} {
		do(t, c, m, url+"/things")
	}
	assert.EqualValues(t, 2, sim.Calls("GET /things"))
	assert.EqualValues(t, 2, sim.Calls("POST /things"), "a faulted call counts")
	assert.EqualValues(t, 1, sim.Calls("DELETE /things"))
	assert.Zero(t, sim.Calls("PUT /things"))
	assert.EqualValues(t, 5, sim.TotalCalls())
	assert.EqualValues(t, 3, sim.Writes())

	sim.kit.CountRateLimited()
	assert.EqualValues(t, 1, sim.RateLimited())

	sim.ResetCalls()
	assert.Zero(t, sim.TotalCalls())
	assert.Zero(t, sim.Writes())
	assert.Zero(t, sim.RateLimited())
	assert.Zero(t, sim.Calls("GET /things"))
}

// A request held by latency is still handled when its client gives up,
// as the cloud's front end that already has it would.
func TestHeldRequestTakesEffectWhenTheClientGoesAway(t *testing.T) {
	sim := newTestSim(0)
	url, c := start(t, sim)
	sim.Inject(simkit.Fault{Op: "POST /things", Latency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/things", nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	require.Eventually(t, func() bool { return sim.FaultHits() == 1 }, 10*time.Second, time.Millisecond)
	cancel()
	require.Error(t, <-done)
	require.Eventually(t, func() bool { return sim.handled.Load() == 1 }, 10*time.Second, time.Millisecond)
}

func TestCloseEndsHeldRequestsAndRefusesNewOnes(t *testing.T) {
	sim := newTestSim(0)
	url, c := start(t, sim)
	sim.Inject(simkit.Fault{Latency: time.Hour})
	done := make(chan answer, 1)
	go func() { done <- do(t, c, http.MethodPost, url+"/things") }()
	require.Eventually(t, func() bool { return sim.FaultHits() == 1 }, 10*time.Second, time.Millisecond)
	sim.kit.Close()
	assert.True(t, (<-done).dropped, "the held request's connection is closed")
	assert.Zero(t, sim.handled.Load())
	select {
	case <-sim.kit.Done():
	default:
		t.Fatal("Done is not closed after Close")
	}

	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/things", nil))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	sim.kit.Close()
}

func TestDropWithoutHijackAnswersBadGateway(t *testing.T) {
	sim := newTestSim(0)
	sim.Inject(simkit.Fault{Drop: true})
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/things", nil))
	assert.Equal(t, http.StatusBadGateway, rec.Code)
}

func TestConfigLatencyHoldsEveryAnswer(t *testing.T) {
	sim := newTestSim(time.Hour)
	url, c := start(t, sim)
	done := make(chan answer, 1)
	go func() { done <- do(t, c, http.MethodGet, url+"/things") }()
	require.Eventually(t, func() bool { return sim.TotalCalls() == 1 }, 10*time.Second, time.Millisecond)
	select {
	case a := <-done:
		t.Fatalf("answered despite the latency: %+v", a)
	default:
	}
	sim.kit.Close()
	assert.True(t, (<-done).dropped)
}

func TestNewWithoutErrorsPanics(t *testing.T) {
	assert.Panics(t, func() { simkit.New(simkit.Config{}) })
}
