package tunnel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
)

// Provider wraps a dbaas.Provider so that Connection returns the local
// end of an SSH tunnel to the instance instead of the instance itself.
// Every other method is the wrapped provider's. One tunnel is opened per
// instance on its first Connection and reused; Delete closes that
// instance's tunnel and Close closes them all. It is safe for concurrent
// use.
type Provider struct {
	dbaas.Provider
	cfg  Config
	opts ProviderOptions

	// fixed is the local end every tunnel listens on when cfg.Listen names
	// a port; zero when the system picks one per instance.
	fixed dbaas.Endpoint

	mu      sync.Mutex
	tunnels map[string]*entry
	closed  bool
}

var _ dbaas.Starter = (*Provider)(nil)

// ProviderOptions tunes NewProvider.
type ProviderOptions struct {
	// Public tunnels to the instance's public Endpoint even when it has a
	// PrivateEndpoint. By default the private endpoint is used where
	// there is one, as the relay usually sits in the same private network.
	Public bool
}

type entry struct {
	ready chan struct{} // closed once t or err is set
	t     *Tunnel
	err   error
}

// NewProvider returns inner behind tunnels made from cfg. cfg.Remote is
// set for each instance from its endpoint. cfg.Listen, when set, is a TCP
// address: with port 0 ("127.0.0.1:0") each instance's tunnel gets a port
// of its own; with a fixed port ("127.0.0.1:5432", so that a configured
// DB_PORT can equal it) the provider serves one instance at a time, and
// asking for another's connection while that tunnel is open fails with
// ErrConflict. A Unix socket is refused. The configuration is checked
// now, before any tunnel is opened.
func NewProvider(inner dbaas.Provider, cfg Config, opts ProviderOptions) (*Provider, error) {
	if inner == nil {
		return nil, fmt.Errorf("tunnel provider: inner provider: is nil: %w", dbaas.ErrInvalidArgument)
	}
	probe := cfg
	probe.Remote = dbaas.Endpoint{Host: "localhost", Port: 1}
	if _, err := probe.withDefaults(); err != nil {
		return nil, err
	}
	p := &Provider{Provider: inner, cfg: cfg, opts: opts, tunnels: map[string]*entry{}}
	if network, addr := cfg.listenNetwork(); network == "tcp" && cfg.Listen != "" {
		host, port, _ := splitHostPort(addr)
		if n, _ := strconv.Atoi(port); n != 0 {
			if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
				host = "127.0.0.1"
			}
			p.fixed = dbaas.Endpoint{Host: host, Port: n}
		}
	} else if network == "unix" {
		return nil, invalid("listen", "a Unix socket path is refused: use a TCP address (port 0 for a port per instance)")
	}
	return p, nil
}

// Connection returns the wrapped provider's connection information with
// Endpoint replaced by the tunnel's local end and PrivateEndpoint
// cleared. ServerName becomes the instance's own host (unless the wrapped
// provider named one), so verify-full still checks that the certificate
// names the instance, not 127.0.0.1; sqlconn's connectors and the dump
// tools honour it.
func (p *Provider) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	info, err := p.Provider.Connection(ctx, id)
	if err != nil {
		return nil, err
	}
	remote := info.Endpoint
	if !p.opts.Public && !info.PrivateEndpoint.IsZero() {
		remote = info.PrivateEndpoint
	}
	if err := remote.Validate(); err != nil {
		return nil, &dbaas.Error{Provider: "tunnel", Op: "connection", ID: id, Kind: dbaas.ErrConflict, Err: fmt.Errorf("instance endpoint: %w", err)}
	}
	t, err := p.tunnel(ctx, id, remote)
	if err != nil {
		return nil, &dbaas.Error{Provider: "tunnel", Op: "connection", ID: id, Err: err}
	}
	out := *info
	out.Endpoint = t.Endpoint()
	out.PrivateEndpoint = dbaas.Endpoint{}
	if out.ServerName == "" {
		out.ServerName = remote.Host
	}
	return &out, nil
}

// Get returns the wrapped provider's instance with Endpoint the address
// applications use through this provider — the tunnel's local end, when
// the tunnel is open or the local port is fixed — so that
// dbaas.CheckPort checks the port they will really connect to. An
// instance with no port yet keeps its zero endpoint.
func (p *Provider) Get(ctx context.Context, id string) (*dbaas.Instance, error) {
	inst, err := p.Provider.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return p.local(inst), nil
}

// List is the wrapped provider's, with endpoints as Get gives them.
func (p *Provider) List(ctx context.Context) ([]*dbaas.Instance, error) {
	insts, err := p.Provider.List(ctx)
	if err != nil {
		return nil, err
	}
	for i, inst := range insts {
		insts[i] = p.local(inst)
	}
	return insts, nil
}

