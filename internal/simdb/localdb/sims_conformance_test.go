package localdb_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/dbaastest"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
	"github.com/agiledeploy/dbaaskit/providers/linode"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
)

// The conformance runs below put real local servers behind the DigitalOcean
// and Linode simulators, so that the suite checks that backups and restores
// carry the data written before a backup and nothing after. They live here,
// not in the cloud packages, so that those packages' tests do not depend on
// local servers. Their harnesses follow the cloud packages' own
// TestConformance, with these differences:
//
//   - The data hooks are realdb's markers, which connect with the
//     ConnectionInfo the adapter returns: TLS required and checked against
//     the local instance's CA, as a user of the SDK would connect.
//   - Concurrency is 4 rather than 16: each instance is a real server, and
//     sixteen starting at once on a small machine take longer than the
//     suite's timeouts allow.
//   - Wait and subtest timeouts are minutes, since a real server takes
//     seconds to start, back up and restore.

// TestDigitalOceanConformanceWithData runs the suite on the DigitalOcean
// adapter and simulator with real databases behind the clusters; mysql
// clusters run on MariaDB. Every restore, point-in-time ones included,
// attaches the data copy of one of the simulator's backups, so every
// restore is checked with data.
func TestDigitalOceanConformanceWithData(t *testing.T) {
	t.Parallel()
	backend, _ := newBackend(t, dbaas.Postgres, dbaas.MariaDB)
	sim, url, err := dosim.Start(dosim.Options{ProvisionDelay: 100 * time.Millisecond, Backend: backend})
	require.NoError(t, err)
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() { hc.CloseIdleConnections(); require.NoError(t, sim.Close()) })
	p, err := digitalocean.New(digitalocean.Options{Token: dbaas.NewSecret("sim-token"), BaseURL: url, HTTPClient: hc, Region: "fra1", RateLimit: -1})
	require.NoError(t, err)
	dbaastest.RunConformance(t, dbaastest.Harness{
		Provider: p,
		Spec: func(name string, engine dbaas.Engine) dbaas.Spec {
			version := "16"
			if engine == dbaas.MySQL {
				version = "8.0"
			}
			return dbaas.Spec{Name: name, Engine: engine, Version: version, Size: "db-s-1vcpu-1gb"}
		},
		Engines:         []dbaas.Engine{dbaas.Postgres, dbaas.MySQL},
		Calls:           p.Calls,
		MissingID:       "0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11",
		MissingBackupID: "0d7b1bc1-5e4e-4c1e-9d4e-1f0f1b3a9c11/2026-01-01T00:00:00Z",
		Wait:            dbaas.WaitOptions{FirstDelay: 50 * time.Millisecond, MaxDelay: 500 * time.Millisecond, Expected: -1, Timeout: 3 * time.Minute},
		Timeout:         4 * time.Minute,
		Concurrency:     4,
		WriteData:       realdb.WriteMarker,
		ReadData:        realdb.ReadMarkers,
		Login:           login,
	})
}

// TestLinodeConformanceWithData runs the suite on the Linode adapter and
// simulator with real databases behind them, on the same auto-advancing
// clock as the linode package's TestConformance: provisioning takes
// Linode's typical 15 minutes of simulated time. The simulator starts the
// real server inside the create request, on real time, so by the time the
// simulated provisioning ends the server is up; the clock only moves when
// every waiter sleeps, so slow real servers cost real time, not simulated
// timeouts.
//
// A fork (point-in-time restore) starts from an empty database: the
// simulator keeps no log of writes to rebuild a past moment, hence
// NoPointInTimeData.
func TestLinodeConformanceWithData(t *testing.T) {
	t.Parallel()
	backend, _ := newBackend(t, dbaas.Postgres, dbaas.MariaDB)
	epoch := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	clock := fakeclock.NewAuto(epoch)
	sim, url, err := linodesim.Start(linodesim.Options{Clock: clock, ProvisionDelay: linode.TypicalProvisioning, DeleteDelay: time.Minute, Backend: backend})
	require.NoError(t, err)
	tr := &http.Transport{MaxIdleConnsPerHost: 32}
	t.Cleanup(func() { tr.CloseIdleConnections(); require.NoError(t, sim.Close()) })
	p, err := linode.New(context.Background(), dbaas.Config{Token: dbaas.NewSecret("sim-token"), BaseURL: url, Region: "us-east",
		HTTPClient: &http.Client{Transport: tr},
		// No database setting: the servers have Linode's defaultdb,
		// which the adapter names.
		Settings: map[string]string{linode.SettingRetryWait: "1ms", linode.SettingRetryMaxWait: "20ms"}},
		linode.WithClock(clock))
	require.NoError(t, err)
	dbaastest.RunConformance(t, dbaastest.Harness{
		Provider: p,
		Spec: func(name string, engine dbaas.Engine) dbaas.Spec {
			return dbaas.Spec{Name: name, Engine: engine, Size: "g6-nanode-1"}
		},
		Engines: []dbaas.Engine{dbaas.Postgres, dbaas.MySQL},
		Calls:   func() int64 { return int64(sim.TotalCalls()) },
		// Simulated time, long because every waiter moves the one clock.
		Wait:              dbaas.WaitOptions{Clock: clock, Timeout: 7 * 24 * time.Hour},
		Timeout:           4 * time.Minute,
		Concurrency:       4,
		MissingID:         "postgresql/1",
		MissingBackupID:   "postgresql/1@point-in-time",
		WriteData:         realdb.WriteMarker,
		ReadData:          realdb.ReadMarkers,
		Login:             login,
		NoPointInTimeData: true,
		Cleanup: func(ids []string) {
			for _, id := range ids {
				_ = p.Delete(context.Background(), id, dbaas.DeleteOptions{SkipFinalBackup: true})
			}
		},
	})
}

// login connects as conn's user with its TLS settings and pings: the
// application user's login on the real server behind the simulator.
func login(ctx context.Context, conn *dbaas.ConnectionInfo) error {
	db, err := sqlconn.Open(conn, dbaas.DSNOptions{ConnectTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.PingContext(ctx)
}
