package simkit

import (
	"strings"
	"time"
)

// Fault is a failure injected into the next matching calls: a match (Op,
// Times) and an effect (Latency, then Status with the cloud's error body,
// or Drop). Faults are tried in the order injected; the first that
// matches a call applies to it, and is used up after Times calls.
type Fault struct {
	// Op matches the operation name the simulator gives the call (its
	// documentation lists them): exactly, or as a prefix when it ends
	// with "*" ("GET *" is every GET of a REST simulator). Empty matches
	// every call.
	Op string
	// Times is how many matching calls the fault hits: 0 means one, a
	// negative number every one until ClearFaults.
	Times int
	// Latency holds the answer back this much real time (latency is
	// about the wire, not the simulator's clock): before the call is
	// handled, or, with AfterHandling, after.
	Latency time.Duration
	// Status answers with this HTTP status and the cloud's error body
	// instead of handling the call (500, 503, 429, …).
	Status int
	// Code is the cloud's error code in that body ("Throttling",
	// "too_many_requests"); empty lets the simulator choose the one its
	// cloud sends with Status. A Code alone fails the call with the
	// status the simulator gives that code.
	Code string
	// Message is the error message; empty lets the simulator choose.
	Message string
	// RetryAfter is sent with Status in the cloud's retry header
	// (Retry-After in seconds, rounded up; x-amz-retry-after for AWS).
	RetryAfter time.Duration
	// Drop closes the connection without an answer.
	Drop bool
	// AfterHandling handles the call first and then fails it (Status,
	// Code or Drop) or answers late (Latency): the change happened but
	// the client cannot know. This is the ambiguous failure after which a
	// client must not blindly repeat a create.
	AfterHandling bool
}

// fails reports whether the fault replaces the answer with an error.
func (f Fault) fails() bool { return f.Status != 0 || f.Code != "" }

// matches reports whether the fault applies to operation op.
func (f Fault) matches(op string) bool {
	if f.Op == "" || f.Op == op {
		return true
	}
	prefix, ok := strings.CutSuffix(f.Op, "*")
	return ok && strings.HasPrefix(op, prefix)
}

// Inject queues faults, in order, after those already queued. Each call
// takes the first queued fault matching its operation.
func (c *Controls) Inject(faults ...Fault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, f := range faults {
		if f.Times == 0 {
			f.Times = 1
		}
		c.faults = append(c.faults, f)
	}
}

// Faults returns the faults still queued, with Times the calls each has
// left (negative: every call).
func (c *Controls) Faults() []Fault {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Fault(nil), c.faults...)
}

// ClearFaults removes every queued fault and sets FaultHits back to zero.
func (c *Controls) ClearFaults() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults = nil
	c.faultHits = 0
}

// FaultHits returns how many calls a fault hit since the simulator
// started or ClearFaults: a test can see that a call is being held.
func (c *Controls) FaultHits() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.faultHits
}

// takeFaultLocked returns the first fault matching op and uses one of its
// calls up.
func (c *Controls) takeFaultLocked(op string) (Fault, bool) {
	for i := range c.faults {
		f := &c.faults[i]
		if !f.matches(op) {
			continue
		}
		taken := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				c.faults = append(c.faults[:i], c.faults[i+1:]...)
			}
		}
		c.faultHits++
		return taken, true
	}
	return Fault{}, false
}
