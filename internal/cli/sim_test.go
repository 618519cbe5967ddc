package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/internal/fakeclock"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/providers/digitalocean/dosim"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

func TestWaitOptionsTakeTheSimulatorsPace(t *testing.T) {
	tests := []struct {
		name     string
		env      string
		poll     time.Duration
		want     time.Duration
		wantNote string
	}{
		{name: "no hint: the provider's typical time", env: "", want: 0},
		{name: "the simulator's pace", env: "3s", want: 3 * time.Second},
		{name: "--poll wins", env: "3s", poll: time.Second, want: -1},
		{name: "malformed: ignored, and said", env: "soon", want: 0, wantNote: "DBAAS_EXPECTED_PROVISIONING_DIGITALOCEAN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _, stderr := testApp("")
			a.provider = "digitalocean"
			a.getenv = func(k string) string {
				if k == simkit.ExpectedEnv("digitalocean") {
					return tt.env
				}
				return ""
			}
			assert.Equal(t, tt.want, a.waitOptions(waitFlags{poll: tt.poll}).Expected)
			if tt.wantNote == "" {
				assert.Empty(t, stderr.String())
			} else {
				assert.Contains(t, stderr.String(), tt.wantNote)
			}
		})
	}
}

// TestCreateWaitOnASimulatorTakesItsPace: against dosim provisioning in
// 3 s, `create --wait` is over within seconds of simulated time with the
// hint `dbaas sim` exports; without it the first poll waits for half the
// cloud's typical ten minutes.
func TestCreateWaitOnASimulatorTakesItsPace(t *testing.T) {
	clk := fakeclock.NewAuto(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	sim, url, err := dosim.Start(dosim.Options{Clock: clk, ProvisionDelay: 3 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	tokenFile := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tokenFile, []byte("tok"), 0o600))
	hint := sim.Pace().Expected().String()
	require.Equal(t, "3s", hint)

	tests := []struct {
		name    string
		hint    string
		atLeast time.Duration
		atMost  time.Duration
	}{
		{name: "with the hint", hint: hint, atLeast: 3 * time.Second, atMost: 10 * time.Second},
		{name: "without", hint: "", atLeast: 4 * time.Minute, atMost: time.Hour},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, stdout, stderr := testApp("")
			a.clock = clk
			a.getenv = func(k string) string {
				if k == simkit.ExpectedEnv("digitalocean") {
					return tt.hint
				}
				return ""
			}
			start := clk.Now()
			code := a.run(context.Background(), []string{"--provider", "digitalocean", "--base-url", url, "--token-file", tokenFile,
				"create", []string{"paced", "unpaced"}[i], "--engine", "pg", "--size", "db-s-1vcpu-1gb", "--region", "fra1", "--wait"})
			require.Equal(t, exitOK, code, stderr.String())
			assert.NotEmpty(t, stdout.String())
			elapsed := clk.Now().Sub(start)
			assert.GreaterOrEqual(t, elapsed, tt.atLeast, "simulated time of the wait")
			assert.LessOrEqual(t, elapsed, tt.atMost, "simulated time of the wait")
		})
	}
}

// TestSimStateIsApartFromLocal: by default the servers behind simulated
// databases live in a state directory of their own, never in the local
// provider's, so 'dbaas list' of local never shows them.
func TestSimStateIsApartFromLocal(t *testing.T) {
	def := simStateDir("")
	assert.NotEqual(t, local.DefaultStateDir(), def)
	assert.False(t, strings.HasPrefix(def+string(filepath.Separator), local.DefaultStateDir()+string(filepath.Separator)) ||
		strings.HasPrefix(local.DefaultStateDir()+string(filepath.Separator), def+string(filepath.Separator)),
		"neither directory holds the other: %s, %s", def, local.DefaultStateDir())
	assert.Equal(t, "/given", simStateDir("/given"))
}
