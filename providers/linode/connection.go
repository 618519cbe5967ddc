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
func (p *Provider) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	iid, err := parseID("connection", id)
	if err != nil {
		return nil, err
	}
	rec, err := p.get(ctx, "connection", iid)
	if err != nil {
		return nil, err
	}
	if rec.primary == "" || rec.port == 0 {
		return nil, dbaas.NewError("connection", id, dbaas.ErrConflict,
			fmt.Errorf("no endpoint yet (status %s): wait until the instance is available", rec.status))
	}
	info := &dbaas.ConnectionInfo{
		Engine:   dbaasEngine(rec.engine),
		Endpoint: dbaas.Endpoint{Host: rec.primary, Port: rec.port},
		Database: p.database,
		TLS:      dbaas.TLSDisable,
	}
	if err := info.Endpoint.Validate(); err != nil {
		return nil, dbaas.NewError("connection", id, nil, fmt.Errorf("the API gave an unusable endpoint: %w", err))
	}
	var user, password string
	var ca []byte
	if iid.engine == enginePostgres {
		c, err := p.client.GetPostgresDatabaseCredentials(ctx, iid.num)
		if err != nil {
			return nil, wrap(ctx, "connection", id, err)
		}
		user, password = c.Username, c.Password
		if rec.ssl {
			s, err := p.client.GetPostgresDatabaseSSL(ctx, iid.num)
			if err != nil {
				return nil, wrap(ctx, "connection", id, err)
			}
			ca = s.CACertificate
		}
	} else {
		c, err := p.client.GetMySQLDatabaseCredentials(ctx, iid.num)
		if err != nil {
			return nil, wrap(ctx, "connection", id, err)
		}
		user, password = c.Username, c.Password
		if rec.ssl {
			s, err := p.client.GetMySQLDatabaseSSL(ctx, iid.num)
			if err != nil {
				return nil, wrap(ctx, "connection", id, err)
			}
			ca = s.CACertificate
		}
	}
	info.User, info.Password = user, dbaas.NewSecret(password)
	if rec.ssl {
		if block, _ := pem.Decode(ca); block == nil {
			return nil, dbaas.NewError("connection", id, nil, errors.New("the CA certificate of …/ssl is not PEM"))
		}
		info.TLS, info.CACertPEM = dbaas.TLSRequire, ca
	}
	return info, nil
}
