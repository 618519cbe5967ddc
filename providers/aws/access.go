package aws

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// target is what access calls work on: the instance's port and security
// groups, and which of them is its own (InstanceSecurityGroupName).
type target struct {
	port    int32
	groups  []ec2types.SecurityGroup
	managed *ec2types.SecurityGroup
}

func (d *rdsDriver) target(ctx context.Context, id string) (*target, error) {
	db, err := d.describe(ctx, id)
	if err != nil {
		return nil, err
	}
	t := &target{}
	if db.Endpoint != nil {
		t.port = aws.ToInt32(db.Endpoint.Port)
	}
	if t.port == 0 {
		// No endpoint while RDS creates the instance: the port it will
		// listen on is the one it was created with.
		t.port = aws.ToInt32(db.DbInstancePort)
	}
	if t.port == 0 {
		return nil, &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf("instance is %s and has no port yet: wait until it is available", aws.ToString(db.DBInstanceStatus))}
	}
	var ids []string
	for _, g := range db.VpcSecurityGroups {
		ids = append(ids, aws.ToString(g.VpcSecurityGroupId))
	}
	if len(ids) == 0 {
		return t, nil
	}
	out, err := d.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: ids})
	if err != nil {
		return nil, apiErr(err)
	}
	t.groups = out.SecurityGroups
	for i := range t.groups {
		g := &t.groups[i]
		// The instance's groups are all in its VPC: the name tells its own.
		if aws.ToString(g.GroupName) == InstanceSecurityGroupName(id) {
			t.managed = g
		}
	}
	return t, nil
}

// covers reports whether perm lets TCP traffic reach port.
func covers(perm ec2types.IpPermission, port int32) bool {
	switch aws.ToString(perm.IpProtocol) {
	case "-1":
		return true
	case "tcp", "6":
		return aws.ToInt32(perm.FromPort) <= port && port <= aws.ToInt32(perm.ToPort)
	}
	return false
}

// sourcesOf returns the sources that perm lets in.
func sourcesOf(perm ec2types.IpPermission) []dbaas.Source {
	var out []dbaas.Source
	for _, r := range perm.IpRanges {
		if s, err := dbaas.ParseSource(aws.ToString(r.CidrIp)); err == nil {
			out = append(out, s)
		}
	}
	for _, r := range perm.Ipv6Ranges {
		if s, err := dbaas.ParseSource(aws.ToString(r.CidrIpv6)); err == nil {
			out = append(out, s)
		}
	}
	for _, g := range perm.UserIdGroupPairs {
		out = append(out, dbaas.Source{Kind: dbaas.SourceSecurityGroup, Value: aws.ToString(g.GroupId)})
	}
	return out
}

// exact reports whether perm is a rule this adapter writes: TCP on
// exactly port.
func exact(perm ec2types.IpPermission, port int32) bool {
	return aws.ToString(perm.IpProtocol) == "tcp" && aws.ToInt32(perm.FromPort) == port && aws.ToInt32(perm.ToPort) == port
}

// permission builds the ingress rule for one source on port.
func permission(src dbaas.Source, port int32) ec2types.IpPermission {
	perm := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
	switch src.Kind {
	case dbaas.SourceSecurityGroup:
		perm.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: aws.String(src.Value)}}
	default:
		if pr, ok := src.Prefix(); ok && pr.Addr().Is6() {
			perm.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(src.Value), Description: aws.String("dbaaskit")}}
		} else {
			perm.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(src.Value), Description: aws.String("dbaaskit")}}
		}
	}
	return perm
}

// Access lists the sources that can reach the instance's port through any
// of its security groups.
func (d *rdsDriver) Access(ctx context.Context, id string) ([]dbaas.Source, error) {
	t, err := d.target(ctx, id)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []dbaas.Source
	for _, g := range t.groups {
		for _, perm := range g.IpPermissions {
			if !covers(perm, t.port) {
				continue
			}
			for _, s := range sourcesOf(perm) {
				if !seen[s.String()] {
					seen[s.String()] = true
					out = append(out, s)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b dbaas.Source) int {
		switch {
		case a.String() < b.String():
			return -1
		case a.String() > b.String():
			return 1
		}
		return 0
	})
	return out, nil
}

// Allow authorizes TCP on the instance's port from each source in the
// instance's own security group, so no other instance's access changes. A rule already present is not an error and
// is not sent again.
func (d *rdsDriver) Allow(ctx context.Context, id string, sources []dbaas.Source) error {
	t, have, err := d.managedRules(ctx, id)
	if err != nil {
		return err
	}
	var missing []dbaas.Source
	for _, s := range sources {
		if !have[s.String()] {
			have[s.String()] = true
			missing = append(missing, s)
		}
	}
	return d.authorize(ctx, aws.ToString(t.managed.GroupId), t.port, missing)
}

// managedRules reads the instance's access target and the sources that
// its own group lets in on its port by rules of this adapter's
// shape: what Allow need not send again and Revoke may remove.
func (d *rdsDriver) managedRules(ctx context.Context, id string) (*target, map[string]bool, error) {
	t, err := d.target(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if t.managed == nil {
		return nil, nil, &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf("the instance does not carry a security group of its own (%s, which Create makes): attach one of that name, in the instance's VPC, to manage its access here", InstanceSecurityGroupName(id))}
	}
	have := map[string]bool{}
	for _, perm := range t.managed.IpPermissions {
		if exact(perm, t.port) {
			for _, s := range sourcesOf(perm) {
				have[s.String()] = true
			}
		}
	}
	return t, have, nil
}

// authorize adds the rules in one call. EC2 refuses the whole call when
// one rule exists already (someone added it since we looked); then each
// rule is sent alone and a duplicate is taken as done.
func (d *rdsDriver) authorize(ctx context.Context, groupID string, port int32, sources []dbaas.Source) error {
	if len(sources) == 0 {
		return nil
	}
	perms := make([]ec2types.IpPermission, len(sources))
	for i, s := range sources {
		perms[i] = permission(s, port)
	}
	_, err := d.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(groupID), IpPermissions: perms})
	switch code(err) {
	case "InvalidPermission.Duplicate":
	case "InvalidGroup.NotFound":
		// Deleted behind our back: look it up (or make it) again next time.
		d.mu.Lock()
		for vpc, id := range d.groupIDs {
			if id == groupID {
				delete(d.groupIDs, vpc)
			}
		}
		d.mu.Unlock()
		return apiErr(err)
	default:
		return apiErr(err)
	}
	if len(perms) == 1 {
		return nil
	}
	for _, perm := range perms {
		_, err := d.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(groupID), IpPermissions: []ec2types.IpPermission{perm}})
		if err != nil && code(err) != "InvalidPermission.Duplicate" {
			return apiErr(err)
		}
	}
	return nil
}

// Revoke removes the rules for each source on the instance's port from the
// instance's own security group. An absent rule is not an error. Rules in the
// instance's other groups are left alone (and still listed by Access).
func (d *rdsDriver) Revoke(ctx context.Context, id string, sources []dbaas.Source) error {
	t, have, err := d.managedRules(ctx, id)
	if err != nil {
		return err
	}
	var perms []ec2types.IpPermission
	for _, s := range sources {
		if have[s.String()] {
			delete(have, s.String())
			perms = append(perms, permission(s, t.port))
		}
	}
	if len(perms) == 0 {
		return nil
	}
	_, err = d.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: t.managed.GroupId, IpPermissions: perms})
	if code(err) == "InvalidPermission.NotFound" {
		// Revoked by someone else since we looked.
		return nil
	}
	return apiErr(err)
}
