package driver

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Register makes an adapter available to dbaas.Open under name, with its
// capabilities readable by dbaas.CapabilitiesOf without credentials. It
// panics as dbaas.Register does on an empty or taken name, and on a nil
// Open.
func Register(name string, info Info) {
	if info.Open == nil {
		panic("driver: Register " + name + " with a nil Open")
	}
	dbaas.Register(name, info.Capabilities, func(ctx context.Context, cfg dbaas.Config) (dbaas.Provider, error) {
		return Open(ctx, name, info, cfg)
	})
}

// Open checks cfg.Settings against info, opens the driver and wraps it in
// the portable layer. Adapters' typed constructors call it; dbaas.Open
// reaches it through Register.
func Open(ctx context.Context, name string, info Info, cfg dbaas.Config) (dbaas.Provider, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := unknownSettings(cfg.Settings, info.Settings); err != nil {
		return nil, err
	}
	d, err := info.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return NewProvider(name, d, info, cfg.Observer), nil
}

// NewProvider wraps an opened driver in the portable layer. obs nil means
// dbaas.SlogObserver(nil).
func NewProvider(name string, d Driver, info Info, obs dbaas.Observer) dbaas.Provider {
	if obs == nil {
		obs = dbaas.SlogObserver(nil)
	}
	caps := info.Capabilities
	if c, ok := d.(interface{ Capabilities() dbaas.Capabilities }); ok {
		caps = c.Capabilities()
	}
	p := &provider{name: name, d: d, caps: caps, specOptions: info.SpecOptions, obs: obs}
	p.starter, _ = d.(Starter)
	return p
}

// provider is the portable dbaas.Provider over a Driver.
type provider struct {
	name        string
	d           Driver
	starter     Starter
	caps        dbaas.Capabilities
	specOptions []string
	obs         dbaas.Observer

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

var (
	_ dbaas.Provider = (*provider)(nil)
	_ dbaas.Starter  = (*provider)(nil)
)

func (p *provider) Capabilities() dbaas.Capabilities { return p.caps }

func (p *provider) As(target any) bool { return p.d.As(target) }

func (p *provider) Close() error {
	p.closeOnce.Do(func() {
		p.closed.Store(true)
		if err := p.d.Close(); err != nil {
			p.closeErr = p.wrap("close", "", err)
		}
	})
	return p.closeErr
}

func (p *provider) Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error) {
	const op = "create"
	if err := p.begin(ctx, op, spec.Name, p.caps.Provision); err != nil {
		return nil, err
	}
	if err := p.checkSpec(op, spec.Name, spec); err != nil {
		return nil, err
	}
	var inst *dbaas.Instance
	err := p.call(ctx, op, spec.Name, func(ctx context.Context) (err error) {
		inst, err = p.d.Create(ctx, spec)
		return err
	})
	return inst, err
}

func (p *provider) Get(ctx context.Context, id string) (*dbaas.Instance, error) {
	const op = "get"
	if err := p.beginID(ctx, op, id, true); err != nil {
		return nil, err
	}
	var inst *dbaas.Instance
	err := p.call(ctx, op, id, func(ctx context.Context) (err error) {
		inst, err = p.d.Get(ctx, id)
		return err
	})
	return inst, err
}

func (p *provider) List(ctx context.Context) ([]*dbaas.Instance, error) {
	const op = "list"
	if err := p.begin(ctx, op, "", true); err != nil {
		return nil, err
	}
	var list []*dbaas.Instance
	err := p.call(ctx, op, "", func(ctx context.Context) (err error) {
		list, err = p.d.List(ctx)
		return err
	})
	return list, err
}

