package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/providers/memory"
)

func harness(p *memory.Provider, wait dbaas.WaitOptions) dbaastest.Harness {
	return dbaastest.Harness{
		Provider: p,
		Spec: func(name string, engine dbaas.Engine) dbaas.Spec {
			return dbaas.Spec{Name: name, Engine: engine, Size: "small"}
		},
		Engines: dbaas.Engines(),
		Calls:   p.Calls,
		Wait:    wait,
		WriteData: func(ctx context.Context, conn *dbaas.ConnectionInfo, value string) error {
			id, err := p.InstanceFor(conn)
			if err != nil {
				return err
			}
			return p.Put(ctx, id, value)
		},
		ReadData: func(ctx context.Context, conn *dbaas.ConnectionInfo) ([]string, error) {
			id, err := p.InstanceFor(conn)
			if err != nil {
				return nil, err
			}
			return p.Values(ctx, id)
		},
		Timeout: 30 * time.Second,
	}
}

// TestConformance runs the suite on real time with short delays.
func TestConformance(t *testing.T) {
	p := memory.New(memory.Options{
		ProvisionDelay: 50 * time.Millisecond,
		BackupDelay:    20 * time.Millisecond,
		DeleteDelay:    20 * time.Millisecond,
	})
	dbaastest.RunConformance(t, harness(p, dbaas.WaitOptions{FirstDelay: 5 * time.Millisecond, MaxDelay: 20 * time.Millisecond}))
}

// TestConformanceSimulatedTime runs the suite with cloud-like delays on a
// fake clock that jumps ahead on every wait: minutes cost nothing. Every
// waiter moves the shared clock, so concurrent waits see each other's
// jumps: the wait timeout is long enough to hold all of them.
func TestConformanceSimulatedTime(t *testing.T) {
	clock := fakeclock.NewAuto(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	p := memory.New(memory.Options{
		ProvisionDelay: 10 * time.Minute,
		BackupDelay:    3 * time.Minute,
		DeleteDelay:    2 * time.Minute,
		Clock:          clock,
	})
	dbaastest.RunConformance(t, harness(p, dbaas.WaitOptions{Clock: clock, Timeout: 1000 * time.Hour}))
}