// local returns inst with the endpoint applications use through the
// tunnel, or inst itself when that is not known yet.
func (p *Provider) local(inst *dbaas.Instance) *dbaas.Instance {
	if inst == nil || inst.Endpoint.Port == 0 {
		return inst
	}
	var e dbaas.Endpoint
	p.mu.Lock()
	en := p.tunnels[inst.ID]
	if en != nil {
		select {
		case <-en.ready:
			if en.t != nil {
				e = en.t.Endpoint()
			}
		default:
		}
	}
	if e.IsZero() && (en != nil || len(p.tunnels) == 0) {
		// the fixed port, unless another instance's tunnel holds it
		e = p.fixed
	}
	p.mu.Unlock()
	if e.IsZero() {
		return inst
	}
	out := *inst
	out.Endpoint = e
	out.PrivateEndpoint = dbaas.Endpoint{}
	return &out
}

// tunnel returns the open tunnel of id, opening it on first use. Callers
// asking at once share one Open; a failed Open is not remembered, so the
// next call tries again. A tunnel to another endpoint (the instance was
// replaced) is closed and reopened.
func (p *Provider) tunnel(ctx context.Context, id string, remote dbaas.Endpoint) (*Tunnel, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, fmt.Errorf("tunnel provider: closed: %w", dbaas.ErrConflict)
		}
		e, ok := p.tunnels[id]
		if !ok && !p.fixed.IsZero() {
			for other := range p.tunnels {
				p.mu.Unlock()
				return nil, fmt.Errorf("tunnel provider: listen address %s already serves instance %s, and a fixed port serves one instance at a time: %w", p.fixed.Address(), other, dbaas.ErrConflict)
			}
		}
		if !ok {
			e = &entry{ready: make(chan struct{})}
			p.tunnels[id] = e
			p.mu.Unlock()
			cfg := p.cfg
			cfg.Remote = remote
			e.t, e.err = Open(ctx, cfg)
			p.mu.Lock()
			if e.err != nil || p.closed {
				delete(p.tunnels, id)
			}
			closed := p.closed
			p.mu.Unlock()
			close(e.ready)
			if closed && e.t != nil {
				_ = e.t.Close()
				return nil, fmt.Errorf("tunnel provider: closed: %w", dbaas.ErrConflict)
			}
			return e.t, e.err
		}
		p.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err != nil {
			continue
		}
		if e.t.cfg.Remote != remote {
			p.drop(id, e)
			continue
		}
		return e.t, nil
	}
}

// drop closes the tunnel of id when it is still e.
func (p *Provider) drop(id string, e *entry) {
	p.mu.Lock()
	if p.tunnels[id] != e {
		p.mu.Unlock()
		return
	}
	delete(p.tunnels, id)
	p.mu.Unlock()
	if e.t != nil {
		_ = e.t.Close()
	}
}

// Delete deletes the instance and closes its tunnel.
func (p *Provider) Delete(ctx context.Context, id string, opts dbaas.DeleteOptions) error {
	if err := p.Provider.Delete(ctx, id, opts); err != nil {
		return err
	}
	p.mu.Lock()
	e := p.tunnels[id]
	p.mu.Unlock()
	if e != nil {
		<-e.ready
		p.drop(id, e)
	}
	return nil
}

// Start starts a stopped instance when the wrapped provider can
// (dbaas.Starter), and returns ErrUnsupported otherwise, as its
// Capabilities say.
func (p *Provider) Start(ctx context.Context, id string) error {
	s, ok := p.Provider.(dbaas.Starter)
	if !ok {
		return &dbaas.Error{Provider: "tunnel", Op: "start", ID: id, Kind: dbaas.ErrUnsupported, Err: errors.New("the wrapped provider cannot start instances")}
	}
	return s.Start(ctx, id)
}

// Stop stops an instance when the wrapped provider can (dbaas.Starter).
// Its tunnel stays open: connections through it fail until the instance
// is started again.
func (p *Provider) Stop(ctx context.Context, id string) error {
	s, ok := p.Provider.(dbaas.Starter)
	if !ok {
		return &dbaas.Error{Provider: "tunnel", Op: "stop", ID: id, Kind: dbaas.ErrUnsupported, Err: errors.New("the wrapped provider cannot stop instances")}
	}
	return s.Stop(ctx, id)
}

// Tunnel returns the open tunnel of instance id, or nil when none is open.
func (p *Provider) Tunnel(id string) *Tunnel {
	p.mu.Lock()
	e := p.tunnels[id]
	p.mu.Unlock()
	if e == nil {
		return nil
	}
	<-e.ready
	return e.t
}

