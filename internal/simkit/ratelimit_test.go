package simkit_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestBucketRefillsContinuously(t *testing.T) {
	clock := fakeclock.New(epoch)
	l := simkit.NewLimiter(clock, simkit.Rate{Limit: 60, Window: time.Minute, Burst: 2})
	assert.True(t, l.Take("a").Allowed)
	d := l.Take("a")
	assert.True(t, d.Allowed)
	assert.Equal(t, 2, d.Limit, "a bucket reports its size")
	assert.Equal(t, 0, d.Remaining)

	d = l.Take("a")
	assert.False(t, d.Allowed, "the burst is spent")
	assert.Equal(t, time.Second, d.RetryAfter, "one request a second comes back")
	assert.Equal(t, epoch.Add(time.Second), d.Reset)
	assert.True(t, l.Take("b").Allowed, "keys have buckets of their own")

	clock.Advance(500 * time.Millisecond)
	d = l.Peek("a")
	assert.False(t, d.Allowed)
	assert.Equal(t, 500*time.Millisecond, d.RetryAfter)
	clock.Advance(500 * time.Millisecond)
	assert.True(t, l.Take("a").Allowed)
	assert.False(t, l.Take("a").Allowed, "a refused request spent nothing, a second whole one is not back yet")

	clock.Advance(time.Hour)
	assert.Equal(t, 2, l.Peek("a").Remaining, "never more than the burst")
}

func TestFixedWindowsStartAfresh(t *testing.T) {
	clock := fakeclock.New(epoch)
	l := simkit.NewLimiter(clock, simkit.Rate{Limit: 2, Fixed: true})
	require.Equal(t, time.Minute, l.Rate().Window, "default window")
	for i := range 2 {
		d := l.Take("tok")
		assert.True(t, d.Allowed)
		assert.Equal(t, 1-i, d.Remaining)
		assert.Equal(t, epoch.Add(time.Minute), d.Reset)
	}
	clock.Advance(59 * time.Second)
	d := l.Take("tok")
	assert.False(t, d.Allowed)
	assert.Equal(t, time.Second, d.RetryAfter)
	clock.Advance(time.Second)
	d = l.Take("tok")
	assert.True(t, d.Allowed, "a new window")
	assert.Equal(t, epoch.Add(2*time.Minute), d.Reset)
}

func TestTakeSpendsOnAllOrNone(t *testing.T) {
	clock := fakeclock.New(epoch)
	minute := simkit.NewLimiter(clock, simkit.Rate{Limit: 5})
	hour := simkit.NewLimiter(clock, simkit.Rate{Limit: 1, Window: time.Hour})
	ds, ok := simkit.Take("k", minute, nil, hour)
	require.True(t, ok)
	require.Len(t, ds, 3)
	assert.True(t, ds[1].Allowed, "a nil limiter allows")
	ds, ok = simkit.Take("k", minute, nil, hour)
	assert.False(t, ok, "the hourly quota is spent")
	assert.True(t, ds[0].Allowed)
	assert.False(t, ds[2].Allowed)
	assert.Equal(t, 4, minute.Peek("k").Remaining, "the refused request spent nothing of the minute")
}

func TestNilLimiterAllowsEverything(t *testing.T) {
	l := simkit.NewLimiter(nil, simkit.Rate{})
	require.Nil(t, l)
	assert.True(t, l.Take("k").Allowed)
	assert.True(t, l.Peek("k").Allowed)
	assert.Equal(t, simkit.Rate{}, l.Rate())
}

func TestDecisionHeaders(t *testing.T) {
	reset := epoch.Add(1500 * time.Millisecond)
	tests := []struct {
		name   string
		set    func(simkit.Decision, http.Header)
		d      simkit.Decision
		want   map[string]string
		absent []string
	}{
		{
			name: "DigitalOcean allowed", set: simkit.Decision.SetRateLimitHeaders,
			d:      simkit.Decision{Allowed: true, Limit: 250, Remaining: 249, Reset: reset},
			want:   map[string]string{"RateLimit-Limit": "250", "RateLimit-Remaining": "249", "RateLimit-Reset": "1767323047"},
			absent: []string{"Retry-After", "X-RateLimit-Limit"},
		},
		{
			name: "Linode refused", set: simkit.Decision.SetXRateLimitHeaders,
			d:      simkit.Decision{Limit: 1600, Reset: epoch.Add(time.Minute), RetryAfter: 200 * time.Millisecond},
			want:   map[string]string{"X-RateLimit-Limit": "1600", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1767323105", "Retry-After": "1"},
			absent: []string{"RateLimit-Limit"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			tt.set(tt.d, h)
			for k, v := range tt.want {
				assert.Equal(t, v, h.Get(k), k)
			}
			for _, k := range tt.absent {
				assert.Empty(t, h.Get(k), k)
			}
		})
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 1, time.Millisecond: 1, time.Second: 1, 1001 * time.Millisecond: 2, 30 * time.Second: 30} {
		assert.Equal(t, want, simkit.RetryAfterSeconds(d), d.String())
	}
}
