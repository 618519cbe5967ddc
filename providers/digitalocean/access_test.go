package digitalocean_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/digitalocean/godo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

// rules reads the firewall rules straight from the API through godo.
func rules(t *testing.T, p *digitalocean.Provider, id string) map[string]bool {
	t.Helper()
	var client *godo.Client
	require.True(t, p.As(&client))
	list, _, err := client.Databases.GetFirewallRules(context.Background(), id)
	require.NoError(t, err)
	out := map[string]bool{}
	for _, r := range list {
		out[r.Type+"="+r.Value] = true
	}
	return out
}

func TestAccessMapsEverySourceKind(t *testing.T) {
	e := newEnv(t, dosim.Options{}, digitalocean.Options{})
	ctx := context.Background()
	sp := spec("kinds", dbaas.Postgres)
	sp.Access = []dbaas.Source{dbaas.CIDR("10.1.0.0/16")}
	inst, err := e.p.Create(ctx, sp)
	require.NoError(t, err)

	sources, err := dbaas.ParseSources("203.0.113.7", "2001:db8::/32", "instance:163973392", "tag:web",
		"k8s:ff2a6c52-5a44-4b63-b99c-0e98e7a63d61", "app:0e3dbd4b-7b4a-4b7c-9a35-2b9b7d0c3f11")
	require.NoError(t, err)
	require.NoError(t, e.p.Allow(ctx, inst.ID, sources...))
	assert.Equal(t, map[string]bool{
		"ip_addr=10.1.0.0/16": true, "ip_addr=203.0.113.7": true, "ip_addr=2001:db8::/32": true,
		"droplet=163973392": true, "tag=web": true, "k8s=ff2a6c52-5a44-4b63-b99c-0e98e7a63d61": true,
		"app=0e3dbd4b-7b4a-4b7c-9a35-2b9b7d0c3f11": true,
	}, rules(t, e.p, inst.ID), "the API's rule types and values")

	got, err := e.p.Access(ctx, inst.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, append([]dbaas.Source{dbaas.CIDR("10.1.0.0/16")}, sources...), got, "read back as the same sources")

	calls := e.sim.TotalCalls()
	require.NoError(t, e.p.Allow(ctx, inst.ID, sources[0]))
	assert.Equal(t, calls+1, e.sim.TotalCalls(), "allowing a present source only reads")

	require.NoError(t, e.p.Revoke(ctx, inst.ID, sources[:3]...))
	got, err = e.p.Access(ctx, inst.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, append([]dbaas.Source{dbaas.CIDR("10.1.0.0/16")}, sources[3:]...), got)

	for _, bad := range []dbaas.Source{{Kind: dbaas.SourceSecurityGroup, Value: "sg-1"}, {Kind: dbaas.SourceVPC, Value: "vpc-1"}} {
		calls := e.sim.TotalCalls()
		assert.ErrorIs(t, e.p.Allow(ctx, inst.ID, bad), dbaas.ErrUnsupported)
		assert.Equal(t, calls, e.sim.TotalCalls(), "an unsupported kind makes no call")
	}
	assert.ErrorIs(t, e.p.Allow(ctx, inst.ID, dbaas.CIDR("10.0.0.1/8")), dbaas.ErrInvalidArgument)
}

func TestConcurrentAllowOnOneProviderKeepsEveryRule(t *testing.T) {
	e := newEnv(t, dosim.Options{Latency: 2 * time.Millisecond}, digitalocean.Options{})
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec("busy", dbaas.Postgres))
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = e.p.Allow(ctx, inst.ID, dbaas.CIDR(fmt.Sprintf("198.51.100.%d/32", i)))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	got := rules(t, e.p, inst.ID)
	for i := range 16 {
		assert.True(t, got[fmt.Sprintf("ip_addr=198.51.100.%d", i)], "rule %d kept", i)
	}
}

