package aws_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	awsp "github.com/agiledeploy/dbaaskit/providers/aws"
	"github.com/agiledeploy/dbaaskit/providers/aws/awssim"
)

func TestCreateRefusesBadInputBeforeAnyCall(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{Region: "eu-west-1"})
	tests := []struct {
		name   string
		mutate func(*dbaas.Spec)
		field  string
		kind   error
	}{
		{"class", func(s *dbaas.Spec) { s.Size = "t3.micro" }, "size", dbaas.ErrInvalidArgument},
		{"port below RDS range", func(s *dbaas.Spec) { s.Port = 1100 }, "port", dbaas.ErrInvalidArgument},
		{"region elsewhere", func(s *dbaas.Spec) { s.Region = "us-east-1" }, "region", dbaas.ErrInvalidArgument},
		{"zone elsewhere", func(s *dbaas.Spec) { s.Region = "us-east-1a" }, "region", dbaas.ErrInvalidArgument},
		{"three nodes", func(s *dbaas.Spec) { s.Nodes = 3 }, "nodes", dbaas.ErrInvalidArgument},
		{"multi-az in one zone", func(s *dbaas.Spec) { s.Nodes, s.Region = 2, "eu-west-1b" }, "nodes", dbaas.ErrInvalidArgument},
		{"unknown option", func(s *dbaas.Spec) { s.Options = map[string]string{"multi_az": "true"} }, "multi_az", dbaas.ErrInvalidArgument},
		{"storage type", func(s *dbaas.Spec) { s.Options = map[string]string{"storage_type": "ssd"} }, "options[storage_type]", dbaas.ErrInvalidArgument},
		{"final snapshot wanted, no identifier", func(s *dbaas.Spec) { s.Options = map[string]string{"final_snapshot_identifier": ""} }, "options[final_snapshot_identifier]", dbaas.ErrInvalidArgument},
		{"final snapshot identifier", func(s *dbaas.Spec) { s.Options = map[string]string{"final_snapshot_identifier": "bad--id"} }, "options[final_snapshot_identifier]", dbaas.ErrInvalidArgument},
		{"managed and given password", func(s *dbaas.Spec) {
			s.AdminPassword = dbaas.NewSecret("Good-pass1")
			s.Options = map[string]string{"manage_master_user_password": "true"}
		}, "options[manage_master_user_password]", dbaas.ErrInvalidArgument},
		{"unmanaged without password", func(s *dbaas.Spec) { s.Options = map[string]string{"manage_master_user_password": "false"} }, "options[manage_master_user_password]", dbaas.ErrInvalidArgument},
		{"vpc id", func(s *dbaas.Spec) { s.PrivateNetwork = "net-1" }, "private_network", dbaas.ErrInvalidArgument},
		{"tag source", func(s *dbaas.Spec) { s.Access = []dbaas.Source{{Kind: dbaas.SourceTag, Value: "web"}} }, "tag", dbaas.ErrUnsupported},
		{"shared spec rule", func(s *dbaas.Spec) { s.AdminUser = "rdsadmin" }, "admin_user", dbaas.ErrInvalidArgument},
		{"reserved tag", func(s *dbaas.Spec) { s.Tags = map[string]string{"dbaaskit:create-token": "x"} }, "tags[dbaaskit:create-token]", dbaas.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec("refused", dbaas.Postgres)
			tt.mutate(&s)
			before := e.sim.TotalCalls()
			_, err := e.p.Create(context.Background(), s)
			require.ErrorIs(t, err, tt.kind)
			assert.Contains(t, err.Error(), tt.field)
			assert.Equal(t, before, e.sim.TotalCalls(), "refused before any call")
		})
	}
	// A delete that names a bad final snapshot makes no call either.
	before := e.sim.TotalCalls()
	err := e.p.Delete(context.Background(), "db1", dbaas.DeleteOptions{FinalBackupName: "-x"})
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "final_backup_name")
	assert.Equal(t, before, e.sim.TotalCalls())
}

