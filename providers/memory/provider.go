package memory

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
)

// Name is the name the provider registers under.
const Name = "memory"

// DefaultRetentionDays is the point-in-time window of an instance whose
// spec leaves BackupRetentionDays at 0.
const DefaultRetentionDays = 7

// Options configures a Provider. The zero value is a provider whose
// instances are available at once, on the system clock.
type Options struct {
	// ProvisionDelay is how long Create and Restore take: the instance is
	// provisioning (or restoring) until the delay has passed on Clock.
	ProvisionDelay time.Duration
	// BackupDelay is how long Backup takes: the backup's status is
	// "creating" and the instance is backing-up until it has passed.
	BackupDelay time.Duration
	// DeleteDelay is how long Delete takes: the instance is deleting until
	// it has passed, then Get returns ErrNotFound.
	DeleteDelay time.Duration
	// Region is the region of instances whose spec names none; default
	// "local".
	Region string
	// Clock is the time source of every delay and timestamp; nil means the
	// system clock. A fake clock makes long delays cost no real time.
	Clock dbaas.Clock
	// Observer is told of every call; nil means dbaas.SlogObserver(nil).
	Observer dbaas.Observer
}

// Provider is an in-memory dbaas.Provider: the reference implementation
// of the contract, and a real, small provider for tests and examples. It
// keeps everything in the process and starts no goroutine: statuses move
// on when they are read, from the times recorded on Clock. Beyond
// dbaas.Provider and dbaas.Starter it offers a data store per instance
// (Put, Values) that backups and restores carry, and a call counter. It
// is safe for concurrent use.
type Provider struct {
	dbaas.Provider
	s *store
}

var (
	_ dbaas.Provider = (*Provider)(nil)
	_ dbaas.Starter  = (*Provider)(nil)
)

// capabilities are everything supported, except a CA certificate: nothing
// listens behind a memory instance, so there is no TLS.
var capabilities = dbaas.Capabilities{
	Engines:            dbaas.Engines(),
	SourceKinds:        dbaas.SourceKinds(),
	Provision:          true,
	Access:             true,
	OnDemandBackup:     true,
	ListBackups:        true,
	Restore:            true,
	PointInTimeRestore: true,
	FinalBackup:        true,
	PrivateNetwork:     true,
	CustomPort:         true,
	ReadablePassword:   true,
	StartStop:          true,
	AppUsers:           dbaas.AppUsersAPI,
}

// New returns an empty provider.
func New(opts Options) *Provider {
	s := newStore(opts)
	p := &Provider{Provider: driver.NewProvider(Name, s, info, opts.Observer), s: s}
	s.self = p
	return p
}

func newStore(opts Options) *store {
	if opts.Clock == nil {
		opts.Clock = dbaas.SystemClock{}
	}
	return &store{
		opts:      opts,
		instances: map[string]*instance{},
		byName:    map[string]string{},
		byHost:    map[string]string{},
		deleting:  map[string]bool{},
		backups:   map[string]*backup{},
		names:     map[string]string{},
	}
}

// Calls returns how many API calls the provider has served: every
// Provider and Starter method that got past argument checks and context
// cancellation. Calls refused as invalid are not counted, which is how a
// test proves that bad input makes no call.
func (p *Provider) Calls() int64 { return p.s.calls.Load() }

// Start starts a stopped instance; starting an available one does
// nothing.
func (p *Provider) Start(ctx context.Context, id string) error {
	return p.Provider.(dbaas.Starter).Start(ctx, id)
}

// Stop stops an available instance; stopping a stopped one does nothing.
func (p *Provider) Stop(ctx context.Context, id string) error {
	return p.Provider.(dbaas.Starter).Stop(ctx, id)
}

// Put appends value to the instance's data store: the stand-in for the
// rows of a real database, so that tests can prove what a backup or a
// restore holds. The instance must be serving (available or backing-up).
// Put is data, not API: Calls does not count it.
func (p *Provider) Put(ctx context.Context, id, value string) error {
	return named("put", id, p.s.put(ctx, id, value))
}

// Values returns the values of the instance's data store, in the order
// they were written. The instance must be serving.
func (p *Provider) Values(ctx context.Context, id string) ([]string, error) {
	v, err := p.s.values(ctx, id)
	return v, named("values", id, err)
}

