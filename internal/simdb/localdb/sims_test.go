package localdb_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb/localdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/realdb"
	awsp "github.com/agiledeploy/dbaaskit/providers/aws"
	"github.com/agiledeploy/dbaaskit/providers/aws/awssim"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
	"github.com/agiledeploy/dbaaskit/providers/linode"
	"github.com/agiledeploy/dbaaskit/providers/linode/linodesim"
)

// TestSimulatorsServeLocalDatabases starts each cloud simulator with a
// Backend, creates a database through that cloud's adapter, and runs
// real statements on the endpoint the adapter's Connection returns, with
// the user, password and database the cloud reports: the simulated
// database is a real local server with the cloud's account, and deleting
// it removes the server.
func TestSimulatorsServeLocalDatabases(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	awsPort := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	tests := []struct {
		cloud  string
		engine dbaas.Engine
		open   func(t *testing.T, b *localdb.Backend) dbaas.Provider
		spec   dbaas.Spec
		// want is the account the cloud gives: its admin user and
		// database, and the password when the spec names one.
		want dbaas.ConnectionInfo
	}{
		{"digitalocean", dbaas.Postgres, func(t *testing.T, b *localdb.Backend) dbaas.Provider {
			sim, url, err := dosim.Start(dosim.Options{ProvisionDelay: 100 * time.Millisecond, Backend: b})
			require.NoError(t, err)
			hc := &http.Client{Transport: &http.Transport{}}
			t.Cleanup(func() { hc.CloseIdleConnections(); require.NoError(t, sim.Close()) })
			p, err := digitalocean.New(digitalocean.Options{Token: dbaas.NewSecret("sim-token"), BaseURL: url, HTTPClient: hc, Region: "fra1", RateLimit: -1})
			require.NoError(t, err)
			return p
		}, dbaas.Spec{Name: "do-real", Engine: dbaas.Postgres, Version: "16", Size: "db-s-1vcpu-1gb"},
			// Its admin doadmin is reserved: the local server's own stands in.
			dbaas.ConnectionInfo{Database: "defaultdb"}},
		{"linode", dbaas.MySQL, func(t *testing.T, b *localdb.Backend) dbaas.Provider {
			sim, url, err := linodesim.Start(linodesim.Options{ProvisionDelay: 100 * time.Millisecond, Backend: b})
			require.NoError(t, err)
			tr := &http.Transport{}
			t.Cleanup(func() { tr.CloseIdleConnections(); require.NoError(t, sim.Close()) })
			p, err := linode.New(context.Background(), dbaas.Config{Token: dbaas.NewSecret("sim-token"), BaseURL: url, Region: "us-east",
				HTTPClient: &http.Client{Transport: tr},
				Settings:   map[string]string{linode.SettingRetryWait: "1ms", linode.SettingRetryMaxWait: "20ms"}})
			require.NoError(t, err)
			return p
		}, dbaas.Spec{Name: "linode-real", Engine: dbaas.MySQL, Size: "g6-nanode-1"},
			// The adapter names defaultdb, which the API does not report.
			dbaas.ConnectionInfo{User: "akmadmin", Database: "defaultdb"}},
		{"aws", dbaas.Postgres, func(t *testing.T, b *localdb.Backend) dbaas.Provider {
			sim, url, err := awssim.Start(awssim.Options{ProvisionDelay: 100 * time.Millisecond, Backend: b})
			require.NoError(t, err)
			hc := &http.Client{Transport: &http.Transport{}}
			t.Cleanup(func() { hc.CloseIdleConnections(); require.NoError(t, sim.Close()) })
			p, err := awsp.New(context.Background(), awsp.Options{Region: "us-east-1", BaseEndpoint: url, HTTPClient: hc,
				Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
				// The simulator's CA bundle is not the local servers'
				// own: connect in plain TCP, which loopback allows.
				TLS: dbaas.TLSDisable})
			require.NoError(t, err)
			return p
		}, dbaas.Spec{Name: "aws-real", Engine: dbaas.Postgres, Size: "db.t3.micro", StorageGB: 20, Port: awsPort,
			AdminUser: "shopadmin", AdminPassword: dbaas.NewSecret("Shop-Secret-2026"), Database: "shop"},
			// RDS keeps the master user, password and database given.
			dbaas.ConnectionInfo{User: "shopadmin", Password: dbaas.NewSecret("Shop-Secret-2026"), Database: "shop"}},
	}
	backend, local := newBackend(t, dbaas.Postgres, dbaas.MariaDB)
	for _, tt := range tests {
		t.Run(tt.cloud, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cloud := tt.open(t, backend)
			inst, err := cloud.Create(ctx, tt.spec)
			require.NoError(t, err)
			_, err = dbaas.Wait(ctx, cloud, inst.ID, dbaas.WaitOptions{FirstDelay: 50 * time.Millisecond, MaxDelay: 200 * time.Millisecond, Expected: -1, Timeout: 2 * time.Minute})
			require.NoError(t, err)
			conn, err := cloud.Connection(ctx, inst.ID)
			require.NoError(t, err)
			assert.Equal(t, "127.0.0.1", conn.Endpoint.Host)
			if tt.spec.Port != 0 {
				assert.Equal(t, tt.spec.Port, conn.Endpoint.Port, "the server listens on the port asked for, as RDS's does")
			}
			if tt.want.User != "" {
				assert.Equal(t, tt.want.User, conn.User, "the cloud's admin user")
			}
			assert.Equal(t, tt.want.Database, conn.Database, "the cloud's database")
			if !tt.want.Password.IsZero() {
				assert.Equal(t, tt.want.Password.Reveal(), conn.Password.Reveal(), "the password given at create")
			}
			if tt.cloud != "aws" {
				assert.Equal(t, dbaas.TLSRequire, conn.TLS, "the simulator reports the local server's TLS")
				assert.NotEmpty(t, conn.CACertPEM, "and its CA")
			}

			// The endpoint is a local instance's port, and the statements
			// run on that server.
			var served *dbaas.Instance
			list, err := local.List(ctx)
			require.NoError(t, err)
			for _, l := range list {
				if l.Endpoint.Port == conn.Endpoint.Port {
					served = l
				}
			}
			require.NotNil(t, served, "the endpoint is a local instance's")
			wantEngine := tt.engine
			if wantEngine == dbaas.MySQL {
				wantEngine = dbaas.MariaDB
			}
			assert.Equal(t, wantEngine, served.Engine)
			mark := conn
			mark.Engine = wantEngine
			require.NoError(t, realdb.WriteMarker(ctx, mark, tt.cloud))
			got, err := realdb.ReadMarkers(ctx, mark)
			require.NoError(t, err)
			assert.Equal(t, []string{tt.cloud}, got)

			require.NoError(t, cloud.Delete(ctx, inst.ID, dbaas.DeleteOptions{SkipFinalBackup: true}))
			require.Eventually(t, func() bool {
				// Simulators move their life cycle on when asked.
				_, _ = cloud.Get(ctx, inst.ID)
				_, err := local.Get(ctx, served.ID)
				return err != nil
			}, time.Minute, 50*time.Millisecond, "deleting the simulated database removes the local server")
		})
	}
}
