package dbaastest

import (
	"context"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Harness is what a provider supplies to RunConformance.
type Harness struct {
	// Provider is the provider under test. It must start with no instance
	// whose name begins with NamePrefix.
	Provider dbaas.Provider
	// Spec returns a valid spec for a new instance of the given name and
	// engine: sizes, regions and versions this provider accepts.
	Spec func(name string, engine dbaas.Engine) dbaas.Spec
	// NamePrefix starts the name of every instance the suite creates;
	// default "conf", at most 12 characters so that names fit in 32. A
	// random token per run follows it, so reruns never meet old names.
	NamePrefix string
	// Engines are the engines to exercise; default the first of
	// Capabilities().Engines.
	Engines []dbaas.Engine
	// Calls, when set, returns the number of API calls the provider has
	// made so far; the suite uses it to prove that an invalid spec makes
	// no call.
	Calls func() int64
	// Wait tunes dbaas.Wait in the suite (short delays for simulators).
	// Its FirstDelay and Clock also pace the suite's own polls (deletion,
	// backups, the point-in-time window), so a provider on a fake clock
	// runs the suite on simulated time when Wait.Clock is that clock.
	Wait dbaas.WaitOptions
	// WriteData, when set, writes a marker value into the instance's
	// database; ReadData returns the values written. With both set the
	// suite proves that a restore holds what the backup held, and nothing
	// written after it.
	WriteData func(ctx context.Context, conn *dbaas.ConnectionInfo, value string) error
	ReadData  func(ctx context.Context, conn *dbaas.ConnectionInfo) ([]string, error)
	// Login, when set, connects with conn (an application user's
	// credentials on the instance's endpoint) and returns the error, so
	// the suite proves that a user EnsureUser made really logs in. A
	// provider that manages users over SQL (Capabilities.AppUsers "sql")
	// is tested on them only with Login set: its instances must be real.
	Login func(ctx context.Context, conn *dbaas.ConnectionInfo) error
	// NoPointInTimeData skips the data check of the point-in-time
	// restore (the restore itself is still checked), for simulators that
	// keep no log of writes and so cannot rebuild a database as it was
	// at a past moment. Real providers leave it false.
	NoPointInTimeData bool
	// Concurrency is the number of goroutines working on different
	// instances at once in the concurrency test; default 16.
	Concurrency int
	// LocalForward says that Connection returns the local end of a
	// forward (tunnel.Provider) rather than the instance's own endpoint:
	// the suite then checks that the connection is on a loopback address
	// instead of on the instance's port.
	LocalForward bool
	// Timeout bounds each subtest; default 2 minutes.
	Timeout time.Duration
	// Cleanup, when set, is called at the end with the ids the suite made,
	// to remove what a failed subtest left behind.
	Cleanup func(ids []string)
	// Sources, when set, gives the example source the access tests use
	// for a kind, for clouds that check references (an existing security
	// group, droplet or VPC). Kinds it lacks use the suite's own examples.
	Sources map[dbaas.SourceKind]dbaas.Source
	// MissingID is an instance id that does not exist, in the provider's
	// id format; default a name-like id that the suite never creates.
	MissingID string
	// MissingBackupID is a backup id that does not exist, in the
	// provider's format; default like MissingID.
	MissingBackupID string
}
