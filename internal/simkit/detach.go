package simkit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/agiledeploy/dbaaskit/internal/simdb"
)

// detachTimeout bounds each Detach of DetachAll: a real server takes
// seconds to stop, and a simulator's Close must end.
const detachTimeout = time.Minute

// DetachAll detaches the databases of keys from b (nothing when b is
// nil), each within a minute, and returns the errors joined, each naming
// its key: what a simulator's Close does with the databases its
// instances still have.
func DetachAll(b simdb.Backend, keys []string) error {
	if b == nil {
		return nil
	}
	var errs []error
	for _, k := range keys {
		ctx, cancel := context.WithTimeout(context.Background(), detachTimeout)
		if err := b.Detach(ctx, k); err != nil {
			errs = append(errs, fmt.Errorf("detach %s: %w", k, err))
		}
		cancel()
	}
	return errors.Join(errs...)
}

// UndoAll runs undo on each item, each within a minute, and returns the
// errors joined: what a simulator's Close does with what it made on its
// backing servers besides the databases themselves (the users and
// databases of its API).
func UndoAll[T any](items []T, undo func(context.Context, T) error) error {
	var errs []error
	for _, it := range items {
		ctx, cancel := context.WithTimeout(context.Background(), detachTimeout)
		errs = append(errs, undo(ctx, it))
		cancel()
	}
	return errors.Join(errs...)
}
