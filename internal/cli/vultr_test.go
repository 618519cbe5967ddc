package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/providers/vultr/vultrsim"
)

// TestBinaryAgainstVultrSimulator runs the command as a user would on
// Vultr: a toolkit line with its access, the port Vultr chose caught by
// check-port, the trusted IPs synced, backups listed, the last trusted
// IP kept, and a delete that must skip the final backup Vultr cannot
// take.
func TestBinaryAgainstVultrSimulator(t *testing.T) {
	sim, u, err := vultrsim.Start(vultrsim.Options{ProvisionDelay: 200 * time.Millisecond, Token: "t", RateLimit: vultrsim.RateLimit30PerSecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	p := newProc(t, "VULTR_API_KEY=t", "DBAAS_PROVIDER=vultr", "DBAAS_BASE_URL_VULTR="+u)

	r := p.run("create", "--from-toolkit", "Postgres:DBAAS:pg:16:ewr:vultr-dbaas-startup-cc-1-55-2:shopdb:shop-db:")
	assert.Equal(t, exitInvalid, r.code, "no trusted IP would open the database to everyone")
	assert.Contains(t, r.stderr, "access")

	id := strings.TrimSpace(p.ok("create", "--from-toolkit", "Postgres:DBAAS:pg:16:ewr:vultr-dbaas-startup-cc-1-55-2:shopdb:shop-db:",
		"--allow", "10.0.0.0/16", "--wait", "--poll", "50ms"))
	require.NotEmpty(t, id)
	assert.Regexp(t, `(?m)^status:\s+available`, p.ok("get", "shop-db"))
	port := strings.TrimSpace(p.ok("port", "shop-db"))
	assert.Equal(t, port+"\n", p.ok("check-port", "shop-db", "--expect", port))
	r = p.run("check-port", "shop-db", "--expect", "5432")
	assert.Equal(t, exitPortMismatch, r.code, "Vultr chooses the port")

	r = p.runIn("198.51.100.7\n", "sync-access", "shop-db", "--file", "-")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Equal(t, "cidr:198.51.100.7/32\n", p.ok("access", "shop-db"))
	r = p.run("revoke", "shop-db", "198.51.100.7")
	assert.Equal(t, exitFailure, r.code, "the last trusted IP stays: an empty list lets everyone in")
	assert.Equal(t, "cidr:198.51.100.7/32\n", p.ok("access", "shop-db"))

	assert.Contains(t, p.ok("backups", "shop-db"), "point-in-time")
	r = p.run("backup", "shop-db")
	assert.Equal(t, exitUnsupported, r.code)
	r = p.run("delete", "shop-db", "--yes")
	assert.Equal(t, exitUnsupported, r.code, "no final backup on Vultr")
	p.ok("delete", "shop-db", "--yes", "--skip-final-backup")
	assert.Zero(t, sim.RateLimited(), "the provider keeps to Vultr's rate")
}
