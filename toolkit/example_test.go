package toolkit_test

import (
	"fmt"

	"github.com/agiledeploy/dbaaskit/toolkit"
)

// Parse reads a template's string; the cloud is told from its shape.
func ExampleParse() {
	cfg, err := toolkit.Parse("MySQL:DBAAS:mysql/8:gb-lon:g6-nanode-1:1:test-cluster:testdb:testdbuser:hfhuf83jfhfu73jd", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	s := cfg.Spec
	fmt.Println(cfg.Provider, s.Name, s.Engine, s.Version, s.Region, s.Size, s.Nodes)
	fmt.Println("made inside by the toolkit:", cfg.AppDatabase, cfg.AppUser, cfg.AppPassword)
	// Output:
	// linode test-cluster mysql 8 gb-lon g6-nanode-1 1
	// made inside by the toolkit: testdb testdbuser [redacted]
}

// Errors name the field by its position, as awk -F: counts, and never
// repeat the password.
func ExampleParse_error() {
	_, err := toolkit.Parse("Postgres:DBAAS:pg:lon1:three:db-s-1vcpu-1gb:16:shop:shopdb:shop_user:Secr3tPass:", "")
	fmt.Println(err)
	// Output:
	// toolkit string (digitalocean form KIND:DBAAS:engine:region:nodes:size:version:cluster:db:user:pass:vpc_uuid): field 5 (nodes): "three" is not a whole number from 1 to 3
}
