package aws

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Connection returns the instance's endpoint (Endpoint.Address, the host
// alone, and Endpoint.Port), master user and database. The password comes
// from Secrets Manager when RDS manages it (ManageMasterUserPassword),
// else from what this Provider set at create, else from
// Options.MasterPassword: RDS never gives a password back. The CA
// certificate is Options.CABundlePEM: RDS gives no PEM through its API.
func (p *Provider) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	d, err := p.describe(ctx, "connection", id)
	if err != nil {
		return nil, err
	}
	inst := toInstance(d, p.opts.Region)
	if inst.Endpoint.IsZero() {
		return nil, dbaas.NewError("connection", id, dbaas.ErrConflict, fmt.Errorf("instance is %s and has no endpoint yet: wait until it is available", inst.RawStatus))
	}
	c := &dbaas.ConnectionInfo{
		Engine:    inst.Engine,
		Endpoint:  inst.Endpoint,
		User:      aws.ToString(d.MasterUsername),
		Database:  aws.ToString(d.DBName),
		TLS:       p.opts.TLS,
		CACertPEM: p.opts.CABundlePEM,
	}
	if c.Database == "" && c.Engine == dbaas.Postgres {
		// RDS makes no database unless asked; PostgreSQL always has this one.
		c.Database = "postgres"
	}
	switch {
	case d.MasterUserSecret != nil && aws.ToString(d.MasterUserSecret.SecretArn) != "":
		out, err := p.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: d.MasterUserSecret.SecretArn})
		if err != nil {
			return nil, wrap("connection", id, err)
		}
		var v struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
			// The secret's text must not reach the error.
			return nil, dbaas.NewError("connection", id, nil, fmt.Errorf("master user secret %s is not the JSON RDS writes", aws.ToString(d.MasterUserSecret.SecretArn)))
		}
		c.Password = dbaas.NewSecret(v.Password)
		if v.Username != "" {
			c.User = v.Username
		}
	default:
		p.mu.Lock()
		pw, ok := p.passwords[id]
		p.mu.Unlock()
		if ok {
			c.Password = dbaas.NewSecret(pw)
		} else {
			c.Password = p.opts.MasterPassword
		}
	}
	return c, nil
}
