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
}

// Provider is an in-memory dbaas.Provider: the reference implementation
// of the contract. It keeps everything in the process and starts no
// goroutine: statuses move on when they are read, from the times recorded
// on Clock. It is safe for concurrent use.
type Provider struct {
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

var (
	_ dbaas.Provider = (*Provider)(nil)
	_ dbaas.Starter  = (*Provider)(nil)
)

// New returns an empty provider.
func New(opts Options) *Provider {
	if opts.Clock == nil {
		opts.Clock = dbaas.SystemClock{}
	}
	return &Provider{
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
func (p *Provider) Calls() int64 { return p.calls.Load() }

// Capabilities reports everything supported, except a CA certificate:
// nothing listens behind a memory instance, so there is no TLS.
func (p *Provider) Capabilities() dbaas.Capabilities {
	return dbaas.Capabilities{
		Engines:             dbaas.Engines(),
		SourceKinds:         dbaas.SourceKinds(),
		Provision:           true,
		Access:              true,
		OnDemandBackup:      true,
		ListBackups:         true,
		Restore:             true,
		PointInTimeRestore:  true,
		FinalBackup:         true,
		PrivateNetwork:      true,
		CACertificate:       false,
		CustomPort:          true,
		ReadablePassword:    true,
		StartStop:           true,
		TypicalProvisioning: p.opts.ProvisionDelay,
	}
}

// As hands out the provider itself for **Provider targets, so that code
// holding a dbaas.Provider can reach Put, Values and Calls.
func (p *Provider) As(target any) bool {
	if t, ok := target.(**Provider); ok && t != nil {
		*t = p
		return true
	}
	return false
}

// begin checks the context and counts the call. Every method calls it
// after its argument checks, so refused input costs no call.
func (p *Provider) begin(ctx context.Context, op, id string) error {
	if ctx == nil {
		return dbaas.NewError(op, id, dbaas.ErrInvalidArgument, fmt.Errorf("nil context"))
	}
	if err := ctx.Err(); err != nil {
		return dbaas.NewError(op, id, nil, err)
	}
	p.calls.Add(1)
	return nil
}

func (p *Provider) now() time.Time { return p.opts.Clock.Now() }

// nextSeqLocked returns the next sequence number; p.mu is held.
func (p *Provider) nextSeqLocked() uint32 {
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

func requireID(op, id string) error {
	if id == "" {
		return dbaas.NewError(op, "", nil, dbaas.InvalidField("id", "is required"))
	}
	return nil
}
