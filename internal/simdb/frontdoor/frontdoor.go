package frontdoor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
)

// The addresses databases are served on: 127.0.0.1, where the servers
// behind them listen, is left out.
const (
	firstAddr = 127<<24 | 2
	lastAddr  = 127<<24 | 0xfffffe
	// maxTaken is how many addresses in a row whose port is taken an
	// attach skips before it gives up: something listens on the port on
	// all of them (on 0.0.0.0, say).
	maxTaken = 256
)

// Backend is a simdb.Backend that serves each database on its own
// address and the fixed port; Close stops serving them all.
//
// The value New returns implements exactly the optional interfaces of
// simdb (Snapshotter, AccountAttacher, Admin) that the backend it wraps
// implements, since the simulators change what they do on finding one.
type Backend interface {
	simdb.Backend
	// Close closes every relay and the connections through them. It
	// detaches nothing: the wrapped backend stays the caller's to close.
	// Attach fails after it.
	Close() error
}

// New wraps inner so that each database it attaches is served through a
// relay on the next free address of 127.0.0.2, 127.0.0.3, … on port
// port(engine), and its endpoint says so. A database whose engine has
// port 0 (or port is nil), or that is attached with a port the caller chose
// (simdb.Account.Port, as RDS allows), keeps the endpoint inner gives.
//
// Detach closes the database's relay and its connections before it
// detaches the database from inner. Snapshot, DropSnapshot and
// AdminConnection are inner's own: the admin connection goes to the
// server directly. Restore serves the restored database as Attach does.
func New(inner simdb.Backend, port func(dbaas.Engine) int) Backend {
	d := &door{inner: inner, port: port, next: firstAddr, relays: map[string]*Relay{}}
	s, a, m := snapshotter{d}, accountAttacher{d}, admin{d}
	_, isS := inner.(simdb.Snapshotter)
	_, isA := inner.(simdb.AccountAttacher)
	_, isM := inner.(simdb.Admin)
	switch {
	case isS && isA && isM:
		return struct {
			*door
			snapshotter
			accountAttacher
			admin
		}{d, s, a, m}
	case isS && isA:
		return struct {
			*door
			snapshotter
			accountAttacher
		}{d, s, a}
	case isS && isM:
		return struct {
			*door
			snapshotter
			admin
		}{d, s, m}
	case isA && isM:
		return struct {
			*door
			accountAttacher
			admin
		}{d, a, m}
	case isS:
		return struct {
			*door
			snapshotter
		}{d, s}
	case isA:
		return struct {
			*door
			accountAttacher
		}{d, a}
	case isM:
		return struct {
			*door
			admin
		}{d, m}
	default:
		return d
	}
}

// Check reports whether this machine lets a listener bind 127.0.0.2, as
// Linux does; macOS, say, has only 127.0.0.1 unless told otherwise.
func Check() error {
	l, err := net.Listen("tcp", net.JoinHostPort(addr(firstAddr), "0"))
	if err != nil {
		return fmt.Errorf("frontdoor: loopback addresses beyond 127.0.0.1: %w", err)
	}
	return l.Close()
}

// door is the Backend every value of New holds.
type door struct {
	inner simdb.Backend
	port  func(dbaas.Engine) int

	mu     sync.Mutex
	next   uint32 // the address tried first by the next attach
	relays map[string]*Relay
	closed bool
}

func (d *door) Attach(ctx context.Context, key string, engine dbaas.Engine, version string) (*simdb.Database, error) {
	db, err := d.inner.Attach(ctx, key, engine, version)
	if err != nil {
		return nil, err
	}
	return d.front(ctx, key, engine, db)
}

func (d *door) Detach(ctx context.Context, key string) error {
	d.mu.Lock()
	r := d.relays[key]
	delete(d.relays, key)
	d.mu.Unlock()
	var errs []error
	if r != nil {
		if err := r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("frontdoor detach %s: %w", key, err))
		}
	}
	return errors.Join(append(errs, d.inner.Detach(ctx, key))...)
}