func TestRDSRefusalNamesTheField(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{})
	tests := []struct {
		name   string
		mutate func(*dbaas.Spec)
		field  string
		code   string
	}{
		{"version RDS does not offer", func(s *dbaas.Spec) { s.Version = "9.6" }, "version", "InvalidParameterCombination"},
		{"class RDS does not offer", func(s *dbaas.Spec) { s.Size = "db.z9.large" }, "size", "InvalidParameterCombination"},
		{"subnet group", func(s *dbaas.Spec) { s.Subnet = "nosuch" }, "", "DBSubnetGroupNotFoundFault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec("rdsrefused", dbaas.Postgres)
			tt.mutate(&s)
			_, err := e.p.Create(context.Background(), s)
			require.Error(t, err)
			var ae smithy.APIError
			require.ErrorAs(t, err, &ae, "the SDK's error stays reachable")
			assert.Equal(t, tt.code, ae.ErrorCode())
			if tt.field != "" {
				require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
				var de *dbaas.Error
				require.ErrorAs(t, err, &de)
				assert.Equal(t, tt.field, de.Field)
				assert.Contains(t, err.Error(), tt.field)
			} else {
				assert.ErrorIs(t, err, dbaas.ErrNotFound)
			}
		})
	}
}

func TestCreateIsNeverDuplicated(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{})
	// The create takes effect but its answer is lost: the SDK sends it
	// again and RDS says the instance exists.
	e.sim.Inject(awssim.Fault{Op: "CreateDBInstance", Drop: true, AfterHandling: true})
	inst, err := e.p.Create(context.Background(), spec("once", dbaas.Postgres))
	require.NoError(t, err, "the retried create is recognised as ours")
	assert.Equal(t, "once", inst.ID)
	assert.EqualValues(t, 2, e.sim.Calls("CreateDBInstance"), "the SDK retried")
	assert.Equal(t, []string{"once"}, e.sim.Instances())
	assert.NotContains(t, inst.Tags, "dbaaskit:create-token", "internal tags stay internal")

	// A create of the same name by another call is a duplicate.
	_, err = e.p.Create(context.Background(), spec("once", dbaas.Postgres))
	require.ErrorIs(t, err, dbaas.ErrAlreadyExists)
	assert.Equal(t, []string{"once"}, e.sim.Instances())
}

func TestRetriesAndThrottling(t *testing.T) {
	tests := []struct {
		name  string
		fault awssim.Fault
		calls int64
		kind  error
		code  string
	}{
		{"503 then success", awssim.Fault{Op: "DescribeDBInstances", Status: 503, Times: 2}, 3, nil, ""},
		{"500 then success", awssim.Fault{Op: "DescribeDBInstances", Status: 500, Times: 1}, 2, nil, ""},
		{"throttled then success", awssim.Fault{Op: "DescribeDBInstances", Code: "Throttling", Times: 2}, 3, nil, ""},
		{"dropped then success", awssim.Fault{Op: "DescribeDBInstances", Drop: true, Times: 2}, 3, nil, ""},
		{"throttled past every attempt", awssim.Fault{Op: "DescribeDBInstances", Code: "Throttling", Times: 100}, 3, dbaas.ErrRateLimited, "Throttling"},
		{"access denied is not retried", awssim.Fault{Op: "DescribeDBInstances", Status: 403, Code: "AccessDenied"}, 1, dbaas.ErrPermissionDenied, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, awssim.Options{}, awsp.Options{MaxAttempts: 3})
			_, err := e.p.Create(context.Background(), spec("retry", dbaas.MySQL))
			require.NoError(t, err)
			e.sim.Inject(tt.fault)
			before := e.sim.Calls("DescribeDBInstances")
			inst, err := e.p.Get(context.Background(), "retry")
			assert.Equal(t, tt.calls, e.sim.Calls("DescribeDBInstances")-before)
			if tt.kind == nil {
				require.NoError(t, err)
				assert.Equal(t, "retry", inst.ID)
				return
			}
			require.ErrorIs(t, err, tt.kind)
			var ae smithy.APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tt.code, ae.ErrorCode())
		})
	}
}

