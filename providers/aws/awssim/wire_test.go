package awssim_test

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/providers/aws/awssim"
)

// moduleDir returns the module cache folder of an SDK module, or skips.
func moduleDir(t *testing.T, mod string) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod).Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		t.Skipf("cannot locate %s in the module cache (go list -m): the request snapshots live there", mod)
	}
	return dir
}

// requestBody reads the form body of an SDK request snapshot: a request
// line, headers, a blank line, the body.
func requestBody(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("no request snapshot %s", path)
	}
	require.NoError(t, err)
	r := bufio.NewReader(bytes.NewReader(raw))
	blank := 0
	var body strings.Builder
	for {
		line, err := r.ReadString('\n')
		if blank >= 2 {
			body.WriteString(line)
		} else if strings.TrimSpace(line) == "" {
			blank++
		}
		if err != nil {
			break
		}
	}
	return strings.TrimSpace(body.String())
}

func post(sim http.Handler, service, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSNAP/20260301/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=00")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	return rec
}

type errorBody struct {
	Code string `xml:"Error>Code"`
	EC2  string `xml:"Errors>Error>Code"`
}

// TestSDKRequestSnapshotsAreUnderstood sends the SDK's own recorded
// requests for every served operation: their placeholder values
// (__DBInstanceIdentifier__, …) must be refused as RDS and EC2 refuse bad
// input, in the service's error XML — never as an unknown action, a
// malformed request or a server error.
func TestSDKRequestSnapshotsAreUnderstood(t *testing.T) {
	rdsDir := filepath.Join(moduleDir(t, "github.com/aws/aws-sdk-go-v2/service/rds"), "request_snapshot")
	ec2Dir := filepath.Join(moduleDir(t, "github.com/aws/aws-sdk-go-v2/service/ec2"), "request_snapshot")
	ops := map[string][]string{
		"rds": {"CreateDBInstance", "DescribeDBInstances", "DeleteDBInstance", "CreateDBSnapshot", "DescribeDBSnapshots",
			"DeleteDBSnapshot", "RestoreDBInstanceFromDBSnapshot", "RestoreDBInstanceToPointInTime", "AddTagsToResource",
			"CreateDBSubnetGroup", "DescribeDBSubnetGroups"},
		"ec2": {"CreateSecurityGroup", "DescribeSecurityGroups", "DeleteSecurityGroup", "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"},
	}
	sim := awssim.New(awssim.Options{})
	defer sim.Close()
	for service, names := range ops {
		dir := rdsDir
		if service == "ec2" {
			dir = ec2Dir
		}
		for _, op := range names {
			t.Run(op, func(t *testing.T) {
				rec := post(sim, service, requestBody(t, filepath.Join(dir, op+".request.snap")))
				assert.Less(t, rec.Code, 500, rec.Body.String())
				assert.NotEmpty(t, rec.Header().Get("x-amzn-RequestId"))
				if rec.Code == http.StatusOK {
					return
				}
				var e errorBody
				require.NoError(t, xml.Unmarshal(rec.Body.Bytes(), &e), rec.Body.String())
				code := e.Code + e.EC2
				assert.NotContains(t, []string{"", "InvalidAction", "MissingAction", "MalformedQueryString", "UnknownOperationException"}, code, rec.Body.String())
			})
		}
	}
}

// FuzzQueryRequest feeds arbitrary form bodies to the simulator: every
// answer is a well-formed success or a client error, never a panic or a
// server error.
func FuzzQueryRequest(f *testing.F) {
	for _, seed := range []string{
		"Action=CreateDBInstance&Version=2014-10-31&DBInstanceIdentifier=db1&DBInstanceClass=db.t3.micro&Engine=postgres&AllocatedStorage=20&MasterUsername=u&MasterUserPassword=Password1",
		"Action=DescribeDBInstances&Version=2014-10-31&MaxRecords=20&Marker=7",
		"Action=AuthorizeSecurityGroupIngress&Version=2016-11-15&GroupId=sg-0default000000000&IpPermissions.1.IpProtocol=tcp&IpPermissions.1.FromPort=5432&IpPermissions.1.ToPort=5432&IpPermissions.1.IpRanges.1.CidrIp=10.0.0.0/8",
		"Action=RestoreDBInstanceToPointInTime&Version=2014-10-31&SourceDBInstanceIdentifier=db1&TargetDBInstanceIdentifier=db2&RestoreTime=2026-01-01T00:00:00Z",
		"Action=CreateSecurityGroup&Version=2016-11-15&GroupName=g&GroupDescription=d",
		"%zz&&==",
	} {
		f.Add(seed)
	}
	sim := awssim.New(awssim.Options{})
	f.Cleanup(func() { _ = sim.Close() })
	f.Fuzz(func(t *testing.T, body string) {
		service := "rds"
		if strings.Contains(body, "2016-11-15") {
			service = "ec2"
		}
		rec := post(sim, service, body)
		require.Less(t, rec.Code, 500, rec.Body.String())
		var v struct{}
		require.NoError(t, xml.Unmarshal(rec.Body.Bytes(), &v), "answer is XML: %s", rec.Body.String())
	})
}
