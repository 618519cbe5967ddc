package dbaastest_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
)

// call runs one Provider method on m and returns its first result (nil
// when the method has only an error) and its error.
type call struct {
	method string
	args   []any
	run    func(m *dbaastest.MockProvider) (any, error)
}

func calls(ctx context.Context) []call {
	spec := dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"}
	src := dbaas.CIDR("10.0.0.0/8")
	return []call{
		{"Create", []any{ctx, spec}, func(m *dbaastest.MockProvider) (any, error) { return m.Create(ctx, spec) }},
		{"Get", []any{ctx, "db-1"}, func(m *dbaastest.MockProvider) (any, error) { return m.Get(ctx, "db-1") }},
		{"List", []any{ctx}, func(m *dbaastest.MockProvider) (any, error) { return m.List(ctx) }},
		{"Delete", []any{ctx, "db-1", dbaas.DeleteOptions{}}, func(m *dbaastest.MockProvider) (any, error) {
			return nil, m.Delete(ctx, "db-1", dbaas.DeleteOptions{})
		}},
		{"Connection", []any{ctx, "db-1"}, func(m *dbaastest.MockProvider) (any, error) { return m.Connection(ctx, "db-1") }},
		{"Allow", []any{ctx, "db-1", []dbaas.Source{src}}, func(m *dbaastest.MockProvider) (any, error) {
			return nil, m.Allow(ctx, "db-1", src)
		}},
		{"Revoke", []any{ctx, "db-1", []dbaas.Source{src}}, func(m *dbaastest.MockProvider) (any, error) {
			return nil, m.Revoke(ctx, "db-1", src)
		}},
		{"Access", []any{ctx, "db-1"}, func(m *dbaastest.MockProvider) (any, error) { return m.Access(ctx, "db-1") }},
		{"Backup", []any{ctx, "db-1", "b"}, func(m *dbaastest.MockProvider) (any, error) { return m.Backup(ctx, "db-1", "b") }},
		{"Backups", []any{ctx, "db-1"}, func(m *dbaastest.MockProvider) (any, error) { return m.Backups(ctx, "db-1") }},
		{"Restore", []any{ctx, dbaas.FromBackup("bk-1"), spec}, func(m *dbaastest.MockProvider) (any, error) {
			return m.Restore(ctx, dbaas.FromBackup("bk-1"), spec)
		}},
		{"EnsureDatabase", []any{ctx, "db-1", "shop"}, func(m *dbaastest.MockProvider) (any, error) {
			return nil, m.EnsureDatabase(ctx, "db-1", "shop")
		}},
		{"Databases", []any{ctx, "db-1"}, func(m *dbaastest.MockProvider) (any, error) { return m.Databases(ctx, "db-1") }},
		{"DropDatabase", []any{ctx, "db-1", "shop"}, func(m *dbaastest.MockProvider) (any, error) {
			return nil, m.DropDatabase(ctx, "db-1", "shop")
		}},
		{"EnsureUser", []any{ctx, "db-1", dbaas.UserSpec{Name: "shop"}}, func(m *dbaastest.MockProvider) (any, error) {
			return m.EnsureUser(ctx, "db-1", dbaas.UserSpec{Name: "shop"})
		}},
		{"Users", []any{ctx, "db-1"}, func(m *dbaastest.MockProvider) (any, error) { return m.Users(ctx, "db-1") }},
		{"RotatePassword", []any{ctx, "db-1", "shop"}, func(m *dbaastest.MockProvider) (any, error) {
			return m.RotatePassword(ctx, "db-1", "shop")
		}},
		{"DropUser", []any{ctx, "db-1", "shop"}, func(m *dbaastest.MockProvider) (any, error) {
			return nil, m.DropUser(ctx, "db-1", "shop")
		}},
		{"Start", []any{ctx, "db-1"}, func(m *dbaastest.MockProvider) (any, error) { return nil, m.Start(ctx, "db-1") }},
		{"Stop", []any{ctx, "db-1"}, func(m *dbaastest.MockProvider) (any, error) { return nil, m.Stop(ctx, "db-1") }},
	}
}

func TestMockProviderNilSafeReturns(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	for _, c := range calls(ctx) {
		t.Run(c.method, func(t *testing.T) {
			m := new(dbaastest.MockProvider)
			m.On(c.method, c.args...).Return(nil, boom).Once()
			m.On(c.method, c.args...).Return().Once()
			var got any
			var err error
			require.NotPanics(t, func() { got, err = c.run(m) }, "Return(nil, err)")
			assert.Nil(t, got)
			if slices.Contains([]string{"Delete", "Allow", "Revoke", "Start", "Stop", "EnsureDatabase", "DropDatabase", "DropUser"}, c.method) {
				// Methods with only an error read result 0.
				assert.NoError(t, err, "Return(nil, …) of an error-only method is nil")
			} else {
				assert.ErrorIs(t, err, boom)
			}
			require.NotPanics(t, func() { got, err = c.run(m) }, "Return() with no values")
			assert.NoError(t, err)
			m.AssertExpectations(t)
		})
	}
}

