package vultr

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/vultr/govultr/v3"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Application databases and users go through the API's /dbs and /users.
//
// Least privilege: the API cannot restrict a PostgreSQL or MySQL user to
// one database. The official description's access control
// (/users/{username}/access-control) is for Redis/Valkey users only, and
// govultr's user permission field is Kafka's. A user made here has the
// rights Vultr gives every user it makes; UserSpec.Database is ensured to
// exist. The API does not record a user's database either: Users reports
// the one this provider ensured for the user, and none for users made
// elsewhere or by another process. Grant narrower rights over SQL with
// the administrator's connection where that matters.

// notFound reports whether err is the API's 404.
func notFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound
}

// EnsureDatabase creates logical database name unless it exists.
func (d *vultrDriver) EnsureDatabase(ctx context.Context, id, name string) error {
	exists := func() (bool, error) {
		err := d.call(ctx, true, func(ctx context.Context) error {
			_, _, err := d.client.Database.GetDB(ctx, url.PathEscape(id), url.PathEscape(name))
			return err
		})
		if notFound(err) {
			// The database itself may be the one missing.
			if _, gerr := d.get(ctx, id); gerr != nil {
				return false, gerr
			}
			return false, nil
		}
		return err == nil, err
	}
	for attempt := 1; ; attempt++ {
		ok, err := exists()
		if err != nil || ok {
			return err
		}
		err = d.call(ctx, false, func(ctx context.Context) error {
			_, _, err := d.client.Database.CreateDB(ctx, url.PathEscape(id), &govultr.DatabaseDBCreateReq{Name: name})
			return err
		})
		var amb *errAmbiguous
		if err == nil || !errors.As(err, &amb) || attempt >= d.retries {
			return err
		}
		if err := d.pause(ctx, attempt); err != nil {
			return err
		}
	}
}

// Databases lists the logical databases.
func (d *vultrDriver) Databases(ctx context.Context, id string) ([]string, error) {
	var dbs []govultr.DatabaseDB
	err := d.call(ctx, true, func(ctx context.Context) (err error) {
		dbs, _, _, err = d.client.Database.ListDBs(ctx, url.PathEscape(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(dbs))
	for i, db := range dbs {
		out[i] = db.Name
	}
	return out, nil
}

// DropDatabase drops logical database name; an absent one is no error.
func (d *vultrDriver) DropDatabase(ctx context.Context, id, name string) error {
	err := d.call(ctx, true, func(ctx context.Context) error {
		return d.client.Database.DeleteDB(ctx, url.PathEscape(id), url.PathEscape(name))
	})
	if notFound(err) {
		if _, gerr := d.get(ctx, id); gerr != nil {
			return gerr
		}
		return nil
	}
	return err
}

// getUser reads a user; nil when there is none of that name.
func (d *vultrDriver) getUser(ctx context.Context, id, name string) (*govultr.DatabaseUser, error) {
	var u *govultr.DatabaseUser
	err := d.call(ctx, true, func(ctx context.Context) (err error) {
		u, _, err = d.client.Database.GetUser(ctx, url.PathEscape(id), url.PathEscape(name))
		return err
	})
	if notFound(err) {
		if _, gerr := d.get(ctx, id); gerr != nil {
			return nil, gerr
		}
		return nil, nil
	}
	return u, err
}

func userOf(u *govultr.DatabaseUser, database string) *dbaas.User {
	return &dbaas.User{Name: u.Username, Database: database, Password: dbaas.NewSecret(u.Password)}
}

// remember records the database ensured for a user ("" forgets it).
func (d *vultrDriver) remember(id, user, database string) {
	d.appMu.Lock()
	defer d.appMu.Unlock()
	key := id + "\x00" + user
	if database == "" {
		delete(d.userDB, key)
		return
	}
	if d.userDB == nil {
		d.userDB = map[string]string{}
	}
	d.userDB[key] = database
}

func (d *vultrDriver) remembered(id, user string) string {
	d.appMu.Lock()
	defer d.appMu.Unlock()
	return d.userDB[id+"\x00"+user]
}

// EnsureUser creates the user unless it exists (with u.Password, or one
// Vultr chooses), after ensuring u.Database; an existing user gets
// u.Password when it is set. See the package's note on privileges.
func (d *vultrDriver) EnsureUser(ctx context.Context, id string, spec dbaas.UserSpec) (*dbaas.User, error) {
	if spec.Database != "" {
		if err := d.EnsureDatabase(ctx, id, spec.Database); err != nil {
			return nil, err
		}
	}
	for attempt := 1; ; attempt++ {
		u, err := d.getUser(ctx, id, spec.Name)
		if err != nil {
			return nil, err
		}
		if u != nil {
			if spec.Database != "" {
				d.remember(id, spec.Name, spec.Database)
			}
			if spec.Password.IsZero() || spec.Password.Reveal() == u.Password {
				return userOf(u, spec.Database), nil
			}
			return d.setPassword(ctx, id, spec.Name, spec.Password, spec.Database)
		}
		err = d.call(ctx, false, func(ctx context.Context) (err error) {
			u, _, err = d.client.Database.CreateUser(ctx, url.PathEscape(id), &govultr.DatabaseUserCreateReq{
				Username: spec.Name, Password: spec.Password.Reveal()})
			return err
		})
		var amb *errAmbiguous
		switch {
		case err == nil:
			d.remember(id, spec.Name, spec.Database)
			return userOf(u, spec.Database), nil
		case !errors.As(err, &amb) || attempt >= d.retries:
			return nil, err
		}
		if err := d.pause(ctx, attempt); err != nil {
			return nil, err
		}
	}
}

// Users lists the users but the administrator.
func (d *vultrDriver) Users(ctx context.Context, id string) ([]*dbaas.User, error) {
	db, err := d.get(ctx, id)
	if err != nil {
		return nil, err
	}
	var users []govultr.DatabaseUser
	err = d.call(ctx, true, func(ctx context.Context) (err error) {
		users, _, _, err = d.client.Database.ListUsers(ctx, url.PathEscape(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	out := []*dbaas.User{}
	for i := range users {
		if users[i].Username != db.User {
			out = append(out, userOf(&users[i], d.remembered(id, users[i].Username)))
		}
	}
	return out, nil
}

// SetPassword sets the user's password; empty makes Vultr choose one.
func (d *vultrDriver) SetPassword(ctx context.Context, id, user string, password dbaas.Secret) (*dbaas.User, error) {
	return d.setPassword(ctx, id, user, password, "")
}

func (d *vultrDriver) setPassword(ctx context.Context, id, user string, password dbaas.Secret, database string) (*dbaas.User, error) {
	var u *govultr.DatabaseUser
	err := d.call(ctx, true, func(ctx context.Context) (err error) {
		u, _, err = d.client.Database.UpdateUser(ctx, url.PathEscape(id), url.PathEscape(user), &govultr.DatabaseUserUpdateReq{Password: password.Reveal()})
		return err
	})
	if err != nil {
		return nil, err
	}
	if database == "" {
		database = d.remembered(id, user)
	}
	return userOf(u, database), nil
}

// DropUser drops the user; an absent one is no error.
func (d *vultrDriver) DropUser(ctx context.Context, id, user string) error {
	err := d.call(ctx, true, func(ctx context.Context) error {
		return d.client.Database.DeleteUser(ctx, url.PathEscape(id), url.PathEscape(user))
	})
	if err == nil || notFound(err) {
		d.remember(id, user, "")
	}
	if notFound(err) {
		if _, gerr := d.get(ctx, id); gerr != nil {
			return gerr
		}
		return nil
	}
	return err
}
