package linodesim

import (
	"net/http"
	"strings"
	"time"
)

// Fault is a failure the simulator injects into matching requests, in the
// order faults were added; the first match applies.
type Fault struct {
	// Method matches the request method; empty matches any.
	Method string
	// Path matches the request path exactly, or as a prefix when it ends
	// with "*" ("/v4/databases/*"); empty matches any.
	Path string
	// Count is how many matching requests the fault hits; 0 means one,
	// a negative count means every one.
	Count int
	// Latency delays the request by real time (network latency) before
	// anything else.
	Latency time.Duration
	// Status answers with this status and a Linode error body, without
	// handling the request (500, 502, 503, 429, …).
	Status int
	// RetryAfter sets the Retry-After header (seconds) of a Status answer.
	RetryAfter int
	// Drop closes the connection without answering and without handling
	// the request.
	Drop bool
	// DropAfter handles the request (its effects happen) and then closes
	// the connection without answering: the client cannot know whether it
	// worked.
	DropAfter bool

	hits int
}

// Inject adds a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Count == 0 {
		f.Count = 1
	}
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// FaultHits returns how many requests the faults hit so far in total.
func (s *Server) FaultHits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.hits
	}
	return n
}

func (s *Server) matchFaultLocked(r *http.Request) *Fault {
	for _, f := range s.faults {
		if f.Count > 0 && f.hits >= f.Count {
			continue
		}
		if f.Method != "" && f.Method != r.Method {
			continue
		}
		if f.Path != "" {
			if prefix, ok := strings.CutSuffix(f.Path, "*"); ok {
				if !strings.HasPrefix(r.URL.Path, prefix) {
					continue
				}
			} else if f.Path != r.URL.Path {
				continue
			}
		}
		f.hits++
		c := *f
		return &c
	}
	return nil
}
