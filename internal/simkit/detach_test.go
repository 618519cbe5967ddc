package simkit_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

// detacher records Detach calls and fails for the key "bad".
type detacher struct{ detached []string }

func (d *detacher) Attach(context.Context, string, dbaas.Engine, string) (*simdb.Database, error) {
	return nil, errors.New("not used")
}

func (d *detacher) Detach(ctx context.Context, key string) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("no deadline")
	}
	d.detached = append(d.detached, key)
	if key == "bad" {
		return errors.New("server gone")
	}
	return nil
}

func TestDetachAll(t *testing.T) {
	require.NoError(t, simkit.DetachAll(nil, []string{"a"}), "no backend: nothing to do")
	d := &detacher{}
	err := simkit.DetachAll(d, []string{"a", "bad", "c"})
	assert.Equal(t, []string{"a", "bad", "c"}, d.detached, "every key, past a failure")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "detach bad: server gone")
}

func TestUndoAllVisitsEveryItemWithADeadline(t *testing.T) {
	var seen []int
	boom := errors.New("boom")
	err := simkit.UndoAll([]int{1, 2, 3}, func(ctx context.Context, i int) error {
		if _, ok := ctx.Deadline(); !ok {
			t.Errorf("item %d: no deadline", i)
		}
		seen = append(seen, i)
		if i == 2 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if len(seen) != 3 {
		t.Fatalf("visited %v, want all three after a failure", seen)
	}
}
