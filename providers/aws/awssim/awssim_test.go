package awssim_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/aws/awssim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clients are the unmodified SDK clients pointed at a simulator.
type clients struct {
	sim *awssim.Server
	rds *rds.Client
	ec2 *ec2.Client
	sm  *secretsmanager.Client
}

func newSim(t *testing.T, opts awssim.Options, attempts int) *clients {
	t.Helper()
	sim, url, err := awssim.Start(opts)
	require.NoError(t, err)
	// Keep-alive connections would outlive the test and trip goleak.
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	creds := credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", "")
	retryer := func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = attempts
			o.MaxBackoff = 50 * time.Millisecond
		})
	}
	return &clients{
		sim: sim,
		rds: rds.New(rds.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds, HTTPClient: hc, Retryer: retryer()}),
		ec2: ec2.New(ec2.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds, HTTPClient: hc, Retryer: retryer()}),
		sm:  secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), Credentials: creds, HTTPClient: hc, Retryer: retryer()}),
	}
}

func createInput(id string) *rds.CreateDBInstanceInput {
	return &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(id),
		DBInstanceClass:      aws.String("db.t3.micro"),
		Engine:               aws.String("postgres"),
		EngineVersion:        aws.String("16"),
		AllocatedStorage:     aws.Int32(20),
		MasterUsername:       aws.String("dbadmin"),
		MasterUserPassword:   aws.String("Secret-pass1"),
		CopyTagsToSnapshot:   aws.Bool(true),
		Tags:                 []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
	}
}

func describe(t *testing.T, c *clients, id string) types.DBInstance {
	t.Helper()
	out, err := c.rds.DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(id)})
	require.NoError(t, err)
	require.Len(t, out.DBInstances, 1)
	return out.DBInstances[0]
}

func apiCode(t *testing.T, err error) string {
	t.Helper()
	var ae smithy.APIError
	require.True(t, errors.As(err, &ae), "want an API error, got %v", err)
	return ae.ErrorCode()
}

func httpStatus(t *testing.T, err error) int {
	t.Helper()
	var re *awshttp.ResponseError
	require.True(t, errors.As(err, &re), "want a response error, got %v", err)
	return re.HTTPStatusCode()
}

func TestInstanceLifeCycle(t *testing.T) {
	clock := fakeclock.New(start)
	c := newSim(t, awssim.Options{Clock: clock, ProvisionDelay: 10 * time.Minute, BackupDelay: 2 * time.Minute, DeleteDelay: time.Minute}, 1)
	ctx := context.Background()

	out, err := c.rds.CreateDBInstance(ctx, createInput("life"))
	require.NoError(t, err)
	assert.Equal(t, "creating", aws.ToString(out.DBInstance.DBInstanceStatus))
	assert.Nil(t, out.DBInstance.Endpoint, "no endpoint while creating")
	assert.Equal(t, "16.8", aws.ToString(out.DBInstance.EngineVersion), "a major version resolves to its latest minor")

	steps := []struct {
		advance time.Duration
		status  string
	}{
		{9 * time.Minute, "creating"},
		{time.Minute, "backing-up"},
		{2 * time.Minute, "available"},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		d := describe(t, c, "life")
		assert.Equal(t, st.status, aws.ToString(d.DBInstanceStatus), "after %s", st.advance)
	}
	d := describe(t, c, "life")
	require.NotNil(t, d.Endpoint)
	assert.Contains(t, aws.ToString(d.Endpoint.Address), "life.")
	assert.NotContains(t, aws.ToString(d.Endpoint.Address), ":", "address is a host without port")
	assert.EqualValues(t, 5432, aws.ToInt32(d.Endpoint.Port))
	assert.False(t, aws.ToBool(d.PubliclyAccessible))
	assert.Equal(t, []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}, d.TagList)
	require.NotNil(t, d.LatestRestorableTime)

	// The first automated backup was taken while backing-up.
	snaps, err := c.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String("life"), SnapshotType: aws.String("automated")})
	require.NoError(t, err)
	require.Len(t, snaps.DBSnapshots, 1)
	assert.Equal(t, "available", aws.ToString(snaps.DBSnapshots[0].Status))

	_, err = c.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("life"), FinalDBSnapshotIdentifier: aws.String("life-final")})
	require.NoError(t, err)
	assert.Equal(t, "deleting", aws.ToString(describe(t, c, "life").DBInstanceStatus))
	clock.Advance(3 * time.Minute)
	_, err = c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("life")})
	var nf *types.DBInstanceNotFoundFault
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, http.StatusNotFound, httpStatus(t, err))

	// DBInstanceIdentifier must name an existing instance: the snapshots
	// of a deleted one are found in the full list.
	none, err := c.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String("life")})
	require.NoError(t, err)
	assert.Empty(t, none.DBSnapshots)
	final, err := c.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{})
	require.NoError(t, err)
	require.Len(t, final.DBSnapshots, 1, "automated backups go with the instance, the final snapshot stays")
	assert.Equal(t, "life", aws.ToString(final.DBSnapshots[0].DBInstanceIdentifier))
	assert.Equal(t, "life-final", aws.ToString(final.DBSnapshots[0].DBSnapshotIdentifier))
	assert.Equal(t, "available", aws.ToString(final.DBSnapshots[0].Status))
	assert.Equal(t, []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}}, final.DBSnapshots[0].TagList, "CopyTagsToSnapshot")
}

