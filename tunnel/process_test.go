package tunnel

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

// gcPercent returns the current GC percent and restores it when the test
// ends.
func gcPercent(t *testing.T) int {
	gc := debug.SetGCPercent(100)
	debug.SetGCPercent(gc)
	t.Cleanup(func() { debug.SetGCPercent(gc) })
	return gc
}

func TestTuneProcess(t *testing.T) {
	t.Run("sets the collection target", func(t *testing.T) {
		t.Setenv("GOGC", "")
		gcPercent(t)
		debug.SetGCPercent(100)
		TuneProcess()
		assert.Equal(t, dedicatedGCPercent, gcPercent(t))
	})
	t.Run("GOGC has the last word", func(t *testing.T) {
		t.Setenv("GOGC", "150")
		gcPercent(t)
		debug.SetGCPercent(150)
		TuneProcess()
		assert.Equal(t, 150, gcPercent(t))
	})
}