func (d *door) Close() error {
	d.mu.Lock()
	relays := d.relays
	d.relays, d.closed = map[string]*Relay{}, true
	d.mu.Unlock()
	var errs []error
	for key, r := range relays {
		if err := r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("frontdoor close %s: %w", key, err))
		}
	}
	return errors.Join(errs...)
}

// front serves db, attached as key, on its own address and engine's
// port, and returns it with that endpoint. A key served already keeps
// its address. When it cannot, the database is detached from inner, as
// the caller sees the attach fail.
func (d *door) front(ctx context.Context, key string, engine dbaas.Engine, db *simdb.Database) (*simdb.Database, error) {
	port := 0
	if d.port != nil {
		port = d.port(engine)
	}
	if port == 0 {
		return db, nil
	}
	r, err := d.relay(key, port, db.Endpoint.Address())
	if err != nil {
		return nil, errors.Join(fmt.Errorf("frontdoor attach %s: %w", key, err), d.inner.Detach(context.WithoutCancel(ctx), key))
	}
	out := *db
	out.Endpoint = dbaas.Endpoint{Host: r.Addr().(*net.TCPAddr).IP.String(), Port: port}
	return &out, nil
}

// relay returns key's relay to target, made on the next free address
// when key has none.
func (d *door) relay(key string, port int, target string) (*Relay, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, net.ErrClosed
	}
	if r, ok := d.relays[key]; ok {
		r.retarget(target)
		return r, nil
	}
	p := strconv.Itoa(port)
	for range maxTaken {
		a := addr(d.next)
		if d.next++; d.next > lastAddr {
			d.next = firstAddr
		}
		l, err := net.Listen("tcp", net.JoinHostPort(a, p))
		if errors.Is(err, syscall.EADDRINUSE) {
			continue
		}
		if err != nil {
			return nil, err
		}
		r := NewRelay(l, target)
		d.relays[key] = r
		return r, nil
	}
	return nil, fmt.Errorf("port %d is taken on %d loopback addresses in a row, up to %s", port, maxTaken, addr(d.next-1))
}

// addr is the dotted form of the IPv4 address a.
func addr(a uint32) string {
	return net.IPv4(byte(a>>24), byte(a>>16), byte(a>>8), byte(a)).String()
}

// snapshotter gives a door the Snapshotter of its inner backend, with
// restored databases served as attached ones are.
type snapshotter struct{ d *door }

func (s snapshotter) Snapshot(ctx context.Context, key, snapshotKey string) error {
	return s.d.inner.(simdb.Snapshotter).Snapshot(ctx, key, snapshotKey)
}

func (s snapshotter) Restore(ctx context.Context, snapshotKey, newKey string, engine dbaas.Engine, version string) (*simdb.Database, error) {
	db, err := s.d.inner.(simdb.Snapshotter).Restore(ctx, snapshotKey, newKey, engine, version)
	if err != nil {
		return nil, err
	}
	return s.d.front(ctx, newKey, engine, db)
}

func (s snapshotter) DropSnapshot(ctx context.Context, snapshotKey string) error {
	return s.d.inner.(simdb.Snapshotter).DropSnapshot(ctx, snapshotKey)
}

// accountAttacher gives a door the AccountAttacher of its inner backend.
type accountAttacher struct{ d *door }

func (a accountAttacher) AttachAccount(ctx context.Context, key string, engine dbaas.Engine, version string, account simdb.Account) (*simdb.Database, error) {
	db, err := a.d.inner.(simdb.AccountAttacher).AttachAccount(ctx, key, engine, version, account)
	if err != nil || account.Port != 0 {
		// A port the caller chose is the server's own already.
		return db, err
	}
	return a.d.front(ctx, key, engine, db)
}

// admin gives a door the Admin of its inner backend: the connection goes
// to the server directly, not through the relay.
type admin struct{ d *door }

func (m admin) AdminConnection(key string, engine dbaas.Engine) (*dbaas.ConnectionInfo, error) {
	return m.d.inner.(simdb.Admin).AdminConnection(key, engine)
}
