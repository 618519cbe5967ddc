package dbaas

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// TLSMode says how a client must use TLS, in libpq's words, with libpq's
// meaning on every engine (PostgreSQL, MySQL and MariaDB alike; see
// ConnectionInfo.TLSConfig).
type TLSMode string

// The TLS modes.
const (
	// TLSDisable: plain TCP.
	TLSDisable TLSMode = "disable"
	// TLSRequire: TLS. With a CA certificate the server's chain is checked
	// against it (as libpq does when given sslrootcert), without one
	// nothing is checked; the host name never is.
	TLSRequire TLSMode = "require"
	// TLSVerifyCA: TLS, the server's chain checked against the CA
	// certificate (the system roots without one); not the host name.
	TLSVerifyCA TLSMode = "verify-ca"
	// TLSVerifyFull: as TLSVerifyCA, and the certificate must name the
	// server (ConnectionInfo.ServerName, or the endpoint's host).
	TLSVerifyFull TLSMode = "verify-full"
)

// ConnectionInfo says how to connect to an instance. Password is a Secret:
// printing a ConnectionInfo never shows it.
type ConnectionInfo struct {
	Engine Engine `json:"engine"`
	// Endpoint is the public (or only) endpoint: host without port, and port.
	Endpoint Endpoint `json:"endpoint"`
	// PrivateEndpoint is the endpoint inside the private network, when apart.
	PrivateEndpoint Endpoint `json:"private_endpoint,omitzero"`
	User            string   `json:"user"`
	Password        Secret   `json:"password"`
	Database        string   `json:"database"`
	TLS             TLSMode  `json:"tls"`
	// CACertPEM is the server's CA certificate, PEM encoded; empty when the
	// cloud gives none.
	CACertPEM []byte `json:"ca_cert_pem,omitempty"`
	// ServerName is the name verify-full checks the certificate against
	// when it is not the endpoint's host: the instance's real host behind
	// a tunnel, whose endpoint is a local address.
	ServerName string `json:"server_name,omitempty"`
}

// DSNOptions tunes the DSN builders.
type DSNOptions struct {
	// Private uses PrivateEndpoint instead of Endpoint.
	Private bool
	// CAFile is the path of a file holding CACertPEM, for sslrootcert
	// (PostgresURL); write one with WriteCAFile.
	CAFile string
	// ConnectTimeout bounds the connection attempt; 0 means 10 s.
	ConnectTimeout time.Duration
}

func (c *ConnectionInfo) endpoint(opts DSNOptions) (Endpoint, error) {
	if c == nil {
		return Endpoint{}, fmt.Errorf("connection info is nil: %w", ErrInvalidArgument)
	}
	e := c.Endpoint
	if opts.Private {
		if c.PrivateEndpoint.IsZero() {
			return Endpoint{}, fmt.Errorf("connection info: no private endpoint: %w", ErrUnsupported)
		}
		e = c.PrivateEndpoint
	}
	if err := e.Validate(); err != nil {
		return Endpoint{}, err
	}
	return e, nil
}

func (c *ConnectionInfo) timeout(opts DSNOptions) time.Duration {
	if opts.ConnectTimeout > 0 {
		return opts.ConnectTimeout
	}
	return 10 * time.Second
}

