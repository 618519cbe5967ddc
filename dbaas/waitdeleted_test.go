package dbaas

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goneProvider answers Get with statuses in turn and ErrNotFound once
// they run out; errs are returned by the first calls instead.
type goneProvider struct {
	scriptedProvider
	steps []Status
	errs  []error
	calls atomic.Int64
}

func (p *goneProvider) Get(ctx context.Context, id string) (*Instance, error) {
	n := int(p.calls.Add(1)) - 1
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if n < len(p.errs) && p.errs[n] != nil {
		return nil, p.errs[n]
	}
	if n >= len(p.steps) {
		return nil, &Error{Op: "get", ID: id, Kind: ErrNotFound}
	}
	return &Instance{ID: id, Status: p.steps[n], RawStatus: "raw-" + string(p.steps[n])}, nil
}

func deletingFor(n int) []Status {
	st := make([]Status, n)
	for i := range st {
		st[i] = StatusDeleting
	}
	return st
}

func TestWaitDeletedUntilGone(t *testing.T) {
	p := &goneProvider{steps: deletingFor(3)}
	p.caps = Capabilities{TypicalProvisioning: 10 * time.Minute}
	clk := &instantClock{now: time.Unix(0, 0)}
	type poll struct {
		inst *Instance
		err  error
	}
	var polls []poll
	err := WaitDeleted(context.Background(), p, "db", WaitDeletedOptions{Clock: clk,
		Progress: func(inst *Instance, _ time.Duration, err error) { polls = append(polls, poll{inst, err}) }})
	require.NoError(t, err)
	assert.EqualValues(t, 4, p.calls.Load())
	require.Len(t, polls, 4)
	for _, pl := range polls[:3] {
		require.NotNil(t, pl.inst)
		assert.Equal(t, StatusDeleting, pl.inst.Status)
	}
	assert.Equal(t, poll{}, polls[3], "gone: no instance and no error")
	require.Len(t, clk.sleeps, 3)
	assert.Less(t, clk.sleeps[0], 3*time.Second, "no provisioning hint for a delete")
}

func TestWaitDeletedGoneAtOnce(t *testing.T) {
	p := &goneProvider{}
	clk := &instantClock{}
	require.NoError(t, WaitDeleted(context.Background(), p, "db", WaitDeletedOptions{Clock: clk}))
	assert.EqualValues(t, 1, p.calls.Load())
	assert.Empty(t, clk.sleeps)
}

func TestWaitDeletedStopsWhenNotDeleting(t *testing.T) {
	for _, st := range []Status{StatusAvailable, StatusFailed, StatusProvisioning} {
		t.Run(string(st), func(t *testing.T) {
			p := &goneProvider{steps: []Status{StatusDeleting, st, StatusDeleting}}
			err := WaitDeleted(context.Background(), p, "db", WaitDeletedOptions{Clock: &instantClock{}})
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrConflict)
			assert.Contains(t, err.Error(), "wait delete db")
			assert.Contains(t, err.Error(), "instance is "+string(st)+" (raw-"+string(st)+"), not deleting")
			assert.EqualValues(t, 2, p.calls.Load())
		})
	}
}

func TestWaitDeletedTimeout(t *testing.T) {
	p := &goneProvider{steps: deletingFor(1000)}
	clk := &instantClock{now: time.Unix(0, 0)}
	err := WaitDeleted(context.Background(), p, "db", WaitDeletedOptions{Clock: clk, Timeout: time.Minute})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrTimeout)
	assert.Contains(t, err.Error(), "wait delete db: timeout: still deleting after 1m0s, wanted gone")
	assert.Equal(t, time.Unix(0, 0).Add(time.Minute), clk.Now())
}

func TestWaitDeletedCancellation(t *testing.T) {
	p := &goneProvider{steps: deletingFor(1000)}
	ctx, cancel := context.WithCancel(context.Background())
	err := WaitDeleted(ctx, p, "db", WaitDeletedOptions{FirstDelay: time.Hour, Clock: cancelClock{cancel}})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, ErrNotFound)
}

func TestWaitDeletedRetriesRateLimitAndStopsOnOtherErrors(t *testing.T) {
	p := &goneProvider{steps: deletingFor(2), errs: []error{nil, &Error{Op: "get", ID: "db", Kind: ErrRateLimited}}}
	require.NoError(t, WaitDeleted(context.Background(), p, "db", WaitDeletedOptions{Clock: &instantClock{}}))
	assert.EqualValues(t, 3, p.calls.Load())

	p = &goneProvider{steps: deletingFor(2), errs: []error{&Error{Op: "get", ID: "db", Kind: ErrPermissionDenied}}}
	err := WaitDeleted(context.Background(), p, "db", WaitDeletedOptions{Clock: &instantClock{}})
	assert.ErrorIs(t, err, ErrPermissionDenied)
	assert.EqualValues(t, 1, p.calls.Load())
}

func TestWaitDeletedRefusesBadInputWithNoCall(t *testing.T) {
	p := &goneProvider{}
	for _, tc := range []struct {
		name  string
		p     Provider
		ctx   context.Context
		id    string
		field string
	}{
		{"nil provider", nil, context.Background(), "db", "provider"},
		{"nil context", p, nil, "db", "ctx"},
		{"no id", p, context.Background(), "", "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := WaitDeleted(tc.ctx, tc.p, tc.id, WaitDeletedOptions{Clock: &instantClock{}})
			requireInvalidFields(t, err, tc.field)
		})
	}
	assert.Zero(t, p.calls.Load())
}
