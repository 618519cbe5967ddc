package digitalocean

import (
	"context"
	"fmt"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Connection returns the public endpoint (host and port of the
// cluster's connection block), the private one, the administrator doadmin
// and its password, the database, TLS required and the project's CA
// certificate (PEM) from /ca.
func (p *client) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	db, _, err := p.godo.Databases.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	c := db.Connection
	if c == nil || c.Host == "" {
		return nil, &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf("the cluster has no connection details yet (status %s)", db.Status)}
	}
	info := &dbaas.ConnectionInfo{
		Engine:   engineOf(db.EngineSlug),
		Endpoint: dbaas.Endpoint{Host: c.Host, Port: c.Port},
		User:     c.User,
		Password: dbaas.NewSecret(c.Password),
		Database: c.Database,
		TLS:      dbaas.TLSDisable,
	}
	if pc := db.PrivateConnection; pc != nil && pc.Host != "" {
		info.PrivateEndpoint = dbaas.Endpoint{Host: pc.Host, Port: pc.Port}
	}
	if c.SSL {
		info.TLS = dbaas.TLSRequire
		ca, _, err := p.godo.Databases.GetCA(ctx, id)
		if err != nil {
			return nil, err
		}
		info.CACertPEM = ca.Certificate
	}
	return info, nil
}
