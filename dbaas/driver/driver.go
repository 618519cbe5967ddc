// Package driver is the contract a cloud adapter implements, for adapter
// authors only. Users never import it: they call dbaas.Open and hold a
// dbaas.Provider.
//
// The portable layer in this package does everything that is the same on
// every cloud, once, before and after calling a Driver: it refuses a
// closed provider, validates specs, sources, ids, restore points and
// delete options, refuses what the registered Capabilities rule out (with
// dbaas.ErrUnsupported naming the field or kind), wraps every error in one
// shape (*dbaas.Error naming provider, operation and instance, with the
// sentinel from ErrorKind and the SDK error reachable with errors.As), and
// reports every call to the configured dbaas.Observer. A Driver therefore
// does only what its cloud needs: translate and call.
//
// An adapter registers in init:
//
//	func init() {
//		driver.Register("mycloud", driver.Info{
//			Capabilities: caps,
//			Settings:     []string{"retries"},
//			Open: func(ctx context.Context, cfg dbaas.Config) (driver.Driver, error) { … },
//		})
//	}
package driver

import (
	"context"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Driver is what an adapter implements. The portable layer calls it only
// with arguments that passed validation:
//   - ids are non-empty and at most dbaas.MaxIDLen bytes;
//   - a Spec passed Spec.Validate, names an engine in
//     Capabilities.Engines, sets no field in Capabilities.RefusedFields
//     and only Options keys in Info.SpecOptions;
//   - sources are valid, of kinds in Capabilities.SourceKinds, at least
//     one, and never the world unless the caller opted in;
//   - a RestorePoint passed Validate, and is a point in time only when
//     Capabilities.PointInTimeRestore is true;
//   - DeleteOptions ask for a final backup only when
//     Capabilities.FinalBackup is true;
//   - Backup is called only when Capabilities.OnDemandBackup is true,
//     Backups when ListBackups is, Allow/Revoke/Access when Access is,
//     Create/Delete when Provision is, Restore when Restore is.
//
// A Driver returns its cloud's errors as they are (or a *dbaas.Error
// where it knows better, such as an invalid field only the cloud can
// check); the portable layer classifies them with ErrorKind and wraps
// them once. Methods are called concurrently.
type Driver interface {
	Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error)
	Get(ctx context.Context, id string) (*dbaas.Instance, error)
	List(ctx context.Context) ([]*dbaas.Instance, error)
	Delete(ctx context.Context, id string, opts dbaas.DeleteOptions) error
	Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error)
	Allow(ctx context.Context, id string, sources []dbaas.Source) error
	Revoke(ctx context.Context, id string, sources []dbaas.Source) error
	Access(ctx context.Context, id string) ([]dbaas.Source, error)
	Backup(ctx context.Context, id, name string) (*dbaas.Backup, error)
	Backups(ctx context.Context, id string) ([]*dbaas.Backup, error)
	Restore(ctx context.Context, from dbaas.RestorePoint, spec dbaas.Spec) (*dbaas.Instance, error)

	// ErrorKind returns the dbaas sentinel (dbaas.ErrNotFound, …) that
	// err, returned by one of the methods above, stands for, or nil when
	// none fits. It is not called for errors that already wrap a
	// sentinel, nor for context errors.
	ErrorKind(err error) error
	// As sets target to the driver's SDK client when target is a pointer
	// to its type, and reports whether it did (dbaas.Provider.As).
	As(target any) bool
	// Close releases what the driver holds; the portable layer calls it
	// once.
	Close() error
}

// Starter is implemented by drivers whose instances can be stopped and
// started again; register Capabilities.StartStop with it.
type Starter interface {
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string) error
}

// Apps is implemented by drivers whose cloud manages an instance's
// databases and users through its API (register Capabilities.AppUsers =
// dbaas.AppUsersAPI). Drivers without it get the portable layer's SQL
// implementation over the admin connection (dbaas.AppUsersSQL), or
// dbaas.ErrUnsupported. The portable layer validates names and checks
// the instance id before calling; every method is idempotent where its
// name says ensure or drop (dropping an absent one is not an error).
type Apps interface {
	// EnsureDatabase creates database name unless it exists.
	EnsureDatabase(ctx context.Context, id, name string) error
	// Databases lists the databases of the instance, system ones left out.
	Databases(ctx context.Context, id string) ([]string, error)
	// DropDatabase drops database name.
	DropDatabase(ctx context.Context, id, name string) error
	// EnsureUser creates the user unless it exists, with u.Password (the
	// portable layer fills an empty one, unless the cloud generates
	// passwords itself: then the driver returns the cloud's), and gives
	// it rights on u.Database only. An existing user keeps its password
	// unless u.Password is set; the returned User carries the password
	// when it is known.
	EnsureUser(ctx context.Context, id string, u dbaas.UserSpec) (*dbaas.User, error)
	// Users lists the application users (admin and system users left out).
	Users(ctx context.Context, id string) ([]*dbaas.User, error)
	// SetPassword sets the user's password (empty: the cloud chooses a
	// new one) and returns the user with it.
	SetPassword(ctx context.Context, id, user string, password dbaas.Secret) (*dbaas.User, error)
	// DropUser drops the user.
	DropUser(ctx context.Context, id, user string) error
}

// EngineHinter is implemented by drivers that can say why an engine
// their capabilities leave out is missing and what would bring it (the
// local provider: what to install). The portable layer uses the hint as
// the reason of its ErrUnsupported.
type EngineHinter interface {
	EngineHint(e dbaas.Engine) string
}

// Info is what an adapter registers: its capabilities, known without
// credentials or a client, and how to open it.
type Info struct {
	// Capabilities are what every provider opened from this registration
	// can do. The portable layer refuses the rest before calling the
	// driver.
	Capabilities dbaas.Capabilities
	// Settings are the dbaas.Config.Settings keys Open reads; any other
	// key is refused before Open is called.
	Settings []string
	// SpecOptions are the dbaas.Spec.Options keys Create and Restore
	// read; any other key is refused before the driver is called.
	SpecOptions []string
	// Open makes a driver from a Config. It is called with known
	// settings only.
	Open func(ctx context.Context, cfg dbaas.Config) (Driver, error)
}