func (p *provider) Delete(ctx context.Context, id string, opts dbaas.DeleteOptions) error {
	const op = "delete"
	if err := p.beginID(ctx, op, id, p.caps.Provision); err != nil {
		return err
	}
	if !opts.SkipFinalBackup && !p.caps.FinalBackup {
		return p.fail(op, id, dbaas.ErrUnsupported, errors.New("this provider cannot take a final backup: delete without one (DeleteOptions.SkipFinalBackup, the CLI's --skip-final-backup)"))
	}
	if opts.SkipFinalBackup && opts.FinalBackupName != "" {
		return p.fail(op, id, dbaas.ErrInvalidArgument, dbaas.InvalidField("final_backup_name", "is set while the final backup is skipped"))
	}
	return p.call(ctx, op, id, func(ctx context.Context) error { return p.d.Delete(ctx, id, opts) })
}

func (p *provider) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	const op = "connection"
	if err := p.beginID(ctx, op, id, true); err != nil {
		return nil, err
	}
	var ci *dbaas.ConnectionInfo
	err := p.call(ctx, op, id, func(ctx context.Context) (err error) {
		ci, err = p.d.Connection(ctx, id)
		return err
	})
	return ci, err
}

func (p *provider) Allow(ctx context.Context, id string, sources ...dbaas.Source) error {
	const op = "allow"
	if err := p.beginID(ctx, op, id, p.caps.Access); err != nil {
		return err
	}
	if err := p.checkSources(op, id, sources, dbaas.WorldAllowed(ctx)); err != nil {
		return err
	}
	return p.call(ctx, op, id, func(ctx context.Context) error { return p.d.Allow(ctx, id, sources) })
}

func (p *provider) Revoke(ctx context.Context, id string, sources ...dbaas.Source) error {
	const op = "revoke"
	if err := p.beginID(ctx, op, id, p.caps.Access); err != nil {
		return err
	}
	if err := p.checkSources(op, id, sources, true); err != nil {
		return err
	}
	return p.call(ctx, op, id, func(ctx context.Context) error { return p.d.Revoke(ctx, id, sources) })
}

func (p *provider) Access(ctx context.Context, id string) ([]dbaas.Source, error) {
	const op = "access"
	if err := p.beginID(ctx, op, id, p.caps.Access); err != nil {
		return nil, err
	}
	var list []dbaas.Source
	err := p.call(ctx, op, id, func(ctx context.Context) (err error) {
		list, err = p.d.Access(ctx, id)
		return err
	})
	return list, err
}

func (p *provider) Backup(ctx context.Context, id, name string) (*dbaas.Backup, error) {
	const op = "backup"
	if err := p.beginID(ctx, op, id, p.caps.OnDemandBackup); err != nil {
		return nil, err
	}
	var b *dbaas.Backup
	err := p.call(ctx, op, id, func(ctx context.Context) (err error) {
		b, err = p.d.Backup(ctx, id, name)
		return err
	})
	return b, err
}

func (p *provider) Backups(ctx context.Context, id string) ([]*dbaas.Backup, error) {
	const op = "backups"
	if err := p.beginID(ctx, op, id, p.caps.ListBackups); err != nil {
		return nil, err
	}
	var list []*dbaas.Backup
	err := p.call(ctx, op, id, func(ctx context.Context) (err error) {
		list, err = p.d.Backups(ctx, id)
		return err
	})
	return list, err
}

func (p *provider) Restore(ctx context.Context, from dbaas.RestorePoint, spec dbaas.Spec) (*dbaas.Instance, error) {
	const op = "restore"
	ref := from.BackupID
	if from.IsPointInTime() {
		ref = from.InstanceID
	}
	if err := p.begin(ctx, op, ref, p.caps.Restore || p.caps.PointInTimeRestore); err != nil {
		return nil, err
	}
	if err := from.Validate(); err != nil {
		return nil, p.fail(op, ref, dbaas.ErrInvalidArgument, err)
	}
	if err := p.checkID(op, ref); err != nil {
		return nil, err
	}
	switch {
	case from.IsPointInTime() && !p.caps.PointInTimeRestore:
		return nil, p.fail(op, ref, dbaas.ErrUnsupported, errors.New("this provider cannot restore to a point in time: restore a backup"))
	case !from.IsPointInTime() && !p.caps.Restore:
		return nil, p.fail(op, ref, dbaas.ErrUnsupported, errors.New("this provider cannot restore a backup: restore to a point in time"))
	}
	if err := p.checkSpec(op, ref, spec); err != nil {
		return nil, err
	}
	var inst *dbaas.Instance
	err := p.call(ctx, op, ref, func(ctx context.Context) (err error) {
		inst, err = p.d.Restore(ctx, from, spec)
		return err
	})
	return inst, err
}

