package main

import (
	"context"
	"fmt"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Deployment is what a deployment tool knows about the database it needs.
type Deployment struct {
	Spec dbaas.Spec
	// Port is the port the application was configured with (DB_PORT); 0
	// when it takes whatever the database has.
	Port int
	// WebServers are the addresses that must reach the database.
	WebServers []dbaas.Source
	// Wait tunes the wait for the database.
	Wait dbaas.WaitOptions
}

// Deploy is the code under test: it makes sure the database exists and is
// available, that the configured port is the real one, and that exactly
// the web servers can reach it. It returns the address to connect to.
func Deploy(ctx context.Context, p dbaas.Provider, d Deployment) (string, error) {
	inst, _, err := dbaas.Ensure(ctx, p, d.Spec)
	if err != nil {
		return "", fmt.Errorf("deploy: %w", err)
	}
	inst, err = dbaas.Wait(ctx, p, inst.ID, d.Wait)
	if err != nil {
		return "", fmt.Errorf("deploy: %w", err)
	}
	// A wrong port must fail here, before any web server is let in.
	if err := dbaas.CheckPort(inst, d.Port); err != nil {
		return "", fmt.Errorf("deploy: %w", err)
	}
	if _, err := dbaas.SyncAccess(ctx, p, inst.ID, d.WebServers); err != nil {
		return "", fmt.Errorf("deploy: %w", err)
	}
	return inst.Endpoint.Address(), nil
}

// defaultWait polls briskly: the example's provider is in memory.
var defaultWait = dbaas.WaitOptions{FirstDelay: 10 * time.Millisecond, Timeout: time.Minute}
