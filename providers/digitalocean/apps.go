package digitalocean

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/digitalocean/godo"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
	"github.com/agiledeploy/dbaaskit/internal/appsql"
)

// Application databases and users go through the API where it has a
// call (/dbs and /users: create, list, drop, and the password, which
// DigitalOcean generates), and over SQL with the doadmin connection where
// it has none: DigitalOcean gives a PostgreSQL or MySQL user no privilege
// control, so the rights of a user on its database (and on nothing else)
// are given over SQL, and so is a password the caller chose.
var _ driver.Apps = (*client)(nil)

// EnsureDatabase creates the database through the API unless it exists.
func (p *client) EnsureDatabase(ctx context.Context, id, name string) error {
	if err := checkID(id); err != nil {
		return err
	}
	_, _, err := p.godo.Databases.GetDB(ctx, id, name)
	if err == nil {
		return nil
	}
	if absent, err := p.absentIn(ctx, id, err); !absent {
		return err
	}
	_, _, err = p.godo.Databases.CreateDB(ctx, id, &godo.DatabaseCreateDBRequest{Name: name})
	if isStatus(err, http.StatusUnprocessableEntity) {
		// A concurrent creator may have won: then it exists, as asked.
		if _, _, gerr := p.godo.Databases.GetDB(ctx, id, name); gerr == nil {
			return nil
		}
	}
	return err
}

