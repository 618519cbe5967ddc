// Package simdb is the hook through which the cloud simulators put a real
// database behind each simulated instance, so that the endpoint a
// simulator returns accepts connections. providers/local implements it.
package simdb

import (
	"context"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Database is a real database attached to a simulated instance.
type Database struct {
	Endpoint dbaas.Endpoint
	User     string
	Password dbaas.Secret
	Database string
	// CACertPEM is the server's CA certificate, when it speaks TLS.
	CACertPEM []byte
}

// Backend provides real databases for simulated instances. Simulators call
// Attach when an instance is created (or restored) and Detach when it is
// deleted. key is unique per simulated instance.
type Backend interface {
	Attach(ctx context.Context, key string, engine dbaas.Engine, version string) (*Database, error)
	Detach(ctx context.Context, key string) error
}
