package vultr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/httpretry"
)

// APIError is an error answer of the Vultr API. govultr returns such
// answers as plain errors without the status; the provider's transport
// records the status and the API's message, and APIError carries both
// with govultr's error (Unwrap). errors.As reaches it through the
// provider's errors.
type APIError struct {
	// Method and Path are the request's ("PUT", "/v2/databases/…").
	Method, Path string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Message is the API's "error" text.
	Message string
	// Err is govultr's error.
	Err error
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("vultr api: %s %s: %d %s", e.Method, e.Path, e.StatusCode, msg)
}

// Unwrap returns govultr's error.
func (e *APIError) Unwrap() error { return e.Err }

// exchange is what the transport learnt of a call's request: the last
// try's answer, and whether any try was sent at all.
type exchange struct {
	method, path string
	status       int
	message      string
	sent         bool
	tries        int
	// lost says an earlier try got no answer or a 5xx: it may have been
	// carried out.
	lost bool
}

type exchangeKey struct{}

// transport signs each try with the API key and records its answer's
// status and error message for the call that sent it. It sits under the
// retrying transport (internal/httpretry), which keeps to the client-side
// rate limit before each try.
type transport struct {
	base  http.RoundTripper
	token string
	rtt   *rttEstimate
}

// rttEstimate is a moving average of the time the API takes to answer,
// limiter waits left out.
type rttEstimate struct{ nanos atomic.Int64 }

func (e *rttEstimate) add(d time.Duration) {
	for {
		old := e.nanos.Load()
		next := int64(d)
		if old > 0 {
			next = old + (int64(d)-old)/8
		}
		if e.nanos.CompareAndSwap(old, next) {
			return
		}
	}
}

func (e *rttEstimate) get() time.Duration { return time.Duration(e.nanos.Load()) }

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.token)
	x, _ := req.Context().Value(exchangeKey{}).(*exchange)
	if x != nil {
		if x.tries > 0 && (x.status == 0 || x.status >= 500) {
			x.lost = true
		}
		x.method, x.path, x.status, x.message, x.sent = req.Method, req.URL.Path, 0, "", true
		x.tries++
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	if err != nil || x == nil {
		return resp, err
	}
	t.rtt.add(time.Since(start))
	x.status = resp.StatusCode
	if resp.StatusCode >= 400 {
		body, err := httpretry.PeekBody(resp)
		if err != nil {
			return nil, err
		}
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil {
			x.message = e.Error
		}
	}
	return resp, nil
}

// retryPolicy says what the retrying transport sends again, in place of
// govultr's retries (turned off), which resend a create after a 5xx:
//   - a 429, for every method: the API refused it before doing anything.
//     The client-side limit already spaces requests, so a 429 means the
//     API's bucket ran dry for a moment (another client of the address):
//     a token comes back within one interval of the rate;
//   - a 5xx or a lost connection, for GET, PUT and DELETE, whose
//     repetition does no more than the first would have.
func (d *vultrDriver) retryPolicy(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	idempotent := httpretry.Idempotent(req.Method)
	switch {
	case err != nil:
		return httpretry.Backoff(d.retryWait, d.retryMaxWait, attempt),
			idempotent && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	case resp.StatusCode == http.StatusTooManyRequests:
		return min(d.interval<<min(attempt-1, 20), d.retryMaxWait), true
	case resp.StatusCode >= 500:
		return httpretry.Backoff(d.retryWait, d.retryMaxWait, attempt), idempotent
	}
	return 0, false
}

// errAmbiguous marks the failure of a request that is not safe to send
// again: it may or may not have been carried out.
type errAmbiguous struct{ err error }

func (e *errAmbiguous) Error() string { return e.err.Error() }
func (e *errAmbiguous) Unwrap() error { return e.err }

// call runs f, one API request (sent again by the transport when that is
// safe), and returns its error: an API error answer as an *APIError, and
// a failure after which a request that is not idempotent may have been
// carried out wrapped in *errAmbiguous, for the caller to look before
// sending it again.
func (d *vultrDriver) call(ctx context.Context, idempotent bool, f func(ctx context.Context) error) error {
	x := &exchange{}
	err := f(context.WithValue(ctx, exchangeKey{}, x))
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if x.status >= 400 {
		err = &APIError{Method: x.method, Path: x.path, StatusCode: x.status, Message: x.message, Err: err}
	}
	if !idempotent && x.sent && (x.status >= 500 || x.status == 0) {
		return &errAmbiguous{err: err}
	}
	return err
}

// pause waits before try attempt+1 of a create that failed ambiguously
// and was found not to have been carried out.
func (d *vultrDriver) pause(ctx context.Context, attempt int) error {
	return httpretry.Sleep(ctx, d.clock, httpretry.Backoff(d.retryWait, d.retryMaxWait, attempt))
}

// ErrorKind maps the API's status to the dbaas sentinels.
func (d *vultrDriver) ErrorKind(err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return nil
	}
	switch ae.StatusCode {
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return dbaas.ErrInvalidArgument
	case http.StatusUnauthorized, http.StatusForbidden:
		return dbaas.ErrPermissionDenied
	case http.StatusNotFound:
		return dbaas.ErrNotFound
	case http.StatusConflict:
		return dbaas.ErrConflict
	case http.StatusTooManyRequests:
		return dbaas.ErrRateLimited
	}
	return nil
}