func TestMockProviderReturnsValues(t *testing.T) {
	ctx := context.Background()
	inst := &dbaas.Instance{ID: "db-1", Status: dbaas.StatusAvailable}
	m := new(dbaastest.MockProvider)
	m.On("Get", ctx, "db-1").Return(inst, nil)
	m.On("Get", ctx, "gone").Return(nil, dbaas.ErrNotFound)
	m.On("Delete", ctx, "db-1", dbaas.DeleteOptions{SkipFinalBackup: true}).Return(dbaas.ErrConflict)
	m.On("Allow", ctx, "db-1", []dbaas.Source{dbaas.CIDR("10.0.0.0/8"), dbaas.CIDR("10.1.0.0/16")}).Return(nil)
	m.On("Capabilities").Return(dbaas.Capabilities{OnDemandBackup: true})
	m.On("As", mock.Anything).Return(true)

	got, err := m.Get(ctx, "db-1")
	require.NoError(t, err)
	assert.Same(t, inst, got)
	_, err = m.Get(ctx, "gone")
	assert.ErrorIs(t, err, dbaas.ErrNotFound)
	assert.ErrorIs(t, m.Delete(ctx, "db-1", dbaas.DeleteOptions{SkipFinalBackup: true}), dbaas.ErrConflict)
	assert.NoError(t, m.Allow(ctx, "db-1", dbaas.CIDR("10.0.0.0/8"), dbaas.CIDR("10.1.0.0/16")))
	assert.True(t, m.Capabilities().OnDemandBackup)
	assert.True(t, m.As(new(int)))
	m.AssertExpectations(t)
}

func TestMockProviderZeroCapabilitiesAndAs(t *testing.T) {
	m := new(dbaastest.MockProvider)
	m.On("Capabilities").Return(nil)
	m.On("As", mock.Anything).Return(nil)
	assert.Equal(t, dbaas.Capabilities{}, m.Capabilities())
	assert.False(t, m.As(new(int)))
}

func TestMockProviderFunctionResults(t *testing.T) {
	ctx := context.Background()
	m := new(dbaastest.MockProvider)
	m.On("Get", ctx, mock.Anything).Return(func(_ context.Context, id string) (*dbaas.Instance, error) {
		if id == "gone" {
			return nil, dbaas.ErrNotFound
		}
		return &dbaas.Instance{ID: id}, nil
	})
	m.On("Allow", ctx, "db-1", mock.Anything).Return(func(_ context.Context, _ string, s ...dbaas.Source) error {
		if len(s) > 1 {
			return dbaas.ErrInvalidArgument
		}
		return nil
	})
	got, err := m.Get(ctx, "db-7")
	require.NoError(t, err)
	assert.Equal(t, "db-7", got.ID)
	_, err = m.Get(ctx, "gone")
	assert.ErrorIs(t, err, dbaas.ErrNotFound)
	assert.NoError(t, m.Allow(ctx, "db-1", dbaas.CIDR("10.0.0.0/8")))
	assert.ErrorIs(t, m.Allow(ctx, "db-1", dbaas.CIDR("10.0.0.0/8"), dbaas.CIDR("10.1.0.0/16")), dbaas.ErrInvalidArgument)
}

func TestMockProviderWrongReturnTypePanicsWithBothTypes(t *testing.T) {
	m := new(dbaastest.MockProvider)
	m.On("Get", mock.Anything, "db-1").Return("db-1", nil)
	assert.PanicsWithValue(t, "dbaastest.MockProvider: Return value 0 is string, want *dbaas.Instance", func() {
		_, _ = m.Get(context.Background(), "db-1")
	})
}

func TestMockProviderWithDbaasHelpers(t *testing.T) {
	ctx := context.Background()
	m := new(dbaastest.MockProvider)
	// SyncAccess makes one Access, then one Allow and one Revoke for the
	// difference: the mock proves the fewest calls.
	m.On("Access", ctx, "db-1").Return([]dbaas.Source{dbaas.CIDR("10.0.0.0/8")}, nil).Once()
	m.On("Allow", ctx, "db-1", []dbaas.Source{dbaas.CIDR("10.2.0.0/16")}).Return(nil).Once()
	m.On("Revoke", ctx, "db-1", []dbaas.Source{dbaas.CIDR("10.0.0.0/8")}).Return(nil).Once()
	change, err := dbaas.SyncAccess(ctx, m, "db-1", []dbaas.Source{dbaas.CIDR("10.2.0.0/16")})
	require.NoError(t, err)
	assert.Len(t, change.Added, 1)
	assert.Len(t, change.Removed, 1)
	m.AssertExpectations(t)
}