// InstanceFor returns the id of the instance a ConnectionInfo from this
// provider points at (every instance has a host of its own), so that code
// given only connection details, like dbaastest.Harness.WriteData, can
// reach its data store.
func (p *Provider) InstanceFor(conn *dbaas.ConnectionInfo) (string, error) {
	id, err := p.s.instanceFor(conn)
	return id, named("instance for", "", err)
}

// SetDeletionProtection turns the deletion protection of an instance on
// or off, as the clouds' modify calls do.
func (p *Provider) SetDeletionProtection(ctx context.Context, id string, on bool) error {
	return named("set deletion protection", id, p.s.setDeletionProtection(ctx, id, on))
}

// named gives an error of the methods beyond dbaas.Provider the shape the
// portable layer gives the others.
func named(op, id string, err error) error {
	if err == nil {
		return nil
	}
	e := &dbaas.Error{Provider: Name, Op: op, ID: id, Err: err}
	if de, ok := err.(*dbaas.Error); ok {
		e.Kind, e.Err = de.Kind, de.Err
	}
	return e
}

// store is the driver: the instances, backups and data in memory.
type store struct {
	self  *Provider // the provider New made around it, for As
	opts  Options
	calls atomic.Int64

	mu        sync.Mutex
	seq       uint32
	instances map[string]*instance // by id, deleted ones removed
	byName    map[string]string    // name → id, deleting ones included
	byHost    map[string]string    // endpoint host → id
	deleting  map[string]bool      // ids with a Delete under way
	nextSweep time.Time            // earliest deleteAt among them
	backups   map[string]*backup   // by id, kept after the instance goes
	backupIDs []string             // creation order
	names     map[string]string    // backup name → backup id
}

// Capabilities are the registered ones, with the provisioning delay as
// the typical provisioning time.
func (p *store) Capabilities() dbaas.Capabilities {
	c := capabilities
	c.TypicalProvisioning = p.opts.ProvisionDelay
	return c
}

// As hands out the *Provider for **Provider targets, so that code holding
// a dbaas.Provider (from dbaas.Open) can reach Put, Values and Calls.
func (p *store) As(target any) bool {
	if t, ok := target.(**Provider); ok && t != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.self == nil {
			p.self = &Provider{Provider: driver.NewProvider(Name, p, info, p.opts.Observer), s: p}
		}
		*t = p.self
		return true
	}
	return false
}

// Close does nothing: memory holds nothing outside the process's heap.
func (p *store) Close() error { return nil }

// ErrorKind is nil: every error the store returns names its sentinel.
func (p *store) ErrorKind(error) error { return nil }

func newErr(kind, cause error) error { return &dbaas.Error{Kind: kind, Err: cause} }

// begin checks the context and counts the call. The portable layer has
// checked the arguments, so refused input costs no call.
func (p *store) begin(ctx context.Context, op, id string) error {
	if ctx == nil {
		return newErr(dbaas.ErrInvalidArgument, fmt.Errorf("nil context"))
	}
	if err := ctx.Err(); err != nil {
		return newErr(nil, err)
	}
	p.calls.Add(1)
	return nil
}

func (p *store) now() time.Time { return p.opts.Clock.Now() }

// nextSeqLocked returns the next sequence number; p.mu is held.
func (p *store) nextSeqLocked() uint32 {
	p.seq++
	return p.seq
}

// hostFor gives instance n its own loopback address (127.0.0.1 for the
// first), so that a ConnectionInfo names exactly one instance.
func hostFor(n uint32) string {
	n &= 0xffffff
	return netip.AddrFrom4([4]byte{127, byte(n >> 16), byte(n >> 8), byte(n)}).String()
}

// privateHostFor is the private endpoint of instance n in 10.0.0.0/8.
func privateHostFor(n uint32) string {
	n &= 0xffffff
	return netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}).String()
}

// generatePassword returns 26 base32 characters (128 bits) from
// crypto/rand, valid under Spec.Validate's password rules.
func generatePassword() dbaas.Secret { return dbaas.NewSecret(rand.Text()) }

func requireID(id string) error {
	if id == "" {
		return newErr(nil, dbaas.InvalidField("id", "is required"))
	}
	return nil
}
