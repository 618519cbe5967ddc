package awssim

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

type subnetGroup struct {
	Name, Description, VpcID string
	Subnets                  []string
}

type subnetGroupXML struct {
	DBSubnetGroupName        string      `xml:"DBSubnetGroupName"`
	DBSubnetGroupDescription string      `xml:"DBSubnetGroupDescription"`
	VpcID                    string      `xml:"VpcId"`
	SubnetGroupStatus        string      `xml:"SubnetGroupStatus"`
	Subnets                  []subnetXML `xml:"Subnets>Subnet"`
}

type subnetXML struct {
	SubnetIdentifier string `xml:"SubnetIdentifier"`
	SubnetStatus     string `xml:"SubnetStatus"`
}

func groupOfSubnetsXML(g *subnetGroup) subnetGroupXML {
	x := subnetGroupXML{DBSubnetGroupName: g.Name, DBSubnetGroupDescription: g.Description, VpcID: g.VpcID, SubnetGroupStatus: "Complete"}
	for _, id := range g.Subnets {
		x.Subnets = append(x.Subnets, subnetXML{SubnetIdentifier: id, SubnetStatus: "Active"})
	}
	return x
}

func (s *Server) createDBSubnetGroup(req *request) (any, error) {
	name := strings.ToLower(req.get("DBSubnetGroupName"))
	desc := req.get("DBSubnetGroupDescription")
	subnets := req.list("SubnetIds.SubnetIdentifier")
	switch {
	case name == "":
		return nil, missingParam("DBSubnetGroupName")
	case desc == "":
		return nil, missingParam("DBSubnetGroupDescription")
	case len(name) > 255 || name == "default":
		return nil, invalidParam("Invalid DBSubnetGroupName " + name)
	case len(subnets) < 2:
		return nil, &apiError{status: http.StatusBadRequest, code: "DBSubnetGroupDoesNotCoverEnoughAZs", msg: "The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. Current AZ coverage: 1. Add subnets to cover at least 2 AZs."}
	}
	for _, sn := range subnets {
		if !strings.HasPrefix(sn, "subnet-") {
			return nil, &apiError{status: http.StatusBadRequest, code: "InvalidSubnet", msg: "Some input subnets in :[" + sn + "] are invalid."}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.subnetGrps[name]; ok {
		return nil, &apiError{status: http.StatusBadRequest, code: "DBSubnetGroupAlreadyExists", msg: "The DB subnet group '" + name + "' already exists."}
	}
	g := &subnetGroup{Name: name, Description: desc, VpcID: DefaultVPC, Subnets: subnets}
	s.subnetGrps[name] = g
	return struct{ DBSubnetGroup subnetGroupXML }{groupOfSubnetsXML(g)}, nil
}

func (s *Server) describeDBSubnetGroups(req *request) (any, error) {
	name := strings.ToLower(req.get("DBSubnetGroupName"))
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []subnetGroupXML
	for _, k := range slices.Sorted(maps.Keys(s.subnetGrps)) {
		if g := s.subnetGrps[k]; name == "" || g.Name == name {
			out = append(out, groupOfSubnetsXML(g))
		}
	}
	if name != "" && len(out) == 0 {
		return nil, &apiError{status: http.StatusNotFound, code: "DBSubnetGroupNotFoundFault", msg: "DBSubnetGroup '" + name + "' not found."}
	}
	return struct {
		DBSubnetGroups []subnetGroupXML `xml:"DBSubnetGroups>DBSubnetGroup"`
	}{out}, nil
}
