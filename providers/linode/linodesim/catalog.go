package linodesim

// The catalog the simulator offers: the engines, plan types and regions of
// the real API, as its recorded answers list them (engines and the first
// plan types of GET /v4/databases/engines and /v4/databases/types; regions
// with the "Managed Databases" capability).

// Engine is one entry of GET /v4/databases/engines.
type Engine struct {
	ID      string `json:"id"`
	Engine  string `json:"engine"`
	Version string `json:"version"`
}

// Engines returns the engines the simulator accepts, in the API's order.
func Engines() []Engine {
	return []Engine{
		{ID: "mysql/8", Engine: "mysql", Version: "8"},
		{ID: "postgresql/13", Engine: "postgresql", Version: "13"},
		{ID: "postgresql/14", Engine: "postgresql", Version: "14"},
		{ID: "postgresql/15", Engine: "postgresql", Version: "15"},
		{ID: "postgresql/16", Engine: "postgresql", Version: "16"},
		{ID: "postgresql/17", Engine: "postgresql", Version: "17"},
	}
}

// Price is the price of a cluster of a plan type.
type Price struct {
	Hourly  float64 `json:"hourly"`
	Monthly float64 `json:"monthly"`
}

// TypeEngine is the price of a plan type for a cluster size.
type TypeEngine struct {
	Quantity int   `json:"quantity"`
	Price    Price `json:"price"`
}

// Type is one entry of GET /v4/databases/types.
type Type struct {
	ID         string                  `json:"id"`
	Label      string                  `json:"label"`
	Class      string                  `json:"class"`
	VCPUs      int                     `json:"vcpus"`
	Disk       int                     `json:"disk"`
	Memory     int                     `json:"memory"`
	Engines    map[string][]TypeEngine `json:"engines"`
	Deprecated bool                    `json:"deprecated"`
}

func plan(id, label, class string, vcpus, diskMB, memMB int, prices ...TypeEngine) Type {
	return Type{ID: id, Label: label, Class: class, VCPUs: vcpus, Disk: diskMB, Memory: memMB,
		Engines: map[string][]TypeEngine{"mysql": prices, "postgresql": prices}}
}

func price(n int, hourly, monthly float64) TypeEngine {
	return TypeEngine{Quantity: n, Price: Price{Hourly: hourly, Monthly: monthly}}
}

// Types returns the plan types the simulator accepts.
func Types() []Type {
	return []Type{
		plan("g6-nanode-1", "DBaaS - Nanode 1GB", "nanode", 1, 9216, 1024, price(1, 0.024, 16), price(3, 0.055, 37)),
		plan("g6-standard-1", "DBaaS - Linode 2GB", "standard", 1, 30720, 2048, price(1, 0.047, 32), price(3, 0.11, 74)),
		plan("g6-standard-2", "DBaaS - Linode 4GB", "standard", 2, 59392, 4096, price(1, 0.094, 63), price(3, 0.22, 147)),
		plan("g6-standard-4", "DBaaS - Linode 8GB", "standard", 4, 133120, 8192, price(1, 0.189, 126), price(3, 0.441, 294)),
		plan("g6-standard-6", "DBaaS - Linode 16GB", "standard", 6, 286720, 16384, price(1, 0.378, 252), price(3, 0.882, 588)),
		plan("g6-standard-8", "DBaaS - Linode 32GB", "standard", 8, 589824, 32768, price(1, 0.756, 504), price(3, 1.764, 1176)),
		plan("g6-dedicated-2", "DBaaS - Dedicated 4GB", "dedicated", 2, 59392, 4096, price(1, 0.102, 68), price(2, 0.214, 143), price(3, 0.307, 206)),
		plan("g6-dedicated-4", "DBaaS - Dedicated 8GB", "dedicated", 4, 133120, 8192, price(1, 0.204, 136), price(2, 0.427, 285), price(3, 0.615, 410)),
	}
}

// Regions returns the region ids where the simulator creates databases.
func Regions() []string {
	return []string{"ap-west", "ca-central", "ap-southeast", "us-iad", "us-ord", "fr-par",
		"us-sea", "br-gru", "nl-ams", "se-sto", "es-mad", "in-maa", "jp-osa", "it-mil",
		"us-mia", "id-cgk", "us-lax", "gb-lon", "au-mel", "sg-sin-2", "us-central", "us-west",
		"us-southeast", "us-east", "eu-central", "ap-northeast"}
}