// apps returns how the instance's databases and users are managed: the
// driver's API, or SQL over the admin connection.
func (p *provider) apps(ctx context.Context, id string) (Apps, error) {
	if a, ok := p.d.(Apps); ok && p.caps.AppUsers == dbaas.AppUsersAPI {
		return a, nil
	}
	conn, ok := dbaas.ContextConnection(ctx, id)
	if !ok {
		var err error
		if conn, err = p.d.Connection(ctx, id); err != nil {
			return nil, err
		}
	}
	if conn.Password.IsZero() && !p.caps.ReadablePassword {
		return nil, &dbaas.Error{Kind: dbaas.ErrUnsupported, Err: errors.New("the admin password is not readable from this provider, so application users cannot be managed over SQL")}
	}
	return SQLApps(conn), nil
}

func (p *provider) appCall(ctx context.Context, op, id string, check error, f func(context.Context, Apps) error) error {
	if err := p.beginID(ctx, op, id, p.caps.AppUsers != ""); err != nil {
		return err
	}
	if check != nil {
		return p.fail(op, id, dbaas.ErrInvalidArgument, check)
	}
	return p.call(ctx, op, id, func(ctx context.Context) error {
		a, err := p.apps(ctx, id)
		if err != nil {
			return err
		}
		return f(ctx, a)
	})
}

func (p *provider) EnsureDatabase(ctx context.Context, id, name string) error {
	return p.appCall(ctx, "ensure database", id, dbaas.ValidateDatabaseName("database", name), func(ctx context.Context, a Apps) error {
		return a.EnsureDatabase(ctx, id, name)
	})
}

func (p *provider) Databases(ctx context.Context, id string) ([]string, error) {
	var out []string
	err := p.appCall(ctx, "databases", id, nil, func(ctx context.Context, a Apps) (err error) {
		out, err = a.Databases(ctx, id)
		return err
	})
	return out, err
}

func (p *provider) DropDatabase(ctx context.Context, id, name string) error {
	return p.appCall(ctx, "drop database", id, dbaas.ValidateDatabaseName("database", name), func(ctx context.Context, a Apps) error {
		return a.DropDatabase(ctx, id, name)
	})
}

func (p *provider) EnsureUser(ctx context.Context, id string, u dbaas.UserSpec) (*dbaas.User, error) {
	var out *dbaas.User
	err := p.appCall(ctx, "ensure user", id, u.Validate(), func(ctx context.Context, a Apps) (err error) {
		out, err = a.EnsureUser(ctx, id, u)
		return err
	})
	return out, err
}

func (p *provider) Users(ctx context.Context, id string) ([]*dbaas.User, error) {
	var out []*dbaas.User
	err := p.appCall(ctx, "users", id, nil, func(ctx context.Context, a Apps) (err error) {
		out, err = a.Users(ctx, id)
		return err
	})
	return out, err
}

func (p *provider) RotatePassword(ctx context.Context, id, user string) (*dbaas.User, error) {
	var out *dbaas.User
	err := p.appCall(ctx, "rotate password", id, dbaas.ValidateUserName("user", user), func(ctx context.Context, a Apps) (err error) {
		// A cloud with an API chooses the new password itself; over SQL
		// the password is made here.
		var pw dbaas.Secret
		if _, sql := a.(sqlApps); sql {
			pw = dbaas.GeneratePassword()
		}
		out, err = a.SetPassword(ctx, id, user, pw)
		return err
	})
	return out, err
}

