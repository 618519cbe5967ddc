package main

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// linkProfile is a network between the forwarder and sshd, emulated by
// toxiproxy: a round-trip time with jitter and a bandwidth each way.
type linkProfile struct {
	name string
	what string
	// rtt is the round-trip time; toxiproxy delays each direction by
	// half of it, each by up to ± jitter/2, so a round trip takes rtt ±
	// jitter.
	rtt, jitter time.Duration
	// rate is the bandwidth of each direction in bytes per second.
	rate int64
	// size is the bytes moved by each throughput run, scaled to the rate
	// so that a run takes seconds, not minutes.
	size int64
	// rounds is the number of round trips of the latency run.
	rounds int
}

// linkProfiles are the links -links can pick, besides "loopback" (no
// link at all).
var linkProfiles = map[string]linkProfile{
	"region": {name: "region", what: "same region: 1 ms ± 0.2 ms round trip, 1 Gbit/s",
		rtt: time.Millisecond, jitter: 200 * time.Microsecond, rate: 1e9 / 8, size: 512 << 20, rounds: 10000},
	"clouds": {name: "clouds", what: "across clouds: 20 ms ± 2 ms round trip, 200 Mbit/s",
		rtt: 20 * time.Millisecond, jitter: 2 * time.Millisecond, rate: 200e6 / 8, size: 128 << 20, rounds: 2000},
}

// usLatency is toxiproxy's latency toxic with microseconds instead of
// milliseconds: half of the same-region round trip is 500 µs, which the
// stock toxic cannot express. It delays each chunk by latency ± jitter
// from the time it was read, as the stock toxic does.
type usLatency struct {
	Latency int64 `json:"latency_us"`
	Jitter  int64 `json:"jitter_us"`
}

// GetBufferSize is the stock latency toxic's queue length.
func (t *usLatency) GetBufferSize() int { return 1024 }

func (t *usLatency) delay() time.Duration {
	d := t.Latency
	if t.Jitter > 0 {
		d += rand.Int64N(2*t.Jitter+1) - t.Jitter
	}
	return time.Duration(d) * time.Microsecond
}

// Pipe passes chunks on after their delay.
func (t *usLatency) Pipe(stub *toxics.ToxicStub) {
	timer := time.NewTimer(0)
	<-timer.C
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			if sleep := t.delay() - time.Since(c.Timestamp); sleep > 0 {
				timer.Reset(sleep)
				select {
				case <-timer.C:
				case <-stub.Interrupt:
					stub.Output <- c // never drop data
					return
				}
			}
			stub.Output <- c
		}
	}
}

func init() { toxics.Register("latency_us", new(usLatency)) }

// runLink is the link process: a toxiproxy proxy with the profile's
// toxics in front of each upstream, its address printed as an ADDR line
// each. It runs until its stdin closes. It is a process of its own so
// that its copying does not share a Go runtime with the forwarder or the
// load generator.
func runLink(profileName, upstreams string) {
	p, ok := linkProfiles[profileName]
	if !ok {
		log.Fatalf("unknown link profile %q", profileName)
	}
	server := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	for i, up := range strings.Split(upstreams, ",") {
		proxy := toxiproxy.NewProxy(server, fmt.Sprintf("link%d", i), "127.0.0.1:0", up)
		if err := proxy.Start(); err != nil {
			log.Fatalf("link to %s: %v", up, err)
		}
		half, halfJitter := p.rtt/2, p.jitter/2
		for _, dir := range []string{"upstream", "downstream"} {
			for _, toxic := range []string{
				// Rate in KB/s (1000 bytes).
				fmt.Sprintf(`{"name":"bandwidth_%s","type":"bandwidth","stream":%q,"attributes":{"rate":%d}}`,
					dir, dir, p.rate/1000),
				fmt.Sprintf(`{"name":"latency_%s","type":"latency_us","stream":%q,"attributes":{"latency_us":%d,"jitter_us":%d}}`,
					dir, dir, half.Microseconds(), halfJitter.Microseconds()),
			} {
				if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(toxic)); err != nil {
					log.Fatalf("link toxic %s: %v", toxic, err)
				}
			}
		}
		fmt.Println("ADDR", proxy.Listen)
	}
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
}
