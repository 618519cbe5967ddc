package simkit

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Rate is a rate limit, configured the same way on every simulator.
type Rate struct {
	// Limit is how many requests Window allows; 0 means no limit.
	Limit int
	// Window is the period of Limit; default one minute.
	Window time.Duration
	// Burst is how many requests may come at once (the bucket's size);
	// default Limit. Fixed windows ignore it.
	Burst int
	// Fixed counts requests in fixed windows that start afresh when the
	// previous one is over (Linode's), instead of a bucket refilled
	// continuously at Limit per Window (DigitalOcean's, AWS's).
	Fixed bool
}

// Decision is the state of a limit after a request, what the clouds'
// rate-limit headers report.
type Decision struct {
	// Allowed says the request may go.
	Allowed bool
	// Limit is the number of requests the limit allows (the bucket's
	// size, or the window's count).
	Limit int
	// Remaining is how many more requests may go now.
	Remaining int
	// Reset is when one more request is allowed (a bucket), or when the
	// window starts afresh (fixed windows).
	Reset time.Time
	// RetryAfter is how long a refused request should wait: until Reset.
	RetryAfter time.Duration
}

// SetRateLimitHeaders sets DigitalOcean's RateLimit-Limit,
// RateLimit-Remaining and RateLimit-Reset (epoch seconds, rounded up),
// and Retry-After when the request is refused.
func (d Decision) SetRateLimitHeaders(h http.Header) {
	d.setHeaders(h, "RateLimit-")
}

// SetXRateLimitHeaders sets Linode's X-RateLimit-Limit,
// X-RateLimit-Remaining and X-RateLimit-Reset (epoch seconds), and
// Retry-After when the request is refused.
func (d Decision) SetXRateLimitHeaders(h http.Header) {
	d.setHeaders(h, "X-RateLimit-")
}

func (d Decision) setHeaders(h http.Header, prefix string) {
	h.Set(prefix+"Limit", strconv.Itoa(d.Limit))
	h.Set(prefix+"Remaining", strconv.Itoa(d.Remaining))
	h.Set(prefix+"Reset", strconv.FormatInt(int64(math.Ceil(float64(d.Reset.UnixNano())/1e9)), 10))
	if !d.Allowed {
		h.Set("Retry-After", strconv.Itoa(RetryAfterSeconds(d.RetryAfter)))
	}
}

// Limiter applies a Rate to each key (a token, a service) on the
// simulator's clock. A nil *Limiter, what NewLimiter returns for no
// limit, allows everything. It is safe for concurrent use.
type Limiter struct {
	clock dbaas.Clock
	rate  Rate

	mu   sync.Mutex
	keys map[string]*usage
}

// usage is one key's bucket (tokens, refilled since at) or window (used
// since at).
type usage struct {
	at     time.Time
	tokens float64
	used   int
}

// NewLimiter returns a limiter of r on clock (default the system clock),
// or nil when r has no limit.
func NewLimiter(clock dbaas.Clock, r Rate) *Limiter {
	if r.Limit <= 0 {
		return nil
	}
	if r.Window <= 0 {
		r.Window = time.Minute
	}
	if r.Burst <= 0 {
		r.Burst = r.Limit
	}
	if clock == nil {
		clock = dbaas.SystemClock{}
	}
	return &Limiter{clock: clock, rate: r, keys: map[string]*usage{}}
}

// Rate returns the limiter's rate with its defaults filled in (the zero
// Rate for a nil limiter).
func (l *Limiter) Rate() Rate {
	if l == nil {
		return Rate{}
	}
	return l.rate
}

// Take spends one request of key and returns the decision; a refused
// request spends nothing.
func (l *Limiter) Take(key string) Decision {
	ds, _ := Take(key, l)
	return ds[0]
}

// Peek returns the decision Take would give, without spending.
func (l *Limiter) Peek(key string) Decision {
	if l == nil {
		return Decision{Allowed: true}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.decideLocked(l.usageLocked(key, l.clock.Now()), l.clock.Now())
}

// Take spends one request of key on every limiter when all of them allow
// it, and none otherwise (a per-minute limit and an hourly quota). It
// returns each limiter's decision, in order, and whether the request may
// go. Nil limiters allow everything.
func Take(key string, limiters ...*Limiter) ([]Decision, bool) {
	var live []*Limiter
	for _, l := range limiters {
		if l != nil {
			live = append(live, l)
		}
	}
	// Lock in a fixed order, the one given: simulators always pass their
	// limiters in the same order.
	for _, l := range live {
		l.mu.Lock()
	}
	defer func() {
		for _, l := range live {
			l.mu.Unlock()
		}
	}()
	ds := make([]Decision, len(limiters))
	ok := true
	for i, l := range limiters {
		if l == nil {
			ds[i] = Decision{Allowed: true}
			continue
		}
		now := l.clock.Now()
		ds[i] = l.decideLocked(l.usageLocked(key, now), now)
		ok = ok && ds[i].Allowed
	}
	if !ok {
		return ds, false
	}
	for i, l := range limiters {
		if l == nil {
			continue
		}
		now := l.clock.Now()
		u := l.usageLocked(key, now)
		if l.rate.Fixed {
			u.used++
		} else {
			u.tokens = max(0, u.tokens-1)
		}
		ds[i] = l.decideLocked(u, now)
		ds[i].Allowed = true
	}
	return ds, true
}

// usageLocked returns key's usage brought up to now: a bucket refilled,
// a window started afresh when over.
func (l *Limiter) usageLocked(key string, now time.Time) *usage {
	u := l.keys[key]
	if u == nil {
		u = &usage{at: now, tokens: float64(l.rate.Burst)}
		l.keys[key] = u
	}
	if l.rate.Fixed {
		if !now.Before(u.at.Add(l.rate.Window)) {
			u.at, u.used = now, 0
		}
		return u
	}
	if el := now.Sub(u.at); el > 0 {
		u.tokens = math.Min(float64(l.rate.Burst), u.tokens+float64(el)/float64(l.perToken()))
	}
	u.at = now
	return u
}

// perToken is how long a bucket takes to regain one request.
func (l *Limiter) perToken() time.Duration { return l.rate.Window / time.Duration(l.rate.Limit) }

// decideLocked says whether u allows one more request at now.
func (l *Limiter) decideLocked(u *usage, now time.Time) Decision {
	if l.rate.Fixed {
		reset := u.at.Add(l.rate.Window)
		d := Decision{Allowed: u.used < l.rate.Limit, Limit: l.rate.Limit, Remaining: l.rate.Limit - u.used, Reset: reset}
		if !d.Allowed {
			d.RetryAfter = reset.Sub(now)
		}
		return d
	}
	// The epsilon absorbs float rounding of the refill, so that a client
	// pacing itself exactly at the limit is never refused.
	allowed := u.tokens >= 1-1e-9
	var next time.Duration
	if u.tokens < float64(l.rate.Burst) {
		next = time.Duration((1 - (u.tokens - math.Floor(u.tokens))) * float64(l.perToken()))
	}
	d := Decision{Allowed: allowed, Limit: l.rate.Burst, Remaining: int(u.tokens + 1e-9), Reset: now.Add(next)}
	if !allowed {
		d.RetryAfter = next
	}
	return d
}
