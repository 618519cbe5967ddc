package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
)

// Defaults of an instance whose spec leaves them empty.
const (
	DefaultUser     = "dbadmin"
	DefaultDatabase = "defaultdb"
	DefaultRegion   = "local"
)

// entry is one value of an instance's data store, with the time it was
// written so that a point-in-time restore can cut the history.
type entry struct {
	value string
	at    time.Time
}

type instance struct {
	id, name       string
	seq            uint32
	engine         dbaas.Engine
	version        string
	region, size   string
	nodes          int
	storageGB      int
	port           int
	user, database string
	password       dbaas.Secret
	privateNetwork string
	retentionDays  int
	protected      bool
	tags           map[string]string
	access         []dbaas.Source
	createdAt      time.Time
	// readyAt ends provisioning (or restoring, when restored is set).
	readyAt  time.Time
	restored bool
	stopped  bool
	// backingUpUntil ends the backing-up status of an on-demand backup.
	backingUpUntil time.Time
	// deleteAt is zero unless a Delete is under way; the instance is gone
	// once the clock reaches it.
	deleteAt time.Time
	data     []entry
	// databases and users are the application's (Provider.EnsureUser):
	// database names, and user name → user.
	databases map[string]bool
	users     map[string]*dbaas.User
}

func (in *instance) status(now time.Time) dbaas.Status {
	switch {
	case !in.deleteAt.IsZero():
		return dbaas.StatusDeleting
	case now.Before(in.readyAt) && in.restored:
		return dbaas.StatusRestoring
	case now.Before(in.readyAt):
		return dbaas.StatusProvisioning
	case in.stopped:
		return dbaas.StatusStopped
	case now.Before(in.backingUpUntil):
		return dbaas.StatusBackingUp
	}
	return dbaas.StatusAvailable
}

func (in *instance) endpoint() dbaas.Endpoint {
	return dbaas.Endpoint{Host: hostFor(in.seq), Port: in.port}
}

func (in *instance) privateEndpoint() dbaas.Endpoint {
	if in.privateNetwork == "" {
		return dbaas.Endpoint{}
	}
	return dbaas.Endpoint{Host: privateHostFor(in.seq), Port: in.port}
}

// view is the dbaas.Instance the caller gets: a copy, so that callers
// never share the provider's state.
func (in *instance) view(now time.Time) *dbaas.Instance {
	st := in.status(now)
	out := &dbaas.Instance{
		ID:        in.id,
		Name:      in.name,
		Provider:  Name,
		Engine:    in.engine,
		Version:   in.version,
		Status:    st,
		RawStatus: string(st),
		Region:    in.region,
		Size:      in.size,
		Nodes:     in.nodes,
		StorageGB: in.storageGB,
		CreatedAt: in.createdAt,
		Tags:      maps.Clone(in.tags),
	}
	// Like the clouds, an endpoint exists only once provisioning is over.
	if st != dbaas.StatusProvisioning && st != dbaas.StatusRestoring {
		out.Endpoint = in.endpoint()
		out.PrivateEndpoint = in.privateEndpoint()
	}
	return out
}

// defaultVersion is the version an instance gets when the spec has none.
func defaultVersion(e dbaas.Engine) string {
	switch e {
	case dbaas.Postgres:
		return "15"
	case dbaas.MariaDB:
		return "10.11"
	}
	return "8.0"
}

