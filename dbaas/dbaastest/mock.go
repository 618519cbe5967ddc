package dbaastest

import (
	"context"
	"fmt"

	"github.com/stretchr/testify/mock"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// MockProvider is a testify mock of dbaas.Provider (and dbaas.Starter)
// for unit tests of code that uses a provider. Set expectations with On:
//
//	m := new(dbaastest.MockProvider)
//	m.On("Get", mock.Anything, "db-1").Return(&dbaas.Instance{ID: "db-1", Status: dbaas.StatusAvailable}, nil)
//	m.On("Get", mock.Anything, "gone").Return(nil, dbaas.ErrNotFound)
//
// Arguments are matched as the methods receive them; the variadic sources
// of Allow and Revoke are one []dbaas.Source argument. Returns are
// nil-safe: a nil (untyped) result gives the method's zero value instead
// of panicking. A result may also be a function of the method's arguments
// with the method's result types, such as
// func(context.Context, string) (*dbaas.Instance, error) for Get, to
// compute it per call.
type MockProvider struct {
	mock.Mock
}

var (
	_ dbaas.Provider = (*MockProvider)(nil)
	_ dbaas.Starter  = (*MockProvider)(nil)
)

// result returns result i of args as a T: the zero T when it is nil or
// missing. A result of another type is a mistake in the test's Return,
// reported by a panic that names both types.
func result[T any](args mock.Arguments, i int) T {
	var zero T
	if len(args) <= i || args[i] == nil {
		return zero
	}
	v, ok := args[i].(T)
	if !ok {
		panic(fmt.Sprintf("dbaastest.MockProvider: Return value %d is %T, want %T", i, args[i], zero))
	}
	return v
}

// errorAt returns result i of args as an error, nil when it is nil.
func errorAt(args mock.Arguments, i int) error { return result[error](args, i) }

// fn returns the first result of args when it is a function of type F,
// which the method calls to compute its results.
func fn[F any](args mock.Arguments) (F, bool) {
	var zero F
	if len(args) == 0 {
		return zero, false
	}
	f, ok := args[0].(F)
	return f, ok
}

// Create mocks dbaas.Provider.Create.
func (m *MockProvider) Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error) {
	args := m.Called(ctx, spec)
	if f, ok := fn[func(context.Context, dbaas.Spec) (*dbaas.Instance, error)](args); ok {
		return f(ctx, spec)
	}
	return result[*dbaas.Instance](args, 0), errorAt(args, 1)
}

// Get mocks dbaas.Provider.Get.
func (m *MockProvider) Get(ctx context.Context, id string) (*dbaas.Instance, error) {
	args := m.Called(ctx, id)
	if f, ok := fn[func(context.Context, string) (*dbaas.Instance, error)](args); ok {
		return f(ctx, id)
	}
	return result[*dbaas.Instance](args, 0), errorAt(args, 1)
}

// List mocks dbaas.Provider.List.
func (m *MockProvider) List(ctx context.Context) ([]*dbaas.Instance, error) {
	args := m.Called(ctx)
	if f, ok := fn[func(context.Context) ([]*dbaas.Instance, error)](args); ok {
		return f(ctx)
	}
	return result[[]*dbaas.Instance](args, 0), errorAt(args, 1)
}

// Delete mocks dbaas.Provider.Delete.
func (m *MockProvider) Delete(ctx context.Context, id string, opts dbaas.DeleteOptions) error {
	args := m.Called(ctx, id, opts)
	if f, ok := fn[func(context.Context, string, dbaas.DeleteOptions) error](args); ok {
		return f(ctx, id, opts)
	}
	return errorAt(args, 0)
}

// Connection mocks dbaas.Provider.Connection.
func (m *MockProvider) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	args := m.Called(ctx, id)
	if f, ok := fn[func(context.Context, string) (*dbaas.ConnectionInfo, error)](args); ok {
		return f(ctx, id)
	}
	return result[*dbaas.ConnectionInfo](args, 0), errorAt(args, 1)
}

// Allow mocks dbaas.Provider.Allow; sources arrive as one []dbaas.Source.
func (m *MockProvider) Allow(ctx context.Context, id string, sources ...dbaas.Source) error {
	args := m.Called(ctx, id, sources)
	if f, ok := fn[func(context.Context, string, ...dbaas.Source) error](args); ok {
		return f(ctx, id, sources...)
	}
	return errorAt(args, 0)
}

// Revoke mocks dbaas.Provider.Revoke; sources arrive as one []dbaas.Source.
func (m *MockProvider) Revoke(ctx context.Context, id string, sources ...dbaas.Source) error {
	args := m.Called(ctx, id, sources)
	if f, ok := fn[func(context.Context, string, ...dbaas.Source) error](args); ok {
		return f(ctx, id, sources...)
	}
	return errorAt(args, 0)
}

// Access mocks dbaas.Provider.Access.
func (m *MockProvider) Access(ctx context.Context, id string) ([]dbaas.Source, error) {
	args := m.Called(ctx, id)
	if f, ok := fn[func(context.Context, string) ([]dbaas.Source, error)](args); ok {
		return f(ctx, id)
	}
	return result[[]dbaas.Source](args, 0), errorAt(args, 1)
}

// Backup mocks dbaas.Provider.Backup.
func (m *MockProvider) Backup(ctx context.Context, id, name string) (*dbaas.Backup, error) {
	args := m.Called(ctx, id, name)
	if f, ok := fn[func(context.Context, string, string) (*dbaas.Backup, error)](args); ok {
		return f(ctx, id, name)
	}
	return result[*dbaas.Backup](args, 0), errorAt(args, 1)
}