// Close closes every tunnel, each draining up to DrainTimeout, and
// returns their errors joined. It does not close the wrapped provider.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.closed = true
	entries := make([]*entry, 0, len(p.tunnels))
	for _, e := range p.tunnels {
		entries = append(entries, e)
	}
	p.tunnels = map[string]*entry{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(entries))
	for i, e := range entries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-e.ready
			if e.t != nil {
				errs[i] = e.t.Close()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sqlApps returns the SQL way to the instance's application databases and
// users through its tunnel, when the wrapped provider manages them over
// SQL (whose own connection would not reach the instance from here); ok
// is false when the wrapped provider has another way, used as it is.
func (p *Provider) sqlApps(ctx context.Context, op, id string, check error) (apps driver.Apps, ok bool, err error) {
	if p.Provider.Capabilities().AppUsers != dbaas.AppUsersSQL {
		return nil, false, nil
	}
	if check != nil {
		return nil, true, &dbaas.Error{Provider: "tunnel", Op: op, ID: id, Kind: dbaas.ErrInvalidArgument, Err: check}
	}
	conn, ok := dbaas.ContextConnection(ctx, id)
	if !ok {
		if conn, err = p.Connection(ctx, id); err != nil {
			return nil, true, err
		}
	}
	return driver.SQLApps(conn), true, nil
}

func appErr(op, id string, err error) error {
	if err == nil {
		return nil
	}
	return &dbaas.Error{Provider: "tunnel", Op: op, ID: id, Kind: dbaas.Kind(err), Err: err}
}

// EnsureDatabase is the wrapped provider's, over the tunnel when it works
// over SQL.
func (p *Provider) EnsureDatabase(ctx context.Context, id, name string) error {
	a, ok, err := p.sqlApps(ctx, "ensure database", id, dbaas.ValidateDatabaseName("database", name))
	if err != nil {
		return err
	}
	if !ok {
		return p.Provider.EnsureDatabase(ctx, id, name)
	}
	return appErr("ensure database", id, a.EnsureDatabase(ctx, id, name))
}

// Databases is the wrapped provider's, over the tunnel when it works over
// SQL.
func (p *Provider) Databases(ctx context.Context, id string) ([]string, error) {
	a, ok, err := p.sqlApps(ctx, "databases", id, nil)
	if err != nil {
		return nil, err
	}
	if !ok {
		return p.Provider.Databases(ctx, id)
	}
	out, err := a.Databases(ctx, id)
	return out, appErr("databases", id, err)
}

// DropDatabase is the wrapped provider's, over the tunnel when it works
// over SQL.
func (p *Provider) DropDatabase(ctx context.Context, id, name string) error {
	a, ok, err := p.sqlApps(ctx, "drop database", id, dbaas.ValidateDatabaseName("database", name))
	if err != nil {
		return err
	}
	if !ok {
		return p.Provider.DropDatabase(ctx, id, name)
	}
	return appErr("drop database", id, a.DropDatabase(ctx, id, name))
}

// EnsureUser is the wrapped provider's, over the tunnel when it works over
// SQL.
func (p *Provider) EnsureUser(ctx context.Context, id string, u dbaas.UserSpec) (*dbaas.User, error) {
	a, ok, err := p.sqlApps(ctx, "ensure user", id, u.Validate())
	if err != nil {
		return nil, err
	}
	if !ok {
		return p.Provider.EnsureUser(ctx, id, u)
	}
	out, err := a.EnsureUser(ctx, id, u)
	return out, appErr("ensure user", id, err)
}

// Users is the wrapped provider's, over the tunnel when it works over SQL.
func (p *Provider) Users(ctx context.Context, id string) ([]*dbaas.User, error) {
	a, ok, err := p.sqlApps(ctx, "users", id, nil)
	if err != nil {
		return nil, err
	}
	if !ok {
		return p.Provider.Users(ctx, id)
	}
	out, err := a.Users(ctx, id)
	return out, appErr("users", id, err)
}

// RotatePassword is the wrapped provider's, over the tunnel when it works
// over SQL.
func (p *Provider) RotatePassword(ctx context.Context, id, user string) (*dbaas.User, error) {
	a, ok, err := p.sqlApps(ctx, "rotate password", id, dbaas.ValidateUserName("user", user))
	if err != nil {
		return nil, err
	}
	if !ok {
		return p.Provider.RotatePassword(ctx, id, user)
	}
	out, err := a.SetPassword(ctx, id, user, dbaas.GeneratePassword())
	return out, appErr("rotate password", id, err)
}

// DropUser is the wrapped provider's, over the tunnel when it works over
// SQL.
func (p *Provider) DropUser(ctx context.Context, id, user string) error {
	a, ok, err := p.sqlApps(ctx, "drop user", id, dbaas.ValidateUserName("user", user))
	if err != nil {
		return err
	}
	if !ok {
		return p.Provider.DropUser(ctx, id, user)
	}
	return appErr("drop user", id, a.DropUser(ctx, id, user))
}
