package awssim

import (
	"slices"
	"strconv"
)

type vpcXML struct {
	VpcID           string `xml:"vpcId"`
	OwnerID         string `xml:"ownerId"`
	State           string `xml:"state"`
	CidrBlock       string `xml:"cidrBlock"`
	DhcpOptionsID   string `xml:"dhcpOptionsId"`
	InstanceTenancy string `xml:"instanceTenancy"`
	IsDefault       bool   `xml:"isDefault"`
}

// describeVpcs lists the default VPC and every VPC a security group was
// made in (the simulator takes any vpc- id as an existing VPC), filtered
// by vpc-id and isDefault as EC2 does.
func (s *Server) describeVpcs(req *request) (any, error) {
	ids := req.list("VpcId")
	filters := map[string][]string{}
	for i := 1; ; i++ {
		n, ok := req.form["Filter."+strconv.Itoa(i)+".Name"]
		if !ok {
			break
		}
		switch n {
		case "vpc-id", "isDefault", "is-default":
		default:
			return nil, ec2Param("InvalidParameterValue", "The filter '"+n+"' is invalid")
		}
		filters[n] = append(filters[n], req.list("Filter."+strconv.Itoa(i)+".Value")...)
	}
	s.mu.Lock()
	known := []string{DefaultVPC}
	for _, g := range s.groups {
		if !slices.Contains(known, g.VpcID) {
			known = append(known, g.VpcID)
		}
	}
	s.mu.Unlock()
	slices.Sort(known[1:])
	for _, id := range ids {
		if !slices.Contains(known, id) {
			return nil, ec2Param("InvalidVpcID.NotFound", "The vpc ID '"+id+"' does not exist")
		}
	}
	var out []vpcXML
	for i, id := range known {
		isDefault := strconv.FormatBool(i == 0)
		if len(ids) > 0 && !slices.Contains(ids, id) ||
			len(filters["vpc-id"]) > 0 && !slices.Contains(filters["vpc-id"], id) ||
			len(filters["isDefault"]) > 0 && !slices.Contains(filters["isDefault"], isDefault) ||
			len(filters["is-default"]) > 0 && !slices.Contains(filters["is-default"], isDefault) {
			continue
		}
		out = append(out, vpcXML{VpcID: id, OwnerID: accountID, State: "available", CidrBlock: "172.31.0.0/16",
			DhcpOptionsID: "dopt-0sim", InstanceTenancy: "default", IsDefault: i == 0})
	}
	return struct {
		VpcSet []vpcXML `xml:"vpcSet>item"`
	}{out}, nil
}
