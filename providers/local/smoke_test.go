package local

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

func TestSmoke(t *testing.T) {
	for _, e := range []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB} {
		t.Run(string(e), func(t *testing.T) {
			p := newProvider(t, e)
			inst := createWait(t, p, spec("smoke", e))
			conn, err := p.Connection(context.Background(), inst.ID)
			require.NoError(t, err)
			execSQL(t, conn, "CREATE TABLE t (v int)", "INSERT INTO t VALUES (1)")
		})
	}
}