// PostgresURL returns a postgres:// URL for pgx (and libpq) with sslmode
// and, when opts.CAFile is set, sslrootcert. It holds the password: treat
// the string as a secret. Behind a tunnel (ServerName set) verify-full
// becomes verify-ca in the URL; sqlconn.PgxConfig keeps the name check.
func (c *ConnectionInfo) PostgresURL(opts DSNOptions) (string, error) {
	e, err := c.endpoint(opts)
	if err != nil {
		return "", err
	}
	if c.Engine != "" && c.Engine != Postgres {
		return "", fmt.Errorf("postgres url: engine is %s: %w", c.Engine, ErrInvalidArgument)
	}
	u := url.URL{Scheme: "postgres", Host: e.Address(), Path: "/" + c.Database}
	if c.Password.IsZero() {
		u.User = url.User(c.User)
	} else {
		u.User = url.UserPassword(c.User, c.Password.Reveal())
	}
	q := url.Values{}
	mode := c.TLS
	if mode == "" {
		mode = TLSDisable
	}
	if mode == TLSRequire && opts.CAFile != "" {
		// libpq checks the chain when sslrootcert is given with require.
		mode = TLSVerifyCA
	}
	if mode == TLSVerifyFull && c.ServerName != "" && c.ServerName != e.Host {
		// A URL cannot say "connect here, check that name" to every
		// client (libpq's hostaddr is unknown to pgx): the chain is still
		// checked. sqlconn.PgxConfig checks the name too.
		mode = TLSVerifyCA
	}
	q.Set("sslmode", string(mode))
	if opts.CAFile != "" && mode != TLSDisable {
		q.Set("sslrootcert", opts.CAFile)
	}
	q.Set("connect_timeout", strconv.Itoa(int(c.timeout(opts).Seconds())))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// TLSConfig returns the client *tls.Config of the TLS mode, with the one
// meaning every engine gets (libpq's): nil for disable; for require,
// encryption, and the chain checked when CACertPEM is set; for verify-ca,
// the chain checked against CACertPEM (the system roots without it); for
// verify-full, the chain and the name: serverName when given, else
// ServerName, else the host of host (the endpoint connected to). SNI
// carries the same name.
func (c *ConnectionInfo) TLSConfig(serverName string) (*tls.Config, error) {
	if c.TLS == "" || c.TLS == TLSDisable {
		return nil, nil
	}
	name := serverName
	if name == "" {
		name = c.ServerName
	}
	if name == "" {
		name = c.Endpoint.Host
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: name}
	var roots *x509.CertPool
	if len(c.CACertPEM) > 0 {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(c.CACertPEM) {
			return nil, fmt.Errorf("ca certificate: no PEM certificate found: %w", ErrInvalidArgument)
		}
	}
	switch c.TLS {
	case TLSVerifyFull:
		tc.RootCAs = roots
	case TLSVerifyCA, TLSRequire:
		if c.TLS == TLSRequire && roots == nil {
			// libpq's require without a root certificate: encryption only.
			tc.InsecureSkipVerify = true
			return tc, nil
		}
		// The chain, not the name.
		tc.InsecureSkipVerify = true
		tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, roots)
		}
	default:
		return nil, fmt.Errorf("tls mode %q: want disable, require, verify-ca or verify-full: %w", truncate(string(c.TLS), 32), ErrInvalidArgument)
	}
	return tc, nil
}

func verifyChain(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return fmt.Errorf("tls: server sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("tls: bad server certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
	return err
}

// WriteCAFile writes CACertPEM to a new file ca-*.pem in dir
// (created if needed, mode 0700) and returns its path, for sslrootcert.
// It returns "" and no error when there is no CA.
func (c *ConnectionInfo) WriteCAFile(dir string) (string, error) {
	if len(c.CACertPEM) == 0 {
		return "", nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("write ca file in %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "ca-*.pem")
	if err != nil {
		return "", fmt.Errorf("write ca file in %s: %w", dir, err)
	}
	_, werr := f.Write(c.CACertPEM)
	cerr := f.Close()
	if werr != nil || cerr != nil {
		_ = os.Remove(f.Name())
		return "", fmt.Errorf("write ca file %s: %w", f.Name(), firstErr(werr, cerr))
	}
	return filepath.Clean(f.Name()), nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

type connKey struct{}

type connValue struct {
	id   string
	info *ConnectionInfo
}

// WithConnection returns a context that carries the admin connection
// information of instance id, already fetched with Provider.Connection.
// Providers that manage application databases and users over SQL use it
// instead of asking the cloud for it again on every call, so a sequence
// of calls (toolkit.Apply's) costs one lookup, not one per call. It is
// for that one instance only.
func WithConnection(ctx context.Context, id string, info *ConnectionInfo) context.Context {
	if info == nil {
		return ctx
	}
	return context.WithValue(ctx, connKey{}, connValue{id: id, info: info})
}

// ContextConnection returns the connection information WithConnection
// put in ctx for instance id, if any. Providers and decorators call it.
func ContextConnection(ctx context.Context, id string) (*ConnectionInfo, bool) {
	v, ok := ctx.Value(connKey{}).(connValue)
	if !ok || v.id != id {
		return nil, false
	}
	return v.info, true
}
