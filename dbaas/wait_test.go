package dbaas

import (
	"context"

	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWaitUntilAvailable(t *testing.T) {
	p := &scriptedProvider{statuses: []Status{StatusProvisioning, StatusProvisioning, StatusBackingUp, StatusAvailable}}
	clk := &instantClock{now: time.Unix(0, 0)}
	var polls int
	inst, err := Wait(context.Background(), p, "db", WaitOptions{Clock: clk, Progress: func(*Instance, time.Duration, error) { polls++ }})
	require.NoError(t, err)
	assert.Equal(t, StatusAvailable, inst.Status)
	assert.EqualValues(t, 4, p.gets.Load())
	assert.Equal(t, 4, polls)
	// Capped exponential backoff from 2 s with ±10% jitter.
	require.Len(t, clk.sleeps, 3)
	for i, base := range []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second} {
		assert.InDelta(t, float64(base), float64(clk.sleeps[i]), float64(base)/10+1, "sleep %d", i)
	}
}

func TestWaitBackoffIsCapped(t *testing.T) {
	st := make([]Status, 40)
	for i := range st {
		st[i] = StatusProvisioning
	}
	st[len(st)-1] = StatusAvailable
	p := &scriptedProvider{statuses: st}
	clk := &instantClock{now: time.Unix(0, 0)}
	_, err := Wait(context.Background(), p, "db", WaitOptions{Clock: clk, MaxDelay: 10 * time.Second})
	require.NoError(t, err)
	for _, d := range clk.sleeps {
		assert.LessOrEqual(t, d, 11*time.Second)
	}
	assert.GreaterOrEqual(t, clk.sleeps[len(clk.sleeps)-1], 9*time.Second)
}

func TestWaitTerminalStatusStopsAtOnce(t *testing.T) {
	for _, st := range []Status{StatusFailed, StatusDeleting} {
		t.Run(string(st), func(t *testing.T) {
			p := &scriptedProvider{statuses: []Status{StatusProvisioning, st, StatusAvailable}}
			inst, err := Wait(context.Background(), p, "db", WaitOptions{Clock: &instantClock{}})
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrConflict)
			assert.Contains(t, err.Error(), string(st))
			assert.Equal(t, st, inst.Status)
			assert.EqualValues(t, 2, p.gets.Load())
		})
	}
}

func TestWaitTimeout(t *testing.T) {
	p := &scriptedProvider{statuses: []Status{StatusProvisioning}}
	clk := &instantClock{now: time.Unix(0, 0)}
	_, err := Wait(context.Background(), p, "db", WaitOptions{Clock: clk, Timeout: 5 * time.Minute})
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrTimeout)
	assert.Contains(t, err.Error(), "still provisioning after 5m0s")
	assert.Equal(t, time.Unix(0, 0).Add(5*time.Minute), clk.Now(), "the last sleep is cut to the deadline")
}

func TestWaitCancellationIsPrompt(t *testing.T) {
	p := &scriptedProvider{statuses: []Status{StatusProvisioning}}
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Wait(ctx, p, "db", WaitOptions{FirstDelay: time.Hour, Clock: cancelClock{cancel}})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.EqualValues(t, 1, p.gets.Load(), "the wait ends in its pause, not after another poll")
}

func TestWaitRetriesRateLimitAndStopsOnOtherErrors(t *testing.T) {
	p := &scriptedProvider{statuses: []Status{StatusAvailable}, getErrs: []error{ErrRateLimited}}
	inst, err := Wait(context.Background(), p, "db", WaitOptions{Clock: &instantClock{}})
	require.NoError(t, err)
	assert.Equal(t, StatusAvailable, inst.Status)

	p = &scriptedProvider{statuses: []Status{StatusAvailable}, getErrs: []error{&Error{Op: "get", ID: "db", Kind: ErrNotFound}}}
	_, err = Wait(context.Background(), p, "db", WaitOptions{Clock: &instantClock{}})
	assert.ErrorIs(t, err, ErrNotFound)
	assert.EqualValues(t, 1, p.gets.Load())
}

