package linode

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/httpretry"
)

// retryPolicy says what the provider's transport sends again, in place
// of linodego's retries (turned off), which resend a POST blindly on
// 503, leave 500 and 502 alone, and print "[INFO] … Retrying" to the
// standard logger for every retry:
//   - 429, 408 and 400 "Linode busy." for every method (the API did not
//     act on the request), after Retry-After (at most maxWait) or a
//     capped exponential backoff;
//   - 5xx answers and lost connections for GET, PUT and DELETE, whose
//     repetition does no more than the first would have (a 503 in
//     maintenance mode is not retried, as linodego does not).
type retryPolicy struct {
	clock            dbaas.Clock
	minWait, maxWait time.Duration
}

func (p retryPolicy) retry(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
	backoff := httpretry.Backoff(p.minWait, p.maxWait, attempt)
	idempotent := httpretry.Idempotent(req.Method)
	switch {
	case err != nil:
		return backoff, idempotent && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	case resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout:
		if d, ok := httpretry.RetryAfter(resp, p.clock.Now()); ok {
			return min(d, p.maxWait), true
		}
		return backoff, true
	case resp.StatusCode == http.StatusBadRequest:
		return backoff, linodeBusy(resp)
	case resp.StatusCode >= 500:
		maintenance := resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("X-Maintenance-Mode") != ""
		return backoff, idempotent && !maintenance
	}
	return 0, false
}

// linodeBusy reports whether a 400 answer says "Linode busy.", which the
// API answers without acting on the request. It leaves resp's body
// readable.
func linodeBusy(resp *http.Response) bool {
	data, err := httpretry.PeekBody(resp)
	if err != nil {
		return false
	}
	var body struct {
		Errors []struct {
			Reason string `json:"reason"`
		} `json:"errors"`
	}
	return json.Unmarshal(data, &body) == nil && len(body.Errors) == 1 && body.Errors[0].Reason == "Linode busy."
}
