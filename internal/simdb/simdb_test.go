package simdb_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
)

// plain is a Backend with a login and database of its own.
type plain struct{}

func (plain) Attach(context.Context, string, dbaas.Engine, string) (*simdb.Database, error) {
	return &simdb.Database{User: "own", Database: "owndb"}, nil
}

func (plain) Detach(context.Context, string) error { return nil }

// accounts is a Backend that makes its databases with the account asked.
type accounts struct{ plain }

func (accounts) AttachAccount(_ context.Context, _ string, _ dbaas.Engine, _ string, a simdb.Account) (*simdb.Database, error) {
	return &simdb.Database{User: a.User, Password: a.Password, Database: a.Database}, nil
}

func TestAttachUsesTheAccountWhereTheBackendCan(t *testing.T) {
	account := simdb.Account{User: "master", Password: dbaas.NewSecret("pw"), Database: "shop"}
	tests := []struct {
		name     string
		backend  simdb.Backend
		wantUser string
		wantDB   string
	}{
		{name: "account attacher", backend: accounts{}, wantUser: "master", wantDB: "shop"},
		{name: "plain backend keeps its own", backend: plain{}, wantUser: "own", wantDB: "owndb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := simdb.Attach(context.Background(), tt.backend, "k", dbaas.Postgres, "16", account)
			require.NoError(t, err)
			assert.Equal(t, tt.wantUser, db.User)
			assert.Equal(t, tt.wantDB, db.Database)
		})
	}
}
