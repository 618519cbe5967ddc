package migrate

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dump"
	"github.com/agiledeploy/dbaaskit/internal/simdb/localdb"
	"github.com/agiledeploy/dbaaskit/internal/sqltest"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

// digitalOcean starts the DigitalOcean simulator with real local servers
// behind its databases and returns the adapter talking to it.
func digitalOcean(t *testing.T, lp *local.Provider) dbaas.Provider {
	t.Helper()
	backend := localdb.New(lp)
	sim, url, err := dosim.Start(dosim.Options{ProvisionDelay: 100 * time.Millisecond, Backend: backend})
	require.NoError(t, err)
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		hc.CloseIdleConnections()
		assert.NoError(t, sim.Close())
		assert.NoError(t, backend.Close(context.Background()))
	})
	p, err := digitalocean.New(digitalocean.Options{Token: dbaas.NewSecret("sim-token"), BaseURL: url, HTTPClient: hc, Region: "fra1", RateLimit: -1})
	require.NoError(t, err)
	return p
}

func doInstance(t *testing.T, do dbaas.Provider, spec dbaas.Spec) *dbaas.Instance {
	t.Helper()
	ctx := context.Background()
	inst, err := do.Create(ctx, spec)
	require.NoError(t, err)
	inst, err = dbaas.Wait(ctx, do, inst.ID, dbaas.WaitOptions{FirstDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond, Expected: -1, Timeout: 3 * time.Minute})
	require.NoError(t, err)
	return inst
}

// TestMigrateBetweenProviders moves databases between DigitalOcean
// (its simulator, with real servers behind it) and the local provider,
// with the source's provider traps fixed on the way: OWNER TO and GRANT
// naming DigitalOcean's doadmin, which the target lacks, and DEFINERs
// naming a user DigitalOcean would refuse.
func TestMigrateBetweenProviders(t *testing.T) {
	ctx := context.Background()
	t.Run("postgres from digitalocean to local", func(t *testing.T) {
		lp := localProvider(t, dbaas.Postgres)
		do := digitalOcean(t, lp)
		src := doInstance(t, do, dbaas.Spec{Name: "shop-do", Engine: dbaas.Postgres, Version: "16", Size: "db-s-1vcpu-1gb"})
		dst := instances(t, lp, dbaas.Postgres, "shop-local")[0]
		srcConn := connInfo(t, do, src.ID)
		sqltest.Exec(t, srcConn, append(slices.Clone(pgData),
			`DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'doadmin') THEN CREATE ROLE doadmin; END IF; END $$`,
			// the admin user is no superuser: it may give away only to a role it is in
			`GRANT doadmin TO CURRENT_USER`, `GRANT CREATE ON SCHEMA public TO doadmin`,
			`ALTER TABLE items OWNER TO doadmin`, `GRANT SELECT ON codes TO doadmin`)...)

		rep, err := Migrate(ctx, Side{Provider: do, ID: src.ID}, Side{Provider: lp, ID: dst.ID}, Options{})
		require.NoError(t, err, "%+v", rep)
		assert.True(t, rep.Complete)
		assert.Equal(t, "digitalocean:shop-do", rep.Source)
		assert.Equal(t, "local:shop-local", rep.Target)
		fixed := fixedRules(rep.Load.Rewrite)
		assert.Contains(t, fixed, "pg-owner")
		assert.Contains(t, fixed, "pg-grant-role")
		assert.Empty(t, rep.Load.Rewrite.Failing())
		assert.True(t, rep.Verify.Match)
		assert.Len(t, rep.Verify.Tables, 3)
	})
	t.Run("mariadb from local to digitalocean", func(t *testing.T) {
		lp := localProvider(t, dbaas.MariaDB)
		do := digitalOcean(t, lp)
		src := instances(t, lp, dbaas.MariaDB, "shop-local")[0]
		dst := doInstance(t, do, dbaas.Spec{Name: "shop-do", Engine: dbaas.MySQL, Version: "8", Size: "db-s-1vcpu-1gb"})
		sqltest.Exec(t, connInfo(t, lp, src.ID), append(slices.Clone(mariaData),
			"CREATE USER 'legacy'@'%'", "GRANT SELECT ON *.* TO 'legacy'@'%'",
			"CREATE DEFINER=`legacy`@`%` VIEW cheap AS SELECT id FROM items WHERE price < 10")...)

		rep, err := Migrate(ctx, Side{Provider: lp, ID: src.ID}, Side{Provider: do, ID: dst.ID}, Options{})
		require.NoError(t, err, "%+v", rep)
		assert.True(t, rep.Complete)
		assert.Contains(t, fixedRules(rep.Load.Rewrite), "mysql-definer")
		assert.True(t, rep.Verify.Match)
		var definer string
		db := sqltest.MySQL(t, connInfo(t, do, dst.ID))
		require.NoError(t, db.QueryRowContext(ctx, "SELECT definer FROM information_schema.views WHERE table_name = 'cheap'").Scan(&definer))
		assert.NotContains(t, definer, "legacy", "the view runs as the loading user")
	})
}

func fixedRules(rep *dump.Report) []string {
	var out []string
	for _, f := range rep.Findings {
		if f.Fixed && !slices.Contains(out, f.Rule) {
			out = append(out, f.Rule)
		}
	}
	return out
}
