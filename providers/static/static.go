package static

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Name is the name the provider registers under.
const Name = "static"

// The settings dbaas.Open("static", cfg) reads from cfg.Settings.
const (
	SettingEngine       = "engine"
	SettingHost         = "host"
	SettingPort         = "port"
	SettingPrivateHost  = "private_host"
	SettingUser         = "user"
	SettingPassword     = "password"
	SettingPasswordFile = "password_file"
	SettingDatabase     = "database"
	SettingTLS          = "tls"
	SettingCAFile       = "ca_file"
	SettingName         = "name"
)

// DefaultName is the id and name of a database configured with no name.
const DefaultName = "static"

// Database is one existing database.
type Database struct {
	// Name is its id and name in every call; default DefaultName.
	Name   string
	Engine dbaas.Engine
	// Endpoint is host (without port) and port; a port of 0 means the
	// engine's default.
	Endpoint dbaas.Endpoint
	// PrivateEndpoint is its address inside a private network, if any.
	PrivateEndpoint dbaas.Endpoint
	User            string
	Password        dbaas.Secret
	Database        string
	// TLS is how clients use TLS; default require.
	TLS dbaas.TLSMode
	// CACertPEM is the server's CA certificate, PEM encoded.
	CACertPEM []byte
	// Version is the engine version, when known; it is only reported.
	Version string
}

// Provider is a dbaas.Provider over a fixed set of existing databases. It
// holds no state that changes and is safe for concurrent use.
type Provider struct {
	dbs   map[string]Database
	order []string
}

func init() { dbaas.Register(Name, open) }

func open(_ context.Context, cfg dbaas.Config) (dbaas.Provider, error) {
	s := cfg.Settings
	if err := dbaas.UnknownSettings(Name, s, SettingEngine, SettingHost, SettingPort, SettingPrivateHost, SettingUser,
		SettingPassword, SettingPasswordFile, SettingDatabase, SettingTLS, SettingCAFile, SettingName); err != nil {
		return nil, err
	}
	db := Database{Name: s[SettingName], User: s[SettingUser], Database: s[SettingDatabase], TLS: dbaas.TLSMode(s[SettingTLS])}
	if s[SettingEngine] == "" {
		return nil, dbaas.InvalidField("settings."+SettingEngine, "is required: postgres, mysql or mariadb")
	}
	e, err := dbaas.ParseEngine(s[SettingEngine])
	if err != nil {
		return nil, dbaas.InvalidField("settings."+SettingEngine, err.Error())
	}
	db.Engine = e
	db.Endpoint.Host = s[SettingHost]
	if p := s[SettingPort]; p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, dbaas.InvalidField("settings."+SettingPort, fmt.Sprintf("%q is not a number", truncate(p, 16)))
		}
		db.Endpoint.Port = n
	}
	if h := s[SettingPrivateHost]; h != "" {
		db.PrivateEndpoint = dbaas.Endpoint{Host: h, Port: db.Endpoint.Port}
	}
	switch {
	case s[SettingPassword] != "" && s[SettingPasswordFile] != "":
		return nil, dbaas.InvalidField("settings."+SettingPasswordFile, "give password or password_file, not both")
	case s[SettingPassword] != "":
		db.Password = dbaas.NewSecret(s[SettingPassword])
	case s[SettingPasswordFile] != "":
		b, err := os.ReadFile(s[SettingPasswordFile])
		if err != nil {
			return nil, dbaas.InvalidField("settings."+SettingPasswordFile, fmt.Sprintf("cannot read %s: %v", s[SettingPasswordFile], err))
		}
		db.Password = dbaas.NewSecret(strings.TrimRight(string(b), "\r\n"))
	}
	if f := s[SettingCAFile]; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, dbaas.InvalidField("settings."+SettingCAFile, fmt.Sprintf("cannot read %s: %v", f, err))
		}
		db.CACertPEM = b
	}
	return New(db)
}

