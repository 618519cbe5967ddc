package main

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const password = "quick-Start-pw-31"

func TestRunWalksEveryStepWithoutShowingThePassword(t *testing.T) {
	t.Setenv("DBAAS_SETTINGS", "provision_delay=30ms, backup_delay=20ms")
	t.Setenv("DBAAS_ADMIN_PASSWORD", password)
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-name", "shop", "-engine", "mariadb", "-allow", "10.1.2.0/24", "-poll", "5ms"})
	require.NoError(t, err, "%s", out.String())
	text := out.String()
	for _, want := range []string{
		"open       memory",
		"provision  created mem-000001 (shop mariadb), status provisioning",
		"wait       mem-000001 is available at 127.0.0.1:3306",
		"connect    host 127.0.0.1 port 3306 user dbadmin password [redacted]",
		"allow      cidr:10.1.2.0/24 allowed",
		"backup     bk-000002 (shop-",
		"restore    mem-000003 (shop-restored) from bk-000002 is available",
		"delete     mem-000003 deleted",
		"delete     mem-000001 deleted",
		"done",
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, password)
	assert.Regexp(t, `(?m)^wait .* \(\d+ms\)$`, text, "each step prints its time")
}

func TestRunRefusesBadInputBeforeAnyStep(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"world", "", []string{"-allow", "0.0.0.0/0"}, "-allow-world"},
		{"bad source", "", []string{"-allow", "10.0.0.1/8"}, "host bits"},
		{"engine", "", []string{"-engine", "oracle"}, "-engine"},
		{"argument", "", []string{"extra"}, "flags only"},
		{"settings", "provision_delay", nil, "DBAAS_SETTINGS"},
		{"timeout", "", []string{"-timeout", "0s"}, "-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("DBAAS_SETTINGS", tt.env)
			var out bytes.Buffer
			err := run(context.Background(), &out, tt.args)
			require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, out.String(), "provision")
		})
	}
}

func TestRunNamesTheProviderProblem(t *testing.T) {
	t.Setenv("DBAAS_SETTINGS", "provision_dealy=1s")
	var out bytes.Buffer
	err := run(context.Background(), &out, nil)
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), `"provision_dealy" is unknown`)

	t.Setenv("DBAAS_SETTINGS", "")
	err = run(context.Background(), &out, []string{"-provider", "nosuch"})
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "known providers are")
	assert.Contains(t, err.Error(), "memory")
}

func TestRunCleansUpWhenAStepFails(t *testing.T) {
	// The instance never becomes available within the timeout: the wait
	// fails and quickstart deletes what it made.
	t.Setenv("DBAAS_SETTINGS", "provision_delay=1h")
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-poll", "5ms", "-timeout", "100ms"})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, out.String(), "wait       failed after")
	assert.Contains(t, out.String(), "cleanup    deleted mem-000001")

	out.Reset()
	err = run(context.Background(), &out, []string{"-poll", "5ms", "-timeout", "100ms", "-keep"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kept (-keep): mem-000001")
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-h"})
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, out.String(), "-provider")
	assert.Contains(t, out.String(), "memory")
}

func TestRestoredNameFitsTheNameRules(t *testing.T) {
	for _, name := range []string{"shop", strings.Repeat("a", 32), "abcdefghijklmnopqrstuvw-xyz"} {
		s := dbaas.Spec{Name: restoredName(name), Engine: dbaas.Postgres, Size: "small"}
		assert.NoError(t, s.Validate(), "%s → %s", name, s.Name)
	}
}
