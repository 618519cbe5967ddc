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
	// Restore makes a new instance, described by spec, from a backup
	// (FromBackup) or from an instance as it was at a time (AtTime).
	Restore(ctx context.Context, from RestorePoint, spec Spec) (*Instance, error)
	// EnsureDatabase creates the application database name in instance
	// id unless it exists (Capabilities.AppUsers).
	EnsureDatabase(ctx context.Context, id, name string) error
	// Databases lists the instance's databases, system ones left out.
	Databases(ctx context.Context, id string) ([]string, error)
	// DropDatabase drops database name; an absent one is not an error.
	DropDatabase(ctx context.Context, id, name string) error
	// EnsureUser makes the application user u, or brings an existing one
	// to u: least privilege (it owns u.Database on PostgreSQL, has all
	// privileges on u.Database.* only on MySQL and MariaDB; no superuser,
	// no role or database creation). An empty u.Password keeps an
	// existing user's password and gives a new user a random one. The
	// returned User carries the password whenever it is known.
	EnsureUser(ctx context.Context, id string, u UserSpec) (*User, error)
	// Users lists the application users (admin and system users left out).
	Users(ctx context.Context, id string) ([]*User, error)
	// RotatePassword gives user a new random password and returns it.
	RotatePassword(ctx context.Context, id, user string) (*User, error)
	// DropUser drops the user; an absent one is not an error.
	DropUser(ctx context.Context, id, user string) error
	// Capabilities says what this provider can do.
	Capabilities() Capabilities
	// As sets target to the provider's underlying client when target is a
	// pointer to its type (for example **godo.Client) and reports whether
	// it did.
	As(target any) bool
	// Close releases what the provider holds (connections, clients);
	// calls after it fail. It may be called more than once.
	Close() error
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
	// AppUsers says how application databases and users are managed:
	// AppUsersAPI, AppUsersSQL, or empty when they cannot be.
	AppUsers string `json:"app_users,omitempty"`
	// EmptyAccessIsWorld: on this cloud an empty access list lets every
	// address in, so the last source is never removed unless the caller
	// opted into world access.
	EmptyAccessIsWorld bool `json:"empty_access_is_world,omitempty"`
	// RefusedFields lists the Spec fields this provider cannot honour
	// (by their Go names, such as "Port" or "StorageGB"): a spec that sets
	// one is refused with ErrUnsupported before any call.
	RefusedFields []string `json:"refused_fields,omitempty"`
	// TypicalProvisioning is how long creating an instance usually takes;
	// Wait uses it to poll less. Zero when unknown.
	TypicalProvisioning time.Duration `json:"typical_provisioning,omitempty"`
}

// SupportsSource reports whether Allow accepts sources of kind k.
func (c Capabilities) SupportsSource(k SourceKind) bool { return slices.Contains(c.SourceKinds, k) }

// SupportsEngine reports whether Create accepts engine e.
func (c Capabilities) SupportsEngine(e Engine) bool { return slices.Contains(c.Engines, e) }
