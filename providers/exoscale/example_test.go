package exoscale_test

import (
	"context"
	"fmt"
	"log"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/exoscale"
	"github.com/agiledeploy/dbaaskit/providers/exoscale/exoscalesim"
)

// Example provisions a PostgreSQL service, waits for it and reads how to
// connect, against the simulator (drop BaseURL and the simulator's
// credentials to talk to Exoscale).
func Example() {
	sim, url, err := exoscalesim.Start(exoscalesim.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()

	ctx := context.Background()
	p, err := exoscale.New(ctx, dbaas.Config{Token: dbaas.NewSecret(exoscalesim.DefaultAPIKey), Region: "ch-gva-2", BaseURL: url},
		exoscale.WithAPISecret(dbaas.NewSecret(exoscalesim.DefaultAPISecret)))
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop-db", Engine: dbaas.Postgres, Version: "16", Size: "startup-4",
		Access: []dbaas.Source{dbaas.MustParseSource("203.0.113.0/24")}})
	if err != nil {
		log.Fatal(err)
	}
	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{})
	if err != nil {
		log.Fatal(err)
	}
	conn, err := p.Connection(ctx, inst.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inst.Status, inst.Size, conn.Endpoint.Port, conn.User, conn.Database, conn.TLS)
	fmt.Println(conn.Password) // a dbaas.Secret prints redacted
	// Output:
	// available startup-4 21699 avnadmin defaultdb require
	// [redacted]
}
