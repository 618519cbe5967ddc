package migrate

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dump"
	"github.com/agiledeploy/dbaaskit/internal/sqltest"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

// TestMigrateFailures breaks a PostgreSQL migration in the ways that
// must never leave a target reported complete or half loaded: an
// unreachable source, a wrong password, an interruption and a target
// server killed mid-load. Each returns an error, a report that is not
// complete and says where it stopped, and a target with no table (psql
// loads in one transaction).
func TestMigrateFailures(t *testing.T) {
	ctx := context.Background()
	p := localProvider(t, dbaas.Postgres)
	insts := instances(t, p, dbaas.Postgres, "src", "dst")
	src, dst := insts[0], insts[1]
	srcConn := connInfo(t, p, src.ID)
	// enough rows that the copy is under way when it is stopped
	sqltest.Exec(t, srcConn, `CREATE TABLE big (id int PRIMARY KEY, v text)`,
		`INSERT INTO big SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 100000) g`)

	unreachable := *srcConn
	unreachable.Endpoint.Port = 1
	wrongPassword := *srcConn
	wrongPassword.Password = dbaas.NewSecret("wrong-password-x7")

	tests := []struct {
		name  string
		from  Side
		opts  func(cancel context.CancelFunc) Options
		want  []string
		is    error
		stage string
	}{
		{"unreachable source", Side{Provider: p, ID: src.ID, Conn: &unreachable}, nil,
			[]string{"take:", "127.0.0.1:1"}, nil, StageCopy},
		{"wrong password", Side{Provider: p, ID: src.ID, Conn: &wrongPassword}, nil,
			[]string{"take:", "password authentication failed"}, nil, StageCopy},
		{"interrupted", Side{Provider: p, ID: src.ID}, func(cancel context.CancelFunc) Options {
			return Options{Progress: func(pr dump.Progress) {
				if pr.Bytes > 1<<20 {
					cancel()
				}
			}}
		}, nil, context.Canceled, StageCopy},
		{"target server killed mid-load", Side{Provider: p, ID: src.ID}, func(context.CancelFunc) Options {
			var once sync.Once
			return Options{Progress: func(pr dump.Progress) {
				if pr.Bytes > 1<<20 {
					once.Do(func() { require.NoError(t, p.Stop(context.Background(), dst.ID)) })
				}
			}}
		}, []string{"dump load"}, nil, StageCopy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			var opts Options
			if tc.opts != nil {
				opts = tc.opts(cancel)
			}
			rep, err := Migrate(cctx, tc.from, Side{Provider: p, ID: dst.ID}, opts)
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.NotContains(t, err.Error(), srcConn.Password.Reveal())
			assert.NotContains(t, err.Error(), "wrong-password-x7")
			require.NotNil(t, rep)
			assert.False(t, rep.Complete)
			assert.Equal(t, tc.stage, rep.Stage)
			assert.Equal(t, err.Error(), rep.Error)
			if rep.Load != nil {
				assert.False(t, rep.Load.Committed)
			}
			ensureRunning(t, p, dst.ID)
			var n int
			c := sqltest.PG(t, connInfo(t, p, dst.ID))
			require.NoError(t, c.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n))
			assert.Zero(t, n, "the target holds nothing of a failed load")
		})
	}
}

// ensureRunning starts the instance again when a test stopped it.
func ensureRunning(t *testing.T, p *local.Provider, id string) {
	t.Helper()
	ctx := context.Background()
	inst, err := p.Get(ctx, id)
	require.NoError(t, err)
	if inst.Status == dbaas.StatusAvailable {
		return
	}
	if err := p.Start(ctx, id); err != nil && !errors.Is(err, dbaas.ErrConflict) {
		require.NoError(t, err)
	}
	_, err = dbaas.Wait(ctx, p, id, dbaas.WaitOptions{FirstDelay: 100 * time.Millisecond, Timeout: 2 * time.Minute})
	require.NoError(t, err)
}
