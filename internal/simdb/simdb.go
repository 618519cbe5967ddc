// Package simdb is the hook through which the cloud simulators put a real
// database behind each simulated instance, so that the endpoint a
// simulator returns accepts connections. providers/local implements it,
// and so does internal/simdb/realdb (on servers already running).
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

// Snapshotter is what a Backend also implements when it can carry data
// through a simulated backup. Simulators check for it with a type
// assertion; without it a restored instance gets a fresh, empty database
// from Attach, as before.
//
// A snapshot belongs to the backend, not to the instance it was taken
// from: it outlives the instance's Detach (a final snapshot is taken just
// before the instance is deleted) and lives until DropSnapshot or the
// backend's own cleanup. snapshotKey is unique per simulated backup; the
// simulators use the cloud's backup identifier.
type Snapshotter interface {
	// Snapshot copies the data of the database attached as key into a
	// snapshot named snapshotKey. Simulators call it when the backup is
	// taken (an on-demand or final snapshot, or an automatic backup when
	// its time comes), so data written afterwards is not in it.
	// Clients connected to key may be disconnected while the copy is
	// made. A snapshotKey already in use is an error.
	Snapshot(ctx context.Context, key, snapshotKey string) error
	// Restore attaches a new database as newKey, as Attach does, holding
	// the data of snapshot snapshotKey, with credentials of its own.
	// Simulators call it instead of Attach when an instance is made from
	// a backup. The snapshot stays for further restores. engine must be
	// of the family the snapshot was taken from.
	Restore(ctx context.Context, snapshotKey, newKey string, engine dbaas.Engine, version string) (*Database, error)
	// DropSnapshot removes snapshot snapshotKey. Simulators call it when
	// the backup is deleted or expires. An unknown snapshotKey is not an
	// error, so simulators may call it for backups taken without it.
	DropSnapshot(ctx context.Context, snapshotKey string) error
}

// Account is the login and database a cloud gives the database it makes:
// RDS the master user, password and database named at create, Linode and
// DigitalOcean a database called defaultdb. Empty fields leave the
// backend's own choice.
type Account struct {
	User     string
	Password dbaas.Secret
	Database string
	// Port is the port the instance was asked to listen on, as RDS lets
	// a caller choose; 0 leaves it to the backend.
	Port int
}

// AccountAttacher is what a Backend also implements when it can make the
// database it attaches with the account a cloud gives, on a server of
// the instance's own. Backends whose instances share one server (where
// two instances asking for the same master user would collide) do not.
type AccountAttacher interface {
	// AttachAccount is Attach with account: the returned database has
	// its user, password and database where they are set. An instance
	// already attached as key keeps the account it was made with.
	AttachAccount(ctx context.Context, key string, engine dbaas.Engine, version string, account Account) (*Database, error)
}

// Attach attaches key's database on b with account when b is an
// AccountAttacher, and with b's own login and database otherwise: what
// a simulator reports is then what really connects either way.
func Attach(ctx context.Context, b Backend, key string, engine dbaas.Engine, version string, account Account) (*Database, error) {
	if aa, ok := b.(AccountAttacher); ok {
		return aa.AttachAccount(ctx, key, engine, version, account)
	}
	return b.Attach(ctx, key, engine, version)
}

// Admin is what a Backend also implements to let a simulator make the
// databases and users of a cloud's API real on the server behind an
// instance (internal/simdb/simsql runs the statements): the admin
// connection of the server attached as key, of engine's family. A
// backend whose instances share one server returns that server's admin
// whatever the key; one that gives each instance a server of its own
// returns the admin of key's server. Simulators check for it with a type
// assertion; without it the API's databases and users live in the
// simulator only.
type Admin interface {
	AdminConnection(key string, engine dbaas.Engine) (*dbaas.ConnectionInfo, error)
}
