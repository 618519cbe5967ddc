package dbaas

import (
	"context"
	"slices"
	"time"
)

// Provider is the contract every cloud adapter implements and users mock.
// Every method that does I/O takes a context first. Implementations are
// safe for concurrent use.
type Provider interface {
	// Create validates spec (making no call when it is invalid), starts
	// provisioning and returns at once with status provisioning. A name in
	// use gives ErrAlreadyExists.
	Create(ctx context.Context, spec Spec) (*Instance, error)
	// Get returns the instance, or ErrNotFound.
	Get(ctx context.Context, id string) (*Instance, error)
	// List returns every instance, reading every page.
	List(ctx context.Context) ([]*Instance, error)
	// Delete deletes the instance; see DeleteOptions for final backups.
	Delete(ctx context.Context, id string, opts DeleteOptions) error
	// Connection returns how to connect: endpoint (host without port),
	// port, credentials, database, TLS mode and CA certificate.
	Connection(ctx context.Context, id string) (*ConnectionInfo, error)
	// Allow adds sources to the access list; adding a present one is not
	// an error.
	Allow(ctx context.Context, id string, sources ...Source) error
	// Revoke removes sources from the access list; removing an absent one
	// is not an error.
	Revoke(ctx context.Context, id string, sources ...Source) error
	// Access returns the access list.
	Access(ctx context.Context, id string) ([]Source, error)
	// Backup takes an on-demand backup (ErrUnsupported where the cloud has
	// none).
	Backup(ctx context.Context, id, name string) (*Backup, error)
	// Backups lists the backups of an instance, oldest first.
	Backups(ctx context.Context, id string) ([]*Backup, error)
	// Restore makes a new instance, described by spec, from a backup (a
	// Backup.ID, or a PointInTime reference).
	Restore(ctx context.Context, backupID string, spec Spec) (*Instance, error)
	// Capabilities says what this provider can do.
	Capabilities() Capabilities
	// As sets target to the provider's underlying client when target is a
	// pointer to its type (for example **godo.Client) and reports whether
	// it did.
	As(target any) bool
}

// Starter is implemented by providers whose instances can be stopped and
// started again (Capabilities.StartStop).
type Starter interface {
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string) error
}

// Capabilities says what a provider can do, so callers can decide before
// calling. A method whose capability is false returns ErrUnsupported.
type Capabilities struct {
	// Engines lists the engines the provider can create.
	Engines []Engine `json:"engines"`
	// SourceKinds lists the access source kinds Allow accepts.
	SourceKinds []SourceKind `json:"source_kinds"`
	// Provision: Create and Delete work (false for a fixed, existing database).
	Provision bool `json:"provision"`
	// Access: Allow, Revoke and Access work.
	Access bool `json:"access"`
	// OnDemandBackup: Backup works.
	OnDemandBackup bool `json:"on_demand_backup"`
	// ListBackups: Backups works.
	ListBackups bool `json:"list_backups"`
	// Restore: Restore from a Backup.ID works.
	Restore bool `json:"restore"`
	// PointInTimeRestore: Restore from a PointInTime reference works.
	PointInTimeRestore bool `json:"point_in_time_restore"`
	// FinalBackup: Delete can take a final backup.
	FinalBackup bool `json:"final_backup"`
	// PrivateNetwork: instances can live in a private network and have a
	// private endpoint.
	PrivateNetwork bool `json:"private_network"`
	// CACertificate: Connection returns the server's CA certificate.
	CACertificate bool `json:"ca_certificate"`
	// CustomPort: Spec.Port is honoured.
	CustomPort bool `json:"custom_port"`
	// ReadablePassword: Connection returns the admin password.
	ReadablePassword bool `json:"readable_password"`
	// StartStop: the provider implements Starter.
	StartStop bool `json:"start_stop"`
	// TypicalProvisioning is how long creating an instance usually takes;
	// Wait uses it to poll less. Zero when unknown.
	TypicalProvisioning time.Duration `json:"typical_provisioning,omitempty"`
}

// SupportsSource reports whether Allow accepts sources of kind k.
func (c Capabilities) SupportsSource(k SourceKind) bool { return slices.Contains(c.SourceKinds, k) }

// SupportsEngine reports whether Create accepts engine e.
func (c Capabilities) SupportsEngine(e Engine) bool { return slices.Contains(c.Engines, e) }

// CheckSources returns ErrUnsupported naming the first source whose kind
// caps lack, and ErrInvalidArgument for an invalid one.
func CheckSources(provider string, caps Capabilities, sources []Source) error {
	for _, s := range sources {
		if err := s.Validate(); err != nil {
			return err
		}
		if !caps.SupportsSource(s.Kind) {
			return Unsupported(provider, "access", "source kind "+string(s.Kind)+" ("+s.String()+") is not supported")
		}
	}
	return nil
}
