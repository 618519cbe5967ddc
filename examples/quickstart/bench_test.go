package main

import (
	"context"
	"io"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

// BenchmarkRunLocal measures the whole walk-through on local PostgreSQL
// against its baseline, one instance made, waited for and deleted with
// the provider alone: the ratio is what the other steps (query, allow,
// backup, restore, compare, a second instance) cost on top of the least
// any walk-through costs.
//
//	go test -run '^$' -bench RunLocal -benchtime 3x ./examples/quickstart
func BenchmarkRunLocal(b *testing.B) {
	if err := local.CheckInstalled(context.Background(), dbaas.Postgres); err != nil {
		b.Skip(err)
	}
	b.Setenv("DBAAS_SETTINGS", "")
	b.Run("baseline", func(b *testing.B) {
		dir, err := os.MkdirTemp("", "quickstart-bench-")
		require.NoError(b, err)
		require.NoError(b, os.Chmod(dir, 0o711))
		defer os.RemoveAll(dir)
		ctx := context.Background()
		p, err := local.New(ctx, local.Options{StateDir: dir})
		require.NoError(b, err)
		defer p.Close()
		wait := dbaas.WaitOptions{FirstDelay: 200 * time.Millisecond, MaxDelay: time.Second}
		for b.Loop() {
			inst, err := p.Create(ctx, dbaas.Spec{Name: "quickstart", Engine: dbaas.Postgres, Size: "small"})
			require.NoError(b, err)
			_, err = dbaas.Wait(ctx, p, inst.ID, wait)
			require.NoError(b, err)
			require.NoError(b, p.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
		}
	})
	b.Run("quickstart", func(b *testing.B) {
		for b.Loop() {
			require.NoError(b, run(context.Background(), io.Discard, nil))
		}
	})
}