// newInstanceLocked makes and stores an instance from spec; p.mu is held
// and the name is known to be free.
func (p *store) newInstanceLocked(spec dbaas.Spec, now time.Time) *instance {
	n := p.nextSeqLocked()
	in := &instance{
		id:             fmt.Sprintf("mem-%06d", n),
		name:           spec.Name,
		seq:            n,
		engine:         spec.Engine,
		version:        spec.Version,
		region:         spec.Region,
		size:           spec.Size,
		nodes:          max(spec.Nodes, 1),
		storageGB:      spec.StorageGB,
		port:           spec.Port,
		user:           spec.AdminUser,
		database:       spec.Database,
		password:       spec.AdminPassword,
		privateNetwork: spec.PrivateNetwork,
		retentionDays:  spec.BackupRetentionDays,
		protected:      spec.DeletionProtection,
		tags:           maps.Clone(spec.Tags),
		access:         slices.Clone(spec.Access),
		createdAt:      now,
		readyAt:        now.Add(p.opts.ProvisionDelay),
	}
	if in.version == "" {
		in.version = defaultVersion(in.engine)
	}
	if in.region == "" {
		in.region = p.opts.Region
	}
	if in.region == "" {
		in.region = DefaultRegion
	}
	if in.storageGB == 0 {
		in.storageGB = dbaas.MinStorageGB
	}
	if in.port == 0 {
		in.port = in.engine.DefaultPort()
	}
	if in.user == "" {
		in.user = DefaultUser
	}
	if in.database == "" {
		in.database = DefaultDatabase
	}
	if in.password.IsZero() {
		in.password = generatePassword()
	}
	if in.retentionDays == 0 {
		in.retentionDays = DefaultRetentionDays
	}
	p.instances[in.id] = in
	p.byName[in.name] = in.id
	p.byHost[in.endpoint().Host] = in.id
	return in
}

// sweepLocked removes the instances whose deletion is over; p.mu is held.
// It does nothing until the earliest deletion is due, so that a call
// costs the same however many instances there are.
func (p *store) sweepLocked(now time.Time) {
	if len(p.deleting) == 0 || now.Before(p.nextSweep) {
		return
	}
	p.nextSweep = time.Time{}
	for id := range p.deleting {
		at := p.instances[id].deleteAt
		switch {
		case !now.Before(at):
			p.removeLocked(id)
		case p.nextSweep.IsZero() || at.Before(p.nextSweep):
			p.nextSweep = at
		}
	}
}

func (p *store) removeLocked(id string) {
	in := p.instances[id]
	delete(p.instances, id)
	delete(p.deleting, id)
	delete(p.byName, in.name)
	delete(p.byHost, in.endpoint().Host)
}

// lookupLocked returns the live (possibly deleting) instance id; p.mu is
// held.
func (p *store) lookupLocked(op, id string, now time.Time) (*instance, error) {
	p.sweepLocked(now)
	in, ok := p.instances[id]
	if !ok {
		return nil, newErr(dbaas.ErrNotFound, fmt.Errorf("no instance with id %q", id))
	}
	return in, nil
}

func conflict(op, id string, st dbaas.Status, why string) error {
	return newErr(dbaas.ErrConflict, fmt.Errorf("instance is %s: %s", st, why))
}

// Create validates spec, then starts provisioning: the instance is
// provisioning until Options.ProvisionDelay has passed. A name in use
// (by an instance not yet fully deleted) gives ErrAlreadyExists.
func (p *store) Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error) {
	if err := p.begin(ctx, "create", spec.Name); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.sweepLocked(now)
	if id, ok := p.byName[spec.Name]; ok {
		return nil, newErr(dbaas.ErrAlreadyExists, fmt.Errorf("instance %s has that name", id))
	}
	return p.newInstanceLocked(spec, now).view(now), nil
}

// Get returns the instance, or ErrNotFound.
func (p *store) Get(ctx context.Context, id string) (*dbaas.Instance, error) {
	if err := p.begin(ctx, "get", id); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	in, err := p.lookupLocked("get", id, now)
	if err != nil {
		return nil, err
	}
	return in.view(now), nil
}

// List returns every instance, oldest first.
func (p *store) List(ctx context.Context) ([]*dbaas.Instance, error) {
	if err := p.begin(ctx, "list", ""); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.sweepLocked(now)
	out := make([]*dbaas.Instance, 0, len(p.instances))
	for _, in := range p.instances {
		out = append(out, in.view(now))
	}
	slices.SortFunc(out, func(a, b *dbaas.Instance) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return compareIDs(a.ID, b.ID)
	})
	return out, nil
}

