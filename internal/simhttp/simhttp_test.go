package simhttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/internal/simhttp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, url string) (string, error) {
	t.Helper()
	// A client of its own, closed at the end, so that goleak sees no
	// idle keep-alive connection.
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestStartServesOnLoopbackUntilClose(t *testing.T) {
	srv, err := simhttp.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "path "+r.URL.Path)
	}))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(srv.URL, "http://127.0.0.1:"), srv.URL)
	assert.False(t, strings.HasSuffix(srv.URL, "/"))

	body, err := get(t, srv.URL+"/v1/x")
	require.NoError(t, err)
	assert.Equal(t, "path /v1/x", body)

	require.NoError(t, srv.Close())
	_, err = get(t, srv.URL+"/v1/x")
	require.Error(t, err, "nothing listens after Close")
}

func TestShutdownLetsRequestsFinishOrCutsThemOff(t *testing.T) {
	tests := []struct {
		name    string
		wait    time.Duration
		wantErr bool
	}{
		{name: "finishes within the deadline", wait: 10 * time.Second},
		{name: "cut off at the deadline", wait: 50 * time.Millisecond, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			started, release := make(chan struct{}), make(chan struct{})
			srv, err := simhttp.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				select {
				case <-release:
				case <-r.Context().Done():
				}
				_, _ = io.WriteString(w, "done")
			}))
			require.NoError(t, err)
			type result struct {
				body string
				err  error
			}
			got := make(chan result, 1)
			go func() {
				body, err := get(t, srv.URL)
				got <- result{body, err}
			}()
			<-started
			if !tt.wantErr {
				// Released only once Shutdown has begun waiting.
				time.AfterFunc(100*time.Millisecond, func() { close(release) })
			}
			ctx, cancel := context.WithTimeout(context.Background(), tt.wait)
			defer cancel()
			err = srv.Shutdown(ctx)
			r := <-got
			if tt.wantErr {
				require.ErrorIs(t, err, context.DeadlineExceeded)
				require.Error(t, r.err, "the request in flight was cut off")
				return
			}
			require.NoError(t, err)
			require.NoError(t, r.err)
			assert.Equal(t, "done", r.body)
		})
	}
}

func TestSleep(t *testing.T) {
	closed := make(chan struct{})
	close(closed)
	tests := []struct {
		name         string
		d            time.Duration
		stop, cancel <-chan struct{}
		want         bool
	}{
		{name: "no delay returns at once even when stopped", d: 0, stop: closed, want: true},
		{name: "waits out the delay", d: time.Millisecond, want: true},
		{name: "stop ends the wait", d: time.Hour, stop: closed, want: false},
		{name: "cancel ends the wait", d: time.Hour, cancel: closed, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, simhttp.Sleep(tt.d, tt.stop, tt.cancel))
		})
	}
}

func TestDrop(t *testing.T) {
	srv, err := simhttp.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !simhttp.Drop(w) {
			http.Error(w, "not dropped", http.StatusInternalServerError)
		}
	}))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, srv.Close()) })
	_, err = get(t, srv.URL)
	require.Error(t, err, "the client gets no answer at all")

	assert.False(t, simhttp.Drop(httptest.NewRecorder()), "a recorder cannot be hijacked")
}