func TestThrottledWaitRetries(t *testing.T) {
	clock := fakeclock.NewAuto(start)
	simOpts := realistic
	simOpts.Clock = clock
	e := newEnv(t, simOpts, awsp.Options{MaxAttempts: 1})
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec("throttledwait", dbaas.Postgres))
	require.NoError(t, err)
	// With no SDK retries left, Wait itself rides out the throttling.
	e.sim.Inject(awssim.Fault{Op: "DescribeDBInstances", Code: "Throttling", Times: 2})
	got, err := dbaas.Wait(ctx, e.p, inst.ID, dbaas.WaitOptions{Clock: clock})
	require.NoError(t, err)
	assert.Equal(t, dbaas.StatusAvailable, got.Status)
}

func TestAllowSendsEachRuleOnce(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{})
	ctx := context.Background()
	_, err := e.p.Create(ctx, spec("access", dbaas.Postgres))
	require.NoError(t, err)
	a, b, c := dbaas.CIDR("10.1.0.0/16"), dbaas.CIDR("2001:db8::/48"), dbaas.CIDR("192.0.2.7/32")

	require.NoError(t, e.p.Allow(ctx, "access", a))
	n := e.sim.Calls("AuthorizeSecurityGroupIngress")
	require.NoError(t, e.p.Allow(ctx, "access", a), "allowing a present source is not an error")
	assert.Equal(t, n, e.sim.Calls("AuthorizeSecurityGroupIngress"), "a present rule is not sent again")

	// Someone adds b between our look and our call: EC2 refuses the whole
	// call as a duplicate, and each rule is then sent alone.
	e.sim.Inject(awssim.Fault{Op: "AuthorizeSecurityGroupIngress", Status: 400, Code: "InvalidPermission.Duplicate"})
	require.NoError(t, e.p.Allow(ctx, "access", b, c))
	got, err := e.p.Access(ctx, "access")
	require.NoError(t, err)
	web := dbaas.Source{Kind: dbaas.SourceSecurityGroup, Value: toolkitGroup(t, e, awsp.DefaultSecurityGroupName, awssim.DefaultVPC)}
	assert.Equal(t, []dbaas.Source{a, c, b, web}, got)

	require.NoError(t, e.p.Revoke(ctx, "access", a, dbaas.CIDR("198.51.100.0/24")), "revoking an absent source is not an error")
	got, err = e.p.Access(ctx, "access")
	require.NoError(t, err)
	assert.Equal(t, []dbaas.Source{c, b, web}, got)

	// The rules are TCP on the instance's port in its own group.
	own := groupsNamed(t, e, awsp.InstanceSecurityGroupName("access"))
	require.Len(t, own, 1)
	assert.Empty(t, groupsNamed(t, e, awsp.DefaultSecurityGroupName)[0].IpPermissions, "the toolkit's group is a source, not a list of rules")
	for _, perm := range own[0].IpPermissions {
		assert.Equal(t, "tcp", aws.ToString(perm.IpProtocol))
		assert.EqualValues(t, 5432, aws.ToInt32(perm.FromPort))
		assert.EqualValues(t, 5432, aws.ToInt32(perm.ToPort))
	}
}

func TestHalfwayFailureIsReportedAndReused(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{SecurityGroupName: "FreshGroup"})
	ctx := context.Background()
	s := spec("halfway", dbaas.Postgres)
	s.Access = []dbaas.Source{dbaas.CIDR("10.0.0.0/16")}
	e.sim.Inject(awssim.Fault{Op: "CreateDBInstance", Status: 400, Code: "InsufficientDBInstanceCapacity"})
	_, err := e.p.Create(ctx, s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "security group sg-", "the error says what was made")
	assert.Contains(t, err.Error(), "FreshGroup")
	assert.ErrorIs(t, err, dbaas.ErrConflict, "the sentinel survives the note")
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae, "and so does the SDK's error")
	assert.Equal(t, "InsufficientDBInstanceCapacity", ae.ErrorCode())
	assert.Empty(t, e.sim.Instances())
	assert.Empty(t, groupsNamed(t, e, awsp.InstanceSecurityGroupName("halfway")), "the instance's own group is removed with the failed create")
	assert.Len(t, groupsNamed(t, e, "FreshGroup"), 1, "the toolkit's group is kept")

	inst, err := e.p.Create(ctx, s)
	require.NoError(t, err, "a retry reuses what the first attempt made")
	assert.Len(t, groupsNamed(t, e, "FreshGroup"), 1)
	got, err := e.p.Access(ctx, inst.ID)
	require.NoError(t, err)
	web := dbaas.Source{Kind: dbaas.SourceSecurityGroup, Value: toolkitGroup(t, e, "FreshGroup", awssim.DefaultVPC)}
	assert.Equal(t, append(s.Access, web), got)

	// Another process (a fresh Provider) finds the group by name.
	other, err := awsp.New(ctx, awsp.Options{Region: "us-east-1", BaseEndpoint: e.url, SecurityGroupName: "FreshGroup",
		Credentials: aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "s"}, nil
		}))})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, other.Close()) })
	_, err = other.Create(ctx, spec("halfway2", dbaas.Postgres))
	require.NoError(t, err)
	assert.Len(t, groupsNamed(t, e, "FreshGroup"), 1)
}

