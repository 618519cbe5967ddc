package httpretry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
)

func TestBackoffIsCapped(t *testing.T) {
	for attempt := 1; attempt <= 40; attempt++ {
		d := Backoff(500*time.Millisecond, 4*time.Second, attempt)
		want := min(500*time.Millisecond<<min(attempt-1, 20), 4*time.Second)
		assert.GreaterOrEqual(t, d, want/2, "attempt %d", attempt)
		assert.LessOrEqual(t, d, want, "attempt %d", attempt)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name, value string
		want        time.Duration
		ok          bool
	}{
		{"seconds", "7", 7 * time.Second, true},
		{"date", now.Add(9 * time.Second).Format(http.TimeFormat), 9 * time.Second, true},
		{"date passed", now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"garbage", "soon", 0, false},
		{"none", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{Header: http.Header{}}
			if tt.value != "" {
				resp.Header.Set("Retry-After", tt.value)
			}
			got, ok := RetryAfter(resp, now)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestTransport: answers the policy retries are sent again, with their
// body, up to MaxRetries; the attempts are recorded on the response.
func TestTransport(t *testing.T) {
	var hits atomic.Int32
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
		if hits.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	retry503 := func(_ *http.Request, resp *http.Response, err error, _ int) (time.Duration, bool) {
		return time.Second, err == nil && resp.StatusCode == http.StatusServiceUnavailable
	}
	tests := []struct {
		name       string
		maxRetries int
		wantStatus int
		wantCalls  int64
	}{
		{"retried until it works", 5, http.StatusOK, 3},
		{"bounded", 1, http.StatusServiceUnavailable, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			mu.Lock()
			bodies = nil
			mu.Unlock()
			rt := &Transport{Next: tr, Clock: fakeclock.NewAuto(time.Now()), MaxRetries: tt.maxRetries, Policy: retry503}
			req, err := http.NewRequest(http.MethodPut, srv.URL, strings.NewReader("payload"))
			require.NoError(t, err)
			resp, err := rt.RoundTrip(req)
			require.NoError(t, err)
			_ = resp.Body.Close()
			assert.Equal(t, tt.wantStatus, resp.StatusCode)
			assert.Equal(t, tt.wantCalls, rt.Calls())
			assert.Equal(t, tt.wantCalls-1, rt.Retries())
			assert.Equal(t, strconv.FormatInt(tt.wantCalls, 10), resp.Header.Get(HeaderAttempts))
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, int(tt.wantCalls), len(bodies))
			for _, b := range bodies {
				assert.Equal(t, "payload", b, "every try carries the body")
			}
		})
	}

	t.Run("cancelled before sending", func(t *testing.T) {
		rt := &Transport{Next: tr, Policy: retry503, MaxRetries: 5}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, nil)
		require.NoError(t, err)
		_, err = rt.RoundTrip(req)
		assert.True(t, errors.Is(err, ErrNotSent))
		assert.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, rt.Calls())
	})
}
