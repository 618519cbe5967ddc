package awssim

import (
	"strconv"
	"time"
)

// The XML shapes of RDS answers, in the SDK's member names.

type endpointXML struct {
	Address      string `xml:"Address"`
	Port         int    `xml:"Port"`
	HostedZoneID string `xml:"HostedZoneId"`
}

type tagXML struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type vpcGroupXML struct {
	VpcSecurityGroupID string `xml:"VpcSecurityGroupId"`
	Status             string `xml:"Status"`
}

type secretXML struct {
	SecretArn    string `xml:"SecretArn"`
	SecretStatus string `xml:"SecretStatus"`
	KmsKeyID     string `xml:"KmsKeyId"`
}

type subnetGroupRefXML struct {
	DBSubnetGroupName        string `xml:"DBSubnetGroupName"`
	DBSubnetGroupDescription string `xml:"DBSubnetGroupDescription"`
	VpcID                    string `xml:"VpcId"`
	SubnetGroupStatus        string `xml:"SubnetGroupStatus"`
}

type dbInstanceXML struct {
	AllocatedStorage      int                `xml:"AllocatedStorage"`
	AvailabilityZone      string             `xml:"AvailabilityZone,omitempty"`
	BackupRetentionPeriod int                `xml:"BackupRetentionPeriod"`
	DBInstanceArn         string             `xml:"DBInstanceArn"`
	DBInstanceClass       string             `xml:"DBInstanceClass"`
	DBInstanceIdentifier  string             `xml:"DBInstanceIdentifier"`
	DBInstanceStatus      string             `xml:"DBInstanceStatus"`
	DBName                string             `xml:"DBName,omitempty"`
	DBSubnetGroup         *subnetGroupRefXML `xml:"DBSubnetGroup,omitempty"`
	DbInstancePort        int                `xml:"DbInstancePort"`
	DbiResourceID         string             `xml:"DbiResourceId"`
	DeletionProtection    bool               `xml:"DeletionProtection"`
	Endpoint              *endpointXML       `xml:"Endpoint,omitempty"`
	Engine                string             `xml:"Engine"`
	EngineVersion         string             `xml:"EngineVersion"`
	InstanceCreateTime    string             `xml:"InstanceCreateTime,omitempty"`
	LatestRestorableTime  string             `xml:"LatestRestorableTime,omitempty"`
	MasterUserSecret      *secretXML         `xml:"MasterUserSecret,omitempty"`
	MasterUsername        string             `xml:"MasterUsername"`
	MultiAZ               bool               `xml:"MultiAZ"`
	PubliclyAccessible    bool               `xml:"PubliclyAccessible"`
	StorageEncrypted      bool               `xml:"StorageEncrypted"`
	StorageType           string             `xml:"StorageType"`
	TagList               []tagXML           `xml:"TagList>Tag"`
	VpcSecurityGroups     []vpcGroupXML      `xml:"VpcSecurityGroups>VpcSecurityGroupMembership"`
}

type describeInstancesResult struct {
	DBInstances []dbInstanceXML `xml:"DBInstances>DBInstance"`
	Marker      string          `xml:"Marker,omitempty"`
}

type dbSnapshotXML struct {
	AllocatedStorage     int      `xml:"AllocatedStorage"`
	AvailabilityZone     string   `xml:"AvailabilityZone"`
	DBInstanceIdentifier string   `xml:"DBInstanceIdentifier"`
	DBSnapshotArn        string   `xml:"DBSnapshotArn"`
	DBSnapshotIdentifier string   `xml:"DBSnapshotIdentifier"`
	DbiResourceID        string   `xml:"DbiResourceId"`
	Encrypted            bool     `xml:"Encrypted"`
	Engine               string   `xml:"Engine"`
	EngineVersion        string   `xml:"EngineVersion"`
	InstanceCreateTime   string   `xml:"InstanceCreateTime"`
	MasterUsername       string   `xml:"MasterUsername"`
	PercentProgress      int      `xml:"PercentProgress"`
	Port                 int      `xml:"Port"`
	SnapshotCreateTime   string   `xml:"SnapshotCreateTime,omitempty"`
	SnapshotType         string   `xml:"SnapshotType"`
	Status               string   `xml:"Status"`
	StorageType          string   `xml:"StorageType"`
	TagList              []tagXML `xml:"TagList>Tag"`
	VpcID                string   `xml:"VpcId"`
}

type describeSnapshotsResult struct {
	DBSnapshots []dbSnapshotXML `xml:"DBSnapshots>DBSnapshot"`
	Marker      string          `xml:"Marker,omitempty"`
}

