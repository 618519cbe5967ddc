package toolkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Options tunes Apply.
type Options struct {
	// Cloud chooses the form of the line, as Parse's cloud; empty tells
	// it from the line's shape.
	Cloud string
	// Port is the configured database port (the toolkit's DB_PORT). The
	// database must listen on it: where the provider lets a port be
	// chosen (Capabilities.CustomPort) a new instance is created on it;
	// anywhere else a different port stops Apply before it changes
	// anything. 0 skips the check, and is refused by the CLI.
	Port int
	// WebServers are the sources the web servers connect from, allowed
	// in on the database port.
	WebServers []dbaas.Source
	// Keep are sources always allowed besides the web servers, such as
	// the private network's range.
	Keep []dbaas.Source
	// Provider is an opened provider for the line's cloud; nil opens one
	// with dbaas.Open and Config, and closes it at the end.
	Provider dbaas.Provider
	// Config is what dbaas.Open gets when Provider is nil.
	Config dbaas.Config
	// Wait tunes the wait for the instance; its Progress, when set, is
	// called after every poll.
	Wait dbaas.WaitOptions
	// AppPassword is the application user's password when the line has
	// none: what an earlier Apply returned (the CLI keeps it in its
	// password file). Without either, a new user gets a random password
	// and an existing one cannot be reported.
	AppPassword dbaas.Secret
	// CADir is where the CA certificate is written when the provider
	// gives one (a new 0600 file; default the system's temporary
	// directory).
	CADir string
}

// Result is what the toolkit writes into its configuration.
type Result struct {
	Provider   string `json:"provider"`
	InstanceID string `json:"instance_id"`
	// Created reports whether Apply made the instance.
	Created bool `json:"created"`
	// Host is the endpoint's host, never with a port.
	Host string `json:"host"`
	Port int    `json:"port"`
	// Database, User and Password are the application's own: the
	// database it owns and its login (on AWS the instance's master user,
	// as the toolkit's RDS line names it).
	Database string        `json:"database"`
	User     string        `json:"user"`
	Password dbaas.Secret  `json:"password"`
	TLS      dbaas.TLSMode `json:"tls"`
	// CAFile is the path of the CA certificate, when the provider gives
	// one.
	CAFile string `json:"ca_file,omitempty"`
	// Access is what the access list sync changed.
	Access dbaas.AccessChange `json:"access"`
}

