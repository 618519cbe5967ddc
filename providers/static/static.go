package static

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
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
	dbaas.Provider
}

var _ dbaas.Provider = (*Provider)(nil)

// capabilities are the most a static provider can do: read. Nothing can
// be created, no access or backup managed; an opened provider says
// ReadablePassword, CACertificate and PrivateNetwork only when its
// databases have them.
var capabilities = dbaas.Capabilities{ReadablePassword: true, CACertificate: true, PrivateNetwork: true, AppUsers: dbaas.AppUsersSQL}

// info is the static provider's registration.
var info = driver.Info{
	Capabilities: capabilities,
	Settings: []string{SettingEngine, SettingHost, SettingPort, SettingPrivateHost, SettingUser,
		SettingPassword, SettingPasswordFile, SettingDatabase, SettingTLS, SettingCAFile, SettingName},
	Open: func(_ context.Context, cfg dbaas.Config) (driver.Driver, error) {
		db, err := fromSettings(cfg.Settings)
		if err != nil {
			return nil, err
		}
		return newDriver(db)
	},
}

func init() { driver.Register(Name, info) }

// fromSettings reads the one database of a Config.
func fromSettings(s map[string]string) (Database, error) {
	db := Database{Name: s[SettingName], User: s[SettingUser], Database: s[SettingDatabase], TLS: dbaas.TLSMode(s[SettingTLS])}
	if s[SettingEngine] == "" {
		return db, dbaas.InvalidField("settings."+SettingEngine, "is required: postgres, mysql or mariadb")
	}
	e, err := dbaas.ParseEngine(s[SettingEngine])
	if err != nil {
		return db, dbaas.InvalidField("settings."+SettingEngine, err.Error())
	}
	db.Engine = e
	db.Endpoint.Host = s[SettingHost]
	if p := s[SettingPort]; p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return db, dbaas.InvalidField("settings."+SettingPort, fmt.Sprintf("%q is not a number", truncate(p, 16)))
		}
		db.Endpoint.Port = n
	}
	if h := s[SettingPrivateHost]; h != "" {
		db.PrivateEndpoint = dbaas.Endpoint{Host: h, Port: db.Endpoint.Port}
	}
	switch {
	case s[SettingPassword] != "" && s[SettingPasswordFile] != "":
		return db, dbaas.InvalidField("settings."+SettingPasswordFile, "give password or password_file, not both")
	case s[SettingPassword] != "":
		db.Password = dbaas.NewSecret(s[SettingPassword])
	case s[SettingPasswordFile] != "":
		b, err := os.ReadFile(s[SettingPasswordFile])
		if err != nil {
			return db, dbaas.InvalidField("settings."+SettingPasswordFile, fmt.Sprintf("cannot read %s: %v", s[SettingPasswordFile], err))
		}
		db.Password = dbaas.NewSecret(strings.TrimRight(string(b), "\r\n"))
	}
	if f := s[SettingCAFile]; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return db, dbaas.InvalidField("settings."+SettingCAFile, fmt.Sprintf("cannot read %s: %v", f, err))
		}
		db.CACertPEM = b
	}
	return db, nil
}

// New returns a provider of the databases given. Each is checked now:
// a clear error names the database and the field at fault.
func New(dbs ...Database) (*Provider, error) {
	d, err := newDriver(dbs...)
	if err != nil {
		return nil, err
	}
	return &Provider{Provider: driver.NewProvider(Name, d, info, nil)}, nil
}

func newDriver(dbs ...Database) (*databases, error) {
	if len(dbs) == 0 {
		return nil, dbaas.InvalidField("databases", "at least one database is required")
	}
	d := &databases{dbs: map[string]Database{}}
	for i, db := range dbs {
		db, err := check(db)
		if err != nil {
			return nil, fmt.Errorf("static database %d (%s): %w", i, db.Name, err)
		}
		if _, dup := d.dbs[db.Name]; dup {
			return nil, dbaas.InvalidField(fmt.Sprintf("databases[%d].name", i), fmt.Sprintf("%q is used twice", db.Name))
		}
		d.dbs[db.Name] = db
		d.order = append(d.order, db.Name)
	}
	return d, nil
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

// databases is the driver: the configured databases, by name.
type databases struct {
	dbs   map[string]Database
	order []string
}

func (d *databases) lookup(id string) (Database, error) {
	db, ok := d.dbs[id]
	if !ok {
		return db, &dbaas.Error{Kind: dbaas.ErrNotFound,
			Err: fmt.Errorf("no database %q is configured (configured: %s)", truncate(id, 64), strings.Join(d.order, ", "))}
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
func (d *databases) Get(_ context.Context, id string) (*dbaas.Instance, error) {
	db, err := d.lookup(id)
	if err != nil {
		return nil, err
	}
	return db.instance(), nil
}

// List returns every configured database, in configuration order.
func (d *databases) List(context.Context) ([]*dbaas.Instance, error) {
	out := make([]*dbaas.Instance, 0, len(d.order))
	for _, n := range d.order {
		out = append(out, d.dbs[n].instance())
	}
	return out, nil
}

// Connection returns the configured endpoint and credentials.
func (d *databases) Connection(_ context.Context, id string) (*dbaas.ConnectionInfo, error) {
	db, err := d.lookup(id)
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

// errManaged answers the calls the capabilities rule out, should the
// portable layer ever pass one on.
var errManaged = &dbaas.Error{Kind: dbaas.ErrUnsupported, Err: errors.New("the database is managed where it was made")}

func (d *databases) Create(context.Context, dbaas.Spec) (*dbaas.Instance, error) {
	return nil, errManaged
}
func (d *databases) Delete(context.Context, string, dbaas.DeleteOptions) error { return errManaged }
func (d *databases) Allow(context.Context, string, []dbaas.Source) error       { return errManaged }
func (d *databases) Revoke(context.Context, string, []dbaas.Source) error      { return errManaged }
func (d *databases) Access(context.Context, string) ([]dbaas.Source, error)    { return nil, errManaged }
func (d *databases) Backup(context.Context, string, string) (*dbaas.Backup, error) {
	return nil, errManaged
}
func (d *databases) Backups(context.Context, string) ([]*dbaas.Backup, error) { return nil, errManaged }
func (d *databases) Restore(context.Context, dbaas.RestorePoint, dbaas.Spec) (*dbaas.Instance, error) {
	return nil, errManaged
}

// Capabilities are the registered ones, less ReadablePassword and
// CACertificate unless every database has a password and a CA, and less
// PrivateNetwork unless one has a private endpoint.
func (d *databases) Capabilities() dbaas.Capabilities {
	c := capabilities
	c.PrivateNetwork = false
	for _, n := range d.order {
		db := d.dbs[n]
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

// ErrorKind is nil: every error of the driver names its sentinel.
func (d *databases) ErrorKind(error) error { return nil }

// As reports false: there is no client underneath.
func (d *databases) As(any) bool { return false }

// Close does nothing: the provider holds no connection.
func (d *databases) Close() error { return nil }