// compareIDs orders ids of the same length (mem-000001) by number.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Delete deletes the instance; one made with Spec.DeletionProtection is
// refused with ErrConflict until SetDeletionProtection turns it off. Unless opts.SkipFinalBackup is set it
// first takes a final backup named dbaas.FinalBackupName, which outlives
// the instance: Backups(id) lists it after the deletion and Restore takes
// it. A final backup name in use gives ErrAlreadyExists and deletes
// nothing. The instance is deleting for Options.DeleteDelay, then gone.
func (p *store) Delete(ctx context.Context, id string, opts dbaas.DeleteOptions) error {
	if opts.FinalBackupName != "" {
		if err := checkBackupName("delete", id, "final_backup_name", opts.FinalBackupName); err != nil {
			return err
		}
	}
	if err := p.begin(ctx, "delete", id); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	in, err := p.lookupLocked("delete", id, now)
	if err != nil {
		return err
	}
	if st := in.status(now); st == dbaas.StatusDeleting {
		return conflict("delete", id, st, "it is being deleted already")
	}
	if in.protected {
		return newErr(dbaas.ErrConflict, fmt.Errorf("deletion protection is on: turn it off with SetDeletionProtection first"))
	}
	if !opts.SkipFinalBackup {
		name := driver.FinalBackupName(opts, in.name, now)
		if other, ok := p.names[name]; ok {
			return newErr(dbaas.ErrAlreadyExists, fmt.Errorf("final backup name %q is taken by backup %s: nothing was deleted", name, other))
		}
		p.newBackupLocked(in, name, dbaas.BackupFinal, now)
	}
	if p.opts.DeleteDelay <= 0 {
		p.removeLocked(id)
		return nil
	}
	in.deleteAt = now.Add(p.opts.DeleteDelay)
	p.deleting[id] = true
	if p.nextSweep.IsZero() || in.deleteAt.Before(p.nextSweep) {
		p.nextSweep = in.deleteAt
	}
	return nil
}

// Connection returns the instance's loopback endpoint (a host of its own
// in 127.0.0.0/8, so that it names exactly this instance), credentials
// and database, with TLS disabled. Before provisioning is over there is
// no endpoint yet: ErrConflict.
func (p *store) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	if err := p.begin(ctx, "connection", id); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	in, err := p.lookupLocked("connection", id, now)
	if err != nil {
		return nil, err
	}
	switch st := in.status(now); st {
	case dbaas.StatusProvisioning, dbaas.StatusRestoring, dbaas.StatusDeleting:
		return nil, conflict("connection", id, st, "it has no endpoint: wait until it is available")
	}
	return &dbaas.ConnectionInfo{
		Engine:          in.engine,
		Endpoint:        in.endpoint(),
		PrivateEndpoint: in.privateEndpoint(),
		User:            in.user,
		Password:        in.password,
		Database:        in.database,
		TLS:             dbaas.TLSDisable,
	}, nil
}

// Stop stops an available instance; stopping a stopped one does nothing.
func (p *store) Stop(ctx context.Context, id string) error {
	return p.setStopped(ctx, "stop", id, true)
}

// Start starts a stopped instance; starting an available one does
// nothing.
func (p *store) Start(ctx context.Context, id string) error {
	return p.setStopped(ctx, "start", id, false)
}

func (p *store) setStopped(ctx context.Context, op, id string, stop bool) error {
	if err := p.begin(ctx, op, id); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	in, err := p.lookupLocked(op, id, now)
	if err != nil {
		return err
	}
	switch st := in.status(now); {
	case st == dbaas.StatusStopped || st == dbaas.StatusAvailable:
		in.stopped = stop
		return nil
	default:
		return conflict(op, id, st, "only an available or stopped instance can be started or stopped")
	}
}

// SetDeletionProtection turns the deletion protection of an instance on
// or off, as the clouds' modify calls do.
func (p *store) setDeletionProtection(ctx context.Context, id string, on bool) error {
	if err := requireID(id); err != nil {
		return err
	}
	if err := p.begin(ctx, "set deletion protection", id); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	in, err := p.lookupLocked("set deletion protection", id, p.now())
	if err != nil {
		return err
	}
	in.protected = on
	return nil
}