// Backups mocks dbaas.Provider.Backups.
func (m *MockProvider) Backups(ctx context.Context, id string) ([]*dbaas.Backup, error) {
	args := m.Called(ctx, id)
	if f, ok := fn[func(context.Context, string) ([]*dbaas.Backup, error)](args); ok {
		return f(ctx, id)
	}
	return result[[]*dbaas.Backup](args, 0), errorAt(args, 1)
}

// Restore mocks dbaas.Provider.Restore.
func (m *MockProvider) Restore(ctx context.Context, from dbaas.RestorePoint, spec dbaas.Spec) (*dbaas.Instance, error) {
	args := m.Called(ctx, from, spec)
	if f, ok := fn[func(context.Context, dbaas.RestorePoint, dbaas.Spec) (*dbaas.Instance, error)](args); ok {
		return f(ctx, from, spec)
	}
	return result[*dbaas.Instance](args, 0), errorAt(args, 1)
}

// EnsureDatabase mocks dbaas.Provider.EnsureDatabase.
func (m *MockProvider) EnsureDatabase(ctx context.Context, id, name string) error {
	args := m.Called(ctx, id, name)
	if f, ok := fn[func(context.Context, string, string) error](args); ok {
		return f(ctx, id, name)
	}
	return errorAt(args, 0)
}

// Databases mocks dbaas.Provider.Databases.
func (m *MockProvider) Databases(ctx context.Context, id string) ([]string, error) {
	args := m.Called(ctx, id)
	if f, ok := fn[func(context.Context, string) ([]string, error)](args); ok {
		return f(ctx, id)
	}
	return result[[]string](args, 0), errorAt(args, 1)
}

// DropDatabase mocks dbaas.Provider.DropDatabase.
func (m *MockProvider) DropDatabase(ctx context.Context, id, name string) error {
	args := m.Called(ctx, id, name)
	if f, ok := fn[func(context.Context, string, string) error](args); ok {
		return f(ctx, id, name)
	}
	return errorAt(args, 0)
}

// EnsureUser mocks dbaas.Provider.EnsureUser.
func (m *MockProvider) EnsureUser(ctx context.Context, id string, u dbaas.UserSpec) (*dbaas.User, error) {
	args := m.Called(ctx, id, u)
	if f, ok := fn[func(context.Context, string, dbaas.UserSpec) (*dbaas.User, error)](args); ok {
		return f(ctx, id, u)
	}
	return result[*dbaas.User](args, 0), errorAt(args, 1)
}

// Users mocks dbaas.Provider.Users.
func (m *MockProvider) Users(ctx context.Context, id string) ([]*dbaas.User, error) {
	args := m.Called(ctx, id)
	if f, ok := fn[func(context.Context, string) ([]*dbaas.User, error)](args); ok {
		return f(ctx, id)
	}
	return result[[]*dbaas.User](args, 0), errorAt(args, 1)
}

// RotatePassword mocks dbaas.Provider.RotatePassword.
func (m *MockProvider) RotatePassword(ctx context.Context, id, user string) (*dbaas.User, error) {
	args := m.Called(ctx, id, user)
	if f, ok := fn[func(context.Context, string, string) (*dbaas.User, error)](args); ok {
		return f(ctx, id, user)
	}
	return result[*dbaas.User](args, 0), errorAt(args, 1)
}

// DropUser mocks dbaas.Provider.DropUser.
func (m *MockProvider) DropUser(ctx context.Context, id, user string) error {
	args := m.Called(ctx, id, user)
	if f, ok := fn[func(context.Context, string, string) error](args); ok {
		return f(ctx, id, user)
	}
	return errorAt(args, 0)
}

// Capabilities mocks dbaas.Provider.Capabilities; a nil result gives the
// zero Capabilities (nothing supported).
func (m *MockProvider) Capabilities() dbaas.Capabilities {
	args := m.Called()
	if f, ok := fn[func() dbaas.Capabilities](args); ok {
		return f()
	}
	return result[dbaas.Capabilities](args, 0)
}

// As mocks dbaas.Provider.As; a nil result is false.
func (m *MockProvider) As(target any) bool {
	args := m.Called(target)
	if f, ok := fn[func(any) bool](args); ok {
		return f(target)
	}
	return result[bool](args, 0)
}

// Close mocks dbaas.Provider.Close. Without an expectation set with
// On("Close") it returns nil, so code under test may close the mock as it
// closes any provider.
func (m *MockProvider) Close() error {
	if !m.expects("Close") {
		return nil
	}
	args := m.Called()
	if f, ok := fn[func() error](args); ok {
		return f()
	}
	return errorAt(args, 0)
}

// expects reports whether an expectation for method is set.
func (m *MockProvider) expects(method string) bool {
	for _, c := range m.ExpectedCalls {
		if c.Method == method {
			return true
		}
	}
	return false
}

// Start mocks dbaas.Starter.Start.
func (m *MockProvider) Start(ctx context.Context, id string) error {
	args := m.Called(ctx, id)
	if f, ok := fn[func(context.Context, string) error](args); ok {
		return f(ctx, id)
	}
	return errorAt(args, 0)
}

// Stop mocks dbaas.Starter.Stop.
func (m *MockProvider) Stop(ctx context.Context, id string) error {
	args := m.Called(ctx, id)
	if f, ok := fn[func(context.Context, string) error](args); ok {
		return f(ctx, id)
	}
	return errorAt(args, 0)
}
