package fakeclock

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestAdvanceFiresDueWaitsInOrder(t *testing.T) {
	c := New(t0)
	late := c.After(2 * time.Minute)
	early := c.After(time.Minute)
	assert.Equal(t, 2, c.Waiters())

	c.Advance(59 * time.Second)
	select {
	case <-early:
		t.Fatal("fired before its time")
	default:
	}
	c.Advance(time.Second)
	require.Equal(t, t0.Add(time.Minute), <-early)
	assert.Equal(t, 1, c.Waiters())
	c.Advance(time.Hour)
	assert.Equal(t, t0.Add(61*time.Minute), <-late)
	assert.Equal(t, 0, c.Waiters())
	assert.Equal(t, t0.Add(61*time.Minute), c.Now())
}

func TestAfterZeroFiresAtOnce(t *testing.T) {
	c := New(t0)
	assert.Equal(t, t0, <-c.After(0))
	assert.Equal(t, t0, <-c.After(-time.Second))
}

func TestAutoClockJumps(t *testing.T) {
	c := NewAuto(t0)
	c.Sleep(10 * time.Minute)
	assert.Equal(t, t0.Add(10*time.Minute), c.Now())
	assert.Equal(t, t0.Add(10*time.Minute+time.Second), <-c.After(time.Second))
	assert.Equal(t, 0, c.Waiters())
}
