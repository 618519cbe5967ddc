package exoscale

import (
	"context"
	"fmt"
	"strings"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Connection reads the service's endpoint, admin user and default
// database, reveals the admin password through the API, and adds the
// organization's CA certificate (read once per provider).
func (p *provider) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	s, err := p.get(ctx, id)
	if err != nil {
		return nil, err
	}
	e := s.endpoint()
	if e.Host == "" || e.Port == 0 {
		return nil, &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf("service %s has no endpoint yet (state %s): wait until it is running", s.name, s.state)}
	}
	user := s.param("user")
	if user == "" {
		for _, u := range s.users {
			if u.kind == "primary" {
				user = u.name
			}
		}
	}
	password, err := p.reveal(ctx, s.typ, s.name, user)
	if err != nil {
		return nil, err
	}
	ca, err := p.caCertificate(ctx)
	if err != nil {
		return nil, err
	}
	database := s.param("dbname")
	if database == "" {
		database = "defaultdb"
	}
	return &dbaas.ConnectionInfo{Engine: engineOf(s.typ), Endpoint: e, User: user, Password: password,
		Database: database, TLS: tlsMode(s), CACertPEM: ca}, nil
}

// tlsMode reads the service's sslmode (PostgreSQL) or ssl-mode (MySQL):
// require unless the service says otherwise.
func tlsMode(s *service) dbaas.TLSMode {
	mode := strings.ToLower(s.param("sslmode"))
	if s.typ == typeMySQL {
		mode = strings.ToLower(s.param("ssl-mode"))
	}
	switch mode {
	case "disable", "disabled":
		return dbaas.TLSDisable
	case "verify-ca", "verify_ca":
		return dbaas.TLSVerifyCA
	case "verify-full", "verify_identity":
		return dbaas.TLSVerifyFull
	}
	return dbaas.TLSRequire
}

// caCertificate returns the organization's DBaaS CA, read once.
func (p *provider) caCertificate(ctx context.Context) ([]byte, error) {
	p.caMu.Lock()
	defer p.caMu.Unlock()
	if p.ca != nil {
		return p.ca, nil
	}
	r, err := p.client.GetDBAASCACertificate(ctx)
	if err != nil {
		return nil, explain(err)
	}
	p.ca = []byte(r.Certificate)
	return p.ca, nil
}

// reveal reads a user's password through the password-reveal endpoint.
func (p *provider) reveal(ctx context.Context, typ, service, user string) (dbaas.Secret, error) {
	if typ == typePG {
		r, err := p.client.RevealDBAASPostgresUserPassword(ctx, service, user)
		if err != nil {
			return dbaas.Secret{}, explain(err)
		}
		return dbaas.NewSecret(r.Password), nil
	}
	r, err := p.client.RevealDBAASMysqlUserPassword(ctx, service, user)
	if err != nil {
		return dbaas.Secret{}, explain(err)
	}
	return dbaas.NewSecret(r.Password), nil
}
