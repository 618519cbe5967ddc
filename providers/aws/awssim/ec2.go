package awssim

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// DefaultVPC is the id of the simulated account's default VPC.
const DefaultVPC = "vpc-0default0000000000"

const defaultGroupID = "sg-0default000000000"

type securityGroup struct {
	ID, Name, Description, VpcID string
	Rules                        []rule
}

// rule is one ingress permission: a protocol and port range from one
// source (a CIDR, an IPv6 CIDR or a security group).
type rule struct {
	Protocol     string
	From, To     int
	CIDR, CIDRv6 string
	Group        string
	Description  string
}

func (r rule) key() string {
	return r.Protocol + "|" + strconv.Itoa(r.From) + "|" + strconv.Itoa(r.To) + "|" + r.CIDR + "|" + r.CIDRv6 + "|" + r.Group
}

func (s *Server) ec2(req *request) ([]byte, error) {
	if v := req.get("Version"); v != ec2Version {
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidAction", msg: "unsupported API version " + strconv.Quote(v)}
	}
	if req.get("DryRun") == "true" {
		// EC2 checks the caller's permissions and stops there.
		return nil, &apiError{status: http.StatusPreconditionFailed, code: "DryRunOperation", msg: "Request would have succeeded, but DryRun flag is set."}
	}
	var (
		result any
		err    error
	)
	switch req.action {
	case "CreateSecurityGroup":
		result, err = s.createSecurityGroup(req)
	case "DescribeSecurityGroups":
		result, err = s.describeSecurityGroups(req)
	case "DeleteSecurityGroup":
		result, err = s.deleteSecurityGroup(req)
	case "AuthorizeSecurityGroupIngress":
		result, err = s.changeIngress(req, true)
	case "RevokeSecurityGroupIngress":
		result, err = s.changeIngress(req, false)
	case "DescribeVpcs":
		result, err = s.describeVpcs(req)
	default:
		return nil, &apiError{status: http.StatusBadRequest, code: "InvalidAction", msg: "The action " + req.action + " is not valid for this web service."}
	}
	if err != nil {
		return nil, err
	}
	return ec2Response(req.action, req.id, result), nil
}

func ec2Param(code, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: msg}
}

func groupNotFound(id string) *apiError {
	return ec2Param("InvalidGroup.NotFound", "The security group '"+id+"' does not exist")
}

func (s *Server) createSecurityGroup(req *request) (any, error) {
	name, desc, vpc := req.get("GroupName"), req.get("GroupDescription"), req.get("VpcId")
	switch {
	case name == "":
		return nil, ec2Param("MissingParameter", "The request must contain the parameter groupName")
	case desc == "":
		return nil, ec2Param("MissingParameter", "The request must contain the parameter groupDescription")
	case len(name) > 255 || strings.HasPrefix(strings.ToLower(name), "sg-"):
		return nil, ec2Param("InvalidParameterValue", "Invalid value '"+name+"' for groupName. Group names may not be in the format sg-* and must be at most 255 characters.")
	case len(desc) > 255:
		return nil, ec2Param("InvalidParameterValue", "Invalid value for groupDescription: at most 255 characters.")
	}
	if vpc == "" {
		vpc = DefaultVPC
	}
	if vpc != DefaultVPC && !strings.HasPrefix(vpc, "vpc-") {
		return nil, ec2Param("InvalidVpcID.NotFound", "The vpc ID '"+vpc+"' does not exist")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		if g.VpcID == vpc && g.Name == name {
			return nil, ec2Param("InvalidGroup.Duplicate", "The security group '"+name+"' already exists for VPC '"+vpc+"'")
		}
	}
	id := "sg-" + randomHex(17)
	s.groups[id] = &securityGroup{ID: id, Name: name, Description: desc, VpcID: vpc}
	return struct {
		Return  bool   `xml:"return"`
		GroupID string `xml:"groupId"`
	}{true, id}, nil
}

func (s *Server) deleteSecurityGroup(req *request) (any, error) {
	id := req.get("GroupId")
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[id]
	if !ok {
		return nil, groupNotFound(id)
	}
	for _, inst := range s.instances {
		if slices.Contains(inst.SecurityGroups, g.ID) {
			return nil, ec2Param("DependencyViolation", "resource "+id+" has a dependent object")
		}
	}
	delete(s.groups, id)
	return struct {
		Return bool `xml:"return"`
	}{true}, nil
}

type ipRangeXML struct {
	CidrIP      string `xml:"cidrIp"`
	Description string `xml:"description,omitempty"`
}

type ipv6RangeXML struct {
	CidrIPv6    string `xml:"cidrIpv6"`
	Description string `xml:"description,omitempty"`
}

type groupPairXML struct {
	GroupID     string `xml:"groupId"`
	UserID      string `xml:"userId"`
	Description string `xml:"description,omitempty"`
}

