package memory

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
)

// The memory provider keeps application databases and users as a cloud
// API would (Capabilities.AppUsers is "api"): names in the instance, users
// with their passwords, readable back.

// servingLocked looks up an instance that accepts connections; p.mu is held.
func (p *store) servingLocked(op, id string) (*instance, error) {
	now := p.now()
	in, err := p.lookupLocked(op, id, now)
	if err != nil {
		return nil, err
	}
	if st := in.status(now); !st.Usable() {
		return nil, conflict(op, id, st, "it does not accept connections")
	}
	return in, nil
}

func (p *store) EnsureDatabase(ctx context.Context, id, name string) error {
	if err := p.begin(ctx, "ensure database", id); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	in, err := p.servingLocked("ensure database", id)
	if err != nil {
		return err
	}
	if in.databases == nil {
		in.databases = map[string]bool{}
	}
	in.databases[name] = true
	return nil
}

func (p *store) Databases(ctx context.Context, id string) ([]string, error) {
	if err := p.begin(ctx, "databases", id); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	in, err := p.servingLocked("databases", id)
	if err != nil {
		return nil, err
	}
	out := []string{in.database}
	for d := range in.databases {
		if d != in.database {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (p *store) DropDatabase(ctx context.Context, id, name string) error {
	if err := p.begin(ctx, "drop database", id); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	in, err := p.servingLocked("drop database", id)
	if err != nil {
		return err
	}
	if name == in.database {
		return newErr(dbaas.ErrConflict, fmt.Errorf("database %s is the instance's own and holds the admin's data", name))
	}
	delete(in.databases, name)
	for _, u := range in.users {
		if u.Database == name {
			u.Database = ""
		}
	}
	return nil
}

func (p *store) EnsureUser(ctx context.Context, id string, u dbaas.UserSpec) (*dbaas.User, error) {
	if err := p.begin(ctx, "ensure user", id); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	in, err := p.servingLocked("ensure user", id)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(u.Name, in.user) {
		return nil, newErr(dbaas.ErrConflict, fmt.Errorf("%s is the admin user", u.Name))
	}
	if u.Database != "" && !in.databases[u.Database] && u.Database != in.database {
		return nil, newErr(dbaas.ErrNotFound, fmt.Errorf("no database %s: ensure it first", u.Database))
	}
	if in.users == nil {
		in.users = map[string]*dbaas.User{}
	}
	have, ok := in.users[u.Name]
	if !ok {
		have = &dbaas.User{Name: u.Name, Password: dbaas.GeneratePassword()}
		in.users[u.Name] = have
	}
	if !u.Password.IsZero() {
		have.Password = u.Password
	}
	if u.Database != "" {
		have.Database = u.Database
	}
	c := *have
	return &c, nil
}

func (p *store) Users(ctx context.Context, id string) ([]*dbaas.User, error) {
	if err := p.begin(ctx, "users", id); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	in, err := p.servingLocked("users", id)
	if err != nil {
		return nil, err
	}
	out := make([]*dbaas.User, 0, len(in.users))
	for _, u := range in.users {
		c := *u
		out = append(out, &c)
	}
	slices.SortFunc(out, func(a, b *dbaas.User) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (p *store) SetPassword(ctx context.Context, id, user string, pw dbaas.Secret) (*dbaas.User, error) {
	if err := p.begin(ctx, "rotate password", id); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	in, err := p.servingLocked("rotate password", id)
	if err != nil {
		return nil, err
	}
	u, ok := in.users[user]
	if !ok {
		return nil, newErr(dbaas.ErrNotFound, fmt.Errorf("no user %s", user))
	}
	if pw.IsZero() {
		pw = dbaas.GeneratePassword()
	}
	u.Password = pw
	c := *u
	return &c, nil
}

func (p *store) DropUser(ctx context.Context, id, user string) error {
	if err := p.begin(ctx, "drop user", id); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	in, err := p.servingLocked("drop user", id)
	if err != nil {
		return err
	}
	delete(in.users, user)
	return nil
}

var _ driver.Apps = (*store)(nil)
