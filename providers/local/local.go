package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
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
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
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

// capabilities are what a local provider can do when both engines are
// installed: CIDR access, on-demand and final backups, restore, custom
// ports, start and stop, and a CA certificate (each instance's own); no
// point-in-time restore, private network, storage size or automated
// backups. An opened provider offers the engines installed.
var capabilities = dbaas.Capabilities{
	Engines:             []dbaas.Engine{dbaas.Postgres, dbaas.MariaDB},
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
	AppUsers:            dbaas.AppUsersSQL,
	RefusedFields:       []string{"StorageGB", "PrivateNetwork", "Subnet", "BackupRetentionDays"},
	TypicalProvisioning: 2 * time.Second,
}

// Settings dbaas.Open("local", cfg) reads from cfg.Settings.
const (
	SettingStateDir = "state_dir"
	SettingRunAs    = "run_as"
)

// info is the local provider's registration.
var info = driver.Info{
	Capabilities: capabilities,
	Settings:     []string{SettingStateDir, SettingRunAs},
	Open: func(ctx context.Context, cfg dbaas.Config) (driver.Driver, error) {
		if !cfg.Token.IsZero() || cfg.BaseURL != "" {
			return nil, &dbaas.Error{Op: "open", Provider: providerName, Kind: dbaas.ErrInvalidArgument,
				Err: errors.New("token and base URL mean nothing to local servers: leave them empty")}
		}
		return open(ctx, Options{StateDir: cfg.Settings[SettingStateDir], RunAs: cfg.Settings[SettingRunAs], Observer: cfg.Observer})
	},
}

func init() { driver.Register(providerName, info) }

// Options configures New. The zero value is usable.
type Options struct {
	// StateDir holds the instances' state, data and backups; default
	// DefaultStateDir().
	StateDir string
	// RunAs is the system user every server runs as when this process is
	// root. Empty (the default) gives each new instance a system user of
	// its own, made at create and removed at delete, so that one
	// instance's server cannot read another's files; instances made
	// before that run as DefaultRunAs, created when missing. Must be
	// empty or the current user when not root.
	RunAs string
	// Installations replaces discovery of the installed engines.
	Installations []Installation
	// Observer is told of every call; nil means dbaas.SlogObserver(nil).
	Observer dbaas.Observer
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
	dbaas.Provider
	s *servers
}

var (
	_ dbaas.Provider = (*Provider)(nil)
	_ dbaas.Starter  = (*Provider)(nil)
)

// servers is the driver: the state directory and the servers it names.
type servers struct {
	self  *Provider // the provider around it, for As
	opts  Options
	store store
	acct  account
	// perInstance is true when each new instance gets a system user of
	// its own (root, no RunAs).
	perInstance bool
	insts       []Installation

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	locks  map[string]chan struct{}
	ops    map[string]string // operation in progress per instance, for Status
	closed bool
}

// New returns a provider with its state in opts.StateDir, checking that
// the directory can be written and that the servers' user can enter it.
func New(ctx context.Context, opts Options) (*Provider, error) {
	s, err := open(ctx, opts)
	if err != nil {
		return nil, err
	}
	s.self = &Provider{Provider: driver.NewProvider(providerName, s, info, opts.Observer), s: s}
	return s.self, nil
}

