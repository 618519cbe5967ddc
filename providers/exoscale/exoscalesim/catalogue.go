package exoscalesim

// Zones are the zones of the Exoscale API (one endpoint each).
var Zones = []string{"ch-gva-2", "ch-dk-2", "de-fra-1", "de-muc-1", "at-vie-1", "at-vie-2", "bg-sof-1"}

// plan is a DBaaS plan as /dbaas-service-type lists it.
type plan struct {
	Name         string       `json:"name"`
	NodeCount    int64        `json:"node-count"`
	NodeCPUCount int64        `json:"node-cpu-count"`
	NodeMemory   int64        `json:"node-memory"`
	DiskSpace    int64        `json:"disk-space"`
	Authorized   bool         `json:"authorized"`
	Zones        []string     `json:"zones,omitempty"`
	BackupConfig backupConfig `json:"backup-config"`
}

type backupConfig struct {
	Interval     int64  `json:"interval"`
	MaxCount     int64  `json:"max-count"`
	RecoveryMode string `json:"recovery-mode"`
}

// serviceType is one entry of /dbaas-service-type.
type serviceType struct {
	Name              string   `json:"name"`
	Description       string   `json:"description"`
	AvailableVersions []string `json:"available-versions"`
	DefaultVersion    string   `json:"default-version"`
	Plans             []plan   `json:"plans"`
}

const gib = 1 << 30

// plans are the common plans of both engines: hobbyist and startup are
// one node, business two, premium three; all but hobbyist restore to a
// point in time.
func plans() []plan {
	mk := func(name string, nodes, cpus, memGiB, diskGiB int64, pitr bool) plan {
		mode := "regular"
		if pitr {
			mode = "pitr"
		}
		return plan{Name: name, NodeCount: nodes, NodeCPUCount: cpus, NodeMemory: memGiB * gib, DiskSpace: diskGiB * gib,
			Authorized: true, Zones: Zones, BackupConfig: backupConfig{Interval: 24, MaxCount: 14, RecoveryMode: mode}}
	}
	return []plan{
		mk("hobbyist-2", 1, 2, 2, 8, false),
		mk("startup-4", 1, 2, 4, 80, true),
		mk("startup-8", 1, 2, 8, 175, true),
		mk("startup-16", 1, 4, 16, 350, true),
		mk("business-4", 2, 2, 4, 80, true),
		mk("business-8", 2, 2, 8, 175, true),
		mk("business-16", 2, 4, 16, 350, true),
		mk("premium-4", 3, 2, 4, 80, true),
		mk("premium-8", 3, 2, 8, 175, true),
	}
}

// serviceTypes is what /dbaas-service-type answers. The simulator models
// the services of pg and mysql; the others are listed, as the API lists
// them, but cannot be created here.
var serviceTypes = []serviceType{
	{Name: "pg", Description: "PostgreSQL - Object-Relational Database Management System",
		AvailableVersions: []string{"13", "14", "15", "16", "17"}, DefaultVersion: "16", Plans: plans()},
	{Name: "mysql", Description: "MySQL - Relational Database Management System",
		AvailableVersions: []string{"8"}, DefaultVersion: "8", Plans: plans()},
	{Name: "valkey", Description: "Valkey - In-Memory Data Store",
		AvailableVersions: []string{"7.2"}, DefaultVersion: "7.2", Plans: plans()},
}

func findType(name string) (serviceType, bool) {
	for _, t := range serviceTypes {
		if t.Name == name {
			return t, true
		}
	}
	return serviceType{}, false
}

func (t serviceType) plan(name string) (plan, bool) {
	for _, p := range t.Plans {
		if p.Name == name {
			return p, true
		}
	}
	return plan{}, false
}
