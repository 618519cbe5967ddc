package exoscalesim

import (
	"net/http"
	"time"

	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

// operation is an asynchronous operation as /operation/{id} reports it.
type operation struct {
	id      string
	command string
	link    string
	doneAt  time.Time
	// failed ends the operation in failure with reason and message.
	failed          bool
	reason, message string
	// apply, when set, makes the change once the operation succeeds.
	apply func(now time.Time)
}

// operationJSON is the API's operation object.
type operationJSON struct {
	ID        string         `json:"id"`
	State     string         `json:"state"`
	Reason    string         `json:"reason,omitempty"`
	Message   string         `json:"message,omitempty"`
	Reference *referenceJSON `json:"reference,omitempty"`
}

type referenceJSON struct {
	Command string `json:"command,omitempty"`
	Link    string `json:"link,omitempty"`
}

func (o *operation) json(now time.Time) operationJSON {
	out := operationJSON{ID: o.id, State: "pending", Reference: &referenceJSON{Command: o.command, Link: o.link}}
	if now.Before(o.doneAt) {
		return out
	}
	out.State = "success"
	if o.failed {
		out.State, out.Reason, out.Message = "failure", o.reason, o.message
	}
	return out
}

// failure is a queued failure of the next operation of a command.
type failure struct {
	command, reason, message string
}

// FailOperations makes the operations of the next n writes of command
// (the API's operation id, such as "create-dbaas-service-pg",
// "update-dbaas-service-mysql" or "create-dbaas-pg-database") end in
// failure with reason (one of the API's: incorrect, unknown, unavailable,
// forbidden, busy, fault, partial, not-found, interrupted, unsupported,
// conflict) and message. The write is answered 200 with a pending
// operation, as the API does, and changes nothing.
func (s *Server) FailOperations(command string, n int, reason, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, failure{command: command, reason: reason, message: message})
	}
}

// takeFailureLocked returns the queued failure of command, if any.
func (s *Server) takeFailureLocked(command string) (failure, bool) {
	for i, f := range s.failures {
		if f.command == command {
			s.failures = append(s.failures[:i], s.failures[i+1:]...)
			return f, true
		}
	}
	return failure{}, false
}

// startOperationLocked records the operation of a write of command on
// link and answers it. It reports false when a queued failure makes the
// operation fail: the caller must then change nothing.
func (s *Server) startOperationLocked(command, link string) (*operation, bool) {
	o := &operation{id: simkit.NewUUID(), command: command, link: "/v2" + link, doneAt: s.clock.Now().Add(s.opts.OperationDelay)}
	if f, ok := s.takeFailureLocked(command); ok {
		o.failed, o.reason, o.message = true, f.reason, f.message
		// A failed operation always answers pending first, as the API's
		// asynchronous failures do.
		o.doneAt = s.clock.Now().Add(max(s.opts.OperationDelay, time.Millisecond))
	}
	s.ops[o.id] = o
	s.pending = append(s.pending, o)
	return o, !o.failed
}

// settleLocked applies the changes of the operations that have ended by
// now, in the order they were asked for.
func (s *Server) settleLocked(now time.Time) {
	keep := s.pending[:0]
	for _, o := range s.pending {
		switch {
		case now.Before(o.doneAt):
			keep = append(keep, o)
		case o.apply != nil && !o.failed:
			o.apply(o.doneAt)
		}
	}
	clear(s.pending[len(keep):])
	s.pending = keep
}

func (s *Server) answerOperation(w http.ResponseWriter, o *operation) {
	s.mu.Lock()
	out := o.json(s.clock.Now())
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleOperation(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o, ok := s.ops[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Operation not found")
		return
	}
	s.answerOperation(w, o)
}
