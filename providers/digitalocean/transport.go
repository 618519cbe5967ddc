package digitalocean

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/httpretry"
)

// headerErrorID is set on the responses handed to godo: the "id" of an
// API error body, which godo.ErrorResponse does not keep.
const headerErrorID = "X-Dbaaskit-Error-Id"

// transport authenticates requests, keeps them under the account's rate
// limit and retries the ones that can be retried safely. It replaces
// godo's own retrying client, which needs an oauth2 client (it panics with
// a plain one) and resends POSTs blindly. It retries:
//   - 429 for every method (the API did not act on the request), after
//     Retry-After, or after RateLimit-Reset when RateLimit-Remaining is 0,
//     or after a capped exponential backoff;
//   - 5xx and connection failures for every method but POST, whose
//     outcome is then unknown: the adapter looks the resource up instead
//     of sending it again.
type transport struct {
	httpretry.Transport
	base      http.RoundTripper
	token     dbaas.Secret
	clock     dbaas.Clock
	limiters  []*rate.Limiter // per minute, per hour; none: no client-side limit
	reserveMu sync.Mutex      // orders reservations by time (see wait)
	baseDelay time.Duration
	maxDelay  time.Duration
	maxWait   time.Duration
}

// setup wires the retry loop to t's policy, limiter and credentials.
func (t *transport) setup(maxRetries int) {
	t.Transport = httpretry.Transport{Next: sendFunc(t.send), Clock: t.clock, MaxRetries: maxRetries, Policy: t.retryable}
	if len(t.limiters) > 0 {
		t.Before = t.wait
	}
}

// sendFunc is a RoundTripper made of a function.
type sendFunc func(*http.Request) (*http.Response, error)

func (f sendFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// send sends one try with the token, and records the API error id.
func (t *transport) send(r *http.Request) (*http.Response, error) {
	r.Header.Set("Authorization", "Bearer "+t.token.Reveal())
	resp, err := t.base.RoundTrip(r)
	if err == nil {
		annotate(resp)
	}
	return resp, err
}

// retryable decides whether to send again and after how long.
func (t *transport) retryable(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	backoff := httpretry.Backoff(t.baseDelay, t.maxDelay, attempt)
	switch {
	case err != nil:
		return backoff, req.Method != http.MethodPost && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	case resp.StatusCode == http.StatusTooManyRequests:
		d, ok := t.serverDelay(resp)
		if !ok {
			d = backoff
		}
		// A wait longer than maxWait is better reported than slept through.
		return d, d <= t.maxWait
	case resp.StatusCode >= 500 && req.Method != http.MethodPost:
		if d, ok := t.serverDelay(resp); ok && d <= t.maxWait {
			return d, true
		}
		return backoff, true
	}
	return 0, false
}

// serverDelay reads how long the API asks to wait: Retry-After, or, when
// no request is left in the window, until RateLimit-Reset (epoch
// seconds).
func (t *transport) serverDelay(resp *http.Response) (time.Duration, bool) {
	if d, ok := httpretry.RetryAfter(resp, t.clock.Now()); ok {
		return d, true
	}
	if resp.Header.Get("RateLimit-Remaining") == "0" {
		if s, err := strconv.ParseInt(resp.Header.Get("RateLimit-Reset"), 10, 64); err == nil {
			return max(0, time.Unix(s, 0).Sub(t.clock.Now())), true
		}
	}
	return 0, false
}

// wait blocks until every client-side limiter lets one more request go.
func (t *transport) wait(ctx context.Context) error {
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
	if err := httpretry.Sleep(ctx, t.clock, delay); err != nil {
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

// annotate records the API error id on resp.
func annotate(resp *http.Response) {
	if resp.StatusCode < 400 || resp.Body == nil {
		return
	}
	data, err := httpretry.PeekBody(resp)
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
