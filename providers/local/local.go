package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

const providerName = "local"

// Defaults for what a Spec leaves empty.
const (
	DefaultAdminUser = "admin"
	DefaultDatabase  = "app"
)

// Sizes lists the sizes Create accepts: they set the servers' memory
// (shared_buffers, innodb_buffer_pool_size) and connection limits.
func Sizes() []string { return []string{"small", "medium", "large"} }

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 2 * time.Minute

func init() { dbaas.Register(providerName, open) }

// open is the registry's opener. Settings: state_dir, run_as.
func open(ctx context.Context, cfg dbaas.Config) (dbaas.Provider, error) {
	if err := dbaas.UnknownSettings(providerName, cfg.Settings, "state_dir", "run_as"); err != nil {
		return nil, err
	}
	if !cfg.Token.IsZero() || cfg.BaseURL != "" {
		return nil, fmt.Errorf("open %s: token and base URL mean nothing to local servers: leave them empty: %w", providerName, dbaas.ErrInvalidArgument)
	}
	return New(ctx, Options{StateDir: cfg.Settings["state_dir"], RunAs: cfg.Settings["run_as"]})
}

// Options configures New. The zero value is usable.
type Options struct {
	// StateDir holds the instances' state, data and backups; default
	// DefaultStateDir().
	StateDir string
	// RunAs is the system user the servers run as when this process is
	// root; default DefaultRunAs, created when missing. Ignored (and must
	// be empty or the current user) when not root.
	RunAs string
	// Installations replaces discovery of the installed engines.
	Installations []Installation
}

// DefaultStateDir is /var/lib/dbaaskit/local for root (the servers' user
// cannot enter /root) and $XDG_STATE_HOME/dbaaskit/local, or
// ~/.local/state/dbaaskit/local, for anyone else.
func DefaultStateDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/dbaaskit/local"
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "dbaaskit", "local")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "dbaaskit-local")
	}
	return filepath.Join(home, ".local", "state", "dbaaskit", "local")
}

// Provider runs database servers on this machine. It is safe for
// concurrent use. Close it to wait for provisioning in progress; the
// servers keep running after Close (and after the process ends) until
// Stop or Delete.
type Provider struct {
	store store
	acct  account
	insts []Installation

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	locks  map[string]chan struct{}
	ops    map[string]string // operation in progress per instance, for Status
	closed bool
}

var (
	_ dbaas.Provider = (*Provider)(nil)
	_ dbaas.Starter  = (*Provider)(nil)
)

// New returns a provider with its state in opts.StateDir, checking that
// the directory can be written and that the servers' user can enter it.
func New(ctx context.Context, opts Options) (*Provider, error) {
	dir := opts.StateDir
	if dir == "" {
		dir = DefaultStateDir()
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("local: state directory %q: %w", opts.StateDir, err)
	}
	acct, err := resolveAccount(ctx, opts.RunAs)
	if err != nil {
		return nil, dbaas.NewError("open", providerName, dbaas.ErrInvalidArgument, err)
	}
	st := store{dir: dir}
	if err := st.init(); err != nil {
		return nil, dbaas.NewError("open", providerName, dbaas.ErrPermissionDenied,
			fmt.Errorf("state directory %s cannot be created or written (%w): choose a writable directory (Options.StateDir, setting state_dir)", dir, err))
	}
	if d, mode := acct.canEnter(dir); d != "" {
		return nil, dbaas.NewError("open", providerName, dbaas.ErrPermissionDenied,
			fmt.Errorf("state directory %s: the servers run as user %s (this process is root and PostgreSQL refuses root), who cannot enter %s (mode %04o): choose a state directory it can reach, such as %s, or chmod o+x %s",
				dir, acct.name, d, mode, "/var/lib/dbaaskit/local", d))
	}
	insts := opts.Installations
	if insts == nil {
		insts = Discover(ctx)
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &Provider{store: st, acct: acct, insts: insts, ctx: pctx, cancel: cancel,
		locks: map[string]chan struct{}{}, ops: map[string]string{}}, nil
}

// Close stops provisioning in progress (those instances become failed,
// their files removed) and waits for it. Running servers keep running.
func (p *Provider) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	return nil
}