type ipPermissionXML struct {
	IPProtocol string         `xml:"ipProtocol"`
	FromPort   *int           `xml:"fromPort,omitempty"`
	ToPort     *int           `xml:"toPort,omitempty"`
	Groups     []groupPairXML `xml:"groups>item"`
	IPRanges   []ipRangeXML   `xml:"ipRanges>item"`
	IPv6Ranges []ipv6RangeXML `xml:"ipv6Ranges>item"`
}

type securityGroupXML struct {
	OwnerID          string            `xml:"ownerId"`
	GroupID          string            `xml:"groupId"`
	GroupName        string            `xml:"groupName"`
	GroupDescription string            `xml:"groupDescription"`
	VpcID            string            `xml:"vpcId"`
	IPPermissions    []ipPermissionXML `xml:"ipPermissions>item"`
}

func groupXML(g *securityGroup) securityGroupXML {
	x := securityGroupXML{OwnerID: accountID, GroupID: g.ID, GroupName: g.Name, GroupDescription: g.Description, VpcID: g.VpcID}
	// EC2 groups the rules of one protocol and port range into one
	// permission.
	idx := map[string]int{}
	for _, r := range g.Rules {
		k := r.Protocol + "|" + strconv.Itoa(r.From) + "|" + strconv.Itoa(r.To)
		i, ok := idx[k]
		if !ok {
			from, to := r.From, r.To
			p := ipPermissionXML{IPProtocol: r.Protocol}
			if r.Protocol != "-1" {
				p.FromPort, p.ToPort = &from, &to
			}
			x.IPPermissions = append(x.IPPermissions, p)
			i = len(x.IPPermissions) - 1
			idx[k] = i
		}
		p := &x.IPPermissions[i]
		switch {
		case r.CIDR != "":
			p.IPRanges = append(p.IPRanges, ipRangeXML{CidrIP: r.CIDR, Description: r.Description})
		case r.CIDRv6 != "":
			p.IPv6Ranges = append(p.IPv6Ranges, ipv6RangeXML{CidrIPv6: r.CIDRv6, Description: r.Description})
		default:
			p.Groups = append(p.Groups, groupPairXML{GroupID: r.Group, UserID: accountID, Description: r.Description})
		}
	}
	return x
}