func (p *provider) DropUser(ctx context.Context, id, user string) error {
	return p.appCall(ctx, "drop user", id, dbaas.ValidateUserName("user", user), func(ctx context.Context, a Apps) error {
		return a.DropUser(ctx, id, user)
	})
}

func (p *provider) Start(ctx context.Context, id string) error {
	return p.startStop(ctx, "start", id, func(ctx context.Context) error { return p.starter.Start(ctx, id) })
}

func (p *provider) Stop(ctx context.Context, id string) error {
	return p.startStop(ctx, "stop", id, func(ctx context.Context) error { return p.starter.Stop(ctx, id) })
}

func (p *provider) startStop(ctx context.Context, op, id string, f func(context.Context) error) error {
	if err := p.beginID(ctx, op, id, p.caps.StartStop && p.starter != nil); err != nil {
		return err
	}
	return p.call(ctx, op, id, f)
}

// begin refuses a call on a closed provider, without a context, or that
// the capabilities rule out.
func (p *provider) begin(ctx context.Context, op, id string, capable bool) error {
	switch {
	case p.closed.Load():
		return p.fail(op, id, dbaas.ErrConflict, errors.New("the provider is closed"))
	case ctx == nil:
		return p.fail(op, id, dbaas.ErrInvalidArgument, dbaas.InvalidField("ctx", "is nil"))
	case !capable:
		return p.fail(op, id, dbaas.ErrUnsupported, fmt.Errorf("this provider cannot %s (see its Capabilities)", op))
	}
	return nil
}

func (p *provider) beginID(ctx context.Context, op, id string, capable bool) error {
	if err := p.begin(ctx, op, id, capable); err != nil {
		return err
	}
	return p.checkID(op, id)
}

// checkID refuses an empty id, and answers ErrNotFound for one longer
// than any provider makes, without a call.
func (p *provider) checkID(op, id string) error {
	switch {
	case id == "":
		return p.fail(op, id, dbaas.ErrInvalidArgument, dbaas.InvalidField("id", "is empty"))
	case len(id) > dbaas.MaxIDLen:
		return p.fail(op, id, dbaas.ErrNotFound, fmt.Errorf("no instance or backup has an id of %d bytes (at most %d)", len(id), dbaas.MaxIDLen))
	}
	return nil
}

// checkSpec validates a spec for Create and Restore.
func (p *provider) checkSpec(op, id string, spec dbaas.Spec) error {
	if err := spec.Validate(); err != nil {
		return p.fail(op, id, dbaas.ErrInvalidArgument, err)
	}
	if !p.caps.SupportsEngine(spec.Engine) {
		var why error = fmt.Errorf("engine %s is not supported: this provider makes %s", spec.Engine, engineList(p.caps.Engines))
		if h, ok := p.d.(EngineHinter); ok {
			if hint := h.EngineHint(spec.Engine); hint != "" {
				why = errors.New(hint)
			}
		}
		return p.fail(op, id, dbaas.ErrUnsupported, why)
	}
	v := reflect.ValueOf(spec)
	for _, f := range p.caps.RefusedFields {
		if fv := v.FieldByName(f); fv.IsValid() && !fv.IsZero() {
			return p.fail(op, id, dbaas.ErrUnsupported, fmt.Errorf("spec field %s cannot be honoured by this provider: leave it unset", f))
		}
	}
	for _, k := range sortedKeys(spec.Options) {
		if !slices.Contains(p.specOptions, k) {
			known := "none"
			if len(p.specOptions) > 0 {
				known = strings.Join(p.specOptions, ", ")
			}
			return p.fail(op, id, dbaas.ErrInvalidArgument, dbaas.InvalidField("options["+clip(k)+"]", "is unknown: known options are "+known))
		}
	}
	for i, s := range spec.Access {
		if !p.caps.SupportsSource(s.Kind) {
			return p.fail(op, id, dbaas.ErrUnsupported, fmt.Errorf("access[%d]: source kind %s (%s) is not supported: this provider takes %s", i, s.Kind, s, kindList(p.caps.SourceKinds)))
		}
	}
	return nil
}

