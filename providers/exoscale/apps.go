package exoscale

import (
	"context"
	"errors"
	"slices"

	v3 "github.com/exoscale/egoscale/v3"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Application databases and users go through the API (…/database,
// …/user, password reset and reveal).
//
// Least privilege: the API cannot restrict a user to one database (its
// user has no grants); a user made here has the rights Exoscale gives
// every user it makes, and UserSpec.Database is ensured to exist. The
// API does not record a user's database either: Users reports the one
// this provider ensured for the user, and none for users made elsewhere
// or by another process. Grant narrower rights over SQL with the admin
// connection where that matters.

// systemDatabases are left out of Databases.
var systemDatabases = []string{"_aiven", "information_schema", "mysql", "performance_schema", "sys"}

func (p *provider) EnsureDatabase(ctx context.Context, id, name string) error {
	typ, err := p.serviceType(ctx, id)
	if err != nil {
		return err
	}
	var op *v3.Operation
	if typ == typePG {
		op, err = p.client.CreateDBAASPGDatabase(ctx, id, v3.CreateDBAASPGDatabaseRequest{DatabaseName: v3.DBAASDatabaseName(name)})
	} else {
		op, err = p.client.CreateDBAASMysqlDatabase(ctx, id, v3.CreateDBAASMysqlDatabaseRequest{DatabaseName: v3.DBAASDatabaseName(name)})
	}
	if errors.Is(err, v3.ErrConflict) {
		return nil
	}
	return p.do(ctx, op, err)
}

func (p *provider) Databases(ctx context.Context, id string) ([]string, error) {
	s, err := p.get(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(s.databases))
	for _, d := range s.databases {
		if !slices.Contains(systemDatabases, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (p *provider) DropDatabase(ctx context.Context, id, name string) error {
	typ, err := p.serviceType(ctx, id)
	if err != nil {
		return err
	}
	var op *v3.Operation
	if typ == typePG {
		op, err = p.client.DeleteDBAASPGDatabase(ctx, id, name)
	} else {
		op, err = p.client.DeleteDBAASMysqlDatabase(ctx, id, name)
	}
	if errors.Is(err, v3.ErrNotFound) {
		if _, gerr := p.get(ctx, id); gerr != nil {
			return gerr // the service is gone, not the database
		}
		return nil
	}
	return p.do(ctx, op, err)
}

// EnsureUser creates the user unless it exists, sets u.Password when
// given (the API generates one otherwise) and returns the user with its
// password, read through the password-reveal endpoint.
func (p *provider) EnsureUser(ctx context.Context, id string, u dbaas.UserSpec) (*dbaas.User, error) {
	typ, err := p.serviceType(ctx, id)
	if err != nil {
		return nil, err
	}
	var op *v3.Operation
	if typ == typePG {
		op, err = p.client.CreateDBAASPostgresUser(ctx, id, v3.CreateDBAASPostgresUserRequest{Username: v3.DBAASUserUsername(u.Name)})
	} else {
		op, err = p.client.CreateDBAASMysqlUser(ctx, id, v3.CreateDBAASMysqlUserRequest{Username: v3.DBAASUserUsername(u.Name)})
	}
	if !errors.Is(err, v3.ErrConflict) {
		if err := p.do(ctx, op, err); err != nil {
			return nil, err
		}
	}
	if u.Database != "" {
		if err := p.EnsureDatabase(ctx, id, u.Database); err != nil {
			return nil, err
		}
		p.userDBs.Store(userKey(id, u.Name), u.Database)
	}
	var out *dbaas.User
	if !u.Password.IsZero() {
		out, err = p.SetPassword(ctx, id, u.Name, u.Password)
	} else {
		var password dbaas.Secret
		password, err = p.reveal(ctx, typ, id, u.Name)
		out = &dbaas.User{Name: u.Name, Password: password}
	}
	if err != nil {
		return nil, err
	}
	out.Database = u.Database
	return out, nil
}

func userKey(service, user string) string { return service + "\x00" + user }

// database is the database this provider ensured for a user.
func (p *provider) database(service, user string) string {
	v, _ := p.userDBs.Load(userKey(service, user))
	s, _ := v.(string)
	return s
}

// Users lists the service's users other than its admin (primary) user.
func (p *provider) Users(ctx context.Context, id string) ([]*dbaas.User, error) {
	s, err := p.get(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []*dbaas.User
	for _, u := range s.users {
		if u.kind != "primary" {
			out = append(out, &dbaas.User{Name: u.name, Database: p.database(id, u.name)})
		}
	}
	return out, nil
}

// SetPassword resets the user's password (empty: the API makes one) and
// returns the user with the password the API then reveals.
func (p *provider) SetPassword(ctx context.Context, id, user string, password dbaas.Secret) (*dbaas.User, error) {
	typ, err := p.serviceType(ctx, id)
	if err != nil {
		return nil, err
	}
	var op *v3.Operation
	if typ == typePG {
		op, err = p.client.ResetDBAASPostgresUserPassword(ctx, id, user, v3.ResetDBAASPostgresUserPasswordRequest{Password: v3.DBAASUserPassword(password.Reveal())})
	} else {
		op, err = p.client.ResetDBAASMysqlUserPassword(ctx, id, user, v3.ResetDBAASMysqlUserPasswordRequest{Password: v3.DBAASUserPassword(password.Reveal())})
	}
	if err := p.do(ctx, op, err); err != nil {
		return nil, err
	}
	revealed, err := p.reveal(ctx, typ, id, user)
	if err != nil {
		return nil, err
	}
	return &dbaas.User{Name: user, Database: p.database(id, user), Password: revealed}, nil
}

func (p *provider) DropUser(ctx context.Context, id, user string) error {
	typ, err := p.serviceType(ctx, id)
	if err != nil {
		return err
	}
	var op *v3.Operation
	if typ == typePG {
		op, err = p.client.DeleteDBAASPostgresUser(ctx, id, user)
	} else {
		op, err = p.client.DeleteDBAASMysqlUser(ctx, id, user)
	}
	p.userDBs.Delete(userKey(id, user))
	if errors.Is(err, v3.ErrNotFound) {
		if _, gerr := p.get(ctx, id); gerr != nil {
			return gerr
		}
		return nil
	}
	return p.do(ctx, op, err)
}