// TestConfirmReadRepairsAnOverwrittenRule builds, with the simulator's
// delays, the race of two processes (two providers, no shared lock): A and
// B both read the empty list, B writes [y], A's older write [x] lands over
// it, and B's confirming read sees y missing and writes again.
func TestConfirmReadRepairsAnOverwrittenRule(t *testing.T) {
	e := newEnv(t, dosim.Options{}, digitalocean.Options{})
	b, err := digitalocean.New(digitalocean.Options{Token: dbaas.NewSecret("other"), BaseURL: e.url, RateLimit: -1})
	require.NoError(t, err)
	ctx := context.Background()
	sp := spec("raced", dbaas.Postgres)
	sp.AllowWorld = true // no default rule: the list starts empty
	inst, err := e.p.Create(ctx, sp)
	require.NoError(t, err)

	x, y := dbaas.CIDR("192.0.2.1/32"), dbaas.CIDR("192.0.2.2/32")
	e.sim.Inject(dosim.Fault{Op: "PUT /v2/databases/{id}/firewall", Latency: 400 * time.Millisecond})
	done := make(chan error, 1)
	go func() { done <- e.p.Allow(ctx, inst.ID, x) }()
	require.Eventually(t, func() bool { return e.sim.Calls("PUT /v2/databases/{id}/firewall") == 1 }, 5*time.Second, time.Millisecond)
	// A has read [] and its write is in flight. B reads [] too, writes [y]
	// at once, and its confirming read waits until A's write has landed.
	e.sim.Inject(dosim.Fault{Op: "GET /v2/databases/{id}/firewall"}, dosim.Fault{Op: "GET /v2/databases/{id}/firewall", Latency: 800 * time.Millisecond})
	require.NoError(t, b.Allow(ctx, inst.ID, y))
	require.NoError(t, <-done)

	assert.Equal(t, map[string]bool{"ip_addr=192.0.2.1": true, "ip_addr=192.0.2.2": true}, rules(t, e.p, inst.ID))
	assert.Equal(t, int64(3), e.sim.Calls("PUT /v2/databases/{id}/firewall"), "A once, B twice")
}

func TestSyncAccessConverges(t *testing.T) {
	e := newEnv(t, dosim.Options{}, digitalocean.Options{})
	ctx := context.Background()
	inst, err := e.p.Create(ctx, spec("cron", dbaas.MySQL))
	require.NoError(t, err)
	desired, err := dbaas.ParseSources("10.0.0.5", "10.0.0.6", "tag:web")
	require.NoError(t, err)
	change, err := dbaas.SyncAccess(ctx, e.p, inst.ID, desired)
	require.NoError(t, err)
	assert.Len(t, change.Added, 3)
	assert.Len(t, change.Removed, 1, "the default VPC rule goes")
	got, err := e.p.Access(ctx, inst.ID)
	require.NoError(t, err)
	assert.ElementsMatch(t, desired, got)
}

// TestRevokingTheLastRuleNeedsWorldAccess: a cluster without firewall
// rules lets every address in, so the last rule goes only on request.
func TestRevokingTheLastRuleNeedsWorldAccess(t *testing.T) {
	e := newEnv(t, dosim.Options{}, digitalocean.Options{})
	ctx := context.Background()
	only := dbaas.CIDR("10.9.0.0/16")
	sp := spec("last-rule", dbaas.Postgres)
	sp.Access = []dbaas.Source{only}
	inst, err := e.p.Create(ctx, sp)
	require.NoError(t, err)

	err = e.p.Revoke(ctx, inst.ID, only)
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "WithWorldAccess")
	assert.Equal(t, map[string]bool{"ip_addr=10.9.0.0/16": true}, rules(t, e.p, inst.ID), "the rule stays")
	assert.Zero(t, e.sim.Calls("PUT /v2/databases/{id}/firewall"), "nothing was written")

	require.NoError(t, e.p.Revoke(dbaas.WithWorldAccess(ctx), inst.ID, only))
	assert.Empty(t, rules(t, e.p, inst.ID))
}
