package aws_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	awsp "github.com/agiledeploy/dbaaskit/providers/aws"
	"github.com/agiledeploy/dbaaskit/providers/aws/awssim"
)

// allRules returns every ingress rule of every security group, by group
// id, for comparing before and after.
func allRules(t *testing.T, e *env) map[string][]ec2types.IpPermission {
	t.Helper()
	var client *ec2.Client
	require.True(t, e.p.As(&client))
	out, err := client.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{})
	require.NoError(t, err)
	rules := map[string][]ec2types.IpPermission{}
	for _, g := range out.SecurityGroups {
		rules[aws.ToString(g.GroupId)] = g.IpPermissions
	}
	return rules
}

func TestEachInstanceHasItsOwnAccessList(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{})
	ctx := context.Background()
	a, b := spec("shop-a", dbaas.Postgres), spec("shop-b", dbaas.Postgres)
	a.Access = []dbaas.Source{dbaas.CIDR("10.1.0.0/24"), dbaas.CIDR("10.1.1.0/24")}
	b.Access = []dbaas.Source{dbaas.CIDR("10.2.0.0/24")}
	for _, s := range []dbaas.Spec{a, b} {
		_, err := e.p.Create(ctx, s)
		require.NoError(t, err)
	}
	web := dbaas.Source{Kind: dbaas.SourceSecurityGroup, Value: toolkitGroup(t, e, awsp.DefaultSecurityGroupName, awssim.DefaultVPC)}
	before, err := e.p.Access(ctx, "shop-a")
	require.NoError(t, err)
	assert.Equal(t, append(a.Access, web), before)

	// The cron job of instance B makes its list exactly B's web servers.
	change, err := dbaas.SyncAccess(ctx, e.p, "shop-b", []dbaas.Source{dbaas.CIDR("10.2.9.0/24"), web})
	require.NoError(t, err)
	assert.Equal(t, []dbaas.Source{dbaas.CIDR("10.2.9.0/24")}, change.Added)
	assert.Equal(t, []dbaas.Source{dbaas.CIDR("10.2.0.0/24")}, change.Removed)
	got, err := e.p.Access(ctx, "shop-b")
	require.NoError(t, err)
	assert.Equal(t, []dbaas.Source{dbaas.CIDR("10.2.9.0/24"), web}, got)

	after, err := e.p.Access(ctx, "shop-a")
	require.NoError(t, err)
	assert.Equal(t, before, after, "syncing B leaves A's access alone")
	require.NoError(t, e.p.Revoke(ctx, "shop-b", dbaas.CIDR("10.1.0.0/24")))
	after, err = e.p.Access(ctx, "shop-a")
	require.NoError(t, err)
	assert.Equal(t, before, after, "revoking on B a source A has leaves A's rule")
}

func TestWebServersGroupIsLetInOnThePort(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{})
	ctx := context.Background()
	s := spec("ported", dbaas.MySQL)
	s.Port = 6033
	inst, err := e.p.Create(ctx, s)
	require.NoError(t, err)

	web := toolkitGroup(t, e, awsp.DefaultSecurityGroupName, awssim.DefaultVPC)
	own := groupsNamed(t, e, awsp.InstanceSecurityGroupName("ported"))
	require.Len(t, own, 1)
	assert.Equal(t, awssim.DefaultVPC, aws.ToString(own[0].VpcId))
	require.Len(t, own[0].IpPermissions, 1)
	perm := own[0].IpPermissions[0]
	assert.Equal(t, "tcp", aws.ToString(perm.IpProtocol))
	assert.EqualValues(t, 6033, aws.ToInt32(perm.FromPort))
	assert.EqualValues(t, 6033, aws.ToInt32(perm.ToPort))
	require.Len(t, perm.UserIdGroupPairs, 1)
	assert.Equal(t, web, aws.ToString(perm.UserIdGroupPairs[0].GroupId), "the web servers' group is the source")

	// The instance carries its own group alone: the web servers' group
	// is where web servers go, read from Access.
	got, err := e.p.Access(ctx, inst.ID)
	require.NoError(t, err)
	assert.Equal(t, []dbaas.Source{{Kind: dbaas.SourceSecurityGroup, Value: web}}, got)
}

func TestToolkitGroupOfAnotherVPCIsNotUsed(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{})
	ctx := context.Background()
	var client *ec2.Client
	require.True(t, e.p.As(&client))
	other, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(awsp.DefaultSecurityGroupName),
		Description: aws.String("the toolkit of another VPC"), VpcId: aws.String("vpc-0other")})
	require.NoError(t, err)

	_, err = e.p.Create(ctx, spec("novpc", dbaas.Postgres))
	require.NoError(t, err)
	web := toolkitGroup(t, e, awsp.DefaultSecurityGroupName, awssim.DefaultVPC)
	assert.NotEqual(t, aws.ToString(other.GroupId), web, "a group of the default VPC is made")
	got, err := e.p.Access(ctx, "novpc")
	require.NoError(t, err)
	assert.Equal(t, []dbaas.Source{{Kind: dbaas.SourceSecurityGroup, Value: web}}, got)
	assert.Empty(t, allRules(t, e)[aws.ToString(other.GroupId)])
}

