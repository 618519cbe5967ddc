package main

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
)

// syncBuffer is an io.Writer safe to read while run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestToolkitKeepsAccessEqualToTheWebServers(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	sim, url, err := dosim.Start(dosim.Options{ProvisionDelay: 100 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	t.Setenv("DIGITALOCEAN_TOKEN", "test-token")

	file := filepath.Join(t.TempDir(), "webservers")
	write := func(s string) { require.NoError(t, os.WriteFile(file, []byte(s), 0o600)) }
	write("10.0.0.5\n10.0.0.6 # two web servers\n")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-provider", "digitalocean", "-base-url", url, "-interval", "50ms", "-keep", "10.10.0.0/16",
			"-toolkit", "Postgres:DBAAS:pg:nyc1:1:db-s-1vcpu-1gb:16:webdb:appdb:appuser::", "-webservers", file}, out)
	}()

	// A second client of the same simulated cloud watches the firewall.
	p, err := dbaas.Open(ctx, "digitalocean", dbaas.Config{BaseURL: url})
	require.NoError(t, err)
	access := func() []string {
		inst, err := dbaas.FindByName(ctx, p, "webdb")
		if err != nil {
			return nil
		}
		srcs, err := p.Access(ctx, inst.ID)
		if err != nil {
			return nil
		}
		out := make([]string, len(srcs))
		for i, s := range srcs {
			out[i] = s.String()
		}
		sort.Strings(out)
		return out
	}
	want := []string{"cidr:10.0.0.5/32", "cidr:10.0.0.6/32", "cidr:10.10.0.0/16"}
	require.Eventually(t, func() bool { return assert.ObjectsAreEqual(want, access()) }, 10*time.Second, 20*time.Millisecond)
	assert.Contains(t, out.String(), "created webdb")

	// A web server dies, another starts.
	write("10.0.0.6\n10.0.0.7\n")
	want = []string{"cidr:10.0.0.6/32", "cidr:10.0.0.7/32", "cidr:10.10.0.0/16"}
	require.Eventually(t, func() bool { return assert.ObjectsAreEqual(want, access()) }, 10*time.Second, 20*time.Millisecond)
	// The line is written just after the change is made.
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "-cidr:10.0.0.5/32") }, 10*time.Second, 20*time.Millisecond)

	// A broken or empty file changes nothing.
	for _, bad := range []string{"10.0.0.6\nnot-an-address\n", ""} {
		write(bad)
		n := strings.Count(out.String(), "access unchanged")
		require.Eventually(t, func() bool { return strings.Count(out.String(), "access unchanged") > n }, 10*time.Second, 20*time.Millisecond)
		assert.Equal(t, want, access())
	}

	cancel()
	require.NoError(t, <-done)
	if c, ok := p.(interface{ Close() error }); ok {
		_ = c.Close()
	}
}

func TestToolkitRejectsBadInputBeforeAnyCall(t *testing.T) {
	sim, url, err := dosim.Start(dosim.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = sim.Close() })
	t.Setenv("DIGITALOCEAN_TOKEN", "test-token")
	for _, args := range [][]string{
		{"-provider", "digitalocean", "-base-url", url},
		{"-provider", "digitalocean", "-base-url", url, "-webservers", "f", "-toolkit", "MySQL:DBAAS:mysql:lon1:x:db-s-1vcpu-1gb:8:c1x:db:u::"},
		{"-provider", "digitalocean", "-base-url", url, "-webservers", "f", "-keep", "10.0.0.1/8"},
	} {
		err := run(context.Background(), args, &syncBuffer{})
		assert.Error(t, err, "%v", args)
	}
	assert.Zero(t, sim.TotalCalls())
}