func TestInstanceAvailableWaiter(t *testing.T) {
	c := newSim(t, awssim.Options{ProvisionDelay: 150 * time.Millisecond, BackupDelay: 100 * time.Millisecond}, 1)
	ctx := context.Background()
	_, err := c.rds.CreateDBInstance(ctx, createInput("waited"))
	require.NoError(t, err)
	w := rds.NewDBInstanceAvailableWaiter(c.rds, func(o *rds.DBInstanceAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 100*time.Millisecond
	})
	out, err := w.WaitForOutput(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("waited")}, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "available", aws.ToString(out.DBInstances[0].DBInstanceStatus))
	assert.GreaterOrEqual(t, c.sim.Calls("DescribeDBInstances"), int64(2), "the waiter saw it creating first")

	// The waiter stops on a failure state.
	_, err = c.rds.CreateDBInstance(ctx, createInput("broken"))
	require.NoError(t, err)
	require.True(t, c.sim.SetStatus("broken", "incompatible-parameters"))
	err = w.Wait(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("broken")}, 10*time.Second)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Failure")
}

func TestCreateRefusesBadParameters(t *testing.T) {
	c := newSim(t, awssim.Options{}, 1)
	tests := []struct {
		name   string
		mutate func(*rds.CreateDBInstanceInput)
		code   string
	}{
		{"identifier", func(in *rds.CreateDBInstanceInput) { in.DBInstanceIdentifier = aws.String("bad--name") }, "InvalidParameterValue"},
		{"identifier start", func(in *rds.CreateDBInstanceInput) { in.DBInstanceIdentifier = aws.String("1db") }, "InvalidParameterValue"},
		{"class", func(in *rds.CreateDBInstanceInput) { in.DBInstanceClass = aws.String("db.x9.huge") }, "InvalidParameterCombination"},
		{"engine", func(in *rds.CreateDBInstanceInput) { in.Engine = aws.String("oracle-xe") }, "InvalidParameterValue"},
		{"version", func(in *rds.CreateDBInstanceInput) { in.EngineVersion = aws.String("9.6") }, "InvalidParameterCombination"},
		{"storage low", func(in *rds.CreateDBInstanceInput) { in.AllocatedStorage = aws.Int32(5) }, "InvalidParameterValue"},
		{"storage high", func(in *rds.CreateDBInstanceInput) { in.AllocatedStorage = aws.Int32(70000) }, "InvalidParameterValue"},
		{"password short", func(in *rds.CreateDBInstanceInput) { in.MasterUserPassword = aws.String("short") }, "InvalidParameterValue"},
		{"password slash", func(in *rds.CreateDBInstanceInput) { in.MasterUserPassword = aws.String("has/slash1") }, "InvalidParameterValue"},
		{"password missing", func(in *rds.CreateDBInstanceInput) { in.MasterUserPassword = nil }, "MissingParameter"},
		{"password and managed", func(in *rds.CreateDBInstanceInput) { in.ManageMasterUserPassword = aws.Bool(true) }, "InvalidParameterCombination"},
		{"user reserved", func(in *rds.CreateDBInstanceInput) { in.MasterUsername = aws.String("rdsadmin") }, "InvalidParameterValue"},
		{"port", func(in *rds.CreateDBInstanceInput) { in.Port = aws.Int32(80) }, "InvalidParameterValue"},
		{"retention", func(in *rds.CreateDBInstanceInput) { in.BackupRetentionPeriod = aws.Int32(36) }, "InvalidParameterValue"},
		{"security group", func(in *rds.CreateDBInstanceInput) { in.VpcSecurityGroupIds = []string{"sg-missing"} }, "InvalidParameterValue"},
		{"subnet group", func(in *rds.CreateDBInstanceInput) { in.DBSubnetGroupName = aws.String("nosuch") }, "DBSubnetGroupNotFoundFault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := createInput("refused")
			tt.mutate(in)
			_, err := c.rds.CreateDBInstance(context.Background(), in)
			require.Error(t, err)
			assert.Equal(t, tt.code, apiCode(t, err))
			assert.GreaterOrEqual(t, httpStatus(t, err), 400)
		})
	}
	assert.Empty(t, c.sim.Instances(), "no refused create made an instance")
}