func TestRefusedDuplicateCreateChangesNoRule(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{})
	ctx := context.Background()
	first := spec("dup", dbaas.Postgres)
	first.Access = []dbaas.Source{dbaas.CIDR("10.5.0.0/24")}
	_, err := e.p.Create(ctx, first)
	require.NoError(t, err)
	rules := allRules(t, e)
	groups := e.sim.Calls("CreateSecurityGroup")

	second := spec("dup", dbaas.Postgres)
	second.Access = []dbaas.Source{dbaas.CIDR("192.0.2.0/24")}
	_, err = e.p.Create(ctx, second)
	require.ErrorIs(t, err, dbaas.ErrAlreadyExists)
	assert.Equal(t, rules, allRules(t, e), "no rule added or removed")
	assert.Equal(t, groups, e.sim.Calls("CreateSecurityGroup"), "no group made")
}

func TestDeleteRemovesTheInstanceGroup(t *testing.T) {
	clock := fakeclock.New(start)
	e := newEnv(t, awssim.Options{Clock: clock, DeleteDelay: 2 * time.Minute}, awsp.Options{})
	ctx := context.Background()
	for _, id := range []string{"gone1", "gone2"} {
		_, err := e.p.Create(ctx, spec(id, dbaas.Postgres))
		require.NoError(t, err)
		_, err = e.p.Get(ctx, id) // available on the first look
		require.NoError(t, err)
		require.NoError(t, e.p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true}))
		assert.Len(t, groupsNamed(t, e, awsp.InstanceSecurityGroupName(id)), 1, "RDS holds the group while it deletes the instance")
	}
	clock.Advance(time.Hour)
	_, err := e.p.Get(ctx, "gone1")
	require.ErrorIs(t, err, dbaas.ErrNotFound)
	assert.Empty(t, groupsNamed(t, e, awsp.InstanceSecurityGroupName("gone1")), "removed once the instance is gone")
	_, err = e.p.List(ctx)
	require.NoError(t, err)
	assert.Empty(t, groupsNamed(t, e, awsp.InstanceSecurityGroupName("gone2")), "removed when the list shows it gone")
	assert.Len(t, groupsNamed(t, e, awsp.DefaultSecurityGroupName), 1, "the toolkit's group stays")
}

func TestCloseReportsGroupsStillHeld(t *testing.T) {
	clock := fakeclock.New(start)
	sim, url, err := awssim.Start(awssim.Options{Clock: clock, DeleteDelay: 2 * time.Minute})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	ctx := context.Background()
	p, err := dbaas.Open(ctx, "aws", dbaas.Config{Region: "us-east-1", BaseURL: url,
		Settings: map[string]string{"access_key_id": "AKIDHELD", "secret_access_key": "s"}})
	require.NoError(t, err)
	_, err = p.Create(ctx, spec("held", dbaas.Postgres))
	require.NoError(t, err)
	_, err = p.Get(ctx, "held")
	require.NoError(t, err)
	require.NoError(t, p.Delete(ctx, "held", dbaas.DeleteOptions{SkipFinalBackup: true}))
	err = p.Close()
	require.ErrorIs(t, err, dbaas.ErrConflict)
	assert.Contains(t, err.Error(), awsp.InstanceSecurityGroupName("held"))
	assert.Contains(t, err.Error(), "delete them once the instances are gone")
}

// TestLeftoverGroupIsNotReused makes an instance whose name has a group
// left from an instance gone elsewhere: its stale rules reach nothing.
func TestLeftoverGroupIsNotReused(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{})
	ctx := context.Background()
	var client *ec2.Client
	require.True(t, e.p.As(&client))
	left, err := client.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(awsp.InstanceSecurityGroupName("reborn")),
		Description: aws.String("left by a process that died"), VpcId: aws.String(awssim.DefaultVPC)})
	require.NoError(t, err)
	_, err = client.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: left.GroupId, IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("203.0.113.0/24")}}}}})
	require.NoError(t, err)

	_, err = e.p.Create(ctx, spec("reborn", dbaas.Postgres))
	require.NoError(t, err)
	got, err := e.p.Access(ctx, "reborn")
	require.NoError(t, err)
	assert.Equal(t, []dbaas.Source{{Kind: dbaas.SourceSecurityGroup, Value: toolkitGroup(t, e, awsp.DefaultSecurityGroupName, awssim.DefaultVPC)}}, got)
	own := groupsNamed(t, e, awsp.InstanceSecurityGroupName("reborn"))
	require.Len(t, own, 1)
	assert.NotEqual(t, aws.ToString(left.GroupId), aws.ToString(own[0].GroupId))
}