func TestDeleteTakesFinalSnapshot(t *testing.T) {
	clock := fakeclock.NewAuto(start)
	simOpts := realistic
	simOpts.Clock = clock
	e := newEnv(t, simOpts, awsp.Options{})
	ctx := context.Background()
	wait := dbaas.WaitOptions{Clock: clock}

	named := spec("named", dbaas.MariaDB)
	named.Options = map[string]string{"final_snapshot_identifier": "named-last"}
	for _, s := range []dbaas.Spec{named, spec("plain", dbaas.MariaDB)} {
		inst, err := e.p.Create(ctx, s)
		require.NoError(t, err)
		_, err = dbaas.Wait(ctx, e.p, inst.ID, wait)
		require.NoError(t, err)
		require.NoError(t, e.p.Delete(ctx, inst.ID, dbaas.DeleteOptions{}))
	}
	clock.Advance(time.Hour)
	for id, want := range map[string]string{"named": "named-last", "plain": "plain-final-"} {
		list, err := e.p.Backups(ctx, id)
		require.NoError(t, err, "backups of deleted %s", id)
		require.Len(t, list, 1)
		assert.True(t, strings.HasPrefix(list[0].ID, want), "final snapshot %s", list[0].ID)
		assert.Equal(t, dbaas.BackupFinal, list[0].Kind)
	}
	_, err := e.p.Backups(ctx, "never-existed")
	assert.ErrorIs(t, err, dbaas.ErrNotFound)
}

func TestDeleteOfBusyInstanceConflicts(t *testing.T) {
	e := newEnv(t, awssim.Options{Clock: fakeclock.New(start), ProvisionDelay: time.Minute}, awsp.Options{})
	ctx := context.Background()
	_, err := e.p.Create(ctx, spec("busy", dbaas.Postgres))
	require.NoError(t, err)
	err = e.p.Delete(ctx, "busy", dbaas.DeleteOptions{})
	require.ErrorIs(t, err, dbaas.ErrConflict, "no final snapshot of a creating instance")
	var ae smithy.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "InvalidDBInstanceState", ae.ErrorCode())
	require.NoError(t, e.p.Delete(ctx, "busy", dbaas.DeleteOptions{SkipFinalBackup: true}))
}

func TestConnectionPassword(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{MasterPassword: dbaas.NewSecret("Configured-pw1")})
	ctx := context.Background()
	managed := spec("managed", dbaas.Postgres)
	given := spec("given", dbaas.MySQL)
	given.AdminPassword = dbaas.NewSecret("Given-pass1")
	for _, s := range []dbaas.Spec{managed, given} {
		_, err := e.p.Create(ctx, s)
		require.NoError(t, err)
	}
	_, err := e.p.Get(ctx, "given") // past creating: the endpoint exists
	require.NoError(t, err)

	var sm *secretsmanager.Client
	require.True(t, e.p.As(&sm))
	var rc *rds.Client
	require.True(t, e.p.As(&rc))
	out, err := rc.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("managed")})
	require.NoError(t, err)
	require.NotNil(t, out.DBInstances[0].MasterUserSecret, "no password given: RDS manages it")

	c, err := e.p.Connection(ctx, "managed")
	require.NoError(t, err)
	assert.Len(t, c.Password.Reveal(), 24, "read from Secrets Manager")
	assert.Equal(t, "dbadmin", c.User)
	assert.Equal(t, "postgres", c.Database)
	assert.Equal(t, dbaas.TLSRequire, c.TLS)
	assert.Empty(t, c.CACertPEM)
	assert.NotContains(t, fmt.Sprintf("%v %+v", c, *c), c.Password.Reveal())

	c, err = e.p.Connection(ctx, "given")
	require.NoError(t, err)
	assert.Equal(t, "Given-pass1", c.Password.Reveal(), "the password this provider set")
	assert.Equal(t, 3306, c.Endpoint.Port)
	assert.NotContains(t, c.Endpoint.Host, ":")

	// Another process cannot read it back from RDS: the configured one.
	other, err := awsp.New(ctx, awsp.Options{Region: "us-east-1", BaseEndpoint: e.url, MasterPassword: dbaas.NewSecret("Configured-pw1"),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "s"}, nil
		})})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, other.Close()) })
	c, err = other.Connection(ctx, "given")
	require.NoError(t, err)
	assert.Equal(t, "Configured-pw1", c.Password.Reveal())
}

