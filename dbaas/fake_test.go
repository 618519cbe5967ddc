package dbaas

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// scriptedProvider is a minimal Provider for the helpers' tests: Get walks
// through a script of statuses, and every call is counted.
type scriptedProvider struct {
	mu        sync.Mutex
	statuses  []Status // Get returns these in turn, then the last forever
	getErrs   []error  // errors returned by the first Gets, in turn
	instances map[string]*Instance
	access    []Source
	caps      Capabilities
	gets      atomic.Int64
	lists     atomic.Int64
	creates   atomic.Int64
	allows    [][]Source
	revokes   [][]Source
	accessN   atomic.Int64
	createErr error
	onCreate  func() // runs before Create answers
}

func (p *scriptedProvider) Create(ctx context.Context, spec Spec) (*Instance, error) {
	p.creates.Add(1)
	if p.onCreate != nil {
		p.onCreate()
	}
	if p.createErr != nil {
		return nil, p.createErr
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	inst := &Instance{ID: "id-" + spec.Name, Name: spec.Name, Engine: spec.Engine, Status: StatusProvisioning}
	if p.instances == nil {
		p.instances = map[string]*Instance{}
	}
	p.instances[inst.ID] = inst
	return inst.Clone(), nil
}

func (p *scriptedProvider) Get(ctx context.Context, id string) (*Instance, error) {
	n := int(p.gets.Add(1)) - 1
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if n < len(p.getErrs) && p.getErrs[n] != nil {
		return nil, p.getErrs[n]
	}
	st := p.statuses[min(n, len(p.statuses)-1)]
	return &Instance{ID: id, Status: st, RawStatus: "raw-" + string(st), Endpoint: Endpoint{Host: "h", Port: 5432}}, nil
}

func (p *scriptedProvider) List(ctx context.Context) ([]*Instance, error) {
	p.lists.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*Instance
	for _, i := range p.instances {
		out = append(out, i.Clone())
	}
	return out, nil
}

func (p *scriptedProvider) Delete(context.Context, string, DeleteOptions) error { return nil }
func (p *scriptedProvider) Connection(context.Context, string) (*ConnectionInfo, error) {
	return nil, ErrUnsupported
}

func (p *scriptedProvider) Allow(_ context.Context, _ string, s ...Source) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.allows = append(p.allows, s)
	p.access = append(p.access, s...)
	return nil
}

func (p *scriptedProvider) Revoke(_ context.Context, _ string, s ...Source) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revokes = append(p.revokes, s)
	var keep []Source
	for _, a := range p.access {
		drop := false
		for _, r := range s {
			drop = drop || a == r
		}
		if !drop {
			keep = append(keep, a)
		}
	}
	p.access = keep
	return nil
}

func (p *scriptedProvider) Access(context.Context, string) ([]Source, error) {
	p.accessN.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Source(nil), p.access...), nil
}

func (p *scriptedProvider) Backup(context.Context, string, string) (*Backup, error) {
	return nil, ErrUnsupported
}
func (p *scriptedProvider) Backups(context.Context, string) ([]*Backup, error) {
	return nil, ErrUnsupported
}
func (p *scriptedProvider) Close() error { return nil }
func (p *scriptedProvider) Restore(context.Context, RestorePoint, Spec) (*Instance, error) {
	return nil, ErrUnsupported
}
func (p *scriptedProvider) Capabilities() Capabilities { return p.caps }
func (p *scriptedProvider) As(any) bool                { return false }

// instantClock is an auto-advancing clock: every wait is over at once and
// moves the time forward by its length.
type instantClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *instantClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *instantClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.sleeps = append(c.sleeps, d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// cancelClock cancels a wait's context when the wait first pauses, and
// never fires: only the cancellation can end the wait, with no timing
// involved.
type cancelClock struct{ cancel context.CancelFunc }

func (c cancelClock) Now() time.Time { return time.Unix(0, 0) }

func (c cancelClock) After(time.Duration) <-chan time.Time {
	c.cancel()
	return nil
}

func (p *scriptedProvider) EnsureDatabase(context.Context, string, string) error {
	return ErrUnsupported
}
func (p *scriptedProvider) Databases(context.Context, string) ([]string, error) {
	return nil, ErrUnsupported
}
func (p *scriptedProvider) DropDatabase(context.Context, string, string) error { return ErrUnsupported }
func (p *scriptedProvider) EnsureUser(context.Context, string, UserSpec) (*User, error) {
	return nil, ErrUnsupported
}
func (p *scriptedProvider) Users(context.Context, string) ([]*User, error) {
	return nil, ErrUnsupported
}
func (p *scriptedProvider) RotatePassword(context.Context, string, string) (*User, error) {
	return nil, ErrUnsupported
}
func (p *scriptedProvider) DropUser(context.Context, string, string) error { return ErrUnsupported }
