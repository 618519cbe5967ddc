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
