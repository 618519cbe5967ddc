package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// InstanceSecurityGroupName is the name of the security group Create
// gives instance id for its access list alone, in the instance's VPC.
func InstanceSecurityGroupName(id string) string { return "dbaaskit-" + strings.ToLower(id) }

// vpcOf returns the VPC an instance of pl goes in: the one of its DB
// subnet group, else Spec.PrivateNetwork or Options.VPCID, else the
// account's default VPC. RDS refuses security groups of another VPC than
// the instance's, so the groups are found and made there.
func (d *rdsDriver) vpcOf(ctx context.Context, spec *dbaas.Spec, pl *createPlan) (string, error) {
	if pl.subnetGroup != "" {
		out, err := d.rds.DescribeDBSubnetGroups(ctx, &rds.DescribeDBSubnetGroupsInput{DBSubnetGroupName: aws.String(pl.subnetGroup)})
		if err != nil {
			return "", apiErr(err)
		}
		if len(out.DBSubnetGroups) > 0 {
			vpc := aws.ToString(out.DBSubnetGroups[0].VpcId)
			if spec.PrivateNetwork != "" && spec.PrivateNetwork != vpc {
				return "", dbaas.InvalidField("private_network", fmt.Sprintf("is %s but the DB subnet group %s is in %s", spec.PrivateNetwork, pl.subnetGroup, vpc))
			}
			if vpc != "" {
				return vpc, nil
			}
		}
	}
	if pl.vpc != "" {
		return pl.vpc, nil
	}
	d.mu.Lock()
	vpc := d.defaultVPC
	d.mu.Unlock()
	if vpc != "" {
		return vpc, nil
	}
	out, err := d.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("isDefault"), Values: []string{"true"}}}})
	if err != nil {
		return "", apiErr(err)
	}
	if len(out.Vpcs) == 0 {
		return "", dbaas.InvalidField("private_network", "is empty and the account has no default VPC: give the VPC (with a DB subnet group in it), or the setting vpc_id")
	}
	vpc = aws.ToString(out.Vpcs[0].VpcId)
	d.mu.Lock()
	d.defaultVPC = vpc
	d.mu.Unlock()
	return vpc, nil
}

// ensureToolkitGroup finds the toolkit's security group (the configured
// name) in vpc, or creates it. It is looked up by name and VPC: a group
// of the same name in another VPC is never used.
func (d *rdsDriver) ensureToolkitGroup(ctx context.Context, vpc string, m *made) (string, error) {
	d.mu.Lock()
	id := d.groupIDs[vpc]
	d.mu.Unlock()
	if id != "" {
		return id, nil
	}
	name := d.opts.SecurityGroupName
	id, created, err := d.ensureGroup(ctx, name, vpc, "Web servers of the Agile Deployment Toolkit, let in to its databases (dbaaskit)")
	if err != nil {
		return "", err
	}
	if created {
		*m = append(*m, "security group "+id+" ("+name+")")
	}
	d.mu.Lock()
	d.groupIDs[vpc] = id
	d.mu.Unlock()
	return id, nil
}

// ensureGroup finds the security group name in vpc, or creates it, and
// reports whether it did. A group of that name made meanwhile by someone
// else is used.
func (d *rdsDriver) ensureGroup(ctx context.Context, name, vpc, description string) (string, bool, error) {
	id, err := d.findGroup(ctx, name, vpc)
	if err != nil || id != "" {
		return id, false, err
	}
	out, err := d.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), Description: aws.String(description), VpcId: aws.String(vpc),
	})
	switch {
	case code(err) == "InvalidGroup.Duplicate":
		// Made by someone else since we looked: use theirs.
		if id, err = d.findGroup(ctx, name, vpc); err != nil {
			return "", false, err
		}
		if id == "" {
			return "", false, &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf("security group %s in %s vanished while it was being made", name, vpc)}
		}
		return id, false, nil
	case err != nil:
		return "", false, apiErr(err)
	}
	return aws.ToString(out.GroupId), true, nil
}

// freshGroup makes the security group name in vpc with no rules. One of
// that name is left from an instance that is gone (the caller checked
// that none has the name) and its rules are stale: it is removed first,
// so no source of the old instance reaches the new one.
func (d *rdsDriver) freshGroup(ctx context.Context, name, vpc, description string) (string, error) {
	old, err := d.findGroup(ctx, name, vpc)
	if err != nil {
		return "", err
	}
	if old != "" {
		if err := d.dropGroup(ctx, old); err != nil {
			return "", &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf("security group %s (%s) is left from an earlier instance of that name and cannot be removed: %w", old, name, err)}
		}
	}
	out, err := d.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), Description: aws.String(description), VpcId: aws.String(vpc),
	})
	if err != nil {
		return "", apiErr(err)
	}
	return aws.ToString(out.GroupId), nil
}

