// Package aws is the dbaas provider for Amazon RDS, with network access
// through EC2 security groups, built on aws-sdk-go-v2 (service/rds,
// service/ec2, service/secretsmanager). It registers as "aws":
//
//	import _ "github.com/agiledeploy/dbaaskit/providers/aws"
//
//	p, err := dbaas.Open(ctx, "aws", dbaas.Config{Region: "eu-west-1",
//		Settings: map[string]string{"vpc_id": "vpc-0abc"}})
//	defer p.Close()
//	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "db.t3.micro"})
//	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{})
//
// New(ctx, Options) makes one without the registry. Either way the
// provider is the portable layer of package dbaas/driver over an RDS
// driver: the checks every cloud shares (ids, specs, sources, restore
// points, capabilities) happen there, before any call, and every error
// reads "aws: <op> <id>: …". Close drops the idle connections of the
// HTTP client the provider made (one given in Options or the Config is
// the caller's); calls after it fail.
//
// Credentials and region come from the AWS default chain (environment,
// shared config and credentials files and profiles, SSO, instance roles)
// unless given in Options or in the settings access_key_id,
// secret_access_key and session_token. Other settings: profile, vpc_id,
// subnet_ids (comma-separated), subnet_group, security_group_name,
// master_password, ca_bundle_file, tls and max_attempts; an unknown one
// is an error. Without explicit credentials, opening the provider asks
// the chain for them once, within CredentialTimeout (the instance role
// is asked of the EC2 instance metadata service, which off EC2 never
// answers), and fails at once with dbaas.ErrPermissionDenied, in one
// line naming the sources tried, when there are none. The SDK's own log
// lines are discarded unless Options.Logger asks for them.
//
// # Create
//
// Create refuses a name an instance has (dbaas.ErrAlreadyExists) before
// it makes or changes anything, then sends CreateDBInstance with
// PubliclyAccessible false unless Spec.PublicAccess, storage encrypted,
// CopyTagsToSnapshot, and a security group of the instance's own
// (InstanceSecurityGroupName: "dbaaskit-<name>"). That group holds the
// instance's access list: a TCP rule on its port from the toolkit's
// group, Options.SecurityGroupName (default
// AgileDeploymentToolkitSecurityGroup, the group the toolkit's web
// servers belong to), and Spec.Access. Both groups are in the instance's
// VPC: the one of its DB subnet group, else Spec.PrivateNetwork or
// Options.VPCID, else the account's default VPC. The toolkit's group is
// found there by name and VPC, never in another VPC (RDS would refuse
// it), or made. A failure halfway removes the instance's own group and
// reports what shared things it made (the toolkit's group, the subnet
// group), which a retry reuses. Spec.Subnet names the DB subnet group.
// Spec.Region may be the region or one of its availability zones; Nodes
// 2 is Multi-AZ. Without Spec.AdminPassword, RDS manages the master
// password in Secrets Manager (ManageMasterUserPassword).
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
// Provider set at create (carried over to what it restored from that
// instance's snapshots, final ones included), or else
// Options.MasterPassword; with none of these the Password is empty.
// Capabilities.ReadablePassword is therefore true only when
// Options.MasterPassword (setting master_password) is set. A restored
// instance listens on the source's port unless Spec.Port is set; RDS
// makes no managed secret for it. RDS's API gives
// no CA certificate either: give the region's RDS bundle in
// Options.CABundlePEM (setting ca_bundle_file) to have it returned and
// TLS verified (verify-full), and Capabilities.CACertificate is then
// true; without it the TLS mode is require.
//
// # Access
//
// Allow and Revoke add and remove TCP rules on the instance's port in the
// instance's own security group, for CIDRs (IPv4 and IPv6) and other
// security groups ("sg:sg-…" sources), so the access of one instance
// never changes another's (dbaas.SyncAccess included). A rule already
// present is not sent again and a duplicate answer
// (InvalidPermission.Duplicate) is not an error. Access lists every
// source that reaches the port through any of the instance's groups;
// for an instance Create made, that includes "sg:<id>" of the toolkit's
// group: the group to launch web servers in, readable without the SDK
// client. Keep it in a list given to dbaas.SyncAccess, or the sync
// removes it like any other source.
//
// Delete removes the instance's own group once RDS lets go of it: at
// once when it can, else when the provider next sees the instance gone
// (Get, so dbaas.WaitDeleted; List; Close). Close names in its error the
// groups of instances RDS is still deleting, which are left.
//
// # Backups
//
// Backup is CreateDBSnapshot; Backups lists automated and manual
// snapshots (final ones as kind final), their status normalised (creating
// and copying are creating; failed and incompatible-* are failed) with
// RDS's word in RawStatus, and the point-in-time window (ID
// "<instance>@point-in-time"). The snapshots of a deleted instance, its
// final one among them, are still listed: RDS filters snapshots by
// instance only for an existing one, so they are found in the list of
// all snapshots by the instance they name. Restore is RestoreDBInstanceFromDBSnapshot
// for dbaas.FromBackup(snapshot id), or RestoreDBInstanceToPointInTime for
// dbaas.AtTime(instance, t); a time outside the window is
// ErrInvalidArgument. Delete takes a final snapshot unless
// DeleteOptions.SkipFinalBackup.
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