func TestCABundle(t *testing.T) {
	pem := []byte("-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ==\n-----END CERTIFICATE-----\n")
	e := newEnv(t, awssim.Options{}, awsp.Options{CABundlePEM: pem})
	assert.True(t, e.p.Capabilities().CACertificate)
	_, err := e.p.Create(context.Background(), spec("tls", dbaas.Postgres))
	require.NoError(t, err)
	_, _ = e.p.Get(context.Background(), "tls")
	c, err := e.p.Connection(context.Background(), "tls")
	require.NoError(t, err)
	assert.Equal(t, pem, c.CACertPEM)
	assert.Equal(t, dbaas.TLSVerifyFull, c.TLS)
}

func TestSubnetGroupFromSubnetIDs(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{SubnetIDs: []string{"subnet-a1", "subnet-b2"}})
	ctx := context.Background()
	for _, name := range []string{"sub1", "sub2"} {
		_, err := e.p.Create(ctx, spec(name, dbaas.Postgres))
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, e.sim.Calls("CreateDBSubnetGroup"), "made once, then reused")
	var rc *rds.Client
	require.True(t, e.p.As(&rc))
	out, err := rc.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String("sub2")})
	require.NoError(t, err)
	require.NotNil(t, out.DBInstances[0].DBSubnetGroup)
	assert.Equal(t, awsp.DefaultSubnetGroupName, aws.ToString(out.DBInstances[0].DBSubnetGroup.DBSubnetGroupName))

	_, err = awsp.New(ctx, awsp.Options{Region: "us-east-1", SubnetIDs: []string{"subnet-a1"}})
	assert.ErrorIs(t, err, dbaas.ErrInvalidArgument, "one subnet cannot make a DB subnet group")
}

func TestOpenByName(t *testing.T) {
	sim, url, err := awssim.Start(awssim.Options{Token: "AKIDOPEN"})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	ctx := context.Background()
	settings := map[string]string{"access_key_id": "AKIDOPEN", "secret_access_key": "s", "security_group_name": "Opened", "vpc_id": "vpc-0abc"}
	p, err := dbaas.Open(ctx, "aws", dbaas.Config{Region: "us-east-1", BaseURL: url, Settings: settings})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, p.Close()) })
	_, err = p.Create(ctx, spec("opened", dbaas.Postgres))
	require.NoError(t, err)
	var client *ec2.Client
	require.True(t, p.As(&client))
	out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{"vpc-0abc"}}}})
	require.NoError(t, err)
	var names []string
	for _, g := range out.SecurityGroups {
		names = append(names, aws.ToString(g.GroupName))
	}
	assert.ElementsMatch(t, []string{"Opened", awsp.InstanceSecurityGroupName("opened")}, names)

	bad := []struct {
		name string
		cfg  dbaas.Config
		text string
	}{
		{"unknown setting", dbaas.Config{Region: "us-east-1", Settings: map[string]string{"acces_key_id": "x"}}, "acces_key_id"},
		{"token", dbaas.Config{Region: "us-east-1", Token: dbaas.NewSecret("t0ken")}, "token"},
		{"half a key", dbaas.Config{Region: "us-east-1", Settings: map[string]string{"access_key_id": "x"}}, "secret_access_key"},
		{"attempts", dbaas.Config{Region: "us-east-1", Settings: map[string]string{"max_attempts": "0"}}, "max_attempts"},
		{"tls", dbaas.Config{Region: "us-east-1", Settings: map[string]string{"tls": "maybe"}}, "tls"},
		{"ca file", dbaas.Config{Region: "us-east-1", Settings: map[string]string{"ca_bundle_file": "/nonexistent/ca.pem"}}, "ca_bundle_file"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dbaas.Open(ctx, "aws", tt.cfg)
			require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), tt.text)
			assert.NotContains(t, err.Error(), "t0ken")
		})
	}
	// Wrong credentials are a permission error.
	wrong, err := dbaas.Open(ctx, "aws", dbaas.Config{Region: "us-east-1", BaseURL: url, Settings: map[string]string{"access_key_id": "AKIDWRONG", "secret_access_key": "s"}})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, wrong.Close()) })
	_, err = wrong.List(ctx)
	assert.ErrorIs(t, err, dbaas.ErrPermissionDenied)
}