// StateDir returns the state directory.
func (p *Provider) StateDir() string { return p.store.dir }

// RunAs returns the OS user the servers run as.
func (p *Provider) RunAs() string { return p.acct.name }

// Installations returns the installed engine versions this provider
// offers.
func (p *Provider) Installations() []Installation { return slices.Clone(p.insts) }

func (p *Provider) installation(e dbaas.Engine, version string) (Installation, error) {
	return pick(p.insts, e, version)
}

// Capabilities: CIDR access, on-demand and final backups, restore,
// custom ports, start and stop, and a CA certificate (each instance's
// own); no point-in-time restore or private network.
func (p *Provider) Capabilities() dbaas.Capabilities {
	var engines []dbaas.Engine
	for _, e := range []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB} {
		if _, err := pick(p.insts, e, ""); err == nil {
			engines = append(engines, e)
		}
	}
	return dbaas.Capabilities{
		Engines:             engines,
		SourceKinds:         []dbaas.SourceKind{dbaas.SourceCIDR},
		Provision:           true,
		Access:              true,
		OnDemandBackup:      true,
		ListBackups:         true,
		Restore:             true,
		FinalBackup:         true,
		CustomPort:          true,
		ReadablePassword:    true,
		CACertificate:       true,
		StartStop:           true,
		TypicalProvisioning: 2 * time.Second,
	}
}

// As reports false: there is no underlying client.
func (p *Provider) As(any) bool { return false }

// server is what each engine does.
type server interface {
	initialize(ctx context.Context, r *record, in Installation) error
	configure(r *record) error
	command(r *record, in Installation, first bool) (string, []string)
	pidFile(r *record) string
	stopSignal() syscall.Signal
	ping(ctx context.Context, r *record) error
	afterStart(ctx context.Context, r *record, first bool) error
	applyAccess(ctx context.Context, r *record) error
	backup(ctx context.Context, r *record, in Installation, dir string) (string, error)
	restoreFiles(ctx context.Context, b *backupRecord, r *record) error
	setPassword(ctx context.Context, r *record, old, pw string) error
}

func (p *Provider) engine(e dbaas.Engine) server {
	if e == dbaas.Postgres {
		return postgres{p}
	}
	return mariadb{p}
}

// lockInstance serialises changes to one instance.
func (p *Provider) lockInstance(ctx context.Context, id string) (func(), error) {
	p.mu.Lock()
	ch, ok := p.locks[id]
	if !ok {
		ch = make(chan struct{}, 1)
		p.locks[id] = ch
	}
	p.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Provider) setOp(id, op string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if op == "" {
		delete(p.ops, id)
	} else {
		p.ops[id] = op
	}
}

func (p *Provider) op(id string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ops[id]
}

// get reads an instance's record, mapping absence to ErrNotFound.
func (p *Provider) get(op, id string) (*record, error) {
	if id == "" || strings.ContainsAny(id, "/\\") || strings.HasPrefix(id, ".") {
		return nil, dbaas.NewError(op, id, dbaas.ErrNotFound, errors.New("no such instance"))
	}
	r, err := p.store.readRecord(id)
	if errors.Is(err, os.ErrNotExist) {
		return nil, dbaas.NewError(op, id, dbaas.ErrNotFound, errors.New("no such instance"))
	}
	if err != nil {
		return nil, dbaas.NewError(op, id, nil, err)
	}
	return r, nil
}

// marker is a string in the server's command line that names this
// instance, so a reused pid is not taken for its server.
func (p *Provider) marker(r *record) string { return p.store.serverDir(r.ID) + "/" }

// serverPID is the pid of the instance's live server, or 0. Without a
// pid file (its data directory removed, say) it looks for the server by
// its command line, so a server is never left running unseen.
func (p *Provider) serverPID(r *record) int {
	pid := readPID(p.engine(r.Engine).pidFile(r))
	if alive(pid, p.marker(r)) {
		return pid
	}
	return findServer(p.marker(r))
}

