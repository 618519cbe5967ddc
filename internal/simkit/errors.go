package simkit

import (
	"net/http"
	"time"
)

// Error is an error answer for a simulator to render in its cloud's
// format.
type Error struct {
	// Status is the HTTP status; 0 when a Fault gave only a Code, and the
	// writer picks the status its cloud sends with that code.
	Status int
	// Code is the cloud's error code or id; empty: the writer's usual one
	// for Status.
	Code string
	// Message is the human-readable text; empty: the writer's usual one.
	Message string
	// Field names the input the error is about, for clouds that say so.
	Field string
	// RetryAfter, when positive, goes in the cloud's retry header.
	RetryAfter time.Duration
}

// ErrorWriter renders errors in one cloud's format: body, content type
// and headers (a request id, the retry header). Each simulator has one.
type ErrorWriter interface {
	WriteError(w http.ResponseWriter, r *http.Request, e Error)
}

// ErrorWriterFunc is an ErrorWriter made of a function.
type ErrorWriterFunc func(w http.ResponseWriter, r *http.Request, e Error)

// WriteError calls f.
func (f ErrorWriterFunc) WriteError(w http.ResponseWriter, r *http.Request, e Error) { f(w, r, e) }

// RetryAfterSeconds is d as the whole seconds of a Retry-After header:
// rounded up, and at least 1, since 0 would invite an immediate retry.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}
