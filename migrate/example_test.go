package migrate_test

import (
	"context"
	"errors"
	"log"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/migrate"
)

// Move a database from DigitalOcean to AWS: create the target from the
// source's spec with an AWS size, copy, and verify.
func ExampleMigrate() {
	ctx := context.Background()
	do, err := dbaas.Open(ctx, "digitalocean", dbaas.Config{Region: "fra1"})
	if err != nil {
		log.Fatal(err)
	}
	aws, err := dbaas.Open(ctx, "aws", dbaas.Config{Region: "eu-central-1"})
	if err != nil {
		log.Fatal(err)
	}
	src, err := dbaas.FindByName(ctx, do, "shop")
	if err != nil {
		log.Fatal(err)
	}
	spec, err := migrate.TargetSpec(src, "aws", "shop", migrate.SpecOptions{Size: "db.t3.micro"})
	if err != nil {
		log.Fatal(err)
	}
	dst, err := migrate.CreateTarget(ctx, aws, spec, 0)
	if err != nil {
		log.Fatal(err)
	}
	rep, err := migrate.Migrate(ctx, migrate.Side{Provider: do, ID: src.ID}, migrate.Side{Provider: aws, ID: dst.ID}, migrate.Options{})
	switch {
	case errors.Is(err, migrate.ErrMismatch):
		log.Fatalf("copied, but: %s", rep.Verify.Summary())
	case err != nil:
		log.Fatalf("stopped at %s: %v", rep.Stage, err)
	}
	log.Printf("%s is now at %s, verified in %.1fs", rep.Source, rep.Target, rep.Verify.Seconds)
}