func TestBusyAndDuplicateInstances(t *testing.T) {
	clock := fakeclock.New(start)
	c := newSim(t, awssim.Options{Clock: clock, ProvisionDelay: time.Minute, BackupDelay: time.Minute, DeleteDelay: time.Minute}, 1)
	ctx := context.Background()
	_, err := c.rds.CreateDBInstance(ctx, createInput("busy"))
	require.NoError(t, err)

	_, err = c.rds.CreateDBInstance(ctx, createInput("busy"))
	var dup *types.DBInstanceAlreadyExistsFault
	require.ErrorAs(t, err, &dup)

	_, err = c.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String("busy"), DBSnapshotIdentifier: aws.String("s1")})
	var state *types.InvalidDBInstanceStateFault
	require.ErrorAs(t, err, &state, "a snapshot of a creating instance")

	_, err = c.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("busy")})
	assert.Equal(t, "InvalidParameterCombination", apiCode(t, err), "a final snapshot wanted with no identifier")

	clock.Advance(2 * time.Minute)
	snap, err := c.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String("busy"), DBSnapshotIdentifier: aws.String("s1")})
	require.NoError(t, err)
	assert.Equal(t, "creating", aws.ToString(snap.DBSnapshot.Status))
	assert.Equal(t, "backing-up", aws.ToString(describe(t, c, "busy").DBInstanceStatus))
	_, err = c.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String("busy"), DBSnapshotIdentifier: aws.String("s2")})
	require.ErrorAs(t, err, &state, "a second snapshot while the first is taken")

	_, err = c.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: aws.String("copy"), DBSnapshotIdentifier: aws.String("s1"), DBInstanceClass: aws.String("db.t3.micro")})
	assert.Equal(t, "InvalidDBSnapshotState", apiCode(t, err), "restore of a snapshot being made")

	clock.Advance(time.Minute)
	_, err = c.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String("busy"), DBSnapshotIdentifier: aws.String("s1")})
	var snapDup *types.DBSnapshotAlreadyExistsFault
	require.ErrorAs(t, err, &snapDup)

	_, err = c.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("busy"), SkipFinalSnapshot: aws.Bool(true)})
	require.NoError(t, err)
	_, err = c.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("busy"), SkipFinalSnapshot: aws.Bool(true)})
	require.ErrorAs(t, err, &state, "deleting twice")
}

