package simkit

import "sync"

// Controls is what a simulator's users drive and read: the injected
// faults and the call counters. Simulators embed it, so every simulator
// has the same methods. It is safe for concurrent use.
type Controls struct {
	mu        sync.Mutex
	faults    []Fault
	faultHits int64
	calls     map[string]int64
	total     int64
	writes    int64
	limited   int64
}

func newControls() *Controls { return &Controls{calls: map[string]int64{}} }

// Calls returns how many calls of operation op the simulator received
// (faulted, refused and rate-limited ones included). The names are the
// simulator's, the same ones Fault.Op matches.
func (c *Controls) Calls(op string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// TotalCalls returns how many calls the simulator received.
func (c *Controls) TotalCalls() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Writes returns how many of the calls were of operations that change
// something (create, update, delete, firewall, …), whether or not they
// succeeded: a client that converges to what exists makes none.
func (c *Controls) Writes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writes
}

// RateLimited returns how many calls the rate limits refused (not
// counting injected faults).
func (c *Controls) RateLimited() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limited
}

// ResetCalls sets every call counter, Writes and RateLimited back to zero.
func (c *Controls) ResetCalls() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = map[string]int64{}
	c.total, c.writes, c.limited = 0, 0, 0
}

// count records one call and takes the fault that applies to it.
func (c *Controls) count(call Call) (Fault, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[call.Op]++
	c.total++
	if call.Write {
		c.writes++
	}
	return c.takeFaultLocked(call.Op)
}

func (c *Controls) countLimited() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limited++
}
