package vultrsim

import "strings"

// plan is one entry of GET /v2/databases/plans.
type plan struct {
	ID               string          `json:"id"`
	NumberOfNodes    int             `json:"number_of_nodes"`
	Type             string          `json:"type"`
	VCPUCount        int             `json:"vcpu_count"`
	RAM              int             `json:"ram"`
	Disk             int             `json:"disk"`
	MonthlyCost      int             `json:"monthly_cost"`
	SupportedEngines map[string]bool `json:"supported_engines"`
	MaxConnections   map[string]int  `json:"max_connections"`
	Locations        []string        `json:"locations"`
}

// The catalogue follows the official description's plan example
// (vultr-dbaas-hobbyist-cc-1-25-1) and Vultr's naming: tier, type, vCPUs,
// disk GB, RAM GB; hobbyist and startup plans have one node, business
// two, premium three.
var (
	regions = []string{"ams", "atl", "blr", "bom", "cdg", "del", "dfw", "ewr", "fra", "icn", "jnb", "lax",
		"lhr", "mad", "mel", "mex", "mia", "nrt", "ord", "sao", "scl", "sea", "sgp", "sjc", "sto", "syd", "waw", "yto"}

	sqlEngines = map[string]bool{"mysql": true, "pg": true, "valkey": false, "kafka": false}

	plans = []plan{
		newPlan("vultr-dbaas-hobbyist-cc-1-25-1", 1, 1, 1024, 25, 15, 75, 22),
		newPlan("vultr-dbaas-startup-cc-1-55-2", 1, 1, 2048, 55, 30, 150, 47),
		newPlan("vultr-dbaas-startup-cc-2-80-4", 1, 2, 4096, 80, 60, 300, 97),
		newPlan("vultr-dbaas-business-cc-1-55-2", 2, 1, 2048, 55, 60, 150, 47),
		newPlan("vultr-dbaas-business-cc-2-80-4", 2, 2, 4096, 80, 120, 300, 97),
		newPlan("vultr-dbaas-premium-cc-1-55-2", 3, 1, 2048, 55, 90, 150, 47),
		newPlan("vultr-dbaas-premium-cc-2-80-4", 3, 2, 4096, 80, 180, 300, 97),
	}

	// versions are the engine versions a create accepts.
	versions = map[string][]string{"pg": {"13", "14", "15", "16", "17"}, "mysql": {"8"}}
)

func newPlan(id string, nodes, vcpus, ram, disk, cost, myConns, pgConns int) plan {
	locs := make([]string, len(regions))
	for i, r := range regions {
		locs[i] = strings.ToUpper(r)
	}
	return plan{ID: id, NumberOfNodes: nodes, Type: "vc2", VCPUCount: vcpus, RAM: ram, Disk: disk, MonthlyCost: cost,
		SupportedEngines: sqlEngines, MaxConnections: map[string]int{"mysql": myConns, "pg": pgConns}, Locations: locs}
}

func findPlan(id string) (plan, bool) {
	for _, p := range plans {
		if p.ID == id {
			return p, true
		}
	}
	return plan{}, false
}

// offeredIn reports whether the plan is sold in region (any case).
func (p plan) offeredIn(region string) bool {
	for _, l := range p.Locations {
		if strings.EqualFold(l, region) {
			return true
		}
	}
	return false
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}
