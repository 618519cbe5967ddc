package migrate

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dump"
	"github.com/agiledeploy/dbaaskit/internal/sqltest"
)

// TestMigrateLocalToLocal copies a database with every common type,
// functions, triggers, views and sequences between two real servers of
// each engine, checks that verification matches, refuses a second copy
// into the now non-empty target, and reports a planted difference.
func TestMigrateLocalToLocal(t *testing.T) {
	tests := []struct {
		engine dbaas.Engine
		data   []string
		plant  string
		tables []string
	}{
		{dbaas.Postgres, pgData, `UPDATE codes SET label = 'changed' WHERE code = 'É'`, []string{"public.codes", "public.items", "public.log"}},
		{dbaas.MariaDB, mariaData, `UPDATE codes SET label = 'changed' WHERE code = 'É'`, []string{"codes", "items", "log"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.engine), func(t *testing.T) {
			// registered first, checked last: after the servers stopped
			ignore := goleak.IgnoreCurrent()
			t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
			ctx := context.Background()
			p := localProvider(t, tc.engine)
			insts := instances(t, p, tc.engine, "src", "dst")
			src, dst := insts[0], insts[1]
			sqltest.Exec(t, connInfo(t, p, src.ID), tc.data...)

			var progressed bool
			rep, err := Migrate(ctx, Side{Provider: p, ID: src.ID}, Side{Provider: p, ID: dst.ID},
				Options{Progress: func(pr dump.Progress) { progressed = progressed || pr.Bytes > 0 }})
			require.NoError(t, err, "%+v", rep)
			assert.True(t, rep.Complete)
			assert.Equal(t, StageDone, rep.Stage)
			assert.True(t, progressed)
			require.NotNil(t, rep.Verify)
			assert.True(t, rep.Verify.Match)
			assert.Empty(t, rep.Verify.Objects)
			var names []string
			for _, tr := range rep.Verify.Tables {
				names = append(names, tr.Name)
				assert.Equal(t, StatusMatch, tr.Status, "%+v", tr)
				assert.Equal(t, tr.Name != tc.tables[2], tr.PrimaryKey, tr.Name)
				assert.Equal(t, tr.PrimaryKey, tr.SourceChecksum != "", tr.Name)
			}
			assert.Equal(t, tc.tables, names)
			assert.Equal(t, int64(3003), rep.Verify.Tables[1].TargetRows)
			assert.True(t, rep.Load.Committed)

			rep, err = Migrate(ctx, Side{Provider: p, ID: src.ID}, Side{Provider: p, ID: dst.ID}, Options{})
			require.ErrorIs(t, err, ErrNotEmpty)
			assert.False(t, rep.Complete)
			assert.Equal(t, StageCheck, rep.Stage)

			sqltest.Exec(t, connInfo(t, p, dst.ID), tc.plant, "DROP VIEW expensive")
			v, err := Verify(ctx, connInfo(t, p, src.ID), connInfo(t, p, dst.ID))
			require.NoError(t, err)
			assert.False(t, v.Match)
			require.Len(t, v.Mismatches(), 1)
			bad := v.Mismatches()[0]
			assert.Equal(t, tc.tables[0], bad.Name)
			assert.Equal(t, bad.SourceRows, bad.TargetRows)
			assert.NotEqual(t, bad.SourceChecksum, bad.TargetChecksum)
			assert.Contains(t, v.Summary(), "table "+tc.tables[0]+" differs")
			require.Len(t, v.Objects, 1)
			assert.Equal(t, "view", v.Objects[0].Kind)
			assert.True(t, v.Objects[0].InSource)
			assert.False(t, v.Objects[0].InTarget)
		})
	}
}
