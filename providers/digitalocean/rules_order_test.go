package digitalocean

import (
	"testing"

	"github.com/digitalocean/godo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Added rules come out in one order whatever the map iteration does, so
// `dbaas access` prints the same list every time.
func TestApplyRulesAddsInStableOrder(t *testing.T) {
	existing := []godo.DatabaseFirewallRule{{UUID: "u1", Type: ruleIPAddr, Value: "10.0.0.0/16"}}
	want := map[string]godo.DatabaseFirewallRule{}
	for _, s := range []string{"198.51.100.3", "198.51.100.1", "tag:web", "198.51.100.2"} {
		src := dbaas.MustParseSource(s)
		want[src.String()] = ruleOf(src)
	}
	for range 20 {
		out, changed := applyRules(existing, want, true)
		require.True(t, changed)
		var got []string
		for _, r := range out {
			got = append(got, r.Type+":"+r.Value)
		}
		assert.Equal(t, []string{"ip_addr:10.0.0.0/16", "ip_addr:198.51.100.1", "ip_addr:198.51.100.2", "ip_addr:198.51.100.3", "tag:web"}, got)
		assert.Equal(t, "u1", out[0].UUID, "a kept rule keeps its uuid")
	}
}