func tagsXML(tags []tag) []tagXML {
	out := make([]tagXML, len(tags))
	for i, t := range tags {
		out[i] = tagXML(t)
	}
	return out
}

func (s *Server) instanceXML(inst *instance, now time.Time) dbInstanceXML {
	x := dbInstanceXML{
		AllocatedStorage:      inst.Storage,
		AvailabilityZone:      inst.AZ,
		BackupRetentionPeriod: inst.Retention,
		DBInstanceArn:         s.arn("db", inst.ID),
		DBInstanceClass:       inst.Class,
		DBInstanceIdentifier:  inst.ID,
		DBInstanceStatus:      inst.Status,
		DBName:                inst.DBName,
		DbInstancePort:        inst.Port,
		DbiResourceID:         inst.ResourceID,
		DeletionProtection:    inst.DeletionProtection,
		Engine:                inst.Engine,
		EngineVersion:         inst.Version,
		MasterUsername:        inst.User,
		PubliclyAccessible:    inst.Public,
		StorageEncrypted:      inst.Encrypted,
		StorageType:           inst.StorageType,
		TagList:               tagsXML(inst.Tags),
	}
	// RDS has no endpoint and no create time while the instance is first
	// being created.
	if inst.Status != "creating" {
		x.InstanceCreateTime = isoTime(inst.Created)
		x.Endpoint = &endpointXML{
			Address:      inst.ID + ".c" + randomStable(inst.ResourceID) + "." + s.opts.Region + ".rds.amazonaws.com",
			Port:         inst.Port,
			HostedZoneID: "Z2R2ITUGPM61AM",
		}
		if inst.db != nil {
			x.Endpoint.Address, x.Endpoint.Port = inst.db.Endpoint.Host, inst.db.Endpoint.Port
		}
		if inst.Retention > 0 {
			if _, latest := s.restoreWindowLocked(inst, now); !latest.IsZero() {
				x.LatestRestorableTime = isoTime(latest)
			}
		}
	}
	if inst.SubnetGroup != "" {
		if g, ok := s.subnetGrps[inst.SubnetGroup]; ok {
			x.DBSubnetGroup = &subnetGroupRefXML{DBSubnetGroupName: g.Name, DBSubnetGroupDescription: g.Description, VpcID: g.VpcID, SubnetGroupStatus: "Complete"}
		}
	}
	if inst.secretARN != "" {
		x.MasterUserSecret = &secretXML{SecretArn: inst.secretARN, SecretStatus: "active", KmsKeyID: "arn:aws:kms:" + s.opts.Region + ":" + accountID + ":key/aws/secretsmanager"}
	}
	for _, g := range inst.SecurityGroups {
		x.VpcSecurityGroups = append(x.VpcSecurityGroups, vpcGroupXML{VpcSecurityGroupID: g, Status: "active"})
	}
	return x
}

// randomStable derives the account-specific part of an RDS host name from
// the resource id, so it stays the same across calls.
func randomStable(resourceID string) string {
	h := uint64(14695981039346656037)
	for i := 0; i < len(resourceID); i++ {
		h ^= uint64(resourceID[i])
		h *= 1099511628211
	}
	return strconv.FormatUint(h, 36)
}

func (s *Server) snapshotXML(sn *snapshot, now time.Time) dbSnapshotXML {
	st := sn.status(now)
	progress := 100
	if st != "available" {
		progress = 0
		if total := sn.readyAt.Sub(sn.Created); total > 0 {
			progress = int(100 * now.Sub(sn.Created) / total)
		}
	}
	x := dbSnapshotXML{
		AllocatedStorage:     sn.Storage,
		AvailabilityZone:     sn.AZ,
		DBInstanceIdentifier: sn.InstanceID,
		DBSnapshotArn:        s.arn("snapshot", sn.ID),
		DBSnapshotIdentifier: sn.ID,
		DbiResourceID:        sn.ResourceID,
		Encrypted:            sn.Encrypted,
		Engine:               sn.Engine,
		EngineVersion:        sn.Version,
		InstanceCreateTime:   isoTime(sn.InstanceCreated),
		MasterUsername:       sn.User,
		PercentProgress:      progress,
		Port:                 sn.Port,
		SnapshotType:         sn.Type,
		Status:               st,
		StorageType:          sn.StorageType,
		TagList:              tagsXML(sn.Tags),
		VpcID:                sn.VpcID,
	}
	x.SnapshotCreateTime = isoTime(sn.Created)
	return x
}
