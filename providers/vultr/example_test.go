package vultr_test

import (
	"context"
	"fmt"
	"time"

	"github.com/vultr/govultr/v3"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/vultr"
	"github.com/agiledeploy/dbaaskit/providers/vultr/vultrsim"
)

// Example creates a PostgreSQL database on the Vultr simulator, waits for
// it, learns its endpoint and port, and opens it to the web servers.
func Example() {
	sim, url, err := vultrsim.Start(vultrsim.Options{ProvisionDelay: 50 * time.Millisecond})
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	ctx := context.Background()
	p, err := dbaas.Open(ctx, vultr.Name, dbaas.Config{Token: dbaas.NewSecret("sim-token"), BaseURL: url, Region: "ewr"})
	if err != nil {
		panic(err)
	}
	defer p.Close()
	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop-db", Engine: dbaas.Postgres, Version: "16",
		Size: "vultr-dbaas-startup-cc-1-55-2", Access: []dbaas.Source{dbaas.MustParseSource("10.20.0.0/16")}})
	if err != nil {
		panic(err)
	}
	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{FirstDelay: 20 * time.Millisecond, Expected: -1})
	if err != nil {
		panic(err)
	}
	// Vultr chooses the port: a configured one that differs is caught.
	fmt.Println(inst.Status, dbaas.CheckPort(inst, inst.Endpoint.Port) == nil, dbaas.CheckPort(inst, 5432) != nil)

	change, err := dbaas.SyncAccess(ctx, p, inst.ID, []dbaas.Source{dbaas.MustParseSource("203.0.113.10")})
	if err != nil {
		panic(err)
	}
	fmt.Println(change.Added, change.Removed)

	// The govultr client, for what the common interface does not cover.
	var client *govultr.Client
	fmt.Println(p.As(&client))
	// Output:
	// available true true
	// [cidr:203.0.113.10/32] [cidr:10.20.0.0/16]
	// true
}