func (p *Provider) dataMissing(r *record) bool {
	_, err := os.Stat(filepath.Join(p.store.serverDir(r.ID), "data"))
	return errors.Is(err, os.ErrNotExist)
}

// status derives the normalized status from the record, the operation in
// progress and the server process.
func (p *Provider) status(r *record) (dbaas.Status, string) {
	op := p.op(r.ID)
	switch r.State {
	case stateProvisioning, stateRestoring:
		if op != "" || p.store.building(r.ID) {
			if r.State == stateRestoring {
				return dbaas.StatusRestoring, r.State
			}
			return dbaas.StatusProvisioning, r.State
		}
		// The build may have finished between reading r and looking at
		// the operation and the lock: read the record again before
		// calling it interrupted.
		if fresh, err := p.store.readRecord(r.ID); err == nil && fresh.State != r.State {
			*r = *fresh
			return p.status(r)
		}
		return dbaas.StatusFailed, "interrupted: the process creating it ended before it was ready; delete it and create it again"
	case stateStopped:
		return dbaas.StatusStopped, r.State
	case stateFailed:
		return dbaas.StatusFailed, "failed: " + r.Message
	}
	switch op {
	case "deleting":
		return dbaas.StatusDeleting, op
	case "starting":
		return dbaas.StatusProvisioning, op
	case "modifying":
		return dbaas.StatusModifying, op
	}
	if p.dataMissing(r) {
		return dbaas.StatusFailed, "data directory missing: " + filepath.Join(p.store.serverDir(r.ID), "data") + " was removed"
	}
	if p.serverPID(r) == 0 {
		return dbaas.StatusFailed, "exited: the server is not running; Start it"
	}
	if op == "backing-up" {
		return dbaas.StatusBackingUp, op
	}
	return dbaas.StatusAvailable, r.State
}

func (p *Provider) instance(r *record) *dbaas.Instance {
	st, raw := p.status(r)
	inst := &dbaas.Instance{ID: r.ID, Name: r.Name, Provider: providerName, Engine: r.Engine, Version: r.Version,
		Status: st, RawStatus: raw, Region: "local", Size: r.Size, Nodes: 1, CreatedAt: r.CreatedAt}
	if len(r.Tags) > 0 {
		inst.Tags = make(map[string]string, len(r.Tags))
		for k, v := range r.Tags {
			inst.Tags[k] = v
		}
	}
	if st != dbaas.StatusFailed || r.State == stateRunning {
		inst.Endpoint = dbaas.Endpoint{Host: "127.0.0.1", Port: r.Port}
	}
	return inst
}

// Get returns the instance; its status says whether its server runs.
func (p *Provider) Get(ctx context.Context, id string) (*dbaas.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, dbaas.NewError("get", id, nil, err)
	}
	r, err := p.get("get", id)
	if err != nil {
		return nil, err
	}
	return p.instance(r), nil
}

// List returns every instance in the state directory. A corrupt state
// file is an error naming it.
func (p *Provider) List(ctx context.Context) ([]*dbaas.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, dbaas.NewError("list", "", nil, err)
	}
	ids, err := listIDs(p.store.instancesDir())
	if err != nil {
		return nil, dbaas.NewError("list", "", nil, fmt.Errorf("state directory %s: %w", p.store.dir, err))
	}
	out := make([]*dbaas.Instance, 0, len(ids))
	for _, id := range ids {
		r, err := p.store.readRecord(id)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, dbaas.NewError("list", id, nil, err)
		}
		out = append(out, p.instance(r))
	}
	return out, nil
}

