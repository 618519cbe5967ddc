package digitalocean

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Headers the transport adds to the responses it hands to godo, so that
// the adapter can see what happened below godo.
const (
	// headerAttempts is how many times the request was sent.
	headerAttempts = "X-Dbaaskit-Attempts"
	// headerErrorID is the "id" of an API error body, which
	// godo.ErrorResponse does not keep.
	headerErrorID = "X-Dbaaskit-Error-Id"
)

// transport authenticates requests, keeps them under the account's rate
// limit and retries the ones that can be retried safely. It replaces
// godo's own retrying client, which needs an oauth2 client (it panics with
// a plain one) and resends POSTs blindly.
type transport struct {
	base       http.RoundTripper
	token      dbaas.Secret
	clock      dbaas.Clock
	limiters   []*rate.Limiter // per minute, per hour; none: no client-side limit
	reserveMu  sync.Mutex      // orders reservations by time (see wait)
	maxRetries int
	baseDelay  time.Duration
	maxDelay   time.Duration
	maxWait    time.Duration
	calls      atomic.Int64
	retries    atomic.Int64
}

// RoundTrip sends req, waiting for the limiter first, and retries:
//   - 429 for every method (the API did not act on the request), after
//     Retry-After, or after RateLimit-Reset when RateLimit-Remaining is 0,
//     or after a capped exponential backoff;
//   - 5xx and connection failures for every method but POST, whose
//     outcome is then unknown: the adapter looks the resource up instead
//     of sending it again.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		if err := t.wait(ctx); err != nil {
			return nil, notSent(err)
		}
		r := req.Clone(ctx)
		if attempt > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		r.Header.Set("Authorization", "Bearer "+t.token.Reveal())
		t.calls.Add(1)
		resp, err := t.base.RoundTrip(r)
		if err == nil {
			annotate(resp, attempt)
		}
		delay, retry := t.retryable(req.Method, resp, err, attempt)
		if !retry || ctx.Err() != nil {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			_ = resp.Body.Close()
		}
		t.retries.Add(1)
		if err := sleep(ctx, t.clock, delay); err != nil {
			// Only a 429 makes a POST be sent again, and the API did not
			// act on that: the request has not been carried out.
			return nil, notSent(err)
		}
	}
}

// errNotSent marks a failure that happened before the request reached
// the API (or that the API refused to act on): nothing changed.
var errNotSent = errors.New("request not sent")

func notSent(err error) error { return fmt.Errorf("%w (%w)", err, errNotSent) }

// retryable decides whether to send again and after how long.
func (t *transport) retryable(method string, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	if attempt > t.maxRetries {
		return 0, false
	}
	backoff := t.backoff(attempt)
	switch {
	case err != nil:
		return backoff, method != http.MethodPost && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	case resp.StatusCode == http.StatusTooManyRequests:
		d, ok := t.serverDelay(resp)
		if !ok {
			d = backoff
		}
		// A wait longer than maxWait is better reported than slept through.
		return d, d <= t.maxWait
	case resp.StatusCode >= 500 && method != http.MethodPost:
		if d, ok := t.serverDelay(resp); ok && d <= t.maxWait {
			return d, true
		}
		return backoff, true
	}
	return 0, false
}

// serverDelay reads how long the API asks to wait: Retry-After (seconds),
// or, when no request is left in the window, until RateLimit-Reset (epoch
// seconds).
func (t *transport) serverDelay(resp *http.Response) (time.Duration, bool) {
	if v := resp.Header.Get("Retry-After"); v != "" {
		if s, err := strconv.Atoi(v); err == nil && s >= 0 {
			return time.Duration(s) * time.Second, true
		}
		if at, err := http.ParseTime(v); err == nil {
			return max(0, at.Sub(t.clock.Now())), true
		}
	}
	if resp.Header.Get("RateLimit-Remaining") == "0" {
		if s, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64); err == nil {
			return max(0, time.Unix(s, 0).Sub(t.clock.Now())), true
		}
	}
	return 0, false
}

// backoff is the capped exponential delay before attempt+1, with full
// jitter so that many clients do not retry in step.
func (t *transport) backoff(attempt int) time.Duration {
	d := t.baseDelay << min(attempt-1, 20)
	if d > t.maxDelay || d <= 0 {
		d = t.maxDelay
	}
	return d/2 + rand.N(d/2+1)
}

// wait blocks until every client-side limiter lets one more request go.
func (t *transport) wait(ctx context.Context) error {
	if len(t.limiters) == 0 {
		return ctx.Err()
	}
	// Read the time and reserve under one lock: rate.Limiter moves its
	// clock backwards when given an earlier time than the last, and then
	// hands out a token twice.
	t.reserveMu.Lock()
	now := t.clock.Now()
	var delay time.Duration
	reservations := make([]*rate.Reservation, 0, len(t.limiters))
	for _, l := range t.limiters {
		r := l.ReserveN(now, 1)
		reservations = append(reservations, r)
		delay = max(delay, r.DelayFrom(now))
	}
	t.reserveMu.Unlock()
	if err := sleep(ctx, t.clock, delay); err != nil {
		t.reserveMu.Lock()
		at := t.clock.Now()
		for _, r := range reservations {
			r.CancelAt(at)
		}
		t.reserveMu.Unlock()
		return err
	}
	return nil
}

// annotate records the attempt count and the API error id on resp.
func annotate(resp *http.Response, attempt int) {
	resp.Header.Set(headerAttempts, strconv.Itoa(attempt))
	if resp.StatusCode < 400 || resp.Body == nil {
		return
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if err != nil {
		return
	}
	var body struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(data, &body) == nil && body.ID != "" {
		resp.Header.Set(headerErrorID, body.ID)
	}
}

// sleep waits d on clock, or returns the context's error.
func sleep(ctx context.Context, clock dbaas.Clock, d time.Duration) error {
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
