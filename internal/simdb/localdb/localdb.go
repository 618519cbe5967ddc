// Package localdb is the simdb.Backend on real local servers: it puts a
// providers/local instance behind each simulated cloud database, so that
// the endpoint a simulator returns accepts connections. `dbaas sim` and
// the tests that check the simulators with data use it.
//
//	p, err := local.New(ctx, local.Options{})
//	…
//	b := localdb.New(p)
//	defer b.Close(ctx)
//	sim, url, err := dosim.Start(dosim.Options{Backend: b})
//
// It uses only the public API of providers/local.
package localdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

// Backend puts a real local instance behind each simulated cloud
// database (it implements the simulators' simdb.Backend), so that the
// endpoint a simulator returns accepts connections.
//
// The engine is mapped to what is installed: mysql runs on MariaDB, which
// speaks the MySQL protocol. The version asked for is used when it is
// installed and otherwise the installed one, since a simulator asks for
// cloud versions this machine may not have.
//
// It is also a simdb.Snapshotter: a simulated backup is a real backup of
// the local instance (pg_basebackup, mariadb-backup), and a restore a real
// restore, with a password of its own.
type Backend struct {
	p     *local.Provider
	mu    sync.Mutex
	keys  map[string]string // key → instance id
	snaps map[string]string // snapshot key → backup id
}

var (
	_ simdb.Backend         = (*Backend)(nil)
	_ simdb.Snapshotter     = (*Backend)(nil)
	_ simdb.AccountAttacher = (*Backend)(nil)
)

// New returns a backend that makes its instances with p. Close removes
// them; p stays the caller's to close.
func New(p *local.Provider) *Backend {
	return &Backend{p: p, keys: map[string]string{}, snaps: map[string]string{}}
}

// simName is a valid instance name unique to key.
func simName(key string) string {
	h := sha256.Sum256([]byte(key))
	return "sim-" + hex.EncodeToString(h[:8])
}

// localEngine maps a cloud's engine to the one that runs here.
func localEngine(e dbaas.Engine) dbaas.Engine {
	if e == dbaas.MySQL {
		return dbaas.MariaDB
	}
	return e
}

// Attach creates (or finds) the instance for key, waits until it is
// available and returns its endpoint and admin credentials.
func (b *Backend) Attach(ctx context.Context, key string, engine dbaas.Engine, version string) (*simdb.Database, error) {
	return b.AttachAccount(ctx, key, engine, version, simdb.Account{})
}

// AttachAccount is Attach with the cloud's account: the local instance is
// made with that admin user, password and database (each instance is a
// server of its own, so they collide with nothing).
func (b *Backend) AttachAccount(ctx context.Context, key string, engine dbaas.Engine, version string, account simdb.Account) (*simdb.Database, error) {
	if key == "" {
		return nil, fmt.Errorf("localdb attach: key is empty: %w", dbaas.ErrInvalidArgument)
	}
	engine = localEngine(engine)
	if !b.installed(engine, version) {
		version = ""
	}
	spec := dbaas.Spec{Name: simName(key), Engine: engine, Version: version, Size: "small",
		AdminUser: account.User, AdminPassword: account.Password, Database: account.Database, Port: account.Port}
	inst, created, err := dbaas.Ensure(ctx, b.p, spec)
	if err != nil {
		return nil, fmt.Errorf("localdb attach %s: %w", key, err)
	}
	return b.ready(ctx, "attach", key, inst.ID, created)
}

// installed reports whether version of engine is installed, in the
// local provider's terms: the major version ("16"), the full one, or a
// prefix of it ("10.11").
func (b *Backend) installed(engine dbaas.Engine, version string) bool {
	for _, in := range b.p.Installations() {
		if in.Engine == engine && (version == in.Version || version == in.Full || strings.HasPrefix(in.Full, version+".")) {
			return true
		}
	}
	return false
}

// ready records key's instance, waits until it is available and returns
// how to reach it, its CA certificate too, so that a simulator reports TLS
// as the cloud does; an instance made for the call is removed on failure.
func (b *Backend) ready(ctx context.Context, op, key, id string, created bool) (*simdb.Database, error) {
	b.mu.Lock()
	b.keys[key] = id
	b.mu.Unlock()
	_, err := dbaas.Wait(ctx, b.p, id, dbaas.WaitOptions{FirstDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond, Expected: -1, Timeout: 5 * time.Minute})
	if err != nil {
		if created {
			_ = b.Detach(context.WithoutCancel(ctx), key)
		}
		return nil, fmt.Errorf("localdb %s %s: %w", op, key, err)
	}
	conn, err := b.p.Connection(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("localdb %s %s: %w", op, key, err)
	}
	return &simdb.Database{Endpoint: conn.Endpoint, User: conn.User, Password: conn.Password, Database: conn.Database,
		CACertPEM: conn.CACertPEM}, nil
}

