package aws_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
	awsp "github.com/agiledeploy/dbaaskit/providers/aws"
)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestConnectionReachesRealDatabase proves the Backend hook end to end:
// the endpoint and the managed master credentials the adapter returns
// open a real PostgreSQL or MariaDB database, a manual snapshot's data is
// dropped with the snapshot, and nothing is left once the simulator
// closes.
func TestConnectionReachesRealDatabase(t *testing.T) {
	backend := realdbtest.Open(t, realdb.Options{Prefix: "awssim"}, true)
	clock := fakeclock.NewAuto(start)
	simOpts := realistic
	simOpts.Clock, simOpts.Backend = clock, backend
	// The local servers speak plain TCP; RDS would require TLS.
	e := newEnv(t, simOpts, awsp.Options{TLS: dbaas.TLSDisable})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var client *rds.Client
	require.True(t, e.p.As(&client))

	for _, engine := range []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB, dbaas.MySQL} {
		t.Run(string(engine), func(t *testing.T) {
			id := "real-" + string(engine)
			_, err := e.p.Create(ctx, spec(id, engine))
			require.NoError(t, err)
			inst, err := dbaas.Wait(ctx, e.p, id, dbaas.WaitOptions{Clock: clock})
			require.NoError(t, err)
			conn, err := e.p.Connection(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, inst.Endpoint, conn.Endpoint)
			require.NoError(t, dbaas.CheckPort(inst, conn.Endpoint.Port))
			assert.False(t, conn.Password.IsZero(), "the managed password, read from Secrets Manager")

			value := "v-" + randomHex(4)
			require.NoError(t, realdb.WriteMarker(ctx, conn, value))
			got, err := realdb.ReadMarkers(ctx, conn)
			require.NoError(t, err)
			assert.Equal(t, []string{value}, got)

			// A restore to the latest restorable time holds the data as it is.
			_, err = client.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
				SourceDBInstanceIdentifier: aws.String(id), TargetDBInstanceIdentifier: aws.String(id + "-latest"),
				UseLatestRestorableTime: aws.Bool(true)})
			require.NoError(t, err)
			_, err = dbaas.Wait(ctx, e.p, id+"-latest", dbaas.WaitOptions{Clock: clock})
			require.NoError(t, err)
			latest, err := e.p.Connection(ctx, id+"-latest")
			require.NoError(t, err)
			got, err = realdb.ReadMarkers(ctx, latest)
			require.NoError(t, err)
			assert.Equal(t, []string{value}, got, "restored to the latest restorable time")
			require.NoError(t, e.p.Delete(ctx, id+"-latest", dbaas.DeleteOptions{SkipFinalBackup: true}))

			_, snapshotsBefore := backend.Held()
			b, err := e.p.Backup(ctx, id, "bk-"+string(engine))
			require.NoError(t, err)
			_, snapshots := backend.Held()
			assert.Equal(t, snapshotsBefore+1, snapshots, "the snapshot copied the data")
			_, err = dbaas.Wait(ctx, e.p, id, dbaas.WaitOptions{Clock: clock})
			require.NoError(t, err)
			_, err = client.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String(b.ID)})
			require.NoError(t, err)
			require.Eventually(t, func() bool {
				_, n := backend.Held()
				return n == snapshotsBefore
			}, 10*time.Second, 10*time.Millisecond, "deleting the snapshot drops its data")

			require.NoError(t, e.p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true}))
		})
	}
	// Deletes finish on the simulated clock; Close detaches what is left.
	clock.Advance(time.Hour)
	_, err := e.p.List(ctx) // the provider sees the instances gone and removes their groups
	require.NoError(t, err)
	require.NoError(t, e.sim.Close())
	attached, snapshots := backend.Held()
	assert.Zero(t, attached, "every database was dropped")
	assert.Zero(t, snapshots, "every snapshot was dropped")
}
