package aws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Spec.Options keys this provider reads; any other key is refused.
const (
	// OptionSubnetGroup is the DB subnet group (as Spec.Subnet).
	OptionSubnetGroup = "subnet_group"
	// OptionStorageType is gp2, gp3 (default), io1, io2 or standard.
	OptionStorageType = "storage_type"
	// OptionManagePassword "true" has RDS generate the master password
	// and keep it in Secrets Manager (the default when Spec.AdminPassword
	// is empty); "false" requires Spec.AdminPassword.
	OptionManagePassword = "manage_master_user_password"
	// OptionStorageEncrypted "false" turns off storage encryption (on by
	// default).
	OptionStorageEncrypted = "storage_encrypted"
	// OptionFinalSnapshot names the snapshot Delete takes when
	// DeleteOptions.FinalBackupName is empty. It is checked at create:
	// given empty, it would be the final snapshot without a name that
	// makes deletes fail later.
	OptionFinalSnapshot = "final_snapshot_identifier"
)

// DefaultAdminUser is the master user name when Spec.AdminUser is empty.
const DefaultAdminUser = "dbadmin"

// DefaultStorageGB is the allocated storage when Spec.StorageGB is 0 (the
// RDS minimum for gp3).
const DefaultStorageGB = 20

var (
	classRE      = regexp.MustCompile(`^db\.[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	identifierRE = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9]|-[A-Za-z0-9])*$`)
	azRE         = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]$`)
	storageTypes = []string{"gp2", "gp3", "io1", "io2", "standard"}
)

// createPlan is a spec checked and translated for RDS.
type createPlan struct {
	port        int
	az          string
	subnetGroup string
	storageType string
	managed     bool
	encrypted   bool
	final       string
	hasFinal    bool
	vpc         string // where the security group lives; "" the default VPC
}

// plan checks spec against the rules RDS would apply, before any call.
// The portable layer has checked the rules every cloud shares, the
// engine, the access source kinds and the option keys.
func (d *rdsDriver) plan(spec *dbaas.Spec, restore bool) (*createPlan, error) {
	pl := &createPlan{port: spec.Port, storageType: "gp3", encrypted: true, subnetGroup: d.opts.SubnetGroup, vpc: d.opts.VPCID}
	var problems []dbaas.FieldError
	add := func(field, rule string) { problems = append(problems, dbaas.FieldError{Field: field, Rule: rule}) }
	if !classRE.MatchString(spec.Size) {
		add("size", "must be an RDS DB instance class such as db.t3.micro or db.m6g.large")
	}
	switch {
	case pl.port == 0 && !restore:
		pl.port = spec.Engine.DefaultPort()
	case pl.port == 0:
		// A restore listens on the source's port, which Restore reads.
	case pl.port < 1150:
		add("port", "must be 1150 to 65535 on RDS")
	}
	switch {
	case spec.Region == "" || spec.Region == d.opts.Region:
	case azRE.MatchString(spec.Region) && strings.HasPrefix(spec.Region, d.opts.Region):
		pl.az = spec.Region
	default:
		add("region", fmt.Sprintf("%q is neither the provider's region %s nor one of its availability zones (%sa, %sb, …)", spec.Region, d.opts.Region, d.opts.Region, d.opts.Region))
	}
	switch {
	case spec.Nodes > 2:
		add("nodes", "an RDS DB instance has one primary and at most one standby (Multi-AZ): use 1 or 2")
	case spec.Nodes == 2 && pl.az != "":
		add("nodes", "a Multi-AZ instance (2 nodes) cannot be pinned to one availability zone: give the region, not a zone")
	}
	if spec.Subnet != "" {
		pl.subnetGroup = spec.Subnet
	}
	if spec.PrivateNetwork != "" && !strings.HasPrefix(spec.PrivateNetwork, "vpc-") {
		add("private_network", "must be a VPC id (vpc-…)")
	}
	if spec.PrivateNetwork != "" {
		pl.vpc = spec.PrivateNetwork
	}
	for _, k := range sortedKeys(spec.Tags) {
		if l := strings.ToLower(k); strings.HasPrefix(l, "dbaaskit:") || strings.HasPrefix(l, "aws:") {
			add("tags["+k+"]", "keys starting with dbaaskit: or aws: are reserved")
		}
	}
	for _, k := range sortedKeys(spec.Options) {
		v := spec.Options[k]
		field := "options[" + k + "]"
		switch k {
		case OptionSubnetGroup:
			if spec.Subnet != "" && spec.Subnet != v {
				add(field, "differs from subnet: give one")
			}
			pl.subnetGroup = v
		case OptionStorageType:
			if !slices.Contains(storageTypes, v) {
				add(field, "must be one of "+strings.Join(storageTypes, ", "))
			}
			pl.storageType = v
		case OptionManagePassword, OptionStorageEncrypted:
			b, err := strconv.ParseBool(v)
			if err != nil {
				add(field, "must be true or false")
			}
			if k == OptionManagePassword {
				pl.managed = b
				if !b && spec.AdminPassword.IsZero() && !restore {
					add(field, "false needs admin_password: RDS requires a master password unless it manages one")
				}
				if b && !spec.AdminPassword.IsZero() {
					add(field, "true cannot go with admin_password: RDS either manages the password or takes yours")
				}
			} else {
				pl.encrypted = b
			}
		case OptionFinalSnapshot:
			pl.final, pl.hasFinal = v, true
			switch {
			case v == "":
				add(field, "is empty, so the final snapshot taken on delete would have no identifier and the delete would fail: name it, or leave the option out to get <name>-final-<time>")
			case !validIdentifier(v):
				add(field, identifierRule)
			}
		}
	}
	if _, set := spec.Options[OptionManagePassword]; !set && spec.AdminPassword.IsZero() {
		pl.managed = true
	}
	if restore {
		if !spec.AdminPassword.IsZero() {
			add("admin_password", "a restore keeps the master password of the backup: leave it empty")
		}
		if spec.AdminUser != "" {
			add("admin_user", "a restore keeps the master user of the backup: leave it empty")
		}
		pl.managed = false
	}
	if len(problems) > 0 {
		return nil, &dbaas.ValidationError{Problems: problems}
	}
	return pl, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func tags(spec *dbaas.Spec, pl *createPlan, token string) []types.Tag {
	var tags []types.Tag
	for _, k := range sortedKeys(spec.Tags) {
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(spec.Tags[k])})
	}
	tags = append(tags, types.Tag{Key: aws.String(tagCreateToken), Value: aws.String(token)})
	if pl.hasFinal {
		tags = append(tags, types.Tag{Key: aws.String(tagFinalSnapshot), Value: aws.String(pl.final)})
	}
	return tags
}

// made lists what a Create made before it failed, for its error.
type made []string

// wrap adds the list to err, keeping its sentinel and the SDK error
// reachable (and a *dbaas.Error's field).
func (m made) wrap(err error) error {
	if len(m) == 0 || err == nil {
		return err
	}
	note := func(err error) error {
		return fmt.Errorf("%w (already made and kept, a retry reuses them: %s)", err, strings.Join(m, ", "))
	}
	if de, ok := err.(*dbaas.Error); ok && de.Err != nil {
		c := *de
		c.Err = note(de.Err)
		return &c
	}
	return note(err)
}

// Create checks spec (no call when it is invalid), ensures the security
// group and its access rules, and starts CreateDBInstance. It returns at
// once with status provisioning.
func (d *rdsDriver) Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error) {
	pl, err := d.plan(&spec, false)
	if err != nil {
		return nil, err
	}
	if err := d.exists(ctx, spec.Name); err != nil {
		return nil, err
	}
	var m made
	groupID, err := d.prepare(ctx, &spec, pl, int32(pl.port), &m)
	if err != nil {
		return nil, m.wrap(err)
	}
	token := newToken()
	in := &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(spec.Name),
		DBInstanceClass:      aws.String(spec.Size),
		Engine:               aws.String(string(spec.Engine)),
		AllocatedStorage:     aws.Int32(int32(DefaultStorageGB)),
		MasterUsername:       aws.String(DefaultAdminUser),
		Port:                 aws.Int32(int32(pl.port)),
		PubliclyAccessible:   aws.Bool(spec.PublicAccess),
		StorageEncrypted:     aws.Bool(pl.encrypted),
		StorageType:          aws.String(pl.storageType),
		DeletionProtection:   aws.Bool(spec.DeletionProtection),
		CopyTagsToSnapshot:   aws.Bool(true),
		VpcSecurityGroupIds:  []string{groupID},
		Tags:                 tags(&spec, pl, token),
	}
	if spec.Version != "" {
		in.EngineVersion = aws.String(spec.Version)
	}
	if spec.StorageGB > 0 {
		in.AllocatedStorage = aws.Int32(int32(spec.StorageGB))
	}
	if spec.AdminUser != "" {
		in.MasterUsername = aws.String(spec.AdminUser)
	}
	if pl.managed {
		in.ManageMasterUserPassword = aws.Bool(true)
	} else {
		in.MasterUserPassword = aws.String(spec.AdminPassword.Reveal())
	}
	if spec.Database != "" {
		in.DBName = aws.String(spec.Database)
	}
	in.AvailabilityZone = nonEmpty(pl.az)
	if spec.Nodes == 2 {
		in.MultiAZ = aws.Bool(true)
	}
	in.DBSubnetGroupName = nonEmpty(pl.subnetGroup)
	if spec.BackupRetentionDays > 0 {
		in.BackupRetentionPeriod = aws.Int32(int32(spec.BackupRetentionDays))
	}
	return d.launch(ctx, spec.Name, token, m, groupID, spec.AdminPassword, func() (*types.DBInstance, error) {
		out, err := d.rds.CreateDBInstance(ctx, in)
		if err != nil {
			return nil, err
		}
		return out.DBInstance, nil
	})
}

// launch sends a create or restore call and returns the instance it
// starts; when it fails, the instance's own security group is removed. When the SDK resent a call whose answer was lost and RDS
// refused the resend as a duplicate, the instance carrying this call's
// token is the one it made: it is returned, never reported as a conflict
// or made twice. A known password is kept for Connection.
func (d *rdsDriver) launch(ctx context.Context, name, token string, m made, groupID string, password dbaas.Secret, call func() (*types.DBInstance, error)) (*dbaas.Instance, error) {
	db, err := call()
	if code(err) == "DBInstanceAlreadyExists" {
		if mine, derr := d.describe(ctx, name); derr == nil {
			if v, ok := tagValue(mine.TagList, tagCreateToken); ok && v == token {
				db, err = mine, nil
			}
		}
	}
	if err != nil {
		return nil, m.wrap(withNote(apiErr(err), d.undo(groupID)))
	}
	if !password.IsZero() {
		d.mu.Lock()
		d.passwords[passwordKey(aws.ToString(db.DbiResourceId), name)] = password
		d.mu.Unlock()
	}
	return toInstance(db, d.opts.Region), nil
}

// prepare ensures what an instance needs before it is created: the subnet
// group, the toolkit's security group and the instance's own group in
// the instance's VPC, holding a rule from the toolkit's group and the
// access rules of spec on the port. It returns the own group, made here
// (and removed again when a later step fails), and adds the shared
// things it made to m.
func (d *rdsDriver) prepare(ctx context.Context, spec *dbaas.Spec, pl *createPlan, port int32, m *made) (string, error) {
	if pl.subnetGroup == "" && len(d.opts.SubnetIDs) > 0 {
		if err := d.ensureSubnetGroup(ctx, m); err != nil {
			return "", err
		}
		pl.subnetGroup = DefaultSubnetGroupName
	}
	vpc, err := d.vpcOf(ctx, spec, pl)
	if err != nil {
		return "", err
	}
	toolkit, err := d.ensureToolkitGroup(ctx, vpc, m)
	if err != nil {
		return "", err
	}
	id, err := d.freshGroup(ctx, InstanceSecurityGroupName(spec.Name), vpc, "Access to the RDS instance "+spec.Name+" (dbaaskit)")
	if err != nil {
		return "", err
	}
	sources := append([]dbaas.Source{{Kind: dbaas.SourceSecurityGroup, Value: toolkit}}, spec.Access...)
	if err := d.authorize(ctx, id, port, sources); err != nil {
		return "", withNote(err, d.undo(id))
	}
	return id, nil
}

// exists refuses a create or restore of a name an instance has, before
// anything is made or changed.
func (d *rdsDriver) exists(ctx context.Context, name string) error {
	_, err := d.describe(ctx, name)
	switch {
	case err == nil:
		return &dbaas.Error{Kind: dbaas.ErrAlreadyExists, Err: fmt.Errorf("an RDS instance named %s exists", name)}
	case isNotFound(err):
		return nil
	}
	return err
}

// withNote adds note to err, keeping its sentinel and the SDK's error
// reachable.
func withNote(err error, note string) error {
	if note == "" || err == nil {
		return err
	}
	if de, ok := err.(*dbaas.Error); ok && de.Err != nil {
		c := *de
		c.Err = fmt.Errorf("%w (%s)", de.Err, note)
		return &c
	}
	return fmt.Errorf("%w (%s)", err, note)
}

func (d *rdsDriver) ensureSubnetGroup(ctx context.Context, m *made) error {
	d.mu.Lock()
	ok := d.subnetsOK
	d.mu.Unlock()
	if ok {
		return nil
	}
	_, err := d.rds.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(DefaultSubnetGroupName)})
	if code(err) == "DBSubnetGroupNotFoundFault" {
		_, err = d.rds.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{
			DBSubnetGroupName:        aws.String(DefaultSubnetGroupName),
			DBSubnetGroupDescription: aws.String("Subnets of the Agile Deployment Toolkit's databases (dbaaskit)"),
			SubnetIds:                d.opts.SubnetIDs,
		})
		switch {
		case code(err) == "DBSubnetGroupAlreadyExists":
			err = nil
		case err == nil:
			*m = append(*m, "DB subnet group "+DefaultSubnetGroupName)
		}
	}
	if err != nil {
		return apiErr(err)
	}
	d.mu.Lock()
	d.subnetsOK = true
	d.mu.Unlock()
	return nil
}

// nonEmpty is s for an optional request field, or nil (the field left out,
// so RDS picks its default) when s is empty.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