// Connection returns 127.0.0.1, the port, the admin credentials, the
// database and, as the clouds do, TLS required with the instance's own CA
// certificate. The server certificate names 127.0.0.1, ::1, localhost,
// the host name and the machine's addresses, so a client holding the CA
// may check the host name too (verify-full). The mode is TLSRequire, not
// TLSVerifyFull, so that a URL built without DSNOptions.CAFile still
// connects (pgx and libpq check verify-full against the system roots when
// no CA file is named); with CAFile PostgresURL checks the chain
// (verify-ca), and MySQLConfig checks chain and host name against
// CACertPEM. Instances made before the servers spoke TLS report
// TLSDisable and no CA.
func (p *Provider) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, dbaas.NewError("connection", id, nil, err)
	}
	r, err := p.get("connection", id)
	if err != nil {
		return nil, err
	}
	info := &dbaas.ConnectionInfo{Engine: r.Engine, Endpoint: dbaas.Endpoint{Host: "127.0.0.1", Port: r.Port},
		User: r.AdminUser, Password: dbaas.NewSecret(r.Password), Database: r.Database, TLS: dbaas.TLSDisable}
	if r.tls() {
		info.TLS, info.CACertPEM = dbaas.TLSRequire, []byte(r.CACert)
	}
	return info, nil
}

func newID(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// generatePassword returns 24 random letters and digits from crypto/rand.
func generatePassword() string {
	const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// checkSpec applies this provider's rules after Spec.Validate.
func (p *Provider) checkSpec(spec dbaas.Spec) error {
	var problems []dbaas.FieldError
	add := func(field, rule string) { problems = append(problems, dbaas.FieldError{Field: field, Rule: rule}) }
	if !slices.Contains(Sizes(), spec.Size) {
		add("size", "must be one of "+strings.Join(Sizes(), ", "))
	}
	if spec.Nodes > 1 {
		add("nodes", "local instances have one node: leave it 0 or 1")
	}
	if spec.StorageGB != 0 {
		add("storage_gb", "local instances use the state directory's disk: leave it 0")
	}
	if spec.PrivateNetwork != "" || spec.Subnet != "" {
		add("private_network", "local instances have no private network: leave it empty")
	}
	if spec.BackupRetentionDays != 0 {
		add("backup_retention_days", "local instances have no automated backups: leave it 0 and use Backup")
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Options)) {
		add("options["+k+"]", "the local provider takes no options")
	}
	for i, s := range spec.Access {
		if spec.Engine == dbaas.MariaDB && s.Kind == dbaas.SourceCIDR {
			if _, err := hostPattern(s.Value); err != nil {
				add(fmt.Sprintf("access[%d]", i), err.Error())
			}
		}
	}
	if len(problems) > 0 {
		return &dbaas.ValidationError{Problems: problems}
	}
	return nil
}

// portFree reports whether nothing on this machine listens on port.
func portFree(port int) error {
	for _, addr := range []string{"127.0.0.1:" + strconv.Itoa(port), ":" + strconv.Itoa(port)} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		_ = l.Close()
	}
	return nil
}

