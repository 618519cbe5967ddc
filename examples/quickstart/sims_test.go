package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simdb/localdb"
	"github.com/agiledeploy/dbaaskit/providers/aws/awssim"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

// simBackend returns a backend that puts a real local PostgreSQL behind
// each simulated instance, closed at the end.
func simBackend(t *testing.T) simdb.Backend {
	t.Helper()
	needLocal(t, dbaas.Postgres)
	dir, err := os.MkdirTemp("", "sim-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o711))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	ctx := context.Background()
	p, err := local.New(ctx, local.Options{StateDir: dir})
	require.NoError(t, err)
	b := localdb.New(p)
	t.Cleanup(func() {
		assert.NoError(t, b.Close(context.Background()))
		assert.NoError(t, p.Close())
	})
	return b
}

// The cloud adapters run the walk-through against their simulators, as
// after `dbaas sim`: each step the cloud has runs, each it lacks is
// skipped saying why, and the data steps run where the endpoint answers.
func TestRunOnCloudSimulators(t *testing.T) {
	tests := []struct {
		name  string
		start func(t *testing.T) (baseURL string, stop func() error)
		env   map[string]string
		args  []string
		want  []string
	}{
		{
			name: "aws without a database behind",
			start: func(t *testing.T) (string, func() error) {
				sim, url, err := awssim.Start(awssim.Options{ProvisionDelay: 30 * time.Millisecond, BackupDelay: 20 * time.Millisecond})
				require.NoError(t, err)
				return url, sim.Close
			},
			env:  map[string]string{"AWS_ACCESS_KEY_ID": "AKIDQUICKSTART", "AWS_SECRET_ACCESS_KEY": "quickstart-secret", "AWS_REGION": "us-east-1"},
			args: []string{"-provider", "aws", "-size", "db.t3.micro"},
			want: []string{
				"open       aws",
				"provision  created quickstart (quickstart postgres)",
				"wait       quickstart is available at quickstart.",
				"query      skipped: quickstart.",
				"is not reachable from here",
				"allow      cidr:192.0.2.0/24 allowed",
				"backup     quickstart-",
				"write      skipped: no data steps: ",
				"restore    quickstart-restored (quickstart-restored) from quickstart-",
				"compare    skipped: no data steps",
				"delete     quickstart-restored deleted",
				"delete     quickstart deleted",
				"kept: aws cannot delete a backup through dbaaskit",
				"done",
			},
		},
		{
			name: "digitalocean with PostgreSQL behind",
			start: func(t *testing.T) (string, func() error) {
				sim, url, err := dosim.Start(dosim.Options{ProvisionDelay: 30 * time.Millisecond, Backend: simBackend(t)})
				require.NoError(t, err)
				return url, sim.Close
			},
			env:  map[string]string{"DIGITALOCEAN_TOKEN": "quickstart-token", "DBAAS_REGION": "fra1"},
			args: []string{"-provider", "digitalocean", "-size", "db-s-1vcpu-1gb"},
			want: []string{
				"open       digitalocean",
				"provision  created ",
				"query      PostgreSQL 1",
				"allow      cidr:192.0.2.0/24 allowed",
				"backup     skipped: digitalocean has no on-demand backup",
				"write      skipped: no backup to compare a restored copy with",
				"restore    skipped: no backup to restore",
				"compare    skipped: no restored copy",
				"delete     ",
				"done",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpDir(t)
			url, stop := tt.start(t)
			t.Cleanup(func() { assert.NoError(t, stop()) })
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			provider := tt.args[1]
			t.Setenv("DBAAS_BASE_URL_"+strings.ToUpper(provider), url)
			t.Setenv("DBAAS_SETTINGS", "")
			t.Setenv("DBAAS_ADMIN_PASSWORD", "")
			var out bytes.Buffer
			err := run(context.Background(), &out, append(tt.args, "-poll", "20ms", "-timeout", "2m"))
			text := out.String()
			require.NoError(t, err, "%s", text)
			for _, want := range tt.want {
				assert.Contains(t, text, want)
			}
		})
	}
}
