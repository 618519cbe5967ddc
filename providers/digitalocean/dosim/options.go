package dosim

// engineOptions is what GET /v2/databases/options offers for one engine.
type engineOptions struct {
	Regions        []string       `json:"regions"`
	Versions       []string       `json:"versions"`
	Layouts        []layoutOption `json:"layouts"`
	DefaultVersion string         `json:"default_version,omitempty"`
}

type layoutOption struct {
	NumNodes int      `json:"num_nodes"`
	Sizes    []string `json:"sizes"`
}

// The catalogue is a subset of the official description's example for
// GET /v2/databases/options (regions and versions as given there; the
// common sizes of each layout), so that validation behaves as the real
// API does for the sizes people use.
var (
	regions = []string{"ams3", "blr1", "fra1", "lon1", "nyc1", "nyc2", "nyc3", "sfo2", "sfo3", "sgp1", "syd1", "tor1", "ric1", "atl1"}

	singleNodeSizes = []string{"db-s-1vcpu-1gb", "db-s-1vcpu-2gb", "db-s-2vcpu-4gb", "db-s-4vcpu-8gb", "db-s-6vcpu-16gb",
		"gd-2vcpu-8gb", "gd-4vcpu-16gb", "db-amd-1vcpu-1gb", "db-intel-1vcpu-1gb"}
	multiNodeSizes = []string{"db-s-1vcpu-2gb", "db-s-2vcpu-4gb", "db-s-4vcpu-8gb", "db-s-6vcpu-16gb",
		"gd-2vcpu-8gb", "gd-4vcpu-16gb"}

	layouts = []layoutOption{
		{NumNodes: 1, Sizes: singleNodeSizes},
		{NumNodes: 2, Sizes: multiNodeSizes},
		{NumNodes: 3, Sizes: multiNodeSizes},
	}

	catalogue = map[string]engineOptions{
		"pg":    {Regions: regions, Versions: []string{"13", "14", "15", "16", "17"}, Layouts: layouts, DefaultVersion: "17"},
		"mysql": {Regions: regions, Versions: []string{"8"}, Layouts: layouts, DefaultVersion: "8"},
		// Engines the simulator lists but whose clusters it does not model
		// beyond validation: the adapter refuses them before any call.
		"valkey": {Regions: regions, Versions: []string{"8"}, Layouts: layouts, DefaultVersion: "8"},
	}
)

// sizeOffered reports whether size exists for that node count.
func (o engineOptions) sizeOffered(size string, nodes int) bool {
	for _, l := range o.Layouts {
		if l.NumNodes != nodes {
			continue
		}
		for _, s := range l.Sizes {
			if s == size {
				return true
			}
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