func TestAs(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{})
	var r *rds.Client
	var c *ec2.Client
	var s *secretsmanager.Client
	var h *http.Client
	assert.True(t, e.p.As(&r))
	assert.True(t, e.p.As(&c))
	assert.True(t, e.p.As(&s))
	assert.NotNil(t, r)
	assert.NotNil(t, c)
	assert.NotNil(t, s)
	assert.False(t, e.p.As(&h))
}

// TestConcurrentAllow allows sources on two instances at once: each gets
// its own, once, whoever won the race, and none of the other's.
func TestConcurrentAllow(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{})
	ctx := context.Background()
	for _, n := range []string{"cc1", "cc2"} {
		_, err := e.p.Create(ctx, spec(n, dbaas.Postgres))
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := []string{"cc1", "cc2"}[i%2]
			errs[i] = e.p.Allow(ctx, id, dbaas.CIDR(fmt.Sprintf("10.0.%d.0/24", i%4)))
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	web := dbaas.Source{Kind: dbaas.SourceSecurityGroup, Value: toolkitGroup(t, e, awsp.DefaultSecurityGroupName, awssim.DefaultVPC)}
	for id, want := range map[string][]dbaas.Source{
		"cc1": {dbaas.CIDR("10.0.0.0/24"), dbaas.CIDR("10.0.2.0/24"), web},
		"cc2": {dbaas.CIDR("10.0.1.0/24"), dbaas.CIDR("10.0.3.0/24"), web},
	} {
		got, err := e.p.Access(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, want, got, id)
	}
}

func TestPrivateNetworkPlacesTheGroup(t *testing.T) {
	e := newEnv(t, awssim.Options{}, awsp.Options{VPCID: "vpc-0aaa"})
	ctx := context.Background()
	inVPC := spec("invpc", dbaas.Postgres)
	inVPC.PrivateNetwork = "vpc-0bbb"
	for _, s := range []dbaas.Spec{spec("default", dbaas.Postgres), inVPC} {
		_, err := e.p.Create(ctx, s)
		require.NoError(t, err)
	}
	var client *ec2.Client
	require.True(t, e.p.As(&client))
	for _, vpc := range []string{"vpc-0aaa", "vpc-0bbb"} {
		out, err := client.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{vpc}}, {Name: aws.String("group-name"), Values: []string{awsp.DefaultSecurityGroupName}}}})
		require.NoError(t, err)
		assert.Len(t, out.SecurityGroups, 1, "the toolkit's group in %s", vpc)
	}
	require.NoError(t, e.p.Allow(ctx, "invpc", dbaas.CIDR("10.9.0.0/16")))
	got, err := e.p.Access(ctx, "default")
	require.NoError(t, err)
	assert.Equal(t, []dbaas.Source{{Kind: dbaas.SourceSecurityGroup, Value: toolkitGroup(t, e, awsp.DefaultSecurityGroupName, "vpc-0aaa")}}, got,
		"the toolkit's group of its own VPC")
	got, err = e.p.Access(ctx, "invpc")
	require.NoError(t, err)
	assert.Equal(t, []dbaas.Source{dbaas.CIDR("10.9.0.0/16"), {Kind: dbaas.SourceSecurityGroup, Value: toolkitGroup(t, e, awsp.DefaultSecurityGroupName, "vpc-0bbb")}}, got)
}

