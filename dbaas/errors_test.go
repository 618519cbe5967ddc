package dbaas

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

type cloudErr struct{ code string }

func (e *cloudErr) Error() string { return "cloud says " + e.code }

func TestErrorWrapsKindAndCause(t *testing.T) {
	cause := &cloudErr{code: "not_found"}
	err := fmt.Errorf("layer: %w", &Error{Provider: "cloud", Op: "get", ID: "db-1", Kind: ErrNotFound, Err: cause})
	assert.ErrorIs(t, err, ErrNotFound)
	assert.NotErrorIs(t, err, ErrConflict)
	var ce *cloudErr
	assert.True(t, errors.As(err, &ce))
	assert.Equal(t, "not_found", ce.code)
	var de *Error
	assert.True(t, errors.As(err, &de))
	assert.Equal(t, "get", de.Op)
	assert.Equal(t, "layer: cloud: get db-1: not found: cloud says not_found", err.Error())
	assert.Equal(t, ErrNotFound, Kind(err))
	assert.Nil(t, Kind(errors.New("other")))

	assert.Equal(t, "create x: timeout", (&Error{Op: "create", ID: "x", Kind: ErrTimeout}).Error())
	assert.Equal(t, "create: cloud says boom", (&Error{Op: "create", Err: &cloudErr{"boom"}}).Error())
	// The kind is not repeated when the cause already wraps it.
	assert.Equal(t, "get a: b: not found", (&Error{Op: "get", ID: "a", Kind: ErrNotFound, Err: fmt.Errorf("b: %w", ErrNotFound)}).Error())
}
