package aws

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

var errEmptyID = errors.New("id is empty")

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
func (p *Provider) plan(spec *dbaas.Spec, restore bool) (*createPlan, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	pl := &createPlan{port: spec.Port, storageType: "gp3", encrypted: true, subnetGroup: p.opts.SubnetGroup, vpc: p.opts.VPCID}
	var problems []dbaas.FieldError
	add := func(field, rule string) { problems = append(problems, dbaas.FieldError{Field: field, Rule: rule}) }
	if !classRE.MatchString(spec.Size) {
		add("size", "must be an RDS DB instance class such as db.t3.micro or db.m6g.large")
	}
	if pl.port == 0 {
		pl.port = spec.Engine.DefaultPort()
	} else if pl.port < 1150 {
		add("port", "must be 1150 to 65535 on RDS")
	}
	switch {
	case spec.Region == "" || spec.Region == p.opts.Region:
	case azRE.MatchString(spec.Region) && strings.HasPrefix(spec.Region, p.opts.Region):
		pl.az = spec.Region
	default:
		add("region", fmt.Sprintf("%q is neither the provider's region %s nor one of its availability zones (%sa, %sb, …)", spec.Region, p.opts.Region, p.opts.Region, p.opts.Region))
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
			case len(v) > 255 || !identifierRE.MatchString(v):
				add(field, "must be 1 to 255 letters, digits and hyphens, start with a letter, not end with a hyphen and have no two hyphens in a row")
			}
		default:
			add(field, "is unknown: known options are "+strings.Join([]string{OptionFinalSnapshot, OptionManagePassword, OptionStorageEncrypted, OptionStorageType, OptionSubnetGroup}, ", "))
		}
	}
	if _, set := spec.Options[OptionManagePassword]; !set && spec.AdminPassword.IsZero() {
		pl.managed = true
	}
	if err := dbaas.CheckSources(Name, p.Capabilities(), spec.Access); err != nil && errors.Is(err, dbaas.ErrUnsupported) {
		// Validate has vouched for the sources; only their kind can fail.
		return nil, err
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

func (p *Provider) tags(spec *dbaas.Spec, pl *createPlan, token string) []types.Tag {
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

func (m made) wrap(err error) error {
	if len(m) == 0 || err == nil {
		return err
	}
	what := strings.Join(m, ", ")
	var de *dbaas.Error
	if !errors.As(err, &de) {
		return fmt.Errorf("%w (already made and kept, a retry reuses them: %s)", err, what)
	}
	// Keep the sentinel and the SDK error reachable; add the note.
	c := *de
	if de.Err == nil {
		c.Err = fmt.Errorf("already made and kept, a retry reuses them: %s", what)
	} else {
		c.Err = fmt.Errorf("%w (already made and kept, a retry reuses them: %s)", de.Err, what)
	}
	return &c
}

// Create checks spec (no call when it is invalid), ensures the security
// group and its access rules, and starts CreateDBInstance. It returns at
// once with status provisioning.
func (p *Provider) Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error) {
	pl, err := p.plan(&spec, false)
	if err != nil {
		return nil, dbaas.NewError("create", spec.Name, dbaas.Kind(err), err)
	}
	var m made
	groupID, err := p.prepare(ctx, "create", &spec, pl, &m)
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
		Tags:                 p.tags(&spec, pl, token),
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
	out, err := p.rds.CreateDBInstance(ctx, in)
	if err != nil {
		if code(err) == "DBInstanceAlreadyExists" {
			if inst, ok := p.ours(ctx, spec.Name, token); ok {
				p.remember(spec.Name, spec.AdminPassword)
				return inst, nil
			}
		}
		return nil, m.wrap(wrap("create", spec.Name, err))
	}
	p.remember(spec.Name, spec.AdminPassword)
	return toInstance(out.DBInstance, p.opts.Region), nil
}

// ours returns the instance id when this Create call made it: the SDK
// retried a CreateDBInstance whose answer was lost, and the retry was
// refused as a duplicate.
func (p *Provider) ours(ctx context.Context, id, token string) (*dbaas.Instance, bool) {
	d, err := p.describe(ctx, "create", id)
	if err != nil {
		return nil, false
	}
	if v, ok := tagValue(d.TagList, tagCreateToken); ok && v == token {
		return toInstance(d, p.opts.Region), true
	}
	return nil, false
}

func (p *Provider) remember(id string, pw dbaas.Secret) {
	if pw.IsZero() {
		return
	}
	p.mu.Lock()
	p.passwords[id] = pw.Reveal()
	p.mu.Unlock()
}

// prepare ensures what an instance needs before it is created: the subnet
// group, the security group and the access rules of spec. It returns the
// security group id and adds what it made to m.
func (p *Provider) prepare(ctx context.Context, op string, spec *dbaas.Spec, pl *createPlan, m *made) (string, error) {
	if pl.subnetGroup == "" && len(p.opts.SubnetIDs) > 0 {
		if err := p.ensureSubnetGroup(ctx, op, m); err != nil {
			return "", err
		}
		pl.subnetGroup = DefaultSubnetGroupName
	}
	groupID, err := p.ensureGroup(ctx, op, pl.vpc, m)
	if err != nil {
		return "", err
	}
	if len(spec.Access) > 0 {
		if err := p.authorize(ctx, op, spec.Name, groupID, int32(pl.port), spec.Access); err != nil {
			return "", err
		}
	}
	return groupID, nil
}

// ensureGroup finds the security group of the configured name in vpc (""
// is the account's default VPC), or creates it.
func (p *Provider) ensureGroup(ctx context.Context, op, vpc string, m *made) (string, error) {
	p.mu.Lock()
	id := p.groupIDs[vpc]
	p.mu.Unlock()
	if id != "" {
		return id, nil
	}
	id, err := p.findGroup(ctx, op, vpc)
	if err != nil {
		return "", err
	}
	if id == "" {
		in := &ec2.CreateSecurityGroupInput{
			GroupName:   aws.String(p.opts.SecurityGroupName),
			Description: aws.String("Database access for the Agile Deployment Toolkit (dbaaskit)"),
		}
		if vpc != "" {
			in.VpcId = aws.String(vpc)
		}
		out, err := p.ec2.CreateSecurityGroup(ctx, in)
		switch {
		case code(err) == "InvalidGroup.Duplicate":
			// Made by someone else since we looked: use theirs.
			if id, err = p.findGroup(ctx, op, vpc); err != nil {
				return "", err
			}
		case err != nil:
			return "", wrap(op, p.opts.SecurityGroupName, err)
		default:
			id = aws.ToString(out.GroupId)
			*m = append(*m, "security group "+id+" ("+p.opts.SecurityGroupName+")")
		}
	}
	if id == "" {
		return "", dbaas.NewError(op, p.opts.SecurityGroupName, dbaas.ErrConflict, errors.New("security group vanished while it was being made"))
	}
	p.mu.Lock()
	p.groupIDs[vpc] = id
	p.mu.Unlock()
	return id, nil
}

func (p *Provider) findGroup(ctx context.Context, op, vpc string) (string, error) {
	in := &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("group-name"), Values: []string{p.opts.SecurityGroupName}}}}
	if vpc != "" {
		in.Filters = append(in.Filters, ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{vpc}})
	}
	out, err := p.ec2.DescribeSecurityGroups(ctx, in)
	if err != nil {
		return "", wrap(op, p.opts.SecurityGroupName, err)
	}
	for _, g := range out.SecurityGroups {
		if aws.ToString(g.GroupName) == p.opts.SecurityGroupName {
			return aws.ToString(g.GroupId), nil
		}
	}
	return "", nil
}

func (p *Provider) ensureSubnetGroup(ctx context.Context, op string, m *made) error {
	p.mu.Lock()
	ok := p.subnetsOK
	p.mu.Unlock()
	if ok {
		return nil
	}
	_, err := p.rds.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(DefaultSubnetGroupName)})
	if code(err) == "DBSubnetGroupNotFoundFault" {
		_, err = p.rds.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{
			DBSubnetGroupName:        aws.String(DefaultSubnetGroupName),
			DBSubnetGroupDescription: aws.String("Subnets of the Agile Deployment Toolkit's databases (dbaaskit)"),
			SubnetIds:                p.opts.SubnetIDs,
		})
		switch {
		case code(err) == "DBSubnetGroupAlreadyExists":
			err = nil
		case err == nil:
			*m = append(*m, "DB subnet group "+DefaultSubnetGroupName)
		}
	}
	if err != nil {
		return wrap(op, DefaultSubnetGroupName, err)
	}
	p.mu.Lock()
	p.subnetsOK = true
	p.mu.Unlock()
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