func TestRestores(t *testing.T) {
	clock := fakeclock.New(start)
	c := newSim(t, awssim.Options{Clock: clock, ProvisionDelay: time.Minute, BackupDelay: time.Minute}, 1)
	ctx := context.Background()
	in := createInput("src")
	in.MasterUserPassword, in.ManageMasterUserPassword = nil, aws.Bool(true)
	_, err := c.rds.CreateDBInstance(ctx, in)
	require.NoError(t, err)
	clock.Advance(2 * time.Minute)
	_, err = c.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String("src"), DBSnapshotIdentifier: aws.String("snap")})
	require.NoError(t, err)
	clock.Advance(time.Minute)

	out, err := c.rds.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{
		DBInstanceIdentifier: aws.String("fromsnap"), DBSnapshotIdentifier: aws.String("snap"), DBInstanceClass: aws.String("db.t3.small")})
	require.NoError(t, err)
	assert.Equal(t, "creating", aws.ToString(out.DBInstance.DBInstanceStatus))
	assert.Equal(t, "postgres", aws.ToString(out.DBInstance.Engine))
	assert.Nil(t, out.DBInstance.MasterUserSecret, "RDS makes no managed secret for a restored instance")
	assert.EqualValues(t, 5432, aws.ToInt32(out.DBInstance.DbInstancePort), "the snapshot's port")

	d := describe(t, c, "src")
	latest := aws.ToTime(d.LatestRestorableTime)
	tests := []struct {
		name string
		at   time.Time
		code string
	}{
		{"inside", latest.Add(-30 * time.Second), ""},
		{"before", start.Add(-time.Hour), "InvalidRestoreFault"},
		{"after", latest.Add(time.Hour), "InvalidRestoreFault"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
				SourceDBInstanceIdentifier: aws.String("src"), TargetDBInstanceIdentifier: aws.String("pitr" + strconv.Itoa(i)),
				RestoreTime: aws.Time(tt.at)})
			if tt.code == "" {
				require.NoError(t, err)
				return
			}
			assert.Equal(t, tt.code, apiCode(t, err))
		})
	}
	_, err = c.rds.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{
		SourceDBInstanceIdentifier: aws.String("src"), TargetDBInstanceIdentifier: aws.String("fromsnap"), UseLatestRestorableTime: aws.Bool(true)})
	var dup *types.DBInstanceAlreadyExistsFault
	require.ErrorAs(t, err, &dup, "a restore onto an existing name")
}

func TestPaging(t *testing.T) {
	c := newSim(t, awssim.Options{}, 1)
	ctx := context.Background()
	for i := range 45 {
		_, err := c.rds.CreateDBInstance(ctx, createInput("page"+strconv.Itoa(i)))
		require.NoError(t, err)
	}
	pages := rds.NewDescribeDBInstancesPaginator(c.rds, &rds.DescribeDBInstancesInput{MaxRecords: aws.Int32(20)})
	seen := map[string]bool{}
	n := 0
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		require.NoError(t, err)
		n++
		for _, d := range page.DBInstances {
			seen[aws.ToString(d.DBInstanceIdentifier)] = true
		}
	}
	assert.Equal(t, 3, n, "45 instances in pages of 20")
	assert.Len(t, seen, 45)
	_, err := c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{MaxRecords: aws.Int32(5)})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err), "MaxRecords below 20")
}

