package awssim_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/providers/aws/awssim"
)

// snapRecorder is a Backend and Snapshotter that records the calls in
// order; realdb's own tests and the provider's conformance run prove the
// copies against real servers.
type snapRecorder struct {
	mu       sync.Mutex
	log      []string
	snaps    map[string]string // snapshot key -> instance
	failSnap bool
}

func (r *snapRecorder) record(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.log = append(r.log, s)
}

func (r *snapRecorder) Attach(_ context.Context, key string, engine dbaas.Engine, _ string) (*simdb.Database, error) {
	r.record("attach " + key)
	return &simdb.Database{Endpoint: dbaas.Endpoint{Host: "127.0.0.1", Port: engine.DefaultPort()}, User: "u_" + key, Password: dbaas.NewSecret("pw"), Database: "d_" + key}, nil
}

func (r *snapRecorder) Detach(_ context.Context, key string) error {
	r.record("detach " + key)
	return nil
}

func (r *snapRecorder) Snapshot(_ context.Context, key, snapshotKey string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failSnap {
		return errors.New("disk full")
	}
	r.snaps[snapshotKey] = key
	r.log = append(r.log, "snapshot "+key)
	return nil
}

func (r *snapRecorder) Restore(_ context.Context, snapshotKey, newKey string, engine dbaas.Engine, _ string) (*simdb.Database, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	src, ok := r.snaps[snapshotKey]
	if !ok {
		return nil, &dbaas.Error{Op: "restore", ID: snapshotKey, Kind: dbaas.ErrNotFound}
	}
	r.log = append(r.log, "restore "+newKey+" from "+src)
	return &simdb.Database{Endpoint: dbaas.Endpoint{Host: "127.0.0.1", Port: engine.DefaultPort()}, User: "u_" + newKey, Password: dbaas.NewSecret("pw"), Database: "d_" + newKey}, nil
}

func (r *snapRecorder) DropSnapshot(_ context.Context, snapshotKey string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if src, ok := r.snaps[snapshotKey]; ok {
		delete(r.snaps, snapshotKey)
		r.log = append(r.log, "drop snapshot of "+src)
	}
	return nil
}

func (r *snapRecorder) logged() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.log...)
}

// TestSnapshotsCarryData follows the data through manual and final
// snapshots: copied when RDS is asked, restored from the copy, dropped
// with the snapshot or at Close; a copy that fails leaves a failed
// snapshot that cannot be restored; point-in-time restores start empty.
func TestSnapshotsCarryData(t *testing.T) {
	rec := &snapRecorder{snaps: map[string]string{}}
	clock := fakeclock.New(start)
	c := newSim(t, awssim.Options{Backend: rec, Clock: clock, ProvisionDelay: time.Minute, BackupDelay: time.Minute}, 1)
	ctx := context.Background()
	_, err := c.rds.CreateDBInstance(ctx, createInput("src"))
	require.NoError(t, err)
	clock.Advance(3 * time.Minute)
	require.Equal(t, "available", aws.ToString(describe(t, c, "src").DBInstanceStatus))

	_, err = c.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String("src"), DBSnapshotIdentifier: aws.String("manual")})
	require.NoError(t, err)
	assert.Equal(t, []string{"attach src", "snapshot src"}, rec.logged(), "the copy is taken before CreateDBSnapshot answers")
	clock.Advance(2 * time.Minute)
	_, err = c.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: aws.String("from-manual"), DBSnapshotIdentifier: aws.String("manual"), DBInstanceClass: aws.String("db.t3.micro")})
	require.NoError(t, err)
	assert.Contains(t, rec.logged(), "restore from-manual from src")

	_, err = c.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
		SourceDBInstanceIdentifier: aws.String("src"), TargetDBInstanceIdentifier: aws.String("pitr"), RestoreTime: aws.Time(clock.Now().Add(-time.Second))})
	require.NoError(t, err)
	assert.Contains(t, rec.logged(), "attach pitr", "no write log: a restore to a past time starts empty")
	_, err = c.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
		SourceDBInstanceIdentifier: aws.String("src"), TargetDBInstanceIdentifier: aws.String("latest"), UseLatestRestorableTime: aws.Bool(true)})
	require.NoError(t, err)
	assert.Contains(t, rec.logged(), "restore latest from src", "the latest restorable time is now: a copy of the data as it is")
	rec.mu.Lock()
	assert.Len(t, rec.snaps, 1, "the copy for the latest restore is dropped once attached")
	rec.mu.Unlock()

	rec.mu.Lock()
	rec.failSnap = true
	rec.mu.Unlock()
	_, err = c.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String("src"), DBSnapshotIdentifier: aws.String("broken")})
	require.NoError(t, err)
	clock.Advance(2 * time.Minute)
	out, err := c.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String("broken")})
	require.NoError(t, err)
	assert.Equal(t, "failed", aws.ToString(out.DBSnapshots[0].Status))
	_, err = c.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: aws.String("from-broken"), DBSnapshotIdentifier: aws.String("broken"), DBInstanceClass: aws.String("db.t3.micro")})
	assert.Equal(t, "InvalidDBSnapshotState", apiCode(t, err))
	rec.mu.Lock()
	rec.failSnap = false
	rec.mu.Unlock()

	_, err = c.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("src"), FinalDBSnapshotIdentifier: aws.String("final")})
	require.NoError(t, err)
	clock.Advance(time.Hour)
	_, err = c.rds.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String("manual")})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		log := strings.Join(rec.logged(), "\n")
		return strings.Contains(log, "detach src") && strings.Contains(log, "drop snapshot of src")
	}, 5*time.Second, 5*time.Millisecond)
	log := rec.logged()
	assert.Less(t, indexOf(log, "snapshot src", 3), indexOf(log, "detach src", 1), "the final copy is taken before the instance's database goes")
	rec.mu.Lock()
	assert.Len(t, rec.snaps, 1, "the final snapshot's copy stays after its instance")
	rec.mu.Unlock()

	require.NoError(t, c.sim.Close())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.Empty(t, rec.snaps, "Close drops the copies left")
}

// indexOf returns the index of the nth occurrence of s in log, or -1.
func indexOf(log []string, s string, nth int) int {
	for i, x := range log {
		if x == s {
			if nth--; nth == 0 {
				return i
			}
		}
	}
	return -1
}
