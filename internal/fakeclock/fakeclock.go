// Package fakeclock is a settable dbaas.Clock for tests and benchmarks that
// run long waits (a 10-minute provisioning) on simulated time.
package fakeclock

import (
	"sort"
	"sync"
	"time"
)

// Clock is a fake clock. Its time moves only by Advance, or, in auto mode,
// whenever someone waits on After: the wait is over at once and the clock
// has moved by its length. It is safe for concurrent use.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	auto    bool
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// New returns a clock at start that moves only by Advance.
func New(start time.Time) *Clock { return &Clock{now: start} }

// NewAuto returns a clock at start that jumps forward whenever After is
// called: waits cost no real time.
func NewAuto(start time.Time) *Clock { return &Clock{now: start, auto: true} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives when the clock reaches now+d.
func (c *Clock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.mu.Lock()
	if c.auto && d > 0 {
		c.now = c.now.Add(d)
		c.fireLocked()
	}
	at := c.now.Add(d)
	if d <= 0 || c.auto {
		ch <- c.now
		c.mu.Unlock()
		return ch
	}
	c.waiters = append(c.waiters, waiter{at: at, ch: ch})
	c.mu.Unlock()
	return ch
}

// Sleep waits on After.
func (c *Clock) Sleep(d time.Duration) { <-c.After(d) }

// Advance moves the clock forward by d and wakes the waits that are over.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.fireLocked()
}

// Waiters returns how many After channels have not fired yet.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

func (c *Clock) fireLocked() {
	sort.Slice(c.waiters, func(i, j int) bool { return c.waiters[i].at.Before(c.waiters[j].at) })
	n := 0
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
			continue
		}
		c.waiters[n] = w
		n++
	}
	c.waiters = c.waiters[:n]
}