func TestSecurityGroups(t *testing.T) {
	c := newSim(t, awssim.Options{}, 1)
	ctx := context.Background()
	g, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("db"), Description: aws.String("databases"), VpcId: aws.String("vpc-0abc")})
	require.NoError(t, err)
	id := aws.ToString(g.GroupId)
	assert.Regexp(t, `^sg-[0-9a-f]{17}$`, id)

	_, err = c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("db"), Description: aws.String("again"), VpcId: aws.String("vpc-0abc")})
	assert.Equal(t, "InvalidGroup.Duplicate", apiCode(t, err))

	found, err := c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("group-name"), Values: []string{"db"}}, {Name: aws.String("vpc-id"), Values: []string{"vpc-0abc"}}}})
	require.NoError(t, err)
	require.Len(t, found.SecurityGroups, 1)
	assert.Equal(t, id, aws.ToString(found.SecurityGroups[0].GroupId))

	web, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web servers")})
	require.NoError(t, err)
	perm := func(p int32) ec2types.IpPermission {
		return ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(p), ToPort: aws.Int32(p),
			IpRanges:         []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/16")}},
			Ipv6Ranges:       []ec2types.Ipv6Range{{CidrIpv6: aws.String("2001:db8::/32")}},
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: web.GroupId}}}
	}
	_, err = c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{perm(5432)}})
	require.NoError(t, err)
	// One duplicate fails the whole call and adds nothing.
	_, err = c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{perm(3306), perm(5432)}})
	assert.Equal(t, "InvalidPermission.Duplicate", apiCode(t, err))
	assert.Equal(t, http.StatusBadRequest, httpStatus(t, err))

	got, err := c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	require.NoError(t, err)
	require.Len(t, got.SecurityGroups[0].IpPermissions, 1, "the refused call added nothing")
	p := got.SecurityGroups[0].IpPermissions[0]
	assert.EqualValues(t, 5432, aws.ToInt32(p.FromPort))
	assert.Equal(t, "10.0.0.0/16", aws.ToString(p.IpRanges[0].CidrIp))
	assert.Equal(t, "2001:db8::/32", aws.ToString(p.Ipv6Ranges[0].CidrIpv6))
	assert.Equal(t, aws.ToString(web.GroupId), aws.ToString(p.UserIdGroupPairs[0].GroupId))

	_, err = c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{perm(5432)}})
	require.NoError(t, err)
	_, err = c.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{perm(5432)}})
	assert.Equal(t, "InvalidPermission.NotFound", apiCode(t, err))

	_, err = c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0000000000000000"}})
	assert.Equal(t, "InvalidGroup.NotFound", apiCode(t, err))
	_, err = c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id), IpPermissions: []ec2types.IpPermission{{
		IpProtocol: aws.String("tcp"), FromPort: aws.Int32(1), ToPort: aws.Int32(1), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.300/8")}}}}})
	assert.Equal(t, "InvalidParameterValue", apiCode(t, err))
}

func TestManagedPasswordInSecretsManager(t *testing.T) {
	c := newSim(t, awssim.Options{}, 1)
	ctx := context.Background()
	in := createInput("managed")
	in.MasterUserPassword, in.ManageMasterUserPassword = nil, aws.Bool(true)
	out, err := c.rds.CreateDBInstance(ctx, in)
	require.NoError(t, err)
	require.NotNil(t, out.DBInstance.MasterUserSecret)
	arn := aws.ToString(out.DBInstance.MasterUserSecret.SecretArn)
	sec, err := c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	require.NoError(t, err)
	var v map[string]string
	require.NoError(t, json.Unmarshal([]byte(aws.ToString(sec.SecretString)), &v))
	assert.Equal(t, "dbadmin", v["username"])
	assert.GreaterOrEqual(t, len(v["password"]), 16)

	_, err = c.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("nosuch")})
	assert.Equal(t, "ResourceNotFoundException", apiCode(t, err))
}

func TestCredentialsChecked(t *testing.T) {
	c := newSim(t, awssim.Options{Token: "AKIDOTHER"}, 1)
	ctx := context.Background()
	_, err := c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	assert.Equal(t, "InvalidClientTokenId", apiCode(t, err))
	assert.Equal(t, http.StatusForbidden, httpStatus(t, err))
	_, err = c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	assert.Equal(t, "AuthFailure", apiCode(t, err))
}

func TestFaultsAreRetriedBySDK(t *testing.T) {
	tests := []struct {
		name  string
		fault awssim.Fault
	}{
		{"503", awssim.Fault{Op: "DescribeDBInstances", Status: http.StatusServiceUnavailable, Times: 2}},
		{"throttling", awssim.Fault{Op: "DescribeDBInstances", Status: http.StatusBadRequest, Code: "Throttling", Times: 2}},
		{"dropped", awssim.Fault{Op: "DescribeDBInstances", Drop: true, Times: 2}},
		{"slow", awssim.Fault{Op: "DescribeDBInstances", Latency: 50 * time.Millisecond, Times: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newSim(t, awssim.Options{}, 3)
			c.sim.Inject(tt.fault)
			_, err := c.rds.DescribeDBInstances(context.Background(), &rds.DescribeDBInstancesInput{})
			require.NoError(t, err)
			want := int64(3)
			if tt.fault.Latency > 0 {
				want = 1
			}
			assert.Equal(t, want, c.sim.Calls("DescribeDBInstances"))
		})
	}
}

