// Package aws is the dbaas provider for Amazon RDS, with network access
// through EC2 security groups, built on aws-sdk-go-v2 (service/rds,
// service/ec2, service/secretsmanager). It registers as "aws":
//
//	import _ "github.com/agiledeploy/dbaaskit/providers/aws"
//
//	p, err := dbaas.Open(ctx, "aws", dbaas.Config{Region: "eu-west-1",
//		Settings: map[string]string{"vpc_id": "vpc-0abc"}})
//	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "db.t3.micro"})
//	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{})
//
// Credentials and region come from the AWS default chain (environment,
// shared config and credentials files and profiles, SSO, instance roles)
// unless given in Options or in the settings access_key_id,
// secret_access_key and session_token. Other settings: profile, vpc_id,
// subnet_ids (comma-separated), subnet_group, security_group_name,
// master_password, ca_bundle_file, tls and max_attempts; an unknown one
// is an error.
//
// # Create
//
// Create sends CreateDBInstance with PubliclyAccessible false unless
// Spec.PublicAccess, storage encrypted, CopyTagsToSnapshot, and the
// security group Options.SecurityGroupName (default
// AgileDeploymentToolkitSecurityGroup), which it first finds in the VPC or
// creates. Spec.Access is authorized in that group before the instance is
// created. A failure halfway reports what was made (the group); a retry
// reuses it. Spec.PrivateNetwork (a VPC id) puts the security group in
// that VPC (default Options.VPCID, else the account's default VPC) and
// Spec.Subnet names the DB subnet group. Spec.Region may be the region or one of its availability
// zones; Nodes 2 is Multi-AZ. Without Spec.AdminPassword, RDS manages the
// master password in Secrets Manager (ManageMasterUserPassword).
//
// Spec.Options keys (others are refused):
//   - subnet_group: the DB subnet group (as Spec.Subnet).
//   - storage_type: gp2, gp3 (default), io1, io2 or standard.
//   - manage_master_user_password: true or false (see above).
//   - storage_encrypted: false to turn encryption off.
//   - final_snapshot_identifier: the final snapshot's name on Delete. An
//     empty value is refused at create: a final snapshot wanted with no
//     identifier is what makes deletes fail much later with Terraform.
//
// The SDK retries with its standard retryer (DefaultMaxAttempts attempts,
// honouring throttling and x-amz-retry-after). A CreateDBInstance whose
// answer is lost and that the SDK sends again is recognised by a token
// tag (dbaaskit:create-token) and never reported as a duplicate or made
// twice.
//
// # Connection
//
// The endpoint is RDS's Endpoint.Address (a host, never host:port) and
// Endpoint.Port. RDS cannot give the master password back: Connection
// reads it from Secrets Manager when RDS manages it, returns the one this
// Provider set at create, or else Options.MasterPassword. RDS's API gives
// no CA certificate either: give the region's RDS bundle in
// Options.CABundlePEM (setting ca_bundle_file) to have it returned and
// TLS verified (verify-full); without it the TLS mode is require.
//
// # Access
//
// Allow and Revoke add and remove TCP rules on the instance's port in the
// configured security group, for CIDRs (IPv4 and IPv6) and other security
// groups ("sg:sg-…" sources). A rule already present is not sent again and
// a duplicate answer (InvalidPermission.Duplicate) is not an error.
// Access lists every source that reaches the port through any of the
// instance's groups. The group is shared by the instances that carry it,
// as in the toolkit: a source allowed on one instance reaches every
// instance of that group on the same port.
//
// # Backups
//
// Backup is CreateDBSnapshot; Backups lists automated and manual
// snapshots (final ones as kind final) and the point-in-time window;
// Restore is RestoreDBInstanceFromDBSnapshot, or
// RestoreDBInstanceToPointInTime for a dbaas.PointInTime reference. Delete
// takes a final snapshot unless DeleteOptions.SkipFinalBackup.
//
// # Errors
//
// RDS, EC2 and Secrets Manager error codes map to the dbaas sentinels
// (DBInstanceNotFound → ErrNotFound, DBInstanceAlreadyExists →
// ErrAlreadyExists, InvalidParameterValue and InvalidParameterCombination
// → ErrInvalidArgument with the Spec field named, InvalidDBInstanceState →
// ErrConflict, Throttling and RequestLimitExceeded → ErrRateLimited, …);
// the SDK's error stays reachable with errors.As (smithy.APIError and the
// typed RDS faults such as *types.DBInstanceNotFoundFault).
//
// # As
//
// As hands out *rds.Client, *ec2.Client and *secretsmanager.Client.
package aws
