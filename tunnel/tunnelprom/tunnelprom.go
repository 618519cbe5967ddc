// Package tunnelprom exports a tunnel's counters to Prometheus.
//
// The Collector reads tunnel.Stats when Prometheus scrapes, so nothing is
// counted twice and the tunnel's forwarding path does no metrics work:
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(tunnelprom.NewCollector(t, nil))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// It lives apart from package tunnel so that programs that do not export
// metrics do not link the Prometheus client.
package tunnelprom

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/agiledeploy/dbaaskit/tunnel"
)

// Statser is what the Collector reads: a *tunnel.Tunnel.
type Statser interface {
	Stats() tunnel.Stats
}

// Collector is a prometheus.Collector of one tunnel's counters.
type Collector struct {
	t Statser

	open, total, refused, failedDials, bytes, reconnects, failovers *prometheus.Desc
	relayUp, relayOpen, relayFailures, relayHeld                    *prometheus.Desc
}

// NewCollector returns a Collector of t's counters. The labels are added
// to every metric (for example the tunnel's name when a process runs
// several).
func NewCollector(t Statser, labels prometheus.Labels) *Collector {
	d := func(name, help string, varLabels ...string) *prometheus.Desc {
		return prometheus.NewDesc("dbaas_tunnel_"+name, help, varLabels, labels)
	}
	return &Collector{
		t:             t,
		open:          d("open_connections", "Forwarded connections open now."),
		total:         d("connections_total", "Local connections accepted."),
		refused:       d("refused_connections_total", "Connections closed at once because the bound on open connections was reached."),
		failedDials:   d("failed_forwards_total", "Connections that no relay could forward."),
		bytes:         d("bytes_total", "Bytes forwarded, by direction (to_remote, from_remote).", "direction"),
		reconnects:    d("reconnects_total", "SSH connections made to relays after the first."),
		failovers:     d("failovers_total", "Times new connections moved from one relay to another."),
		relayUp:       d("relay_up", "1 when the SSH connection to the relay is up, 0 when it is down.", "relay"),
		relayOpen:     d("relay_open_connections", "Forwarded connections open through the relay.", "relay"),
		relayFailures: d("relay_failures", "Failures of the relay in a row.", "relay"),
		relayHeld:     d("relay_held", "1 while new connections skip the relay after failures in a row.", "relay"),
	}
}

// Describe sends the descriptions of every metric.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.total, c.refused, c.failedDials, c.bytes, c.reconnects,
		c.failovers, c.relayUp, c.relayOpen, c.relayFailures, c.relayHeld} {
		ch <- d
	}
}

// Collect reads the tunnel's counters and sends them.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.t.Stats()
	gauge := func(d *prometheus.Desc, v float64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
	}
	counter := func(d *prometheus.Desc, v int64, lv ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), lv...)
	}
	gauge(c.open, float64(s.Open))
	counter(c.total, s.Total)
	counter(c.refused, s.Refused)
	counter(c.failedDials, s.FailedDials)
	counter(c.bytes, s.BytesToRemote, "to_remote")
	counter(c.bytes, s.BytesFromRemote, "from_remote")
	counter(c.reconnects, s.Reconnects)
	counter(c.failovers, s.Failovers)
	for _, r := range s.Relays {
		gauge(c.relayUp, b2f(r.Up), r.Relay)
		gauge(c.relayOpen, float64(r.Open), r.Relay)
		gauge(c.relayFailures, float64(r.Failures), r.Relay)
		gauge(c.relayHeld, b2f(!r.HeldUntil.IsZero()), r.Relay)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
