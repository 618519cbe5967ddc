package dbaastest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/providers/memory"
)

// faultEnv names the fault TestBrokenProvider plants in the memory
// provider; TestConformanceCatchesFaults runs it in a child process per
// fault, because a failing RunConformance fails the test that runs it.
const faultEnv = "DBAASTEST_FAULT"

// broken is the memory provider with one planted fault.
type broken struct {
	*memory.Provider
	fault string
	clock dbaas.Clock
}

func (b *broken) Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error) {
	switch b.fault {
	case "calls-before-validating":
		_, _ = b.Provider.List(ctx)
	case "opens-to-world":
		spec.AllowWorld = true
	}
	inst, err := b.Provider.Create(ctx, spec)
	if errors.Is(err, dbaas.ErrAlreadyExists) && b.fault == "reuses-duplicate" {
		return dbaas.FindByName(ctx, b.Provider, spec.Name)
	}
	if err != nil && b.fault == "password-in-error" {
		return nil, fmt.Errorf("%w (admin password %s)", err, spec.AdminPassword.Reveal())
	}
	return inst, err
}

func (b *broken) Get(ctx context.Context, id string) (*dbaas.Instance, error) {
	if b.fault == "ignores-cancel" {
		ctx = context.WithoutCancel(ctx)
	}
	inst, err := b.Provider.Get(ctx, id)
	if b.fault == "nil-not-found" && errors.Is(err, dbaas.ErrNotFound) {
		return nil, nil
	}
	return inst, err
}

func (b *broken) Delete(ctx context.Context, id string, opts dbaas.DeleteOptions) error {
	switch b.fault {
	case "delete-does-nothing":
		_, err := b.Provider.Get(ctx, id)
		return err
	case "no-final-backup":
		opts.SkipFinalBackup = true
	}
	return b.Provider.Delete(ctx, id, opts)
}

func (b *broken) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	c, err := b.Provider.Connection(ctx, id)
	if err == nil && b.fault == "host-with-port" {
		c.Endpoint.Host = c.Endpoint.Address()
	}
	return c, err
}

func (b *broken) Allow(ctx context.Context, id string, sources ...dbaas.Source) error {
	if b.fault == "allow-twice-fails" {
		have, err := b.Provider.Access(ctx, id)
		if err != nil {
			return err
		}
		for _, s := range sources {
			for _, h := range have {
				if s == h {
					return &dbaas.Error{Op: "allow", ID: id, Kind: dbaas.ErrAlreadyExists}
				}
			}
		}
	}
	return b.Provider.Allow(ctx, id, sources...)
}

func (b *broken) Backup(ctx context.Context, id, name string) (*dbaas.Backup, error) {
	if b.fault == "backup-unsupported" {
		return nil, &dbaas.Error{Provider: "broken", Op: "backup", Kind: dbaas.ErrUnsupported, Err: errors.New("no on-demand backup")}
	}
	return b.Provider.Backup(ctx, id, name)
}

func (b *broken) Restore(ctx context.Context, from dbaas.RestorePoint, spec dbaas.Spec) (*dbaas.Instance, error) {
	if from.IsPointInTime() && b.fault == "pitr-restores-latest" {
		from = dbaas.AtTime(from.InstanceID, b.clock.Now())
	}
	return b.Provider.Restore(ctx, from, spec)
}

// TestBrokenProvider runs the suite on a provider with the fault named by
// DBAASTEST_FAULT ("none" for none).
func TestBrokenProvider(t *testing.T) {
	fault := os.Getenv(faultEnv)
	if fault == "" {
		t.Skip("run by TestConformanceCatchesFaults with " + faultEnv + " set")
	}
	clock := fakeclock.NewAuto(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	mp := memory.New(memory.Options{ProvisionDelay: 5 * time.Minute, BackupDelay: time.Minute, DeleteDelay: time.Minute, Clock: clock})
	p := &broken{Provider: mp, fault: fault, clock: clock}
	dbaastest.RunConformance(t, dbaastest.Harness{
		Provider: p,
		Spec: func(name string, engine dbaas.Engine) dbaas.Spec {
			return dbaas.Spec{Name: name, Engine: engine, Size: "small"}
		},
		Calls: mp.Calls,
		// Concurrent waiters all move the auto clock: a long timeout holds
		// their jumps.
		Wait: dbaas.WaitOptions{Clock: clock, Timeout: 1000 * time.Hour},
		WriteData: func(ctx context.Context, conn *dbaas.ConnectionInfo, value string) error {
			id, err := mp.InstanceFor(conn)
			if err != nil {
				return err
			}
			return mp.Put(ctx, id, value)
		},
		ReadData: func(ctx context.Context, conn *dbaas.ConnectionInfo) ([]string, error) {
			id, err := mp.InstanceFor(conn)
			if err != nil {
				return nil, err
			}
			return mp.Values(ctx, id)
		},
		Concurrency: 4,
		Timeout:     20 * time.Second,
	})
}

// TestConformanceCatchesFaults proves that the suite fails a provider
// that breaks the contract, in the subtest that checks the rule broken,
// and passes the same provider without the fault.
func TestConformanceCatchesFaults(t *testing.T) {
	tests := []struct {
		fault   string
		subtest string // the subtest that must fail; "" means all must pass
	}{
		{"none", ""},
		{"calls-before-validating", "InvalidSpec"},
		{"opens-to-world", "WorldAccessNeedsAllowWorld"},
		{"reuses-duplicate", "DuplicateName"},
		{"password-in-error", "Secrets"},
		{"ignores-cancel", "ContextCancelled"},
		{"nil-not-found", "NotFound"},
		{"delete-does-nothing", "Lifecycle/postgres"},
		{"no-final-backup", "DeleteFinalBackup"},
		{"host-with-port", "Lifecycle/postgres"},
		{"allow-twice-fails", "Access"},
		{"backup-unsupported", "Backup"},
		{"pitr-restores-latest", "PointInTimeRestore"},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			run := "^TestBrokenProvider$"
			if tt.subtest != "" {
				run += "/^" + strings.ReplaceAll(tt.subtest, "/", "$/^") + "$"
			}
			cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.v", "-test.count=1")
			cmd.Env = append(os.Environ(), faultEnv+"="+tt.fault)
			out, err := cmd.CombinedOutput()
			if tt.subtest == "" {
				require.NoError(t, err, "the suite fails the memory provider without a fault:\n%s", out)
				assert.Contains(t, string(out), "--- PASS: TestBrokenProvider")
				return
			}
			require.Error(t, err, "the suite passed a provider with fault %s:\n%s", tt.fault, out)
			assert.Contains(t, string(out), "--- FAIL: TestBrokenProvider/"+tt.subtest, "%s", out)
		})
	}
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
