package linode_test

import (
	"context"
	"fmt"
	"log"

	"github.com/agiledeploy/dbaaskit/dbaas"
	_ "github.com/agiledeploy/dbaaskit/providers/linode" // registers "linode"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
)

// Example provisions a PostgreSQL database, opens it to a web server and
// reads how to connect, against the simulator (give no BaseURL, and a
// LINODE_TOKEN, to use the real API).
func Example() {
	sim, baseURL, err := linodesim.Start(linodesim.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer sim.Close()

	ctx := context.Background()
	p, err := dbaas.Open(ctx, "linode", dbaas.Config{
		Token:   dbaas.NewSecret("example-token"),
		BaseURL: baseURL,
		Region:  "us-east",
	})
	if err != nil {
		log.Fatal(err)
	}
	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Version: "16", Size: "g6-nanode-1"})
	if err != nil {
		log.Fatal(err)
	}
	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{})
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Allow(ctx, inst.ID, dbaas.MustParseSource("203.0.113.10")); err != nil {
		log.Fatal(err)
	}
	access, err := p.Access(ctx, inst.ID)
	if err != nil {
		log.Fatal(err)
	}
	conn, err := p.Connection(ctx, inst.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(inst.ID, inst.Status, inst.Version)
	fmt.Println(access)
	fmt.Println(conn.Endpoint.Port, conn.User, conn.Password, conn.TLS, len(conn.CACertPEM) > 0)

	_, err = p.Backup(ctx, inst.ID, "nightly")
	fmt.Println(err)
	// Output:
	// postgresql/227300 available 16.6
	// [cidr:203.0.113.10/32]
	// 18319 akmadmin [redacted] require true
	// linode: backup postgresql/227300: unsupported: this provider cannot backup (see its Capabilities)
}