// New returns a provider of the databases given. Each is checked now:
// a clear error names the database and the field at fault.
func New(dbs ...Database) (*Provider, error) {
	if len(dbs) == 0 {
		return nil, dbaas.InvalidField("databases", "at least one database is required")
	}
	p := &Provider{dbs: map[string]Database{}}
	for i, db := range dbs {
		db, err := check(db)
		if err != nil {
			return nil, fmt.Errorf("static database %d (%s): %w", i, db.Name, err)
		}
		if _, dup := p.dbs[db.Name]; dup {
			return nil, dbaas.InvalidField(fmt.Sprintf("databases[%d].name", i), fmt.Sprintf("%q is used twice", db.Name))
		}
		p.dbs[db.Name] = db
		p.order = append(p.order, db.Name)
	}
	return p, nil
}

func check(db Database) (Database, error) {
	if db.Name == "" {
		db.Name = DefaultName
	}
	if len(db.Name) > 64 || strings.IndexFunc(db.Name, func(r rune) bool { return unicode.IsSpace(r) || r == '@' || r == '/' }) >= 0 {
		return db, dbaas.InvalidField("name", fmt.Sprintf("%q must be at most 64 characters, without spaces, @ or /", truncate(db.Name, 64)))
	}
	if !db.Engine.Valid() {
		return db, dbaas.InvalidField("engine", fmt.Sprintf("%q is not postgres, mysql or mariadb", db.Engine))
	}
	if db.Endpoint.Port == 0 {
		db.Endpoint.Port = db.Engine.DefaultPort()
	}
	if err := db.Endpoint.Validate(); err != nil {
		return db, err
	}
	if !db.PrivateEndpoint.IsZero() {
		if db.PrivateEndpoint.Port == 0 {
			db.PrivateEndpoint.Port = db.Endpoint.Port
		}
		if err := db.PrivateEndpoint.Validate(); err != nil {
			return db, fmt.Errorf("private endpoint: %w", err)
		}
	}
	if db.User == "" {
		return db, dbaas.InvalidField("user", "is required")
	}
	switch db.TLS {
	case "":
		// A database reached over a network is encrypted unless asked
		// otherwise.
		db.TLS = dbaas.TLSRequire
	case dbaas.TLSDisable, dbaas.TLSRequire, dbaas.TLSVerifyCA, dbaas.TLSVerifyFull:
	default:
		return db, dbaas.InvalidField("tls", fmt.Sprintf("%q is not disable, require, verify-ca or verify-full", truncate(string(db.TLS), 32)))
	}
	if len(db.CACertPEM) > 0 {
		block, _ := pem.Decode(db.CACertPEM)
		if block == nil || block.Type != "CERTIFICATE" {
			return db, dbaas.InvalidField("ca", "holds no PEM certificate")
		}
		if _, err := x509.ParseCertificate(block.Bytes); err != nil {
			return db, dbaas.InvalidField("ca", "is not a valid certificate: "+err.Error())
		}
	}
	return db, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (p *Provider) lookup(op, id string) (Database, error) {
	db, ok := p.dbs[id]
	if !ok {
		return db, dbaas.NewError(op, truncate(id, 64), dbaas.ErrNotFound,
			fmt.Errorf("static: no database %q is configured (configured: %s)", truncate(id, 64), strings.Join(p.order, ", ")))
	}
	return db, nil
}

func (db Database) instance() *dbaas.Instance {
	return &dbaas.Instance{
		ID:              db.Name,
		Name:            db.Name,
		Provider:        Name,
		Engine:          db.Engine,
		Version:         db.Version,
		Status:          dbaas.StatusAvailable,
		RawStatus:       "configured",
		Endpoint:        db.Endpoint,
		PrivateEndpoint: db.PrivateEndpoint,
		Nodes:           1,
	}
}

// Get returns the configured database id. Its status is available: the
// provider has no way to know otherwise without connecting.
func (p *Provider) Get(ctx context.Context, id string) (*dbaas.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, dbaas.NewError("get", id, nil, err)
	}
	db, err := p.lookup("get", id)
	if err != nil {
		return nil, err
	}
	return db.instance(), nil
}