// Snapshot takes a backup of key's instance, named snapshotKey.
func (b *Backend) Snapshot(ctx context.Context, key, snapshotKey string) error {
	b.mu.Lock()
	id, ok := b.keys[key]
	_, taken := b.snaps[snapshotKey]
	b.mu.Unlock()
	if !ok {
		return fmt.Errorf("localdb snapshot %s: no database attached as %s: %w", snapshotKey, key, dbaas.ErrNotFound)
	}
	if taken {
		return fmt.Errorf("localdb snapshot %s: snapshot key in use: %w", snapshotKey, dbaas.ErrAlreadyExists)
	}
	bk, err := b.p.Backup(ctx, id, snapshotKey)
	if err != nil {
		return fmt.Errorf("localdb snapshot %s: %w", snapshotKey, err)
	}
	b.mu.Lock()
	b.snaps[snapshotKey] = bk.ID
	b.mu.Unlock()
	return nil
}

// Restore makes newKey's instance from snapshot snapshotKey, with a new
// password.
func (b *Backend) Restore(ctx context.Context, snapshotKey, newKey string, engine dbaas.Engine, _ string) (*simdb.Database, error) {
	b.mu.Lock()
	bid, ok := b.snaps[snapshotKey]
	b.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("localdb restore %s: no such snapshot: %w", snapshotKey, dbaas.ErrNotFound)
	}
	spec := dbaas.Spec{Name: simName(newKey), Engine: localEngine(engine), Size: "small", AdminPassword: dbaas.NewSecret(simkit.Password())}
	inst, err := b.p.Restore(ctx, dbaas.FromBackup(bid), spec)
	if err != nil {
		return nil, fmt.Errorf("localdb restore %s: %w", snapshotKey, err)
	}
	return b.ready(ctx, "restore", newKey, inst.ID, true)
}

// DropSnapshot deletes the backup behind snapshotKey; an unknown key is
// not an error.
func (b *Backend) DropSnapshot(ctx context.Context, snapshotKey string) error {
	b.mu.Lock()
	bid, ok := b.snaps[snapshotKey]
	delete(b.snaps, snapshotKey)
	b.mu.Unlock()
	if !ok {
		return nil
	}
	if err := b.p.DeleteBackup(ctx, bid); err != nil && !errors.Is(err, dbaas.ErrNotFound) {
		return fmt.Errorf("localdb drop snapshot %s: %w", snapshotKey, err)
	}
	return nil
}

// Detach deletes key's instance, without a final backup. An unknown key
// is not an error.
func (b *Backend) Detach(ctx context.Context, key string) error {
	b.mu.Lock()
	id, ok := b.keys[key]
	delete(b.keys, key)
	b.mu.Unlock()
	if !ok {
		inst, err := dbaas.FindByName(ctx, b.p, simName(key))
		if errors.Is(err, dbaas.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("localdb detach %s: %w", key, err)
		}
		id = inst.ID
	}
	err := b.p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true})
	if err != nil && !errors.Is(err, dbaas.ErrNotFound) {
		return fmt.Errorf("localdb detach %s: %w", key, err)
	}
	return nil
}

// Close detaches every instance this backend attached and drops its
// snapshots.
func (b *Backend) Close(ctx context.Context) error {
	b.mu.Lock()
	keys := make([]string, 0, len(b.keys))
	for k := range b.keys {
		keys = append(keys, k)
	}
	snaps := make([]string, 0, len(b.snaps))
	for k := range b.snaps {
		snaps = append(snaps, k)
	}
	b.mu.Unlock()
	var errs []error
	for _, k := range keys {
		errs = append(errs, b.Detach(ctx, k))
	}
	for _, k := range snaps {
		errs = append(errs, b.DropSnapshot(ctx, k))
	}
	return errors.Join(errs...)
}

// AdminConnection returns the admin connection of the server attached as
// key (its own server: one per simulated instance), for simulators that
// make a cloud API's databases and users real on it.
func (b *Backend) AdminConnection(key string, _ dbaas.Engine) (*dbaas.ConnectionInfo, error) {
	b.mu.Lock()
	id, ok := b.keys[key]
	b.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("localdb admin connection %s: nothing attached: %w", key, dbaas.ErrNotFound)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return b.p.Connection(ctx, id)
}
