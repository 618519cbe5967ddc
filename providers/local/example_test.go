package local_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

// Provision a PostgreSQL database on this machine, query it, back it up
// and restore the backup into a second instance.
func Example() {
	ctx := context.Background()
	if err := local.CheckInstalled(ctx, dbaas.Postgres); err != nil {
		log.Fatal(err) // says what to install
	}
	p, err := dbaas.Open(ctx, "local", dbaas.Config{Settings: map[string]string{"state_dir": "/var/lib/dbaaskit/local"}})
	if err != nil {
		log.Fatal(err)
	}
	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"})
	if err != nil {
		log.Fatal(err)
	}
	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{FirstDelay: 200 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	conn, err := p.Connection(ctx, inst.ID)
	if err != nil {
		log.Fatal(err)
	}
	url, err := conn.PostgresURL(dbaas.DSNOptions{})
	if err != nil {
		log.Fatal(err)
	}
	db, err := pgx.Connect(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	var version string
	if err := db.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		log.Fatal(err)
	}
	_ = db.Close(ctx)
	fmt.Println("PostgreSQL", version, "on port", conn.Endpoint.Port)

	b, err := p.Backup(ctx, inst.ID, "before-migration")
	if err != nil {
		log.Fatal(err)
	}
	copyOf, err := p.Restore(ctx, dbaas.FromBackup(b.ID), dbaas.Spec{Name: "shop-copy", Engine: dbaas.Postgres, Size: "small"})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := dbaas.Wait(ctx, p, copyOf.ID, dbaas.WaitOptions{FirstDelay: 200 * time.Millisecond}); err != nil {
		log.Fatal(err)
	}
	for _, id := range []string{copyOf.ID, inst.ID} {
		if err := p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true}); err != nil {
			log.Fatal(err)
		}
	}
}

// A server that stops (or is killed) shows as stopped or failed; Start
// brings it back with its data.
func ExampleProvider_Start() {
	ctx := context.Background()
	p, err := local.New(ctx, local.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	inst, err := dbaas.FindByName(ctx, p, "shop")
	if errors.Is(err, dbaas.ErrNotFound) {
		return
	}
	if err != nil {
		log.Fatal(err)
	}
	if inst.Status == dbaas.StatusStopped || inst.Status == dbaas.StatusFailed {
		if err := p.Start(ctx, inst.ID); err != nil {
			log.Fatal(err) // names the reason: a removed data directory, a taken port, …
		}
	}
}
