// Package realdbtest opens a realdb.Backend for a test: the one way the
// simulators' tests attach the machine's PostgreSQL and MariaDB, so they
// all skip, fail under DBAAS_INTEGRATION=1, and clean up alike.
//
//	func TestData(t *testing.T) {
//		backend := realdbtest.Open(t, realdb.Options{Prefix: "mysim"}, true)
//		sim := mysim.New(mysim.Options{Backend: backend})
//		...
//	}
package realdbtest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
)

// Unavailable is the start of the message a test skips or fails with when
// the servers do not answer: what to install and start.
const Unavailable = "PostgreSQL (127.0.0.1:5432, postgres, trust) and MariaDB (127.0.0.1:3306, root) are not running (install postgresql-15 and mariadb-server and start them)"

// Open returns a backend with opts on the machine's PostgreSQL and
// MariaDB, closed (and required to close cleanly) when the test ends: after
// a simulator opened later, as cleanups run last first. When the servers
// do not answer, a test that requires them is skipped (failed under
// DBAAS_INTEGRATION=1); any other test gets nil and a log line, and goes
// on without its data checks.
func Open(t testing.TB, opts realdb.Options, required bool) *realdb.Backend {
	t.Helper()
	b, err := realdb.New(opts)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Check(ctx); err != nil {
		require.NoError(t, b.Close(ctx))
		why := Unavailable + ": " + err.Error()
		if required || testenv.Integration() {
			testenv.Skip(t, why)
		}
		t.Log(why + "; the data checks are off")
		return nil
	}
	t.Cleanup(func() { require.NoError(t, b.Close(context.Background())) })
	return b
}