func open(ctx context.Context, opts Options) (*servers, error) {
	dir := opts.StateDir
	if dir == "" {
		dir = DefaultStateDir()
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, &dbaas.Error{Op: "open", Provider: providerName, Kind: dbaas.ErrInvalidArgument,
			Err: fmt.Errorf("state directory %q: %w", opts.StateDir, err)}
	}
	acct, err := resolveAccount(ctx, opts.RunAs)
	if err != nil {
		return nil, &dbaas.Error{Op: "open", Provider: providerName, Kind: dbaas.ErrInvalidArgument, Err: err}
	}
	st := store{dir: dir}
	if err := st.init(); err != nil {
		return nil, &dbaas.Error{Op: "open", Provider: providerName, Kind: dbaas.ErrPermissionDenied,
			Err: fmt.Errorf("state directory %s cannot be created or written (%w): choose a writable directory (Options.StateDir, setting state_dir)", dir, err)}
	}
	if d, mode := acct.canEnter(dir); d != "" {
		return nil, &dbaas.Error{Op: "open", Provider: providerName, Kind: dbaas.ErrPermissionDenied,
			Err: fmt.Errorf("state directory %s: the servers run as unprivileged system users (%s, or each instance's own: this process is root and PostgreSQL refuses root), who cannot enter %s (mode %04o): choose a state directory they can reach, such as %s, or chmod o+x %s",
				dir, acct.name, d, mode, "/var/lib/dbaaskit/local", d)}
	}
	insts := opts.Installations
	if insts == nil {
		insts = Discover(ctx)
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &servers{opts: opts, store: st, acct: acct, perInstance: os.Geteuid() == 0 && opts.RunAs == "",
		insts: insts, ctx: pctx, cancel: cancel,
		locks: map[string]chan struct{}{}, ops: map[string]string{}}, nil
}

// Start starts a stopped (or dead) instance's server and returns once it
// accepts connections. Starting a running instance does nothing.
func (p *Provider) Start(ctx context.Context, id string) error {
	return p.Provider.(dbaas.Starter).Start(ctx, id)
}

// Stop stops the instance's server (a fast, clean shutdown). Stopping a
// stopped instance does nothing.
func (p *Provider) Stop(ctx context.Context, id string) error {
	return p.Provider.(dbaas.Starter).Stop(ctx, id)
}

// StateDir returns the state directory.
func (p *Provider) StateDir() string { return p.s.store.dir }

// RunAs returns the OS user the servers share: the current user when not
// root; as root, RunAs when set, else DefaultRunAs, which only instances
// made before each had a user of its own run as.
func (p *Provider) RunAs() string { return p.s.acct.name }

// Installations returns the installed engine versions this provider
// offers.
func (p *Provider) Installations() []Installation { return slices.Clone(p.s.insts) }

// DeleteBackup removes a backup's files and record; a backup outlives its
// instance until then.
func (p *Provider) DeleteBackup(ctx context.Context, backupID string) error {
	err := p.s.deleteBackup(ctx, backupID)
	if err == nil {
		return nil
	}
	e := &dbaas.Error{Provider: providerName, Op: "delete backup", ID: backupID, Kind: dbaas.Kind(err), Err: err}
	if de, ok := err.(*dbaas.Error); ok {
		e.Err = de.Err
	}
	return e
}

// Close stops provisioning in progress (those instances become failed,
// their files removed) and waits for it. Running servers keep running.
func (p *servers) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.cancel()
	p.wg.Wait()
	return nil
}

func (p *servers) installation(e dbaas.Engine, version string) (Installation, error) {
	return pick(p.insts, e, version)
}

// Capabilities are the registered ones with the engines installed.
func (p *servers) Capabilities() dbaas.Capabilities {
	c := capabilities
	c.Engines = nil
	for _, e := range capabilities.Engines {
		if _, err := pick(p.insts, e, ""); err == nil {
			c.Engines = append(c.Engines, e)
		}
	}
	return c
}

// As hands out the *Provider for **Provider targets, so that code holding
// a dbaas.Provider (from dbaas.Open) can reach StateDir and DeleteBackup.
// There is no underlying client.
func (p *servers) As(target any) bool {
	t, ok := target.(**Provider)
	if !ok || t == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.self == nil {
		p.self = &Provider{Provider: driver.NewProvider(providerName, p, info, p.opts.Observer), s: p}
	}
	*t = p.self
	return true
}

// ErrorKind maps what the file system says; every other error of the
// driver names its sentinel.
func (p *servers) ErrorKind(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return dbaas.ErrPermissionDenied
	}
	return nil
}

// fail classifies err with kind, a dbaas sentinel; a nil kind leaves err
// to ErrorKind.
func fail(kind, err error) error {
	if kind == nil {
		return err
	}
	return &dbaas.Error{Kind: kind, Err: err}
}

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

// engine returns what r's engine does, run as r's system user.
func (p *servers) engine(r *record) server {
	a := p.account(r)
	if r.Engine == dbaas.Postgres {
		return postgres{p, a}
	}
	return mariadb{p, a}
}

// account is the system user r's server runs as: its own, or the shared
// one. An own user that is gone yields an account every use of which
// fails with the reason.
func (p *servers) account(r *record) account {
	if r.OSUser == "" {
		return p.acct
	}
	a, err := lookupAccount(r.OSUser)
	if err != nil {
		return account{name: r.OSUser, err: fmt.Errorf("%w: the instance's server cannot run without it: delete the instance and restore it from a backup", err)}
	}
	return a
}