func (s *Server) describeSecurityGroups(req *request) (any, error) {
	ids := req.list("GroupId")
	names := req.list("GroupName")
	filters := map[string][]string{}
	for i := 1; ; i++ {
		n, ok := req.form["Filter."+strconv.Itoa(i)+".Name"]
		if !ok {
			break
		}
		switch n {
		case "group-name", "group-id", "vpc-id":
		default:
			return nil, ec2Param("InvalidParameterValue", "The filter '"+n+"' is invalid")
		}
		filters[n] = append(filters[n], req.list("Filter."+strconv.Itoa(i)+".Value")...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.groups[id]; !ok {
			return nil, groupNotFound(id)
		}
	}
	var out []securityGroupXML
	var keys []string
	for k := range s.groups {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		g := s.groups[k]
		if len(ids) > 0 && !slices.Contains(ids, g.ID) {
			continue
		}
		if len(names) > 0 && !slices.Contains(names, g.Name) {
			continue
		}
		if v := filters["group-name"]; len(v) > 0 && !slices.Contains(v, g.Name) {
			continue
		}
		if v := filters["group-id"]; len(v) > 0 && !slices.Contains(v, g.ID) {
			continue
		}
		if v := filters["vpc-id"]; len(v) > 0 && !slices.Contains(v, g.VpcID) {
			continue
		}
		out = append(out, groupXML(g))
	}
	for _, n := range names {
		if !slices.ContainsFunc(out, func(x securityGroupXML) bool { return x.GroupName == n }) {
			return nil, groupNotFound(n)
		}
	}
	return struct {
		SecurityGroupInfo []securityGroupXML `xml:"securityGroupInfo>item"`
	}{out}, nil
}

// parsePermissions reads IpPermissions.N.… into rules, checking them as
// EC2 does.
func parsePermissions(req *request) ([]rule, error) {
	var rules []rule
	for i := 1; ; i++ {
		p := "IpPermissions." + strconv.Itoa(i) + "."
		proto, ok := req.form[p+"IpProtocol"]
		if !ok {
			break
		}
		proto = strings.ToLower(proto)
		switch proto {
		case "tcp", "udp", "icmp", "-1":
		case "6":
			proto = "tcp"
		default:
			return nil, ec2Param("InvalidParameterValue", "Invalid value '"+proto+"' for IP protocol. Unknown protocol.")
		}
		from, to := -1, -1
		if proto != "-1" {
			var err1, err2 error
			from, err1 = strconv.Atoi(req.get(p + "FromPort"))
			to, err2 = strconv.Atoi(req.get(p + "ToPort"))
			if err1 != nil || err2 != nil {
				return nil, ec2Param("MissingParameter", "The request must contain the parameter fromPort and toPort for protocol "+proto)
			}
			if from < 0 || to > 65535 || from > to {
				return nil, ec2Param("InvalidParameterValue", "Invalid TCP/UDP port range "+strconv.Itoa(from)+"-"+strconv.Itoa(to))
			}
		}
		base := rule{Protocol: proto, From: from, To: to}
		n := len(rules)
		for j := 1; ; j++ {
			q := p + "IpRanges." + strconv.Itoa(j) + "."
			c, ok := req.form[q+"CidrIp"]
			if !ok {
				break
			}
			pr, err := netip.ParsePrefix(c)
			if err != nil || !pr.Addr().Is4() {
				return nil, ec2Param("InvalidParameterValue", "CIDR block "+c+" is malformed")
			}
			r := base
			r.CIDR, r.Description = pr.Masked().String(), req.get(q+"Description")
			rules = append(rules, r)
		}
		for j := 1; ; j++ {
			q := p + "Ipv6Ranges." + strconv.Itoa(j) + "."
			c, ok := req.form[q+"CidrIpv6"]
			if !ok {
				break
			}
			pr, err := netip.ParsePrefix(c)
			if err != nil || !pr.Addr().Is6() {
				return nil, ec2Param("InvalidParameterValue", "CIDR block "+c+" is malformed")
			}
			r := base
			r.CIDRv6, r.Description = pr.Masked().String(), req.get(q+"Description")
			rules = append(rules, r)
		}
		for j := 1; ; j++ {
			q := p + "Groups." + strconv.Itoa(j) + "."
			g, ok := req.form[q+"GroupId"]
			if !ok {
				break
			}
			r := base
			r.Group, r.Description = g, req.get(q+"Description")
			rules = append(rules, r)
		}
		if len(rules) == n {
			return nil, ec2Param("MissingParameter", "No source for the permission: give IpRanges, Ipv6Ranges or Groups")
		}
	}
	if len(rules) == 0 {
		return nil, ec2Param("MissingParameter", "The request must contain the parameter ipPermissions")
	}
	return rules, nil
}

// changeIngress authorizes or revokes rules atomically: one duplicate (or
// one unknown rule, for a revoke) fails the whole request and changes
// nothing, as in EC2.
func (s *Server) changeIngress(req *request, add bool) (any, error) {
	id := req.get("GroupId")
	if id == "" {
		return nil, ec2Param("MissingParameter", "The request must contain the parameter groupId")
	}
	rules, err := parsePermissions(req)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[id]
	if !ok {
		return nil, groupNotFound(id)
	}
	have := map[string]int{}
	for i, r := range g.Rules {
		have[r.key()] = i
	}
	if add {
		seen := map[string]bool{}
		for _, r := range rules {
			if r.Group != "" {
				if _, ok := s.groups[r.Group]; !ok {
					return nil, groupNotFound(r.Group)
				}
			}
			if _, dup := have[r.key()]; dup || seen[r.key()] {
				src := r.CIDR + r.CIDRv6 + r.Group
				return nil, ec2Param("InvalidPermission.Duplicate", "the specified rule \"peer: "+src+", "+strings.ToUpper(r.Protocol)+", from port: "+strconv.Itoa(r.From)+", to port: "+strconv.Itoa(r.To)+", ALLOW\" already exists")
			}
			seen[r.key()] = true
		}
		if len(g.Rules)+len(rules) > s.opts.MaxRules {
			return nil, ec2Param("RulesPerSecurityGroupLimitExceeded", "The maximum number of rules per security group has been reached.")
		}
		g.Rules = append(g.Rules, rules...)
		return struct {
			Return bool `xml:"return"`
		}{true}, nil
	}
	// EC2 revokes the rules it knows and reports the others in
	// unknownIpPermissionSet.
	var unknown []rule
	drop := map[string]bool{}
	for _, r := range rules {
		if _, ok := have[r.key()]; ok {
			drop[r.key()] = true
		} else {
			unknown = append(unknown, r)
		}
	}
	if len(drop) == 0 {
		return nil, ec2Param("InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
	}
	g.Rules = slices.DeleteFunc(g.Rules, func(r rule) bool { return drop[r.key()] })
	out := struct {
		Return  bool              `xml:"return"`
		Unknown []ipPermissionXML `xml:"unknownIpPermissionSet>item"`
	}{Return: true}
	if len(unknown) > 0 {
		out.Unknown = groupXML(&securityGroup{Rules: unknown}).IPPermissions
	}
	return out, nil
}
