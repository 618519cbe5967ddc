package dbaastest

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// testAppUsers proves application databases and users: ensure is
// idempotent, a new user gets a password, Users and Databases list them,
// RotatePassword changes the password, drops are idempotent, bad names
// make no call; with Harness.Login, the user really logs in to its
// database, and no longer after a rotation or a drop.
func (s *suite) testAppUsers(t *testing.T) {
	ctx := s.ctx(t)
	inst := s.shared(t)
	if s.caps.AppUsers == "" {
		s.refused(t, ctx, dbaas.ErrUnsupported, true, func() error {
			return s.p.EnsureDatabase(ctx, inst.ID, "appdb")
		})
		return
	}
	if s.caps.AppUsers == dbaas.AppUsersSQL && s.h.Login == nil {
		// Over SQL the provider connects to the instance's endpoint, which
		// only a harness with real databases behind it (one that sets
		// Login) has: elsewhere the endpoint names a host that does not
		// exist, and looking it up would leave the machine.
		t.Log("application users over SQL need Harness.Login (real databases behind the instances); not run")
		return
	}
	db := "app_" + strings.ReplaceAll(s.name("d"), "-", "_")
	user := "u" + strings.ReplaceAll(s.run, "-", "")
	if len(user) > dbaas.MaxUserLen {
		user = user[:dbaas.MaxUserLen]
	}
	t.Cleanup(func() {
		_ = s.p.DropUser(ctx, inst.ID, user)
		_ = s.p.DropDatabase(ctx, inst.ID, db)
	})

	s.refused(t, ctx, dbaas.ErrInvalidArgument, true, func() error { return s.p.EnsureDatabase(ctx, inst.ID, "mysql") })
	s.refused(t, ctx, dbaas.ErrInvalidArgument, true, func() error {
		_, err := s.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: "root", Database: db})
		return err
	})
	require.NoError(t, s.p.EnsureDatabase(ctx, inst.ID, db))
	require.NoError(t, s.p.EnsureDatabase(ctx, inst.ID, db), "ensure database is idempotent")
	dbs, err := s.p.Databases(ctx, inst.ID)
	require.NoError(t, err)
	assert.Contains(t, dbs, db)

	u, err := s.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: user, Database: db})
	require.NoError(t, err)
	require.False(t, u.Password.IsZero(), "a new user comes with its password")
	assert.Equal(t, user, u.Name)
	again, err := s.p.EnsureUser(ctx, inst.ID, dbaas.UserSpec{Name: user, Database: db})
	require.NoError(t, err, "ensure user is idempotent")
	if !again.Password.IsZero() {
		assert.Equal(t, u.Password.Reveal(), again.Password.Reveal(), "an existing user keeps its password")
	}
	users, err := s.p.Users(ctx, inst.ID)
	require.NoError(t, err)
	i := slices.IndexFunc(users, func(x *dbaas.User) bool { return x.Name == user })
	require.GreaterOrEqual(t, i, 0, "Users lists the new user")
	assert.Equal(t, db, users[i].Database)
	if s.h.Login != nil {
		require.NoError(t, s.login(t, inst.ID, user, db, u.Password), "the application user logs in to its database")
	}

	rotated, err := s.p.RotatePassword(ctx, inst.ID, user)
	require.NoError(t, err)
	require.False(t, rotated.Password.IsZero())
	assert.NotEqual(t, u.Password.Reveal(), rotated.Password.Reveal(), "a rotation gives a new password")
	if s.h.Login != nil {
		require.NoError(t, s.login(t, inst.ID, user, db, rotated.Password), "the new password logs in")
	}
	_, err = s.p.RotatePassword(ctx, inst.ID, "nobody"+strings.ReplaceAll(s.run, "-", "")[:4])
	assert.ErrorIs(t, err, dbaas.ErrNotFound, "rotating an absent user's password")

	require.NoError(t, s.p.DropUser(ctx, inst.ID, user))
	require.NoError(t, s.p.DropUser(ctx, inst.ID, user), "drop user is idempotent")
	users, err = s.p.Users(ctx, inst.ID)
	require.NoError(t, err)
	assert.False(t, slices.ContainsFunc(users, func(x *dbaas.User) bool { return x.Name == user }))
	require.NoError(t, s.p.DropDatabase(ctx, inst.ID, db))
	require.NoError(t, s.p.DropDatabase(ctx, inst.ID, db), "drop database is idempotent")
	dbs, err = s.p.Databases(ctx, inst.ID)
	require.NoError(t, err)
	assert.NotContains(t, dbs, db)
}

// login connects as an application user with the instance's connection
// details otherwise.
func (s *suite) login(t *testing.T, id, user, database string, pw dbaas.Secret) error {
	t.Helper()
	ctx := s.ctx(t)
	conn, err := s.p.Connection(ctx, id)
	require.NoError(t, err)
	conn.User, conn.Password, conn.Database = user, pw, database
	return s.h.Login(ctx, conn)
}
