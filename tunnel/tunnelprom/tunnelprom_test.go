package tunnelprom

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/tunnel"
)

type fixed tunnel.Stats

func (f *fixed) Stats() tunnel.Stats { return tunnel.Stats(*f) }

func TestCollectorReadsStatsAtScrape(t *testing.T) {
	st := &fixed{Open: 2, Total: 7, Refused: 1, FailedDials: 3, BytesToRemote: 100, BytesFromRemote: 5000,
		Reconnects: 4, Failovers: 1, Relays: []tunnel.RelayStats{
			{Relay: "deploy@a:22", Up: true, Open: 2},
			{Relay: "deploy@b:22", Failures: 3, HeldUntil: time.Now().Add(time.Minute), LastError: "dial: refused"},
		}}
	c := NewCollector(st, prometheus.Labels{"tunnel": "shop"})
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(c))

	want := `
# HELP dbaas_tunnel_open_connections Forwarded connections open now.
# TYPE dbaas_tunnel_open_connections gauge
dbaas_tunnel_open_connections{tunnel="shop"} 2
# HELP dbaas_tunnel_bytes_total Bytes forwarded, by direction (to_remote, from_remote).
# TYPE dbaas_tunnel_bytes_total counter
dbaas_tunnel_bytes_total{direction="from_remote",tunnel="shop"} 5000
dbaas_tunnel_bytes_total{direction="to_remote",tunnel="shop"} 100
# HELP dbaas_tunnel_failovers_total Times new connections moved from one relay to another.
# TYPE dbaas_tunnel_failovers_total counter
dbaas_tunnel_failovers_total{tunnel="shop"} 1
# HELP dbaas_tunnel_relay_up 1 when the SSH connection to the relay is up, 0 when it is down.
# TYPE dbaas_tunnel_relay_up gauge
dbaas_tunnel_relay_up{relay="deploy@a:22",tunnel="shop"} 1
dbaas_tunnel_relay_up{relay="deploy@b:22",tunnel="shop"} 0
# HELP dbaas_tunnel_relay_held 1 while new connections skip the relay after failures in a row.
# TYPE dbaas_tunnel_relay_held gauge
dbaas_tunnel_relay_held{relay="deploy@a:22",tunnel="shop"} 0
dbaas_tunnel_relay_held{relay="deploy@b:22",tunnel="shop"} 1
`
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(want),
		"dbaas_tunnel_open_connections", "dbaas_tunnel_bytes_total", "dbaas_tunnel_failovers_total",
		"dbaas_tunnel_relay_up", "dbaas_tunnel_relay_held"))

	// The values are read at each scrape, not when registered.
	st.Open = 0
	st.Relays[0].Up = false
	require.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP dbaas_tunnel_open_connections Forwarded connections open now.
# TYPE dbaas_tunnel_open_connections gauge
dbaas_tunnel_open_connections{tunnel="shop"} 0
`), "dbaas_tunnel_open_connections"))
	n, err := testutil.GatherAndCount(reg)
	require.NoError(t, err)
	require.Equal(t, 6+2+4*2, n, "six counters and gauges of the tunnel, bytes in two directions, four per relay")
}