// admit validates spec and writes the new instance's record in state
// (provisioning or restoring), with a name and a port no other instance
// holds. The state lock makes the check and the write one step across
// processes, so concurrent creates never share a port.
func (p *Provider) admit(op string, spec dbaas.Spec, state string, in Installation, password string) (*record, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, dbaas.NewError(op, spec.Name, dbaas.ErrConflict, errors.New("provider is closed"))
	}
	unlock, err := p.store.lock()
	if err != nil {
		return nil, dbaas.NewError(op, spec.Name, nil, fmt.Errorf("lock state directory %s: %w", p.store.dir, err))
	}
	defer unlock()
	ids, err := listIDs(p.store.instancesDir())
	if err != nil {
		return nil, dbaas.NewError(op, spec.Name, nil, fmt.Errorf("state directory %s: %w", p.store.dir, err))
	}
	used := map[int]string{}
	for _, id := range ids {
		r, err := p.store.readRecord(id)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, dbaas.NewError(op, spec.Name, nil, err)
		}
		if r.Name == spec.Name {
			return nil, dbaas.NewError(op, spec.Name, dbaas.ErrAlreadyExists, fmt.Errorf("instance %s is named %s already", r.ID, r.Name))
		}
		used[r.Port] = r.ID
	}
	port := spec.Port
	if port != 0 {
		if owner, ok := used[port]; ok {
			return nil, dbaas.NewError(op, spec.Name, dbaas.ErrConflict, fmt.Errorf("port %d belongs to instance %s: choose another port, or leave port 0 for a free one", port, owner))
		}
		if err := portFree(port); err != nil {
			return nil, dbaas.NewError(op, spec.Name, dbaas.ErrConflict, fmt.Errorf("port %d is in use on this machine (%v): choose another port, or leave port 0 for a free one", port, err))
		}
	} else {
		for range 100 {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return nil, dbaas.NewError(op, spec.Name, nil, fmt.Errorf("find a free port: %w", err))
			}
			cand := l.Addr().(*net.TCPAddr).Port
			_ = l.Close()
			if _, taken := used[cand]; !taken && portFree(cand) == nil {
				port = cand
				break
			}
		}
		if port == 0 {
			return nil, dbaas.NewError(op, spec.Name, dbaas.ErrConflict, errors.New("no free port found"))
		}
	}
	certs, err := newCerts(spec.Name)
	if err != nil {
		return nil, dbaas.NewError(op, spec.Name, nil, err)
	}
	r := &record{ID: newID("local-"), Name: spec.Name, Engine: spec.Engine, Version: in.Version, Size: spec.Size,
		Port: port, AdminUser: spec.AdminUser, Password: password, Database: spec.Database,
		PublicAccess: spec.PublicAccess, Protected: spec.DeletionProtection, Tags: spec.Tags,
		CreatedAt: time.Now().UTC().Truncate(time.Second), State: state, CACert: string(certs.caPEM), certs: certs}
	if r.AdminUser == "" {
		r.AdminUser = DefaultAdminUser
	}
	if r.Database == "" {
		r.Database = DefaultDatabase
	}
	for _, s := range spec.Access {
		if !slices.Contains(r.Access, s.Value) {
			r.Access = append(r.Access, s.Value)
		}
	}
	slices.Sort(r.Access)
	if err := p.store.writeRecord(r); err != nil {
		return nil, dbaas.NewError(op, spec.Name, nil, fmt.Errorf("write state in %s: %w", p.store.instancesDir(), err))
	}
	return r, nil
}

// Create checks spec, records the instance and provisions it in the
// background: initdb or mariadb-install-db, start, admin user and
// database. The instance is provisioning until its server accepts
// connections, then available; failed (with the reason in RawStatus and
// its files removed) when a step fails.
func (p *Provider) Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error) {
	if err := spec.Validate(); err != nil {
		return nil, dbaas.NewError("create", spec.Name, nil, err)
	}
	if err := dbaas.CheckSources(providerName, p.Capabilities(), spec.Access); err != nil {
		return nil, dbaas.NewError("create", spec.Name, nil, err)
	}
	if err := p.checkSpec(spec); err != nil {
		return nil, dbaas.NewError("create", spec.Name, nil, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, dbaas.NewError("create", spec.Name, nil, err)
	}
	in, err := p.installation(spec.Engine, spec.Version)
	if err != nil {
		return nil, dbaas.NewError("create", spec.Name, nil, err)
	}
	pw := spec.AdminPassword.Reveal()
	if pw == "" {
		pw = generatePassword()
	}
	r, err := p.admit("create", spec, stateProvisioning, in, pw)
	if err != nil {
		return nil, err
	}
	return p.provision(r, in, nil, ""), nil
}

// provision builds the instance's server in the background and returns
// the instance as it starts. The instance lock is taken before it
// returns, so no other call sees it half made.
func (p *Provider) provision(r *record, in Installation, b *backupRecord, newPassword string) *dbaas.Instance {
	op := "provisioning"
	if b != nil {
		op = "restoring"
	}
	p.setOp(r.ID, op)
	unlock, _ := p.lockInstance(context.Background(), r.ID)
	release, lockErr := p.store.buildLock(r.ID)
	started := p.instance(r)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer unlock()
		if lockErr == nil {
			defer release()
		}
		defer p.setOp(r.ID, "")
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Minute)
		defer cancel()
		if err := p.build(ctx, r, in, b, newPassword); err != nil {
			r.State = stateFailed
			r.Message = scrub(err.Error(), r.Password, newPassword)
			if ctx.Err() != nil && p.ctx.Err() != nil {
				r.Message = "interrupted: the provider was closed while it was being made; delete it and create it again"
			}
		} else {
			r.State = stateRunning
		}
		// A failed write leaves the record provisioning, which Get reports
		// as failed (interrupted) once this goroutine is done.
		_ = p.store.writeRecord(r)
	}()
	return started
}

