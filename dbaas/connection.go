package dbaas

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/go-sql-driver/mysql"
)

// TLSMode says how a client must use TLS, in libpq's words.
type TLSMode string

// The TLS modes.
const (
	// TLSDisable: plain TCP.
	TLSDisable TLSMode = "disable"
	// TLSRequire: TLS, and the server certificate checked against the CA
	// when one is given.
	TLSRequire TLSMode = "require"
	// TLSVerifyCA: TLS, server certificate checked against the CA.
	TLSVerifyCA TLSMode = "verify-ca"
	// TLSVerifyFull: as TLSVerifyCA, and the host name checked too.
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
// the string as a secret.
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
	q.Set("sslmode", string(mode))
	if opts.CAFile != "" && mode != TLSDisable {
		q.Set("sslrootcert", opts.CAFile)
	}
	q.Set("connect_timeout", strconv.Itoa(int(c.timeout(opts).Seconds())))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// MySQLConfig returns a go-sql-driver/mysql configuration. When TLS is on,
// it registers a TLS configuration named tlsName built from CACertPEM
// (mysql.RegisterTLSConfig) and refers to it; with no CA it verifies
// against the system roots.
func (c *ConnectionInfo) MySQLConfig(tlsName string, opts DSNOptions) (*mysql.Config, error) {
	e, err := c.endpoint(opts)
	if err != nil {
		return nil, err
	}
	if c.Engine != "" && !c.Engine.MySQLFamily() {
		return nil, fmt.Errorf("mysql dsn: engine is %s: %w", c.Engine, ErrInvalidArgument)
	}
	cfg := mysql.NewConfig()
	cfg.User = c.User
	cfg.Passwd = c.Password.Reveal()
	cfg.Net = "tcp"
	cfg.Addr = e.Address()
	cfg.DBName = c.Database
	cfg.ParseTime = true
	cfg.Timeout = c.timeout(opts)
	switch c.TLS {
	case "", TLSDisable:
	default:
		if tlsName == "" {
			return nil, fmt.Errorf("mysql dsn: tlsName: is required when TLS is on: %w", ErrInvalidArgument)
		}
		tc, err := c.TLSConfig(e.Host)
		if err != nil {
			return nil, err
		}
		if err := mysql.RegisterTLSConfig(tlsName, tc); err != nil {
			return nil, fmt.Errorf("mysql dsn: register TLS config %q: %w", tlsName, err)
		}
		cfg.TLSConfig = tlsName
	}
	return cfg, nil
}

// MySQLDSN returns the go-sql-driver/mysql DSN of MySQLConfig. It holds
// the password: treat the string as a secret.
func (c *ConnectionInfo) MySQLDSN(tlsName string, opts DSNOptions) (string, error) {
	cfg, err := c.MySQLConfig(tlsName, opts)
	if err != nil {
		return "", err
	}
	return cfg.FormatDSN(), nil
}

// TLSConfig returns a *tls.Config that trusts CACertPEM (or the system
// roots when there is none) and, for verify-full or require with a host
// name, checks serverName.
func (c *ConnectionInfo) TLSConfig(serverName string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if len(c.CACertPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.CACertPEM) {
			return nil, fmt.Errorf("ca certificate: no PEM certificate found: %w", ErrInvalidArgument)
		}
		tc.RootCAs = pool
	}
	if c.TLS == TLSVerifyCA {
		// Check the chain but not the name, like libpq's verify-ca.
		roots := tc.RootCAs
		tc.InsecureSkipVerify = true
		tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			return verifyChain(raw, roots)
		}
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