func TestRateLimit(t *testing.T) {
	clock := fakeclock.New(start)
	c := newSim(t, awssim.Options{Clock: clock, RateLimit: simkit.Rate{Limit: 1, Window: time.Second, Burst: 2}, RetryAfter: 300 * time.Millisecond}, 1)
	ctx := context.Background()
	for range 2 {
		_, err := c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
		require.NoError(t, err)
	}
	_, err := c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	assert.Equal(t, "Throttling", apiCode(t, err))
	var re *awshttp.ResponseError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "300", re.Response.Header.Get("x-amz-retry-after"))
	_, err = c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	require.NoError(t, err, "EC2 has a bucket of its own")
	for range 2 {
		_, err = c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	}
	assert.Equal(t, "RequestLimitExceeded", apiCode(t, err))
	assert.Equal(t, http.StatusServiceUnavailable, httpStatus(t, err))
	clock.Advance(time.Second)
	_, err = c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	require.NoError(t, err, "the bucket refills with time")
}

// recorder is a Backend that records what the simulator attaches; the
// provider's tests attach real databases.
type recorder struct {
	mu       sync.Mutex
	attached map[string]bool
	detached []string
}

func (r *recorder) Attach(_ context.Context, key string, engine dbaas.Engine, _ string) (*simdb.Database, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attached[key] = true
	return &simdb.Database{Endpoint: dbaas.Endpoint{Host: "127.0.0.1", Port: engine.DefaultPort()}, User: "u_" + key, Password: dbaas.NewSecret("pw-" + key), Database: "d_" + key}, nil
}

func (r *recorder) Detach(_ context.Context, key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.detached = append(r.detached, key)
	return nil
}

func TestBackendAttachAndDetach(t *testing.T) {
	rec := &recorder{attached: map[string]bool{}}
	sim, url, err := awssim.Start(awssim.Options{Backend: rec})
	require.NoError(t, err)
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	client := rds.New(rds.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), HTTPClient: hc,
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")})
	ctx := context.Background()
	for _, id := range []string{"one", "two"} {
		_, err := client.CreateDBInstance(ctx, createInput(id))
		require.NoError(t, err)
	}
	out, err := client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("one")})
	require.NoError(t, err)
	d := out.DBInstances[0]
	assert.Equal(t, "127.0.0.1", aws.ToString(d.Endpoint.Address), "the backend's endpoint")
	assert.Equal(t, "u_one", aws.ToString(d.MasterUsername))
	assert.Equal(t, "d_one", aws.ToString(d.DBName))
	_, err = client.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("one"), SkipFinalSnapshot: aws.Bool(true)})
	require.NoError(t, err)
	_, err = client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
	require.NoError(t, err)
	require.NoError(t, sim.Close())
	rec.mu.Lock()
	defer rec.mu.Unlock()
	assert.ElementsMatch(t, []string{"one", "two"}, rec.detached, "deleted instances are detached, and Close detaches the rest")
}