// Databases lists the cluster's databases through the API, the
// default one (defaultdb) included and system ones left out.
func (p *client) Databases(ctx context.Context, id string) ([]string, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	dbs, _, err := p.godo.Databases.ListDBs(ctx, id, nil)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(dbs))
	for _, d := range dbs {
		if !dbaas.IsSystemDatabase(d.Name) {
			names = append(names, d.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// DropDatabase deletes the database through the API; an absent one is
// not an error.
func (p *client) DropDatabase(ctx context.Context, id, name string) error {
	if err := checkID(id); err != nil {
		return err
	}
	_, err := p.godo.Databases.DeleteDB(ctx, id, name)
	if err == nil {
		return nil
	}
	_, err = p.absentIn(ctx, id, err)
	return err
}

// EnsureUser creates the user through the API unless it exists: the
// cloud generates its password, which the API also reads back for an
// existing user. A password the caller chose (u.Password, as the
// toolkit's line gives) is set over SQL, since the API cannot set one;
// the API then keeps reporting the password it generated, so such a
// user must be given its password again later (a later EnsureUser
// without one returns the generated, stale one). The user gets
// u.Database over SQL (PostgreSQL: owner of the database and its public
// schema, PUBLIC's right to connect revoked; MySQL: all privileges on
// database.*). A user this call created is deleted again when a SQL step
// fails.
func (p *client) EnsureUser(ctx context.Context, id string, u dbaas.UserSpec) (*dbaas.User, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	cur, created, err := p.ensureAPIUser(ctx, id, u.Name)
	if err != nil {
		return nil, err
	}
	out := &dbaas.User{Name: u.Name, Database: u.Database, Password: dbaas.NewSecret(cur.Password)}
	chosen := !u.Password.IsZero() && u.Password.Reveal() != cur.Password
	if !chosen && u.Database == "" {
		return out, nil
	}
	err = p.overSQL(ctx, id, func(admin appsql.Admin) error {
		if chosen {
			if _, err := admin.SetPassword(ctx, u.Name, u.Password); err != nil {
				return fmt.Errorf("set the chosen password of %s: %w", u.Name, err)
			}
			out.Password = u.Password
		}
		if u.Database != "" {
			if err := admin.GrantDatabase(ctx, u.Name, u.Database); err != nil {
				return fmt.Errorf("give %s its database %s: %w", u.Name, u.Database, err)
			}
		}
		return nil
	})
	if err != nil {
		if created {
			// Leave no half-made user behind, even when ctx has ended.
			if _, derr := p.godo.Databases.DeleteUser(context.WithoutCancel(ctx), id, u.Name); derr != nil {
				err = errors.Join(err, fmt.Errorf("delete the new user %s again: %w", u.Name, derr))
			}
		}
		return nil, err
	}
	return out, nil
}

// ensureAPIUser returns the user, made through the API when absent, and
// whether this call made it.
func (p *client) ensureAPIUser(ctx context.Context, id, name string) (*godo.DatabaseUser, bool, error) {
	cur, _, err := p.godo.Databases.GetUser(ctx, id, name)
	if err == nil {
		if cur.Role == "primary" {
			return nil, false, &dbaas.Error{Kind: dbaas.ErrConflict, Field: "user.name",
				Err: fmt.Errorf("%s is the cluster's primary (admin) user, not an application user: choose another name", name)}
		}
		return cur, false, nil
	}
	if absent, err := p.absentIn(ctx, id, err); !absent {
		return nil, false, err
	}
	cur, _, err = p.godo.Databases.CreateUser(ctx, id, &godo.DatabaseCreateUserRequest{Name: name})
	if isStatus(err, http.StatusUnprocessableEntity) {
		// A concurrent creator may have won: then it exists, as asked.
		if again, _, gerr := p.godo.Databases.GetUser(ctx, id, name); gerr == nil && again.Role != "primary" {
			return again, false, nil
		}
	}
	if err != nil {
		return nil, false, err
	}
	return cur, true, nil
}

// Users lists the application users through the API (the primary
// doadmin left out, as are names no application user could have), with
// their passwords as the API reports them and, over SQL, the database
// each owns (PostgreSQL) or holds privileges on (MySQL).
func (p *client) Users(ctx context.Context, id string) ([]*dbaas.User, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	list, _, err := p.godo.Databases.ListUsers(ctx, id, nil)
	if err != nil {
		return nil, err
	}
	var out []*dbaas.User
	for _, u := range list {
		if u.Role == "primary" || dbaas.ValidateUserName("", u.Name) != nil {
			continue
		}
		out = append(out, &dbaas.User{Name: u.Name, Password: dbaas.NewSecret(u.Password)})
	}
	if len(out) == 0 {
		return out, nil
	}
	err = p.overSQL(ctx, id, func(admin appsql.Admin) error {
		rights, err := admin.Users(ctx)
		if err != nil {
			return fmt.Errorf("read the users' databases: %w", err)
		}
		for _, u := range out {
			if i := slices.IndexFunc(rights, func(r *dbaas.User) bool { return r.Name == u.Name }); i >= 0 {
				u.Database = rights[i].Database
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *dbaas.User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// SetPassword resets the user's password through the API
// (reset_auth): DigitalOcean chooses the new password, which is
// returned; a password passed in is not used, as the API cannot set one.
func (p *client) SetPassword(ctx context.Context, id, user string, _ dbaas.Secret) (*dbaas.User, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	cur, _, err := p.godo.Databases.GetUser(ctx, id, user)
	if err != nil {
		return nil, err
	}
	if cur.Role == "primary" {
		return nil, &dbaas.Error{Kind: dbaas.ErrInvalidArgument, Field: "user",
			Err: fmt.Errorf("%s is the cluster's primary (admin) user, not an application user", user)}
	}
	u, _, err := p.godo.Databases.ResetUserAuth(ctx, id, user, &godo.DatabaseResetUserAuthRequest{})
	if err != nil {
		return nil, err
	}
	return &dbaas.User{Name: u.Name, Password: dbaas.NewSecret(u.Password)}, nil
}

// DropUser deletes the user through the API; an absent one is not an
// error. On PostgreSQL what the user owns (its database) is first given
// to doadmin over SQL, since a role that owns a database cannot be
// dropped.
func (p *client) DropUser(ctx context.Context, id, user string) error {
	if err := checkID(id); err != nil {
		return err
	}
	cur, _, err := p.godo.Databases.GetUser(ctx, id, user)
	if err != nil {
		_, err = p.absentIn(ctx, id, err)
		return err
	}
	if cur.Role == "primary" {
		return &dbaas.Error{Kind: dbaas.ErrInvalidArgument, Field: "user",
			Err: fmt.Errorf("%s is the cluster's primary (admin) user, not an application user", user)}
	}
	err = p.overSQL(ctx, id, func(admin appsql.Admin) error {
		if err := admin.ReleaseUser(ctx, user); err != nil {
			return fmt.Errorf("give what %s owns to the admin user: %w", user, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	_, err = p.godo.Databases.DeleteUser(ctx, id, user)
	if isStatus(err, http.StatusNotFound) {
		return nil
	}
	return err
}

// overSQL runs f with the cluster's doadmin connection: the one the
// caller already has (dbaas.WithConnection), or the cloud's.
func (p *client) overSQL(ctx context.Context, id string, f func(appsql.Admin) error) error {
	conn, ok := dbaas.ContextConnection(ctx, id)
	if !ok {
		var err error
		if conn, err = p.Connection(ctx, id); err != nil {
			return err
		}
	}
	return f(appsql.Admin{Conn: conn})
}

// isStatus reports whether err is an API answer of the given status.
func isStatus(err error, status int) bool {
	var er *godo.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == status
}

// absentIn sorts out an error of a call about a database or user of
// cluster id: true when it is a 404 about that database or user in a
// cluster that exists (the API answers a missing cluster alike), else
// false with the error to return (the call's, or the lookup's).
func (p *client) absentIn(ctx context.Context, id string, err error) (bool, error) {
	if !isStatus(err, http.StatusNotFound) {
		return false, err
	}
	if _, known := dbaas.ContextConnection(ctx, id); known {
		// The caller has just read the cluster (dbaas.WithConnection):
		// it exists, and a create in a cluster gone since fails anyway.
		return true, nil
	}
	if _, _, gerr := p.godo.Databases.Get(ctx, id); gerr != nil {
		return false, gerr
	}
	return true, nil
}