// checkSources validates the sources of Allow and Revoke.
func (p *provider) checkSources(op, id string, sources []dbaas.Source, worldOK bool) error {
	if len(sources) == 0 {
		return p.fail(op, id, dbaas.ErrInvalidArgument, dbaas.InvalidField("sources", "at least one is required"))
	}
	for i, s := range sources {
		if err := s.Validate(); err != nil {
			return p.fail(op, id, dbaas.ErrInvalidArgument, fmt.Errorf("sources[%d]: %w", i, err))
		}
		if !p.caps.SupportsSource(s.Kind) {
			return p.fail(op, id, dbaas.ErrUnsupported, fmt.Errorf("sources[%d]: source kind %s (%s) is not supported: this provider takes %s", i, s.Kind, s, kindList(p.caps.SourceKinds)))
		}
		if s.IsWorld() && !worldOK {
			return p.fail(op, id, dbaas.ErrInvalidArgument, dbaas.InvalidField(fmt.Sprintf("sources[%d]", i),
				s.String()+" opens the database to the whole internet: opt in with dbaas.WithWorldAccess (the CLI's --allow-world)"))
		}
	}
	return nil
}

// call runs f under the observer and wraps its error once.
func (p *provider) call(ctx context.Context, op, id string, f func(context.Context) error) error {
	c := dbaas.Call{Provider: p.name, Op: op, ID: clip(id), Start: time.Now()}
	ctx = p.obs.Begin(ctx, c)
	err := p.wrap(op, id, f(ctx))
	p.obs.End(ctx, c, time.Since(c.Start), err)
	return err
}

// fail is an error of the portable layer's own checks.
func (p *provider) fail(op, id string, kind, cause error) error {
	return &dbaas.Error{Provider: p.name, Op: op, ID: clip(id), Kind: kind, Err: cause}
}

// wrap gives a driver's error the one shape: a *dbaas.Error naming the
// provider, the operation and the instance, with its sentinel.
func (p *provider) wrap(op, id string, err error) error {
	if err == nil {
		return nil
	}
	var de *dbaas.Error
	if errors.As(err, &de) && de == err {
		e := *de
		e.Provider, e.Op = p.name, op
		if e.ID == "" {
			e.ID = clip(id)
		}
		if e.Kind == nil {
			e.Kind = kindOf(p.d, e.Err)
		}
		return &e
	}
	return &dbaas.Error{Provider: p.name, Op: op, ID: clip(id), Kind: kindOf(p.d, err), Err: err}
}

func kindOf(d Driver, err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	if k := dbaas.Kind(err); k != nil {
		return k
	}
	return d.ErrorKind(err)
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func engineList(es []dbaas.Engine) string {
	if len(es) == 0 {
		return "none (see the provider's documentation for what to install or configure)"
	}
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

func kindList(ks []dbaas.SourceKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// unknownSettings refuses a Config.Settings key the adapter does not read.
func unknownSettings(settings map[string]string, known []string) error {
	for _, k := range sortedKeys(settings) {
		if !slices.Contains(known, k) {
			list := "none"
			if len(known) > 0 {
				list = strings.Join(known, ", ")
			}
			return dbaas.InvalidField("settings."+clip(k), "is unknown: known settings are "+list)
		}
	}
	return nil
}

// FinalBackupName returns opts.FinalBackupName or the default
// "<name>-final-<yyyymmddhhmmss>", for drivers that take final backups.
func FinalBackupName(opts dbaas.DeleteOptions, name string, now time.Time) string {
	if opts.FinalBackupName != "" {
		return opts.FinalBackupName
	}
	return name + "-final-" + now.UTC().Format("20060102150405")
}
