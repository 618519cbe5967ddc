package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
)

// SimBackend puts a real local instance behind each simulated cloud
// database (it implements the simulators' simdb.Backend), so that the
// endpoint a simulator returns accepts connections.
//
// The engine is mapped to what is installed: mysql runs on MariaDB, which
// speaks the MySQL protocol. The version asked for is used when it is
// installed and otherwise the installed one, since a simulator asks for
// cloud versions this machine may not have.
type SimBackend struct {
	p    *Provider
	mu   sync.Mutex
	keys map[string]string // key → instance id
}

var _ simdb.Backend = (*SimBackend)(nil)

// NewSimBackend returns a backend that makes its instances with p.
func NewSimBackend(p *Provider) *SimBackend {
	return &SimBackend{p: p, keys: map[string]string{}}
}

// simName is a valid instance name unique to key.
func simName(key string) string {
	h := sha256.Sum256([]byte(key))
	return "sim-" + hex.EncodeToString(h[:8])
}

// Attach creates (or finds) the instance for key, waits until it is
// available and returns its endpoint and admin credentials.
func (b *SimBackend) Attach(ctx context.Context, key string, engine dbaas.Engine, version string) (*simdb.Database, error) {
	if key == "" {
		return nil, fmt.Errorf("sim backend attach: key is empty: %w", dbaas.ErrInvalidArgument)
	}
	if engine == dbaas.MySQL {
		engine = dbaas.MariaDB
	}
	if _, err := b.p.installation(engine, version); err != nil {
		version = ""
	}
	spec := dbaas.Spec{Name: simName(key), Engine: engine, Version: version, Size: "small"}
	inst, created, err := dbaas.Ensure(ctx, b.p, spec)
	if err != nil {
		return nil, fmt.Errorf("sim backend attach %s: %w", key, err)
	}
	b.mu.Lock()
	b.keys[key] = inst.ID
	b.mu.Unlock()
	inst, err = dbaas.Wait(ctx, b.p, inst.ID, dbaas.WaitOptions{FirstDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond, Expected: -1, Timeout: 5 * time.Minute})
	if err != nil {
		if created {
			_ = b.Detach(context.WithoutCancel(ctx), key)
		}
		return nil, fmt.Errorf("sim backend attach %s: %w", key, err)
	}
	conn, err := b.p.Connection(ctx, inst.ID)
	if err != nil {
		return nil, fmt.Errorf("sim backend attach %s: %w", key, err)
	}
	return &simdb.Database{Endpoint: conn.Endpoint, User: conn.User, Password: conn.Password, Database: conn.Database}, nil
}

// Detach deletes key's instance, without a final backup. An unknown key
// is not an error.
func (b *SimBackend) Detach(ctx context.Context, key string) error {
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
			return fmt.Errorf("sim backend detach %s: %w", key, err)
		}
		id = inst.ID
	}
	err := b.p.Delete(ctx, id, dbaas.DeleteOptions{SkipFinalBackup: true})
	if err != nil && !errors.Is(err, dbaas.ErrNotFound) {
		return fmt.Errorf("sim backend detach %s: %w", key, err)
	}
	return nil
}

// Close detaches every instance this backend attached.
func (b *SimBackend) Close(ctx context.Context) error {
	b.mu.Lock()
	keys := make([]string, 0, len(b.keys))
	for k := range b.keys {
		keys = append(keys, k)
	}
	b.mu.Unlock()
	var errs []error
	for _, k := range keys {
		errs = append(errs, b.Detach(ctx, k))
	}
	return errors.Join(errs...)
}