// build makes the server; on failure it removes what it made.
func (p *Provider) build(ctx context.Context, r *record, in Installation, b *backupRecord, newPassword string) (err error) {
	eng := p.engine(r.Engine)
	dir := p.store.serverDir(r.ID)
	defer func() {
		if err != nil {
			if pid := p.serverPID(r); pid != 0 {
				_ = stopProcess(context.WithoutCancel(ctx), pid, p.marker(r), syscall.SIGKILL, 5*time.Second)
			}
			_ = os.RemoveAll(dir)
		}
	}()
	if err := p.acct.mkdirOwned(dir); err != nil {
		return err
	}
	if r.certs == nil {
		return errors.New("the instance's TLS certificate was lost: delete it and create it again")
	}
	if err := p.writeCerts(r, r.certs); err != nil {
		return err
	}
	// A logical backup is loaded into a fresh server; a physical one is
	// copied in place of one.
	logical := b != nil && b.Method == methodMariaDump
	if b == nil || logical {
		if err := eng.initialize(ctx, r, in); err != nil {
			return err
		}
	} else if err := eng.restoreFiles(ctx, b, r); err != nil {
		return err
	}
	if err := eng.configure(r); err != nil {
		return err
	}
	if err := p.startServer(ctx, r, in, b == nil || logical); err != nil {
		return err
	}
	if logical {
		if err := (mariadb{p}).loadDump(ctx, b, r); err != nil {
			return err
		}
	}
	if b != nil && newPassword != "" && newPassword != r.Password {
		if err := eng.setPassword(ctx, r, r.Password, newPassword); err != nil {
			return err
		}
		r.Password = newPassword
		if err := eng.configure(r); err != nil {
			return err
		}
	}
	if b != nil {
		return eng.applyAccess(ctx, r)
	}
	return nil
}

// startServer spawns the server and waits until the admin user can log in.
func (p *Provider) startServer(ctx context.Context, r *record, in Installation, first bool) error {
	eng := p.engine(r.Engine)
	if old := readPID(eng.pidFile(r)); old != 0 && !alive(old, p.marker(r)) {
		// A killed server's children may still hold its shared memory.
		killLeftovers(ctx, old)
	}
	name, args := eng.command(r, in, first)
	logPath := filepath.Join(p.store.serverDir(r.ID), "server.log")
	pid, exited, err := p.spawn(logPath, name, args...)
	if err != nil {
		return fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		select {
		case <-exited:
			return fmt.Errorf("server exited while starting: %s (log: %s)", tailFile(logPath, 6), logPath)
		case <-ctx.Done():
			_ = stopProcess(context.WithoutCancel(ctx), pid, p.marker(r), syscall.SIGKILL, 5*time.Second)
			return fmt.Errorf("server did not accept connections within %s: %w (log: %s)", startTimeout, ctx.Err(), logPath)
		case <-time.After(50 * time.Millisecond):
		}
		pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
		err := eng.ping(pctx, r)
		pcancel()
		if err == nil {
			break
		}
	}
	if err := eng.afterStart(ctx, r, first); err != nil {
		_ = stopProcess(context.WithoutCancel(ctx), pid, p.marker(r), eng.stopSignal(), 30*time.Second)
		return err
	}
	return nil
}

