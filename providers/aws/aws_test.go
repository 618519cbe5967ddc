package aws_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb/realdbtest"
	awsp "github.com/agiledeploy/dbaaskit/providers/aws"
	"github.com/agiledeploy/dbaaskit/providers/aws/awssim"
)

// TestMain keeps the AWS credential chain off the instance metadata
// service (no traffic leaves loopback) and checks that the tests, which
// close every provider and simulator, leak no goroutine: an HTTP
// connection kept alive after Close would.
func TestMain(m *testing.M) {
	if err := os.Setenv("AWS_EC2_METADATA_DISABLED", "true"); err != nil {
		panic(err)
	}
	goleak.VerifyTestMain(m)
}

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// realistic life-cycle delays, run on a fake clock.
var realistic = awssim.Options{ProvisionDelay: 8 * time.Minute, BackupDelay: 4 * time.Minute, DeleteDelay: 2 * time.Minute}

// env is a provider on a simulator.
type env struct {
	sim *awssim.Server
	p   *awsp.Provider
	url string
}

func newEnv(t testing.TB, simOpts awssim.Options, opts awsp.Options) *env {
	t.Helper()
	sim, url, err := awssim.Start(simOpts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Credentials == nil {
		opts.Credentials = credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", "")
	}
	if opts.MaxBackoff == 0 {
		// Short retry pauses keep fault tests quick; the retry logic is the SDK's.
		opts.MaxBackoff = 20 * time.Millisecond
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
		t.Cleanup(opts.HTTPClient.CloseIdleConnections)
	}
	opts.BaseEndpoint = url
	if opts.Clock == nil && simOpts.Clock != nil {
		opts.Clock = simOpts.Clock
	}
	p, err := awsp.New(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		// Let RDS finish the deletes the test left, as a caller waiting
		// for them would, so that Close removes the instances' groups.
		if c, ok := opts.Clock.(*fakeclock.Clock); ok {
			c.Advance(24 * time.Hour)
		}
		assert.NoError(t, p.Close())
	})
	return &env{sim: sim, p: p, url: url}
}

func spec(name string, engine dbaas.Engine) dbaas.Spec {
	return dbaas.Spec{Name: name, Engine: engine, Size: "db.t3.micro", StorageGB: 20}
}

func TestConformance(t *testing.T) {
	clock := fakeclock.NewAuto(start)
	simOpts := realistic
	simOpts.Clock = clock
	// With real databases behind the instances the suite checks that
	// snapshots (manual and final) carry the data written before them
	// and nothing after. Point-in-time restores are checked without
	// data: the simulator keeps no log of writes to replay.
	var opts awsp.Options
	var writeData func(context.Context, *dbaas.ConnectionInfo, string) error
	var readData func(context.Context, *dbaas.ConnectionInfo) ([]string, error)
	if backend := realdbtest.Open(t, realdb.Options{Prefix: "awssim"}, false); backend != nil {
		simOpts.Backend = backend
		opts.TLS = dbaas.TLSDisable // the local servers speak plain TCP
		writeData, readData = realdb.WriteMarker, realdb.ReadMarkers
	}
	e := newEnv(t, simOpts, opts)
	// The sg example must name a group that exists: EC2 checks references.
	var client *ec2.Client
	require.True(t, e.p.As(&client))
	web, err := client.CreateSecurityGroup(context.Background(), &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web servers")})
	require.NoError(t, err)
	dbaastest.RunConformance(t, dbaastest.Harness{
		Provider: e.p,
		Spec:     spec,
		Engines:  []dbaas.Engine{dbaas.Postgres, dbaas.MySQL, dbaas.MariaDB},
		Calls:    e.sim.TotalCalls,
		Wait:     dbaas.WaitOptions{Clock: clock},
		Sources:  map[dbaas.SourceKind]dbaas.Source{dbaas.SourceSecurityGroup: {Kind: dbaas.SourceSecurityGroup, Value: aws.ToString(web.GroupId)}},
		Timeout:  time.Minute,

		WriteData:         writeData,
		ReadData:          readData,
		NoPointInTimeData: true,
	})
}

// toolkitGroup returns the id of the toolkit's security group in vpc.
func toolkitGroup(t *testing.T, e *env, name, vpc string) string {
	t.Helper()
	var client *ec2.Client
	require.True(t, e.p.As(&client))
	out, err := client.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("group-name"), Values: []string{name}}, {Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	require.NoError(t, err)
	require.Len(t, out.SecurityGroups, 1, "one group %s in %s", name, vpc)
	return aws.ToString(out.SecurityGroups[0].GroupId)
}

// groupsNamed returns the security groups of that name, in any VPC.
func groupsNamed(t *testing.T, e *env, name string) []ec2types.SecurityGroup {
	t.Helper()
	var client *ec2.Client
	require.True(t, e.p.As(&client))
	out, err := client.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("group-name"), Values: []string{name}}}})
	require.NoError(t, err)
	return out.SecurityGroups
}
