package linode

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Connection returns the endpoint (hosts.primary and port), the admin
// credentials of GET …/credentials, the database name of the
// SettingDatabase setting (the API has none) and, as Linode requires TLS,
// the CA certificate of GET …/ssl in PEM. Three API calls.
func (p *client) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	iid, rec, err := p.read(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.primary == "" || rec.port == 0 {
		return nil, &dbaas.Error{Kind: dbaas.ErrConflict,
			Err: fmt.Errorf("no endpoint yet (status %s): wait until the instance is available", rec.status)}
	}
	info := &dbaas.ConnectionInfo{
		Engine:   dbaasEngine(rec.engine),
		Endpoint: dbaas.Endpoint{Host: rec.primary, Port: rec.port},
		Database: p.database,
		TLS:      dbaas.TLSDisable,
	}
	if err := info.Endpoint.Validate(); err != nil {
		return nil, fmt.Errorf("the API gave an unusable endpoint: %w", err)
	}
	var user, password string
	var ca []byte
	if iid.engine == enginePostgres {
		c, err := p.api.GetPostgresDatabaseCredentials(ctx, iid.num)
		if err != nil {
			return nil, fail(ctx, err)
		}
		user, password = c.Username, c.Password
		if rec.ssl {
			s, err := p.api.GetPostgresDatabaseSSL(ctx, iid.num)
			if err != nil {
				return nil, fail(ctx, err)
			}
			ca = s.CACertificate
		}
	} else {
		c, err := p.api.GetMySQLDatabaseCredentials(ctx, iid.num)
		if err != nil {
			return nil, fail(ctx, err)
		}
		user, password = c.Username, c.Password
		if rec.ssl {
			s, err := p.api.GetMySQLDatabaseSSL(ctx, iid.num)
			if err != nil {
				return nil, fail(ctx, err)
			}
			ca = s.CACertificate
		}
	}
	info.User, info.Password = user, dbaas.NewSecret(password)
	if rec.ssl {
		if block, _ := pem.Decode(ca); block == nil {
			return nil, errors.New("the CA certificate of …/ssl is not PEM")
		}
		info.TLS, info.CACertPEM = dbaas.TLSRequire, ca
	}
	return info, nil
}
