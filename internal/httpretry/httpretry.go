// Package httpretry is the retry loop the cloud adapters put under their
// SDK clients, in place of the SDKs' own retries (which resend creates
// blindly, or log each retry, or need a particular HTTP client). The
// adapter says what to retry with a Policy; the Transport sends again,
// waits on a dbaas.Clock (so tests run on simulated time), counts
// requests and records on every response how many times it was sent.
package httpretry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// HeaderAttempts is set on every response the Transport returns: how
// many times the request was sent.
const HeaderAttempts = "X-Dbaaskit-Attempts"

// ErrNotSent marks a failure after which the API has not acted on the
// request: it was never sent, or (for a POST) it was refused by an answer
// the Policy resends POSTs after and the wait for the next try was cut
// short.
var ErrNotSent = errors.New("request not sent")

// Policy says whether to send a request again after resp (or err, when
// no answer came) and how long to wait first; attempt is how many times
// it has been sent. A Policy resends a POST only after an answer the API
// gives without acting on it (a 429, say).
type Policy func(req *http.Request, resp *http.Response, err error, attempt int) (wait time.Duration, again bool)

// Transport sends requests through Next, again while Policy says so and
// at most MaxRetries more times. It is safe for concurrent use once set
// up.
type Transport struct {
	// Next sends one try; it gets a clone of the request it may change
	// (to add credentials, say).
	Next http.RoundTripper
	// Clock times the waits; nil means the system clock.
	Clock dbaas.Clock
	// MaxRetries bounds the sends after the first.
	MaxRetries int
	// Policy decides on retries; nil sends every request once.
	Policy Policy
	// Before runs before every try (a client-side rate limit); nil means
	// nothing. Its error ends the request, marked ErrNotSent.
	Before func(ctx context.Context) error

	calls   atomic.Int64
	retries atomic.Int64
}

// Calls returns how many tries the Transport has sent, retries included.
func (t *Transport) Calls() int64 { return t.calls.Load() }

// Retries returns how many tries were retries.
func (t *Transport) Retries() int64 { return t.retries.Load() }

// RoundTrip sends req, and again while the Policy says so. A request
// whose body cannot be read again (no GetBody) is sent once.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	clock := t.Clock
	if clock == nil {
		clock = dbaas.SystemClock{}
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, notSent(err)
		}
		if t.Before != nil {
			if err := t.Before(ctx); err != nil {
				return nil, notSent(err)
			}
		}
		r := req.Clone(ctx)
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		t.calls.Add(1)
		resp, err := t.Next.RoundTrip(r)
		if resp != nil {
			resp.Header.Set(HeaderAttempts, strconv.Itoa(attempt))
		}
		if t.Policy == nil || !replayable || attempt > t.MaxRetries || ctx.Err() != nil {
			return resp, err
		}
		wait, again := t.Policy(req, resp, err, attempt)
		if !again {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}
		t.retries.Add(1)
		if err := Sleep(ctx, clock, wait); err != nil {
			if req.Method == http.MethodPost {
				return nil, notSent(err)
			}
			return nil, err
		}
	}
}

func notSent(err error) error { return fmt.Errorf("%w (%w)", err, ErrNotSent) }

// Idempotent reports whether sending a request of this method twice does
// no more than sending it once.
func Idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// Backoff is the wait before try attempt+1: base doubled per attempt,
// capped at limit, with jitter (between half and all of it) so that many
// clients do not retry in step.
func Backoff(base, limit time.Duration, attempt int) time.Duration {
	d := base << min(attempt-1, 20)
	if d > limit || d <= 0 {
		d = limit
	}
	return d/2 + rand.N(d/2+1)
}

// RetryAfter reads resp's Retry-After header, in seconds or as an HTTP
// date (measured from now).
func RetryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(0, at.Sub(now)), true
	}
	return 0, false
}

// PeekBody reads the first 64 KiB of resp's body (an error body, say)
// and puts them back, so that the SDK reads the same.
func PeekBody(resp *http.Response) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	return data, err
}

// Sleep waits d on clock, or returns the context's error.
func Sleep(ctx context.Context, clock dbaas.Clock, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-clock.After(d):
		return nil
	}
}