// scrub removes secrets from a message that may quote a tool's output.
func scrub(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

// Start starts a stopped (or dead) instance's server and returns once it
// accepts connections. Starting a running instance does nothing.
func (p *Provider) Start(ctx context.Context, id string) error {
	unlock, err := p.lockInstance(ctx, id)
	if err != nil {
		return dbaas.NewError("start", id, nil, err)
	}
	defer unlock()
	r, err := p.get("start", id)
	if err != nil {
		return err
	}
	switch r.State {
	case stateFailed, stateProvisioning, stateRestoring:
		return dbaas.NewError("start", id, dbaas.ErrConflict, fmt.Errorf("instance was never made (%s): delete it and create it again", r.State))
	}
	if p.dataMissing(r) {
		return dbaas.NewError("start", id, dbaas.ErrConflict, fmt.Errorf("data directory %s was removed: the instance's data is gone; delete it (SkipFinalBackup) and restore it from a backup",
			filepath.Join(p.store.serverDir(r.ID), "data")))
	}
	if p.serverPID(r) != 0 {
		return nil
	}
	in, err := p.installation(r.Engine, r.Version)
	if err != nil {
		return dbaas.NewError("start", id, nil, err)
	}
	p.setOp(id, "starting")
	defer p.setOp(id, "")
	if err := p.engine(r.Engine).configure(r); err != nil {
		return dbaas.NewError("start", id, nil, err)
	}
	if err := p.startServer(ctx, r, in, false); err != nil {
		return dbaas.NewError("start", id, nil, errors.New(scrub(err.Error(), r.Password)))
	}
	r.State = stateRunning
	if err := p.store.writeRecord(r); err != nil {
		return dbaas.NewError("start", id, nil, err)
	}
	return nil
}

// Stop stops the instance's server (a fast, clean shutdown). Stopping a
// stopped instance does nothing.
func (p *Provider) Stop(ctx context.Context, id string) error {
	unlock, err := p.lockInstance(ctx, id)
	if err != nil {
		return dbaas.NewError("stop", id, nil, err)
	}
	defer unlock()
	r, err := p.get("stop", id)
	if err != nil {
		return err
	}
	if r.State != stateRunning && r.State != stateStopped {
		return dbaas.NewError("stop", id, dbaas.ErrConflict, fmt.Errorf("instance is %s", r.State))
	}
	if pid := p.serverPID(r); pid != 0 {
		if err := stopProcess(ctx, pid, p.marker(r), p.engine(r.Engine).stopSignal(), time.Minute); err != nil {
			return dbaas.NewError("stop", id, nil, err)
		}
	}
	r.State = stateStopped
	if err := p.store.writeRecord(r); err != nil {
		return dbaas.NewError("stop", id, nil, err)
	}
	return nil
}

// Delete takes a final backup unless opts.SkipFinalBackup, then stops the
// server and removes its files and its record. Backups stay.
func (p *Provider) Delete(ctx context.Context, id string, opts dbaas.DeleteOptions) error {
	unlock, err := p.lockInstance(ctx, id)
	if err != nil {
		return dbaas.NewError("delete", id, nil, err)
	}
	defer unlock()
	r, err := p.get("delete", id)
	if err != nil {
		return err
	}
	if r.Protected {
		return dbaas.NewError("delete", id, dbaas.ErrConflict, errors.New("deletion protection is on"))
	}
	if !opts.SkipFinalBackup {
		if _, err := p.backupLocked(ctx, r, dbaas.FinalBackupName(opts, r.Name, time.Now()), dbaas.BackupFinal); err != nil {
			return dbaas.NewError("delete", id, nil, fmt.Errorf("final backup: %w (nothing was deleted; set SkipFinalBackup to delete without one)", err))
		}
	}
	p.setOp(id, "deleting")
	defer p.setOp(id, "")
	if pid := p.serverPID(r); pid != 0 {
		if err := stopProcess(ctx, pid, p.marker(r), p.engine(r.Engine).stopSignal(), time.Minute); err != nil {
			return dbaas.NewError("delete", id, nil, err)
		}
	}
	if err := os.RemoveAll(p.store.serverDir(id)); err != nil {
		return dbaas.NewError("delete", id, nil, err)
	}
	_ = os.Remove(filepath.Join(os.TempDir(), "dbaaskit-"+id+".sock"))
	if err := p.store.removeRecord(id); err != nil {
		return dbaas.NewError("delete", id, nil, err)
	}
	p.mu.Lock()
	delete(p.locks, id)
	p.mu.Unlock()
	return nil
}