// List returns every configured database, in configuration order.
func (p *Provider) List(ctx context.Context) ([]*dbaas.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, dbaas.NewError("list", "", nil, err)
	}
	out := make([]*dbaas.Instance, 0, len(p.order))
	for _, n := range p.order {
		out = append(out, p.dbs[n].instance())
	}
	return out, nil
}

// Connection returns the configured endpoint and credentials.
func (p *Provider) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, dbaas.NewError("connection", id, nil, err)
	}
	db, err := p.lookup("connection", id)
	if err != nil {
		return nil, err
	}
	return &dbaas.ConnectionInfo{
		Engine:          db.Engine,
		Endpoint:        db.Endpoint,
		PrivateEndpoint: db.PrivateEndpoint,
		User:            db.User,
		Password:        db.Password,
		Database:        db.Database,
		TLS:             db.TLS,
		CACertPEM:       slices.Clone(db.CACertPEM),
	}, nil
}

// Create returns dbaas.ErrUnsupported: the databases exist already.
func (p *Provider) Create(context.Context, dbaas.Spec) (*dbaas.Instance, error) {
	return nil, dbaas.Unsupported(Name, "create", "databases are configured, not provisioned")
}

// Delete returns dbaas.ErrUnsupported (dbaas.ErrNotFound for an id that
// is not configured).
func (p *Provider) Delete(_ context.Context, id string, _ dbaas.DeleteOptions) error {
	if _, err := p.lookup("delete", id); err != nil {
		return err
	}
	return dbaas.Unsupported(Name, "delete", "a configured database cannot be deleted through dbaas")
}

// Allow returns dbaas.ErrUnsupported: access is managed where the
// database was made.
func (p *Provider) Allow(_ context.Context, _ string, _ ...dbaas.Source) error {
	return dbaas.Unsupported(Name, "allow", "access is managed where the database was made")
}

// Revoke returns dbaas.ErrUnsupported.
func (p *Provider) Revoke(_ context.Context, _ string, _ ...dbaas.Source) error {
	return dbaas.Unsupported(Name, "revoke", "access is managed where the database was made")
}

// Access returns dbaas.ErrUnsupported.
func (p *Provider) Access(_ context.Context, _ string) ([]dbaas.Source, error) {
	return nil, dbaas.Unsupported(Name, "access", "access is managed where the database was made")
}

// Backup returns dbaas.ErrUnsupported.
func (p *Provider) Backup(_ context.Context, _, _ string) (*dbaas.Backup, error) {
	return nil, dbaas.Unsupported(Name, "backup", "backups are managed where the database was made")
}

// Backups returns dbaas.ErrUnsupported.
func (p *Provider) Backups(_ context.Context, _ string) ([]*dbaas.Backup, error) {
	return nil, dbaas.Unsupported(Name, "backups", "backups are managed where the database was made")
}

// Restore returns dbaas.ErrUnsupported.
func (p *Provider) Restore(_ context.Context, _ string, _ dbaas.Spec) (*dbaas.Instance, error) {
	return nil, dbaas.Unsupported(Name, "restore", "backups are managed where the database was made")
}

// Capabilities says that nothing but reading works: no engine can be
// created, no access or backup managed. ReadablePassword and
// CACertificate are true when every database has one.
func (p *Provider) Capabilities() dbaas.Capabilities {
	c := dbaas.Capabilities{ReadablePassword: true, CACertificate: true}
	for _, n := range p.order {
		db := p.dbs[n]
		if db.Password.IsZero() {
			c.ReadablePassword = false
		}
		if len(db.CACertPEM) == 0 {
			c.CACertificate = false
		}
		if !db.PrivateEndpoint.IsZero() {
			c.PrivateNetwork = true
		}
	}
	return c
}

// As reports false: there is no client underneath.
func (p *Provider) As(any) bool { return false }
