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
// groups, and which of them is the configured one.
type target struct {
	port    int32
	groups  []ec2types.SecurityGroup
	managed *ec2types.SecurityGroup
}

func (p *Provider) target(ctx context.Context, op, id string) (*target, error) {
	d, err := p.describe(ctx, op, id)
	if err != nil {
		return nil, err
	}
	t := &target{}
	if d.Endpoint != nil {
		t.port = aws.ToInt32(d.Endpoint.Port)
	}
	if t.port == 0 {
		// No endpoint while RDS creates the instance: the port it will
		// listen on is the one it was created with.
		t.port = aws.ToInt32(d.DbInstancePort)
	}
	if t.port == 0 {
		return nil, dbaas.NewError(op, id, dbaas.ErrConflict, fmt.Errorf("instance is %s and has no port yet: wait until it is available", aws.ToString(d.DBInstanceStatus)))
	}
	var ids []string
	for _, g := range d.VpcSecurityGroups {
		ids = append(ids, aws.ToString(g.VpcSecurityGroupId))
	}
	if len(ids) == 0 {
		return t, nil
	}
	out, err := p.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: ids})
	if err != nil {
		return nil, wrap(op, id, err)
	}
	t.groups = out.SecurityGroups
	for i := range t.groups {
		g := &t.groups[i]
		// The instance's groups are all in its VPC: the name tells ours.
		if aws.ToString(g.GroupName) == p.opts.SecurityGroupName {
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
func (p *Provider) Access(ctx context.Context, id string) ([]dbaas.Source, error) {
	t, err := p.target(ctx, "access", id)
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

func (p *Provider) checkSources(op, id string, sources []dbaas.Source) error {
	if id == "" {
		return dbaas.NewError(op, id, dbaas.ErrInvalidArgument, errEmptyID)
	}
	if err := dbaas.CheckSources(Name, p.Capabilities(), sources); err != nil {
		return dbaas.NewError(op, id, dbaas.Kind(err), err)
	}
	return nil
}

// Allow authorizes TCP on the instance's port from each source in the
// configured security group. A rule already present is not an error and
// is not sent again.
func (p *Provider) Allow(ctx context.Context, id string, sources ...dbaas.Source) error {
	if err := p.checkSources("allow", id, sources); err != nil {
		return err
	}
	if len(sources) == 0 {
		return nil
	}
	t, err := p.target(ctx, "allow", id)
	if err != nil {
		return err
	}
	if t.managed == nil {
		return p.notManaged("allow", id)
	}
	have := map[string]bool{}
	for _, perm := range t.managed.IpPermissions {
		if exact(perm, t.port) {
			for _, s := range sourcesOf(perm) {
				have[s.String()] = true
			}
		}
	}
	var missing []dbaas.Source
	for _, s := range sources {
		if !have[s.String()] {
			have[s.String()] = true
			missing = append(missing, s)
		}
	}
	return p.authorize(ctx, "allow", id, aws.ToString(t.managed.GroupId), t.port, missing)
}

func (p *Provider) notManaged(op, id string) error {
	return dbaas.NewError(op, id, dbaas.ErrConflict, fmt.Errorf("the instance does not carry the security group %s that this provider manages; attach it, or open a provider configured with the instance's group", p.opts.SecurityGroupName))
}

// authorize adds the rules in one call. EC2 refuses the whole call when
// one rule exists already (someone added it since we looked); then each
// rule is sent alone and a duplicate is taken as done.
func (p *Provider) authorize(ctx context.Context, op, id, groupID string, port int32, sources []dbaas.Source) error {
	if len(sources) == 0 {
		return nil
	}
	perms := make([]ec2types.IpPermission, len(sources))
	for i, s := range sources {
		perms[i] = permission(s, port)
	}
	_, err := p.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(groupID), IpPermissions: perms})
	switch code(err) {
	case "InvalidPermission.Duplicate":
	case "InvalidGroup.NotFound":
		// Deleted behind our back: look it up (or make it) again next time.
		p.mu.Lock()
		for vpc, id := range p.groupIDs {
			if id == groupID {
				delete(p.groupIDs, vpc)
			}
		}
		p.mu.Unlock()
		return wrap(op, id, err)
	default:
		return wrap(op, id, err)
	}
	if len(perms) == 1 {
		return nil
	}
	for _, perm := range perms {
		_, err := p.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(groupID), IpPermissions: []ec2types.IpPermission{perm}})
		if err != nil && code(err) != "InvalidPermission.Duplicate" {
			return wrap(op, id, err)
		}
	}
	return nil
}

// Revoke removes the rules for each source on the instance's port from the
// configured security group. An absent rule is not an error. Rules in the
// instance's other groups are left alone (and still listed by Access).
func (p *Provider) Revoke(ctx context.Context, id string, sources ...dbaas.Source) error {
	if err := p.checkSources("revoke", id, sources); err != nil {
		return err
	}
	if len(sources) == 0 {
		return nil
	}
	t, err := p.target(ctx, "revoke", id)
	if err != nil {
		return err
	}
	if t.managed == nil {
		return p.notManaged("revoke", id)
	}
	have := map[string]bool{}
	for _, perm := range t.managed.IpPermissions {
		if exact(perm, t.port) {
			for _, s := range sourcesOf(perm) {
				have[s.String()] = true
			}
		}
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
	_, err = p.ec2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: t.managed.GroupId, IpPermissions: perms})
	if code(err) == "InvalidPermission.NotFound" {
		// Revoked by someone else since we looked.
		return nil
	}
	return wrap("revoke", id, err)
}