func TestWaitUsesExpectedProvisioningTime(t *testing.T) {
	// A 10-minute provisioning polled with the plain 30 s cap costs ~23
	// calls; with the provider's hint it costs a handful.
	clk := &instantClock{now: time.Unix(0, 0)}
	p := &timedProvider{clk: clk, readyAt: time.Unix(0, 0).Add(10 * time.Minute),
		caps: Capabilities{TypicalProvisioning: 10 * time.Minute}}
	_, err := Wait(context.Background(), p, "db", WaitOptions{Clock: clk})
	require.NoError(t, err)
	assert.LessOrEqual(t, p.gets, 8)
	assert.Less(t, clk.Now().Sub(p.readyAt), time.Minute, "noticed within a minute of ready")

	// A slower-than-expected one still converges with backoff.
	clk = &instantClock{now: time.Unix(0, 0)}
	p = &timedProvider{clk: clk, readyAt: time.Unix(0, 0).Add(25 * time.Minute),
		caps: Capabilities{TypicalProvisioning: 10 * time.Minute}}
	_, err = Wait(context.Background(), p, "db", WaitOptions{Clock: clk})
	require.NoError(t, err)
	assert.LessOrEqual(t, p.gets, 25)

	clk = &instantClock{now: time.Unix(0, 0)}
	p = &timedProvider{clk: clk, readyAt: time.Unix(0, 0).Add(10 * time.Minute)}
	_, err = Wait(context.Background(), p, "db", WaitOptions{Clock: clk})
	require.NoError(t, err)
	assert.Greater(t, p.gets, 15, "without a hint the 30 s cap rules")
}

func TestWaitRefusesBadInput(t *testing.T) {
	_, err := Wait(context.Background(), nil, "db", WaitOptions{})
	assert.ErrorIs(t, err, ErrInvalidArgument)
	_, err = Wait(context.Background(), &scriptedProvider{}, "", WaitOptions{})
	assert.ErrorIs(t, err, ErrInvalidArgument)
	//lint:ignore SA1012 a nil context is the bad input under test
	_, err = Wait(nil, &scriptedProvider{}, "db", WaitOptions{}) //nolint:staticcheck
	assert.ErrorIs(t, err, ErrInvalidArgument)
}

type timedProvider struct {
	scriptedProvider
	clk     *instantClock
	readyAt time.Time
	gets    int
	caps    Capabilities
}

func (p *timedProvider) Capabilities() Capabilities { return p.caps }

func (p *timedProvider) Get(ctx context.Context, id string) (*Instance, error) {
	p.gets++
	if p.clk.Now().Before(p.readyAt) {
		return &Instance{ID: id, Status: StatusProvisioning}, nil
	}
	return &Instance{ID: id, Status: StatusAvailable}, nil
}

func TestWaitShortExpectedTimePollsOften(t *testing.T) {
	// A local server expected in 2 s and ready in 2.3 s is seen well
	// within the default 2 s first delay, which would otherwise make it
	// look ready at 4 s.
	clk := &instantClock{now: time.Unix(0, 0)}
	p := &timedProvider{clk: clk, readyAt: time.Unix(0, 0).Add(2300 * time.Millisecond),
		caps: Capabilities{TypicalProvisioning: 2 * time.Second}}
	_, err := Wait(context.Background(), p, "db", WaitOptions{Clock: clk})
	require.NoError(t, err)
	// Past the expected time polls back off from 100 ms with ±10%
	// jitter, so a server ready at 2.3 s is seen up to ~440 ms late;
	// without the hint it would be 1.7 s.
	assert.Less(t, clk.Now().Sub(p.readyAt), 500*time.Millisecond, "seen soon after ready")
	for _, d := range clk.sleeps {
		assert.GreaterOrEqual(t, d, 45*time.Millisecond, "never spins")
	}

	// An explicit FirstDelay is kept as the shortest pause.
	clk = &instantClock{now: time.Unix(0, 0)}
	p = &timedProvider{clk: clk, readyAt: time.Unix(0, 0).Add(2300 * time.Millisecond),
		caps: Capabilities{TypicalProvisioning: 2 * time.Second}}
	_, err = Wait(context.Background(), p, "db", WaitOptions{Clock: clk, FirstDelay: time.Second})
	require.NoError(t, err)
	for _, d := range clk.sleeps {
		assert.GreaterOrEqual(t, d, 900*time.Millisecond)
	}
}
