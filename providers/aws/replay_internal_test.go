package aws

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// snapshotDir finds the response snapshots that ship with the rds module
// in the module cache, at the version go.mod requires.
func snapshotDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2/service/rds").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		t.Skip("cannot locate the rds module (go list -m): the response snapshot replay needs the module cache")
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "response_snapshot")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no response snapshots at %s (go mod download github.com/aws/aws-sdk-go-v2/service/rds)", dir)
	}
	return dir
}

// readSnapshot parses a snapshot: a status line, headers, a blank line,
// the body.
func readSnapshot(t *testing.T, path string) (int, http.Header, []byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	r := bufio.NewReader(bytes.NewReader(raw))
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	status, err := strconv.Atoi(strings.TrimSpace(line))
	require.NoError(t, err)
	h := http.Header{}
	for {
		line, err := r.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" || err != nil {
			break
		}
		k, v, _ := strings.Cut(line, ": ")
		h.Add(k, v)
	}
	body, err := io.ReadAll(r)
	require.NoError(t, err)
	return status, h, body
}

// replayClient answers every request with the snapshot of the operation
// named in its Action.
func replayClient(t *testing.T, dir string, override string) *rds.Client {
	return rds.New(rds.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String("https://rds.example.com"),
		Credentials:  aws.AnonymousCredentials{},
		HTTPClient: smithyhttp.ClientDoFunc(func(req *http.Request) (*http.Response, error) {
			body, err := io.ReadAll(req.Body)
			if err != nil {
				return nil, err
			}
			name := override
			if name == "" {
				q, _ := parseForm(string(body))
				name = q + ".response.snap"
			}
			status, h, b := readSnapshot(t, filepath.Join(dir, name))
			return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(b)), ContentLength: int64(len(b)), Request: req}, nil
		}),
	})
}

func parseForm(body string) (string, error) {
	for _, kv := range strings.Split(body, "&") {
		if v, ok := strings.CutPrefix(kv, "Action="); ok {
			return v, nil
		}
	}
	return "", errors.New("no Action")
}

var snapTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// checkInstance checks every field the adapter reads from a DBInstance
// in the snapshots' placeholder values.
func checkInstance(t *testing.T, inst *dbaas.Instance) {
	t.Helper()
	assert.Equal(t, "__DBInstanceIdentifier__", inst.ID)
	assert.Equal(t, "__DBInstanceIdentifier__", inst.Name)
	assert.Equal(t, Name, inst.Provider)
	assert.Equal(t, dbaas.Engine("__Engine__"), inst.Engine, "an engine dbaas does not know is kept as RDS says it")
	assert.Equal(t, "__EngineVersion__", inst.Version)
	assert.Equal(t, "__DBInstanceStatus__", inst.RawStatus)
	assert.Equal(t, dbaas.StatusUnknown, inst.Status)
	assert.Equal(t, "__DBInstanceClass__", inst.Size)
	assert.Equal(t, "__AvailabilityZone__", inst.Region)
	assert.Equal(t, 2, inst.Nodes, "MultiAZ is a primary and a standby")
	assert.Equal(t, 1, inst.StorageGB)
	assert.Equal(t, dbaas.Endpoint{Host: "__Address__", Port: 1}, inst.Endpoint)
	assert.Equal(t, snapTime, inst.CreatedAt)
	assert.Equal(t, map[string]string{"__Key__": "__Value__"}, inst.Tags)
}