func TestOtherOperations(t *testing.T) {
	c := newSim(t, awssim.Options{MaxRules: 2}, 1)
	ctx := context.Background()

	t.Run("SubnetGroups", func(t *testing.T) {
		_, err := c.rds.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String("one"), DBSubnetGroupDescription: aws.String("d"), SubnetIds: []string{"subnet-a"}})
		assert.Equal(t, "DBSubnetGroupDoesNotCoverEnoughAZs", apiCode(t, err))
		out, err := c.rds.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String("Two"), DBSubnetGroupDescription: aws.String("d"), SubnetIds: []string{"subnet-a", "subnet-b"}})
		require.NoError(t, err)
		assert.Equal(t, "two", aws.ToString(out.DBSubnetGroup.DBSubnetGroupName), "stored lower case")
		_, err = c.rds.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String("two"), DBSubnetGroupDescription: aws.String("d"), SubnetIds: []string{"subnet-a", "subnet-b"}})
		var dup *types.DBSubnetGroupAlreadyExistsFault
		require.ErrorAs(t, err, &dup)
		got, err := c.rds.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String("two")})
		require.NoError(t, err)
		require.Len(t, got.DBSubnetGroups, 1)
		assert.Len(t, got.DBSubnetGroups[0].Subnets, 2)
		_, err = c.rds.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String("three")})
		var nf *types.DBSubnetGroupNotFoundFault
		require.ErrorAs(t, err, &nf)
		in := createInput("insubnets")
		in.DBSubnetGroupName = aws.String("two")
		made, err := c.rds.CreateDBInstance(ctx, in)
		require.NoError(t, err)
		assert.Equal(t, "two", aws.ToString(made.DBInstance.DBSubnetGroup.DBSubnetGroupName))
	})

	t.Run("TagsAndSnapshots", func(t *testing.T) {
		d := describe(t, c, "insubnets")
		_, err := c.rds.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: d.DBInstanceArn,
			Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("api")}, {Key: aws.String("env"), Value: aws.String("prod")}}})
		require.NoError(t, err)
		assert.Equal(t, []types.Tag{{Key: aws.String("team"), Value: aws.String("api")}, {Key: aws.String("env"), Value: aws.String("prod")}}, describe(t, c, "insubnets").TagList)
		_, err = c.rds.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String("arn:aws:rds:us-east-1:123456789012:db:nosuch"), Tags: []types.Tag{{Key: aws.String("k")}}})
		assert.Equal(t, http.StatusNotFound, httpStatus(t, err))

		snap, err := c.rds.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String("insubnets"), DBSnapshotIdentifier: aws.String("keep")})
		require.NoError(t, err)
		assert.Equal(t, []types.Tag{{Key: aws.String("team"), Value: aws.String("api")}, {Key: aws.String("env"), Value: aws.String("prod")}}, snap.DBSnapshot.TagList, "copied from the instance")
		all, err := c.rds.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String("insubnets")})
		require.NoError(t, err)
		require.Len(t, all.DBSnapshots, 2, "the automated backup and the manual snapshot")
		var automated string
		for _, s := range all.DBSnapshots {
			if aws.ToString(s.SnapshotType) == "automated" {
				automated = aws.ToString(s.DBSnapshotIdentifier)
			}
		}
		_, err = c.rds.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String(automated)})
		assert.Equal(t, "InvalidDBSnapshotState", apiCode(t, err), "automated backups are RDS's to delete")
		del, err := c.rds.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String("keep")})
		require.NoError(t, err)
		assert.Equal(t, "deleted", aws.ToString(del.DBSnapshot.Status))
		_, err = c.rds.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String("keep")})
		var nf *types.DBSnapshotNotFoundFault
		require.ErrorAs(t, err, &nf)
	})

	t.Run("SecurityGroupInUseAndQuota", func(t *testing.T) {
		g, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("db"), Description: aws.String("d")})
		require.NoError(t, err)
		in := createInput("guarded")
		in.VpcSecurityGroupIds = []string{aws.ToString(g.GroupId)}
		_, err = c.rds.CreateDBInstance(ctx, in)
		require.NoError(t, err)
		_, err = c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: g.GroupId})
		assert.Equal(t, "DependencyViolation", apiCode(t, err))

		rule := func(cidr string) []ec2types.IpPermission {
			return []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(5432), ToPort: aws.Int32(5432), IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}}}}
		}
		for _, cidr := range []string{"10.0.0.0/24", "10.0.1.0/24"} {
			_, err = c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: rule(cidr)})
			require.NoError(t, err)
		}
		_, err = c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: rule("10.0.2.0/24")})
		assert.Equal(t, "RulesPerSecurityGroupLimitExceeded", apiCode(t, err))

		_, err = c.rds.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("guarded"), SkipFinalSnapshot: aws.Bool(true)})
		require.NoError(t, err)
		_, err = c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
		require.NoError(t, err)
		_, err = c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: g.GroupId})
		require.NoError(t, err, "free once the instance is gone")
	})
}

func TestConcurrentClients(t *testing.T) {
	c := newSim(t, awssim.Options{}, 3)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 32)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "conc" + strconv.Itoa(i%8)
			_, err := c.rds.CreateDBInstance(ctx, createInput(id))
			var dup *types.DBInstanceAlreadyExistsFault
			if errors.As(err, &dup) {
				err = nil
			}
			if err == nil {
				_, err = c.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	assert.Len(t, c.sim.Instances(), 8, "each name made once")
	assert.EqualValues(t, 32, c.sim.Calls("CreateDBInstance"))
}
