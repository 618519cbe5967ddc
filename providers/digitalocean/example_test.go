package digitalocean_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/digitalocean/godo"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

// Example provisions a PostgreSQL cluster, waits for it, reads how to
// connect and lets a web server in. It runs against the simulator; drop
// BaseURL (and set DIGITALOCEAN_TOKEN) to use the real API.
func Example() {
	sim, url, err := dosim.Start(dosim.Options{ProvisionDelay: 50 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()

	ctx := context.Background()
	p, err := dbaas.Open(ctx, "digitalocean", dbaas.Config{
		Token: dbaas.NewSecret("example-token"), BaseURL: url, Region: "fra1",
	})
	if err != nil {
		log.Fatal(err)
	}
	inst, err := p.Create(ctx, dbaas.Spec{
		Name: "shop-db", Engine: dbaas.Postgres, Version: "16", Size: "db-s-1vcpu-1gb",
		Access: []dbaas.Source{dbaas.MustParseSource("10.110.0.0/20")},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inst.Status, inst.RawStatus)

	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{FirstDelay: 10 * time.Millisecond, Expected: -1})
	if err != nil {
		log.Fatal(err)
	}
	conn, err := p.Connection(ctx, inst.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inst.Status, conn.Endpoint.Port, conn.User, conn.Database, conn.TLS, conn.Password)

	if err := p.Allow(ctx, inst.ID, dbaas.MustParseSource("203.0.113.10")); err != nil {
		log.Fatal(err)
	}
	access, err := p.Access(ctx, inst.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(access)

	_, err = p.Backup(ctx, inst.ID, "now")
	fmt.Println(errors.Is(err, dbaas.ErrUnsupported))
	// Output:
	// provisioning creating
	// available 25060 doadmin defaultdb require [redacted]
	// [cidr:10.110.0.0/20 cidr:203.0.113.10/32]
	// true
}

// ExampleProvider_As reaches the godo client for what the common interface
// does not cover.
func ExampleProvider_As() {
	p, err := digitalocean.New(digitalocean.Options{Token: dbaas.NewSecret("example-token")})
	if err != nil {
		log.Fatal(err)
	}
	var client *godo.Client
	fmt.Println(p.As(&client), client.BaseURL)
	// Output: true https://api.digitalocean.com/
}