// Apply runs the toolkit's whole DBaaS step for line: parse it, open the
// provider, reuse or create the instance, wait until it is available,
// check that it listens on the configured port — before anything else is
// changed —, make the application's database and user (least privilege),
// make the access list's addresses exactly the web servers and kept
// sources (security groups, such as the toolkit's own on AWS, stay), and
// return what the toolkit configures. Running it again changes nothing.
//
// Bad input (a malformed line, a web server that is no address) fails
// before any call. A port mismatch fails with a *dbaas.PortMismatchError
// before any write beyond the instance itself.
func Apply(ctx context.Context, line string, opts Options) (*Result, error) {
	cfg, err := Parse(line, opts.Cloud)
	if err != nil {
		return nil, err
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, dbaas.InvalidField("port", fmt.Sprintf("%d is not 1 to 65535", opts.Port))
	}
	desired := append(append([]dbaas.Source(nil), opts.Keep...), opts.WebServers...)
	for i, s := range desired {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("web servers and kept sources[%d]: %w", i, err)
		}
		if s.IsWorld() {
			return nil, dbaas.InvalidField(fmt.Sprintf("sources[%d]", i), s.String()+" opens the database to the whole internet")
		}
	}
	p := opts.Provider
	if p == nil {
		if p, err = dbaas.Open(ctx, cfg.Provider, opts.Config); err != nil {
			return nil, err
		}
		defer p.Close()
	}
	caps := p.Capabilities()
	spec := cfg.Spec
	if caps.CustomPort && spec.Port == 0 {
		spec.Port = opts.Port
	}
	// A new instance is made with its access list, so it is never open
	// wider than asked, even for a moment, on a cloud where an empty list
	// lets everyone in.
	if len(spec.Access) == 0 {
		for _, s := range desired {
			if caps.SupportsSource(s.Kind) {
				spec.Access = append(spec.Access, s)
			}
		}
	}
	inst, created, err := dbaas.Ensure(ctx, p, spec)
	if err != nil {
		return nil, err
	}
	if inst.Status != dbaas.StatusAvailable {
		if inst, err = dbaas.Wait(ctx, p, inst.ID, opts.Wait); err != nil {
			return nil, err
		}
	}
	conn, err := p.Connection(ctx, inst.ID)
	if err != nil {
		return nil, err
	}
	if inst.Endpoint.IsZero() {
		// A listed instance may come without its endpoint (Exoscale's
		// list has none): the connection's is the same.
		found := *inst
		found.Endpoint = conn.Endpoint
		inst = &found
	}
	if err := dbaas.CheckPort(inst, opts.Port); err != nil {
		return nil, err
	}
	res := &Result{Provider: cfg.Provider, InstanceID: inst.ID, Created: created,
		Host: inst.Endpoint.Host, Port: inst.Endpoint.Port}
	res.TLS = conn.TLS
	if cfg.AppPassword.IsZero() {
		cfg.AppPassword = opts.AppPassword
	}
	// The application's database and user are made with the connection
	// fetched above: providers working over SQL need not fetch it again.
	if err := app(dbaas.WithConnection(ctx, inst.ID, conn), p, inst, cfg, conn, res); err != nil {
		return nil, err
	}
	if len(desired) > 0 {
		// Security groups are left as they are: AWS's Create lets the
		// toolkit's web-server group in, and the line speaks addresses.
		if res.Access, err = dbaas.SyncAccess(ctx, p, inst.ID, desired, dbaas.KeepKinds(dbaas.SourceSecurityGroup)); err != nil {
			return nil, err
		}
	}
	if len(conn.CACertPEM) > 0 {
		if res.CAFile, err = writeCA(opts.CADir, inst.ID, conn.CACertPEM); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// app makes the application's database and user; on AWS the line names
// the master user and its database, made with the instance.
func app(ctx context.Context, p dbaas.Provider, inst *dbaas.Instance, cfg *Config, conn *dbaas.ConnectionInfo, res *Result) error {
	if cfg.Provider == AWS || cfg.AppUser == "" {
		res.Database, res.User, res.Password = conn.Database, conn.User, conn.Password
		if cfg.Provider == AWS && !cfg.Spec.AdminPassword.IsZero() {
			res.Password = cfg.Spec.AdminPassword
		}
		if cfg.AppDatabase != "" && cfg.AppDatabase != conn.Database {
			if err := p.EnsureDatabase(ctx, inst.ID, cfg.AppDatabase); err != nil {
				return err
			}
			res.Database = cfg.AppDatabase
		}
		return nil
	}
	database := cfg.AppDatabase
	if database == "" {
		database = cfg.AppUser
	}
	if err := p.EnsureDatabase(ctx, inst.ID, database); err != nil {
		return err
	}
	u, err := p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: cfg.AppUser, Database: database, Password: cfg.AppPassword})
	if err != nil {
		return err
	}
	res.Database, res.User, res.Password = database, u.Name, u.Password
	if res.Password.IsZero() {
		// The user existed and its password is not readable back: the
		// toolkit keeps what it was given, or rotates to learn a new one.
		return &dbaas.Error{Op: "toolkit apply", ID: inst.ID, Kind: dbaas.ErrConflict,
			Err: errors.New("user " + u.Name + " exists and its password cannot be read back: give it (in the line, or the password file of the earlier apply), or rotate it (dbaas user rotate)")}
	}
	return nil
}

// writeCA writes the CA certificate to a 0600 file named after the
// instance, replacing an older one in one rename.
func writeCA(dir, id string, pem []byte) (string, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("ca file: %w", err)
	}
	name := filepath.Join(dir, "dbaas-ca-"+safeName(id)+".pem")
	tmp, err := os.CreateTemp(dir, ".dbaas-ca-*")
	if err != nil {
		return "", fmt.Errorf("ca file: %w", err)
	}
	_, werr := tmp.Write(pem)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("ca file: %w", err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("ca file: %w", err)
	}
	return name, nil
}

func safeName(id string) string {
	b := []byte(id)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}