// findGroup returns the id of the security group name in vpc, or "".
func (d *rdsDriver) findGroup(ctx context.Context, name, vpc string) (string, error) {
	out, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("group-name"), Values: []string{name}},
		{Name: aws.String("vpc-id"), Values: []string{vpc}},
	}})
	if err != nil {
		return "", apiErr(err)
	}
	for _, g := range out.SecurityGroups {
		if aws.ToString(g.GroupName) == name && aws.ToString(g.VpcId) == vpc {
			return aws.ToString(g.GroupId), nil
		}
	}
	return "", nil
}

// undo removes the own group a create or restore made for an instance it
// did not make, and returns what to add to the error: nothing when it is
// gone, or what was left and why.
func (d *rdsDriver) undo(groupID string) string {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := d.dropGroup(ctx, groupID); err != nil {
		return fmt.Sprintf("security group %s was left (delete it by hand): %v", groupID, err)
	}
	return ""
}

// dropGroup deletes a security group; one already gone is not an error.
func (d *rdsDriver) dropGroup(ctx context.Context, id string) error {
	_, err := d.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	if err != nil && code(err) != "InvalidGroup.NotFound" {
		return apiErr(err)
	}
	return nil
}

// ownGroupOf returns the id of the instance's own security group among
// those it carries, or "".
func (d *rdsDriver) ownGroupOf(ctx context.Context, db *types.DBInstance) (string, error) {
	var ids []string
	for _, g := range db.VpcSecurityGroups {
		ids = append(ids, aws.ToString(g.VpcSecurityGroupId))
	}
	if len(ids) == 0 {
		return "", nil
	}
	out, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: ids})
	if err != nil {
		return "", apiErr(err)
	}
	name := InstanceSecurityGroupName(aws.ToString(db.DBInstanceIdentifier))
	for _, g := range out.SecurityGroups {
		if aws.ToString(g.GroupName) == name {
			return aws.ToString(g.GroupId), nil
		}
	}
	return "", nil
}

// releaseGroup removes the own group of a deleted instance once RDS lets
// go of it: at once when it can, else when this provider next sees the
// instance gone (Get, dbaas.WaitDeleted, List, Close).
func (d *rdsDriver) releaseGroup(ctx context.Context, id, groupID string) {
	if groupID == "" {
		return
	}
	if err := d.dropGroup(ctx, groupID); err == nil {
		return
	}
	d.mu.Lock()
	d.pendingGroups[id] = groupID
	d.mu.Unlock()
}

// gone is called when RDS describes no instance id: its own group, if
// its delete is pending, is removed now.
func (d *rdsDriver) gone(ctx context.Context, id string) {
	d.mu.Lock()
	groupID, ok := d.pendingGroups[id]
	d.mu.Unlock()
	if !ok {
		return
	}
	if err := d.dropGroup(ctx, groupID); err == nil {
		d.mu.Lock()
		if d.pendingGroups[id] == groupID {
			delete(d.pendingGroups, id)
		}
		d.mu.Unlock()
	}
}

// settleGroups removes the pending groups of instances that are gone and
// returns an error naming the ones still held by instances RDS is still
// deleting, which are left.
func (d *rdsDriver) settleGroups(ctx context.Context) error {
	d.mu.Lock()
	pending := make(map[string]string, len(d.pendingGroups))
	for id, g := range d.pendingGroups {
		pending[id] = g
	}
	d.mu.Unlock()
	for id := range pending {
		// A describe that finds the instance gone removes its group.
		_, _ = d.describe(ctx, id)
	}
	var left []string
	d.mu.Lock()
	for id, g := range d.pendingGroups {
		left = append(left, g+" ("+InstanceSecurityGroupName(id)+")")
	}
	d.mu.Unlock()
	slices.Sort(left)
	if len(left) == 0 {
		return nil
	}
	return &dbaas.Error{Kind: dbaas.ErrConflict, Err: errors.New("security groups of deleted instances RDS has not finished deleting were left: " +
		strings.Join(left, ", ") + "; delete them once the instances are gone")}
}