// locked takes the instance's lock and reads its record; the caller
// calls unlock when done.
func (p *servers) locked(ctx context.Context, id string) (r *record, unlock func(), err error) {
	unlock, err = p.lockInstance(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if r, err = p.get(id); err != nil {
		unlock()
		return nil, nil, err
	}
	return r, unlock, nil
}

// lockInstance serialises changes to one instance.
func (p *servers) lockInstance(ctx context.Context, id string) (func(), error) {
	if !wellFormed(id) {
		return nil, fail(dbaas.ErrNotFound, errors.New("no such instance"))
	}
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

func (p *servers) setOp(id, op string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if op == "" {
		delete(p.ops, id)
	} else {
		p.ops[id] = op
	}
}

func (p *servers) op(id string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ops[id]
}

// maxID bounds the ids this provider makes ("local-" or "backup-" and
// twelve hex digits) with room to spare, well under a file name's limit.
const maxID = 128

// wellFormed reports whether id could name a state file: letters, digits,
// '-', '_' and '.', not first. Any other id names nothing, so it is not
// found rather than looked up on disk.
func wellFormed(id string) bool {
	if id == "" || len(id) > maxID || id[0] == '.' {
		return false
	}
	for _, c := range []byte(id) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// get reads an instance's record, mapping absence to ErrNotFound.
func (p *servers) get(id string) (*record, error) {
	if !wellFormed(id) {
		return nil, fail(dbaas.ErrNotFound, errors.New("no such instance"))
	}
	r, err := p.store.readRecord(id)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fail(dbaas.ErrNotFound, errors.New("no such instance"))
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// marker is a string in the server's command line that names this
// instance, so a reused pid is not taken for its server.
func (p *servers) marker(r *record) string { return p.store.serverDir(r.ID) + "/" }

// serverPID is the pid of the instance's live server, or 0. Without a
// pid file (its data directory removed, say) it looks for the server by
// its command line, so a server is never left running unseen.
func (p *servers) serverPID(r *record) int {
	pid := readPID(p.engine(r).pidFile(r))
	if alive(pid, p.marker(r)) {
		return pid
	}
	return findServer(p.marker(r))
}

func (p *servers) dataMissing(r *record) bool {
	_, err := os.Stat(filepath.Join(p.store.serverDir(r.ID), "data"))
	return errors.Is(err, os.ErrNotExist)
}

// status derives the normalized status from the record, the operation in
// progress and the server process.
func (p *servers) status(r *record) (dbaas.Status, string) {
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

func (p *servers) instance(r *record) *dbaas.Instance {
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
func (p *servers) Get(ctx context.Context, id string) (*dbaas.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := p.get(id)
	if err != nil {
		return nil, err
	}
	return p.instance(r), nil
}

// List returns every instance in the state directory. A corrupt state
// file is an error naming it.
func (p *servers) List(ctx context.Context) ([]*dbaas.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ids, err := listIDs(p.store.instancesDir())
	if err != nil {
		return nil, fmt.Errorf("state directory %s: %w", p.store.dir, err)
	}
	out := make([]*dbaas.Instance, 0, len(ids))
	for _, id := range ids {
		r, err := p.store.readRecord(id)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
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
func (p *servers) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r, err := p.get(id)
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

// checkSpec applies the rules of local servers that capabilities cannot
// say (the portable layer has validated the rest).
func (p *servers) checkSpec(spec dbaas.Spec) error {
	var problems []dbaas.FieldError
	add := func(field, rule string) { problems = append(problems, dbaas.FieldError{Field: field, Rule: rule}) }
	if !slices.Contains(Sizes(), spec.Size) {
		add("size", "must be one of "+strings.Join(Sizes(), ", "))
	}
	if spec.Nodes > 1 {
		add("nodes", "local instances have one node: leave it 0 or 1")
	}
	for i, s := range spec.Access {
		if spec.Engine == dbaas.MariaDB {
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
func (p *servers) admit(spec dbaas.Spec, state string, in Installation, password, super string) (*record, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, fail(dbaas.ErrConflict, errors.New("provider is closed"))
	}
	unlock, err := p.store.lock()
	if err != nil {
		return nil, fmt.Errorf("lock state directory %s: %w", p.store.dir, err)
	}
	defer unlock()
	ids, err := listIDs(p.store.instancesDir())
	if err != nil {
		return nil, fmt.Errorf("state directory %s: %w", p.store.dir, err)
	}
	used := map[int]string{}
	for _, id := range ids {
		r, err := p.store.readRecord(id)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if r.Name == spec.Name {
			return nil, fail(dbaas.ErrAlreadyExists, fmt.Errorf("instance %s is named %s already", r.ID, r.Name))
		}
		used[r.Port] = r.ID
	}
	port := spec.Port
	if port != 0 {
		if owner, ok := used[port]; ok {
			return nil, fail(dbaas.ErrConflict, fmt.Errorf("port %d belongs to instance %s: choose another port, or leave port 0 for a free one", port, owner))
		}
		if err := portFree(port); err != nil {
			return nil, fail(dbaas.ErrConflict, fmt.Errorf("port %d is in use on this machine (%v): choose another port, or leave port 0 for a free one", port, err))
		}
	} else {
		for range 100 {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return nil, fmt.Errorf("find a free port: %w", err)
			}
			cand := l.Addr().(*net.TCPAddr).Port
			_ = l.Close()
			if _, taken := used[cand]; !taken && portFree(cand) == nil {
				port = cand
				break
			}
		}
		if port == 0 {
			return nil, fail(dbaas.ErrConflict, errors.New("no free port found"))
		}
	}
	certs, err := newCerts(spec.Name)
	if err != nil {
		return nil, err
	}
	r := &record{ID: newID("local-"), Name: spec.Name, Engine: spec.Engine, Version: in.Version, Size: spec.Size,
		Port: port, AdminUser: spec.AdminUser, Password: password, Database: spec.Database,
		PublicAccess: spec.PublicAccess, Protected: spec.DeletionProtection, Tags: spec.Tags,
		CreatedAt: time.Now().UTC().Truncate(time.Second), State: state, CACert: string(certs.caPEM), certs: certs,
		SuperPassword: super}
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
		return nil, fmt.Errorf("write state in %s: %w", p.store.instancesDir(), err)
	}
	return r, nil
}

// Create checks spec, records the instance and provisions it in the
// background: initdb or mariadb-install-db, start, admin user and
// database. The instance is provisioning until its server accepts
// connections, then available; failed (with the reason in RawStatus and
// its files removed) when a step fails.
func (p *servers) Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error) {
	if err := p.checkSpec(spec); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	in, err := p.installation(spec.Engine, spec.Version)
	if err != nil {
		return nil, err
	}
	pw := spec.AdminPassword.Reveal()
	if pw == "" {
		pw = generatePassword()
	}
	r, err := p.admit(spec, stateProvisioning, in, pw, generatePassword())
	if err != nil {
		return nil, err
	}
	return p.provision(r, in, nil, ""), nil
}

// provision builds the instance's server in the background and returns
// the instance as it starts. The instance lock is taken before it
// returns, so no other call sees it half made.
func (p *servers) provision(r *record, in Installation, b *backupRecord, newPassword string) *dbaas.Instance {
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
			r.Message = scrub(err.Error(), r.Password, newPassword, r.SuperPassword)
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

// build makes the server; on failure it removes what it made, the
// instance's system user included.
func (p *servers) build(ctx context.Context, r *record, in Installation, b *backupRecord, newPassword string) (err error) {
	dir := p.store.serverDir(r.ID)
	defer func() {
		if err != nil {
			if pid := p.serverPID(r); pid != 0 {
				_ = stopProcess(context.WithoutCancel(ctx), pid, p.marker(r), syscall.SIGKILL, 5*time.Second)
			}
			p.removeFiles(r)
			if r.OSUser != "" {
				_ = removeInstanceUser(context.WithoutCancel(ctx), r.OSUser)
			}
		}
	}()
	if p.perInstance {
		// Recorded before the user is made, so that a process that dies
		// here leaves an instance whose Delete removes it.
		r.OSUser = instanceUser(r.ID)
		if err := p.store.writeRecord(r); err != nil {
			return err
		}
		if _, err := createInstanceUser(ctx, r.OSUser); err != nil {
			r.OSUser = ""
			return err
		}
	}
	eng := p.engine(r)
	if err := p.account(r).mkdirOwned(dir); err != nil {
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
		if err := eng.(mariadb).loadDump(ctx, b, r); err != nil {
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
func (p *servers) startServer(ctx context.Context, r *record, in Installation, first bool) error {
	eng := p.engine(r)
	if old := readPID(eng.pidFile(r)); old != 0 && !alive(old, p.marker(r)) {
		// A killed server's children may still hold its shared memory.
		killLeftovers(ctx, old)
	}
	name, args := eng.command(r, in, first)
	logPath := filepath.Join(p.store.serverDir(r.ID), "server.log")
	pid, exited, err := p.spawn(p.account(r), logPath, name, args...)
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
func (p *servers) Start(ctx context.Context, id string) error {
	r, unlock, err := p.locked(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	switch r.State {
	case stateFailed, stateProvisioning, stateRestoring:
		return fail(dbaas.ErrConflict, fmt.Errorf("instance was never made (%s): delete it and create it again", r.State))
	}
	if p.dataMissing(r) {
		return fail(dbaas.ErrConflict, fmt.Errorf("data directory %s was removed: the instance's data is gone; delete it (SkipFinalBackup) and restore it from a backup",
			filepath.Join(p.store.serverDir(r.ID), "data")))
	}
	if p.serverPID(r) != 0 {
		return nil
	}
	in, err := p.installation(r.Engine, r.Version)
	if err != nil {
		return err
	}
	p.setOp(id, "starting")
	defer p.setOp(id, "")
	if err := p.engine(r).configure(r); err != nil {
		return err
	}
	if err := p.startServer(ctx, r, in, false); err != nil {
		return errors.New(scrub(err.Error(), r.Password, r.SuperPassword))
	}
	r.State = stateRunning
	return p.store.writeRecord(r)
}

// Stop stops the instance's server (a fast, clean shutdown). Stopping a
// stopped instance does nothing.
func (p *servers) Stop(ctx context.Context, id string) error {
	r, unlock, err := p.locked(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if r.State != stateRunning && r.State != stateStopped {
		return fail(dbaas.ErrConflict, fmt.Errorf("instance is %s", r.State))
	}
	if pid := p.serverPID(r); pid != 0 {
		if err := stopProcess(ctx, pid, p.marker(r), p.engine(r).stopSignal(), time.Minute); err != nil {
			return err
		}
	}
	r.State = stateStopped
	return p.store.writeRecord(r)
}

// Delete takes a final backup unless opts.SkipFinalBackup, then stops the
// server and removes its files, its system user and its record. Backups
// stay.
func (p *servers) Delete(ctx context.Context, id string, opts dbaas.DeleteOptions) error {
	r, unlock, err := p.locked(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if r.Protected {
		return fail(dbaas.ErrConflict, errors.New("deletion protection is on"))
	}
	if !opts.SkipFinalBackup {
		if _, err := p.backupLocked(ctx, r, driver.FinalBackupName(opts, r.Name, time.Now()), dbaas.BackupFinal); err != nil {
			return fmt.Errorf("final backup: %w (nothing was deleted; set SkipFinalBackup to delete without one)", err)
		}
	}
	p.setOp(id, "deleting")
	defer p.setOp(id, "")
	if pid := p.serverPID(r); pid != 0 {
		if err := stopProcess(ctx, pid, p.marker(r), p.engine(r).stopSignal(), time.Minute); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(p.store.serverDir(id)); err != nil {
		return err
	}
	p.removeFiles(r)
	if r.OSUser != "" {
		if err := removeInstanceUser(ctx, r.OSUser); err != nil {
			return err
		}
	}
	if err := p.store.removeRecord(id); err != nil {
		return err
	}
	p.mu.Lock()
	delete(p.locks, id)
	p.mu.Unlock()
	return nil
}

// removeFiles removes the instance's server directory and the sockets
// that moved to the temporary directory for a path too long.
func (p *servers) removeFiles(r *record) {
	_ = os.RemoveAll(p.store.serverDir(r.ID))
	_ = os.Remove(filepath.Join(os.TempDir(), "dbaaskit-"+r.ID+".sock"))
	_ = os.RemoveAll(filepath.Join(os.TempDir(), "dbaaskit-"+r.ID))
}
