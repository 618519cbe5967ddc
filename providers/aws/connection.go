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
// else from what this Provider set at create (and carried over to the
// instances it restored from that one's snapshots), else from
// Options.MasterPassword: RDS never gives a password back. With none of
// these the Password is empty, as Capabilities.ReadablePassword (false
// without Options.MasterPassword) says it may be. The CA
// certificate is Options.CABundlePEM: RDS gives no PEM through its API.
func (d *rdsDriver) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	db, err := d.describe(ctx, id)
	if err != nil {
		return nil, err
	}
	inst := toInstance(db, d.opts.Region)
	if inst.Endpoint.IsZero() {
		return nil, &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf("instance is %s and has no endpoint yet: wait until it is available", inst.RawStatus)}
	}
	c := &dbaas.ConnectionInfo{
		Engine:    inst.Engine,
		Endpoint:  inst.Endpoint,
		User:      aws.ToString(db.MasterUsername),
		Database:  aws.ToString(db.DBName),
		TLS:       d.opts.TLS,
		CACertPEM: d.opts.CABundlePEM,
	}
	if c.Database == "" && c.Engine == dbaas.Postgres {
		// RDS makes no database unless asked; PostgreSQL always has this one.
		c.Database = "postgres"
	}
	switch {
	case db.MasterUserSecret != nil && aws.ToString(db.MasterUserSecret.SecretArn) != "":
		out, err := d.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: db.MasterUserSecret.SecretArn})
		if err != nil {
			return nil, apiErr(err)
		}
		var v struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
			// The secret's text must not reach the error.
			return nil, fmt.Errorf("master user secret %s is not the JSON RDS writes", aws.ToString(db.MasterUserSecret.SecretArn))
		}
		c.Password = dbaas.NewSecret(v.Password)
		if v.Username != "" {
			c.User = v.Username
		}
	default:
		if pw, ok := d.knownPassword(aws.ToString(db.DbiResourceId), id); ok {
			c.Password = pw
		} else {
			c.Password = d.opts.MasterPassword
		}
	}
	return c, nil
}
