package driver

import (
	"context"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/appsql"
)

// SQLApps is the Apps of an instance reached at conn (its admin
// connection), over SQL: what the portable layer uses for providers that
// register Capabilities.AppUsers = dbaas.AppUsersSQL, and what a provider
// that changes where Connection points (a tunnel) uses with its own
// connection. The instance id arguments of its methods are ignored.
func SQLApps(conn *dbaas.ConnectionInfo) Apps { return sqlApps{appsql.Admin{Conn: conn}} }

type sqlApps struct{ a appsql.Admin }

func (s sqlApps) EnsureDatabase(ctx context.Context, _, name string) error {
	return s.a.EnsureDatabase(ctx, name)
}

func (s sqlApps) Databases(ctx context.Context, _ string) ([]string, error) {
	return s.a.Databases(ctx)
}

func (s sqlApps) DropDatabase(ctx context.Context, _, name string) error {
	return s.a.DropDatabase(ctx, name)
}

func (s sqlApps) EnsureUser(ctx context.Context, _ string, u dbaas.UserSpec) (*dbaas.User, error) {
	return s.a.EnsureUser(ctx, u)
}

func (s sqlApps) Users(ctx context.Context, _ string) ([]*dbaas.User, error) {
	return s.a.Users(ctx)
}

func (s sqlApps) SetPassword(ctx context.Context, _, user string, pw dbaas.Secret) (*dbaas.User, error) {
	return s.a.SetPassword(ctx, user, pw)
}

func (s sqlApps) DropUser(ctx context.Context, _, user string) error {
	return s.a.DropUser(ctx, user)
}