func TestReplayResponseSnapshots(t *testing.T) {
	dir := snapshotDir(t)
	c := replayClient(t, dir, "")
	ctx := context.Background()

	t.Run("CreateDBInstance", func(t *testing.T) {
		out, err := c.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String("x"), DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("postgres")})
		require.NoError(t, err)
		checkInstance(t, toInstance(out.DBInstance, "us-east-1"))
		v, ok := tagValue(out.DBInstance.TagList, "__Key__")
		assert.True(t, ok)
		assert.Equal(t, "__Value__", v)
	})
	t.Run("DescribeDBInstances", func(t *testing.T) {
		out, err := c.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
		require.NoError(t, err)
		require.Len(t, out.DBInstances, 2)
		d := out.DBInstances[0]
		checkInstance(t, toInstance(&d, "us-east-1"))
		// What Connection, access and Backups read.
		assert.Equal(t, "__MasterUsername__", aws.ToString(d.MasterUsername))
		assert.Equal(t, "__DBName__", aws.ToString(d.DBName))
		assert.Equal(t, "__SecretArn__", aws.ToString(d.MasterUserSecret.SecretArn))
		assert.Equal(t, "__VpcSecurityGroupId__", aws.ToString(d.VpcSecurityGroups[0].VpcSecurityGroupId))
		assert.EqualValues(t, 1, aws.ToInt32(d.BackupRetentionPeriod))
		assert.EqualValues(t, 1, aws.ToInt32(d.DbInstancePort))
		assert.Equal(t, snapTime, aws.ToTime(d.LatestRestorableTime))
		assert.Equal(t, "__DBInstanceArn__", aws.ToString(d.DBInstanceArn))
		assert.Equal(t, "__Marker__", aws.ToString(out.Marker))
	})
	for _, op := range []string{"DeleteDBInstance", "RestoreDBInstanceFromDBSnapshot", "RestoreDBInstanceToPointInTime"} {
		t.Run(op, func(t *testing.T) {
			var err error
			switch op {
			case "DeleteDBInstance":
				var out *rds.DeleteDBInstanceOutput
				out, err = c.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{DBInstanceIdentifier: aws.String("x")})
				if err == nil {
					checkInstance(t, toInstance(out.DBInstance, ""))
				}
			case "RestoreDBInstanceFromDBSnapshot":
				var out *rds.RestoreDBInstanceFromDBSnapshotOutput
				out, err = c.RestoreDBInstanceFromDBSnapshot(ctx, &rds.RestoreDBInstanceFromDBSnapshotInput{DBInstanceIdentifier: aws.String("x")})
				if err == nil {
					checkInstance(t, toInstance(out.DBInstance, ""))
				}
			default:
				var out *rds.RestoreDBInstanceToPointInTimeOutput
				out, err = c.RestoreDBInstanceToPointInTime(ctx, &rds.RestoreDBInstanceToPointInTimeInput{TargetDBInstanceIdentifier: aws.String("x")})
				if err == nil {
					checkInstance(t, toInstance(out.DBInstance, ""))
				}
			}
			require.NoError(t, err)
		})
	}
	checkSnapshot := func(t *testing.T, b *dbaas.Backup) {
		t.Helper()
		assert.Equal(t, "__DBSnapshotIdentifier__", b.ID)
		assert.Equal(t, "__DBSnapshotIdentifier__", b.Name)
		assert.Equal(t, "__DBInstanceIdentifier__", b.InstanceID)
		assert.Equal(t, "__Status__", b.RawStatus)
		assert.Equal(t, dbaas.BackupUnknown, b.Status, "a status word RDS does not use")
		assert.Equal(t, dbaas.Engine("__Engine__"), b.Engine)
		assert.Equal(t, int64(1)<<30, b.SizeBytes)
		assert.Equal(t, snapTime, b.CreatedAt)
		assert.Equal(t, dbaas.BackupManual, b.Kind, "SnapshotType __SnapshotType__ is not automated")
	}
	t.Run("CreateDBSnapshot", func(t *testing.T) {
		out, err := c.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String("x"), DBSnapshotIdentifier: aws.String("s")})
		require.NoError(t, err)
		checkSnapshot(t, toBackup(out.DBSnapshot))
	})
	t.Run("DescribeDBSnapshots", func(t *testing.T) {
		out, err := c.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{})
		require.NoError(t, err)
		require.Len(t, out.DBSnapshots, 2)
		checkSnapshot(t, toBackup(&out.DBSnapshots[0]))
		assert.Equal(t, "__Marker__", aws.ToString(out.Marker))
	})
	t.Run("AddTagsToResource", func(t *testing.T) {
		_, err := c.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{ResourceName: aws.String("arn"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
		require.NoError(t, err)
	})
	t.Run("SubnetGroups", func(t *testing.T) {
		_, err := c.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{DBSubnetGroupName: aws.String("g"), DBSubnetGroupDescription: aws.String("d"), SubnetIds: []string{"a"}})
		require.NoError(t, err)
		out, err := c.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{})
		require.NoError(t, err)
		assert.NotEmpty(t, out.DBSubnetGroups)
	})

	errorsWant := []struct {
		snap string
		kind error
	}{
		{"DBInstanceNotFoundFault", dbaas.ErrNotFound},
		{"DBSnapshotNotFoundFault", dbaas.ErrNotFound},
		{"DBSubnetGroupNotFoundFault", dbaas.ErrNotFound},
		{"DBInstanceAlreadyExistsFault", dbaas.ErrAlreadyExists},
		{"DBSnapshotAlreadyExistsFault", dbaas.ErrAlreadyExists},
		{"InvalidDBInstanceStateFault", dbaas.ErrConflict},
		{"InvalidDBSnapshotStateFault", dbaas.ErrConflict},
		{"PointInTimeRestoreNotEnabledFault", dbaas.ErrConflict},
		{"InstanceQuotaExceededFault", dbaas.ErrConflict},
		{"StorageQuotaExceededFault", dbaas.ErrConflict},
		{"InvalidRestoreFault", dbaas.ErrInvalidArgument},
	}
	for _, tt := range errorsWant {
		t.Run(tt.snap, func(t *testing.T) {
			ec := replayClient(t, dir, tt.snap+".error.snap")
			_, err := ec.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{})
			require.Error(t, err)
			assert.Equal(t, tt.kind, (&rdsDriver{}).ErrorKind(err))
			assert.Equal(t, strings.TrimSuffix(tt.snap, "Fault"), strings.TrimSuffix(code(err), "Fault"))
		})
	}
}
