package aws_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	awsp "github.com/agiledeploy/dbaaskit/providers/aws"
)

// TestRestoreKeepsPortAndPassword restores a snapshot and the final
// snapshot of a deleted instance made on a custom port with a given
// password: both listen on the source's port and have its password; a
// port given in the spec wins; another process cannot know the password
// and says so.
func TestRestoreKeepsPortAndPassword(t *testing.T) {
	clock := fakeclock.NewAuto(start)
	simOpts := realistic
	simOpts.Clock = clock
	e := newEnv(t, simOpts, awsp.Options{})
	ctx := context.Background()
	wait := dbaas.WaitOptions{Clock: clock}
	assert.False(t, e.p.Capabilities().ReadablePassword, "RDS gives no password back: not promised")

	src := spec("src", dbaas.Postgres)
	src.Port, src.AdminPassword = 6543, dbaas.NewSecret("Given-pass1")
	_, err := e.p.Create(ctx, src)
	require.NoError(t, err)
	_, err = dbaas.Wait(ctx, e.p, "src", wait)
	require.NoError(t, err)
	_, err = e.p.Backup(ctx, "src", "src-snap")
	require.NoError(t, err)
	_, err = dbaas.WaitBackup(ctx, e.p, "src", "src-snap", dbaas.WaitBackupOptions{Clock: clock})
	require.NoError(t, err)
	_, err = dbaas.Wait(ctx, e.p, "src", wait)
	require.NoError(t, err)
	require.NoError(t, e.p.Delete(ctx, "src", dbaas.DeleteOptions{FinalBackupName: "src-final"}))
	require.NoError(t, dbaas.WaitDeleted(ctx, e.p, "src", dbaas.WaitDeletedOptions{Clock: clock}))

	tests := []struct {
		name, from string
		port       int
		want       int
	}{
		{"snapshot", "src-snap", 0, 6543},
		{"final snapshot of a deleted instance", "src-final", 0, 6543},
		{"port given", "src-snap", 7000, 7000},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "restored" + string(rune('a'+i))
			s := spec(id, dbaas.Postgres)
			s.Port = tt.port
			_, err := e.p.Restore(ctx, dbaas.FromBackup(tt.from), s)
			require.NoError(t, err)
			inst, err := dbaas.Wait(ctx, e.p, id, wait)
			require.NoError(t, err)
			assert.Equal(t, tt.want, inst.Endpoint.Port)
			own := groupsNamed(t, e, awsp.InstanceSecurityGroupName(id))
			require.Len(t, own, 1)
			require.Len(t, own[0].IpPermissions, 1)
			assert.EqualValues(t, tt.want, aws.ToInt32(own[0].IpPermissions[0].FromPort), "the web servers are let in on the port it listens on")
			conn, err := e.p.Connection(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, "Given-pass1", conn.Password.Reveal(), "the source's password, carried over")
		})
	}

	// RDS makes no secret for a restored instance, and another process
	// never saw the password: Connection has none, as its capabilities say.
	var rc *rds.Client
	require.True(t, e.p.As(&rc))
	out, err := rc.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("restoredb")})
	require.NoError(t, err)
	assert.Nil(t, out.DBInstances[0].MasterUserSecret)
	other, err := awsp.New(ctx, awsp.Options{Region: "us-east-1", BaseEndpoint: e.url,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDOTHER", "s", "")})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, other.Close()) })
	assert.False(t, other.Capabilities().ReadablePassword)
	conn, err := other.Connection(ctx, "restoredb")
	require.NoError(t, err)
	assert.True(t, conn.Password.IsZero())
	err = other.EnsureDatabase(ctx, "restoredb", "app")
	require.ErrorIs(t, err, dbaas.ErrUnsupported, "application users need the admin password")
	assert.Contains(t, err.Error(), "not readable")

	// Given a master password, the provider promises one.
	configured, err := awsp.New(ctx, awsp.Options{Region: "us-east-1", BaseEndpoint: e.url, MasterPassword: dbaas.NewSecret("Configured-pw1"),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDOTHER", "s", "")})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, configured.Close()) })
	assert.True(t, configured.Capabilities().ReadablePassword)
}
