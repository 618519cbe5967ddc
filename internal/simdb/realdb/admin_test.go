package realdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
)

// TestAdminConnection: the admin connection of each family reaches the
// server as the configured user, which may create roles.
func TestAdminConnection(t *testing.T) {
	b := newBackend(t, realdb.Options{Prefix: "admintest"})
	for _, tt := range []struct {
		engine dbaas.Engine
		want   dbaas.Engine
		user   string
		port   int
		query  string
	}{
		{dbaas.Postgres, dbaas.Postgres, "postgres", 5432, "SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user"},
		{dbaas.MySQL, dbaas.MariaDB, "root", 3306, "SELECT count(*) > 0 FROM mysql.user WHERE user = 'root'"},
	} {
		t.Run(string(tt.engine), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := b.AdminConnection("any", tt.engine)
			require.NoError(t, err)
			assert.Equal(t, tt.want, conn.Engine)
			assert.Equal(t, tt.user, conn.User)
			assert.Equal(t, dbaas.Endpoint{Host: "127.0.0.1", Port: tt.port}, conn.Endpoint)
			db, err := sqlconn.Open(conn, dbaas.DSNOptions{ConnectTimeout: 5 * time.Second})
			require.NoError(t, err)
			defer db.Close()
			var ok bool
			require.NoError(t, db.QueryRowContext(ctx, tt.query).Scan(&ok))
			assert.True(t, ok, "the admin manages users")
		})
	}
}