// TestCloseDropsConnections proves that Close releases the HTTP
// connections of a provider that made its own client, while the
// endpoint is still up (a closed simulator would drop them itself), and
// that calls after Close fail without reaching AWS.
func TestCloseDropsConnections(t *testing.T) {
	sim, url, err := awssim.Start(awssim.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	baseline := goleak.IgnoreCurrent()
	ctx := context.Background()
	p, err := dbaas.Open(ctx, "aws", dbaas.Config{Region: "us-east-1", BaseURL: url,
		Settings: map[string]string{"access_key_id": "AKIDCLOSE", "secret_access_key": "s"}})
	require.NoError(t, err)
	_, err = p.List(ctx)
	require.NoError(t, err)

	require.NoError(t, p.Close())
	goleak.VerifyNone(t, baseline)
	calls := sim.TotalCalls()
	_, err = p.List(ctx)
	require.ErrorIs(t, err, dbaas.ErrConflict)
	assert.Contains(t, err.Error(), "closed")
	assert.Equal(t, calls, sim.TotalCalls(), "no call after Close")
	require.NoError(t, p.Close(), "a second Close is not an error")
}

// TestRestorePoints restores a snapshot and a point in time, and refuses
// the window entry of Backups given as a snapshot, and a restore that
// would change the master credentials, before any call.
func TestRestorePoints(t *testing.T) {
	clock := fakeclock.NewAuto(start)
	simOpts := realistic
	simOpts.Clock = clock
	e := newEnv(t, simOpts, awsp.Options{})
	ctx := context.Background()
	wait := dbaas.WaitOptions{Clock: clock}
	src, err := e.p.Create(ctx, spec("rsrc", dbaas.Postgres))
	require.NoError(t, err)
	_, err = dbaas.Wait(ctx, e.p, src.ID, wait)
	require.NoError(t, err)
	b, err := e.p.Backup(ctx, src.ID, "rsrc-snap")
	require.NoError(t, err)
	_, err = dbaas.WaitBackup(ctx, e.p, src.ID, b.ID, dbaas.WaitBackupOptions{Clock: clock})
	require.NoError(t, err)
	list, err := e.p.Backups(ctx, src.ID)
	require.NoError(t, err)
	window := list[len(list)-1]
	require.Equal(t, dbaas.BackupPointInTime, window.Kind)

	refused := []struct {
		name  string
		from  dbaas.RestorePoint
		spec  func() dbaas.Spec
		field string
	}{
		{"window as a snapshot", dbaas.FromBackup(window.ID), func() dbaas.Spec { return spec("rwin", dbaas.Postgres) }, "dbaas.AtTime"},
		{"another engine", dbaas.FromBackup(b.ID), func() dbaas.Spec { return spec("reng", dbaas.MySQL) }, "engine"},
		{"master password", dbaas.FromBackup(b.ID), func() dbaas.Spec {
			s := spec("rpw", dbaas.Postgres)
			s.AdminPassword = dbaas.NewSecret("Other-pass1")
			return s
		}, "admin_password"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			restores := e.sim.Calls("RestoreDBInstanceFromDBSnapshot") + e.sim.Calls("RestoreDBInstanceToPointInTime")
			_, err := e.p.Restore(ctx, tt.from, tt.spec())
			require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), tt.field)
			assert.Equal(t, restores, e.sim.Calls("RestoreDBInstanceFromDBSnapshot")+e.sim.Calls("RestoreDBInstanceToPointInTime"))
		})
	}

	for name, from := range map[string]dbaas.RestorePoint{
		"rsnap": dbaas.FromBackup(b.ID),
		"rpitr": dbaas.AtTime(src.ID, window.LatestRestore),
	} {
		inst, err := e.p.Restore(ctx, from, spec(name, dbaas.Postgres))
		require.NoError(t, err, "restore %s", from)
		assert.Equal(t, name, inst.ID)
		_, err = dbaas.Wait(ctx, e.p, name, wait)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, e.sim.Calls("RestoreDBInstanceFromDBSnapshot"))
	assert.EqualValues(t, 1, e.sim.Calls("RestoreDBInstanceToPointInTime"))
}
