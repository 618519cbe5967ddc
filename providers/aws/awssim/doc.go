// Package awssim simulates the parts of the AWS RDS, EC2 and Secrets
// Manager APIs that the aws provider uses, well enough that the unmodified
// aws-sdk-go-v2 clients work against it: form-encoded Query requests
// (Action=…&Version=…) answered with the services' own XML
// (<{Op}Response><{Op}Result>… for RDS, lowerCamel names and <item> lists
// for EC2), errors in each service's error XML with the real codes and
// HTTP statuses, the x-amzn-RequestId header, and routing by the SigV4
// credential scope. Secrets Manager (GetSecretValue, JSON 1.1) holds the
// master passwords of instances created with ManageMasterUserPassword.
//
// Served operations: RDS CreateDBInstance, DescribeDBInstances (paged),
// DeleteDBInstance (final snapshot or SkipFinalSnapshot),
// CreateDBSnapshot, DescribeDBSnapshots (paged), DeleteDBSnapshot,
// RestoreDBInstanceFromDBSnapshot, RestoreDBInstanceToPointInTime,
// AddTagsToResource, CreateDBSubnetGroup, DescribeDBSubnetGroups; EC2
// CreateSecurityGroup, DescribeSecurityGroups, DeleteSecurityGroup,
// AuthorizeSecurityGroupIngress, RevokeSecurityGroupIngress, DescribeVpcs;
// Secrets Manager GetSecretValue. DescribeDBSnapshots with
// DBInstanceIdentifier lists nothing for an instance that does not exist
// (RDS documents that it must), and a restored instance has the source's
// master password and no managed secret (but see Options.Backend).
//
// Instances live through RDS's asynchronous life cycle on an injectable
// clock: creating (Options.ProvisionDelay), backing-up while the first
// automated backup is taken (Options.BackupDelay), then available; a
// snapshot takes BackupDelay and holds its instance in backing-up;
// deleting lasts DeleteDelay (after the final snapshot). Operations on a
// busy instance get InvalidDBInstanceState; parameters are checked as RDS
// does (identifiers, instance classes, engine versions, storage bounds,
// password rules, ports). Options.RateLimit answers beyond a sustained
// rate with Throttling (RDS) or RequestLimitExceeded (EC2) and an
// x-amz-retry-after header; Inject adds 5xx answers, latency and
// dropped connections, before or after the request takes effect. Calls
// counts requests per action and Writes those that change something.
// Options.Backend puts a real database behind
// each instance. When the Backend is also a simdb.Snapshotter, manual and
// final snapshots copy the instance's data before CreateDBSnapshot or
// DeleteDBInstance answers, a restore from them attaches that copy, and
// deleting the snapshot drops it. Automated backups are taken before
// anyone can write. A point-in-time restore with UseLatestRestorableTime
// copies the data as it is (the window ends now); one to an earlier
// RestoreTime gets an empty database: the simulator keeps no log of
// writes to replay. When the Backend is a simdb.AccountAttacher, the
// server it makes has the master user, password and database given at
// create, and listens on the port given when that is not the engine's
// default (which the machine's own server usually holds): the endpoint
// then reports the port asked for, as RDS's does.
//
// Example:
//
//	sim, url, err := awssim.Start(awssim.Options{ProvisionDelay: time.Minute})
//	if err != nil { … }
//	defer sim.Close()
//	client := rds.New(rds.Options{
//		Region:       "us-east-1",
//		BaseEndpoint: aws.String(url),
//		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
//	})
package awssim
