package exoscale

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/httpretry"
)

// The provider's requests go through an httpretry.Transport instead of
// egoscale's default client (go-retryablehttp), which resends every
// method on 5xx, a create included, and does not share a 429's wait
// between goroutines. egoscale signs a request before sending it; a
// resend carries the same signature, which stays valid for ten minutes,
// so no wait here is longer than maxWait.

// pacer holds requests back: all of them for the wait a 429 asked for,
// and each to the client-side pace when one is set.
type pacer struct {
	clock   dbaas.Clock
	limiter *rate.Limiter // nil: no client-side pace

	mu sync.Mutex
	// pausedUntil is when the API allows requests again after a 429:
	// every goroutine waits for it, not only the one refused.
	pausedUntil time.Time
	// reserveMu orders the limiter's reservations by time: rate.Limiter
	// moves its clock backwards when given an earlier time than the last.
	reserveMu sync.Mutex
}

// pause makes every request wait d from now.
func (p *pacer) pause(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := p.clock.Now().Add(d); until.After(p.pausedUntil) {
		p.pausedUntil = until
	}
}

// wait blocks until a 429's pause is over and the pace lets one more
// request go (httpretry.Transport.Before).
func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	paused := p.pausedUntil.Sub(p.clock.Now())
	p.mu.Unlock()
	if err := httpretry.Sleep(ctx, p.clock, paused); err != nil || p.limiter == nil {
		return err
	}
	p.reserveMu.Lock()
	now := p.clock.Now()
	r := p.limiter.ReserveN(now, 1)
	delay := r.DelayFrom(now)
	p.reserveMu.Unlock()
	if err := httpretry.Sleep(ctx, p.clock, delay); err != nil {
		p.reserveMu.Lock()
		r.CancelAt(p.clock.Now())
		p.reserveMu.Unlock()
		return err
	}
	return nil
}

// retryPolicy sends again:
//   - after a 429, every method (the API did not act on the request),
//     once the wait it asked for (Retry-After, or a capped exponential
//     backoff) is over, which the pacer makes every request honour;
//   - after a 5xx or a lost connection, GET, PUT and DELETE only (their
//     effect does not add up), never a POST, whose outcome is then
//     unknown: the adapter looks the service up instead.
func retryPolicy(p *pacer, base, maxDelay, maxWait time.Duration) httpretry.Policy {
	return func(req *http.Request, resp *http.Response, err error, attempt int) (time.Duration, bool) {
		backoff := httpretry.Backoff(base, maxDelay, attempt)
		idempotent := httpretry.Idempotent(req.Method)
		switch {
		case err != nil:
			return backoff, idempotent && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
		case resp.StatusCode == http.StatusTooManyRequests:
			d, ok := httpretry.RetryAfter(resp, p.clock.Now())
			if !ok {
				d = backoff
			}
			if d > maxWait {
				// Better reported than slept through (and outliving the
				// signature).
				return 0, false
			}
			p.pause(d)
			return 0, true
		case resp.StatusCode >= 500 && idempotent:
			if d, ok := httpretry.RetryAfter(resp, p.clock.Now()); ok && d <= maxWait {
				return d, true
			}
			return backoff, true
		}
		return 0, false
	}
}
