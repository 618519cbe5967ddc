package dbaas

import (
	"errors"
	"strings"
)

// The sentinel errors every provider maps its cloud's errors to. Test for
// them with errors.Is.
var (
	// ErrNotFound: the instance, backup or other resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: a resource of that name exists already.
	ErrAlreadyExists = errors.New("already exists")
	// ErrInvalidArgument: the input breaks a rule; the message names the field.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrUnsupported: the provider (or its cloud) cannot do this; its
	// Capabilities say so beforehand.
	ErrUnsupported = errors.New("unsupported")
	// ErrPermissionDenied: the credentials are missing, wrong or not allowed.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrRateLimited: the cloud refused the call for too many requests, and
	// retrying did not help.
	ErrRateLimited = errors.New("rate limited")
	// ErrConflict: the resource is in a state that does not allow the call,
	// or differs from what was asked (for example another engine).
	ErrConflict = errors.New("conflict")
	// ErrTimeout: a wait ran out of time.
	ErrTimeout = errors.New("timeout")
)

// Error is the error providers return: the provider, the operation, the
// resource it concerned, the sentinel that classifies it and the
// underlying cause (for example *godo.ErrorResponse). errors.Is matches
// the sentinel and errors.As reaches the cause. It reads
// "provider: op id: field: kind: cause", leaving out what is empty.
type Error struct {
	Provider string // registered provider name; may be empty
	Op       string // operation, such as "create" or "allow"
	ID       string // instance or backup id or name; may be empty
	Kind     error  // one of the sentinels; may be nil
	Err      error  // underlying cause; may be nil
	Field    string // the input field at fault, for ErrInvalidArgument
}

// Error reads "op id: cause" and adds the kind when the cause does not
// already say it.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Provider != "" {
		b.WriteString(e.Provider)
		b.WriteString(": ")
	}
	b.WriteString(e.Op)
	if e.ID != "" {
		b.WriteString(" ")
		b.WriteString(e.ID)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	switch {
	case e.Err != nil && e.Kind != nil && !errors.Is(e.Err, e.Kind):
		b.WriteString(": ")
		b.WriteString(e.Kind.Error())
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	case e.Err != nil:
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	case e.Kind != nil:
		b.WriteString(": ")
		b.WriteString(e.Kind.Error())
	}
	return b.String()
}

// Unwrap gives both the sentinel and the cause to errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	out := make([]error, 0, 2)
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// Kind returns the sentinel err wraps, or nil when it wraps none.
func Kind(err error) error {
	for _, s := range []error{ErrNotFound, ErrAlreadyExists, ErrInvalidArgument, ErrUnsupported,
		ErrPermissionDenied, ErrRateLimited, ErrConflict, ErrTimeout} {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}
