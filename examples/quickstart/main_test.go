package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/testenv"
	"github.com/agiledeploy/dbaaskit/providers/local"
)

func TestMain(m *testing.M) {
	testenv.NoMetadataService()
	goleak.VerifyTestMain(m)
}

const password = "quick-Start-pw-31"

// needLocal skips (fails under DBAAS_INTEGRATION=1) when the local
// provider cannot run engine here.
func needLocal(t *testing.T, engine dbaas.Engine) {
	t.Helper()
	if err := local.CheckInstalled(context.Background(), engine); err != nil {
		testenv.Skip(t, err.Error())
	}
}

// tmpDir points TMPDIR, where quickstart makes its state directory, at a
// fresh directory, and checks at the end that no process runs from it.
// Like /tmp it is world-writable and sticky: the local provider's MariaDB
// servers, which run as another user when the test is root, make their
// sockets in it.
func tmpDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "quickstart-test-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o777|os.ModeSticky))
	t.Setenv("TMPDIR", dir)
	t.Cleanup(func() {
		assert.Empty(t, processesUnder(dir), "processes still running from %s", dir)
		left, err := filepath.Glob(filepath.Join(dir, "dbaaskit-quickstart-*"))
		assert.NoError(t, err)
		assert.Empty(t, left, "quickstart left its temporary directory")
		_ = os.RemoveAll(dir)
	})
	return dir
}

// processesUnder lists the pids whose command line names a path in dir.
func processesUnder(dir string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(dir+"/")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// assertEmptyDir checks that quickstart removed its state directory.
func assertEmptyDir(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.Empty(t, names, "left in %s", dir)
}

func TestRunOnLocalShowsTheRestoredCopyLacksTheLaterRow(t *testing.T) {
	tests := []struct {
		engine dbaas.Engine
		server string // how the query step's answer starts
		// stateDir, when set, is given as -state-dir (under the test's
		// temporary directory): it stays, empty of instances and backups.
		stateDir string
	}{
		{dbaas.Postgres, "query      PostgreSQL 1", ""},
		{dbaas.MariaDB, "query      MySQL protocol, server 1", "kept-state"},
	}
	for _, tt := range tests {
		t.Run(string(tt.engine), func(t *testing.T) {
			needLocal(t, tt.engine)
			dir := tmpDir(t)
			t.Setenv("DBAAS_ADMIN_PASSWORD", password)
			t.Setenv("DBAAS_SETTINGS", "")
			args := []string{"-engine", string(tt.engine)}
			wantState := dir + "/dbaaskit-quickstart-"
			if tt.stateDir != "" {
				wantState = filepath.Join(dir, tt.stateDir)
				args = append(args, "-state-dir", wantState)
			}
			var out bytes.Buffer
			// No -provider: the default is local.
			err := run(context.Background(), &out, args)
			text := out.String()
			require.NoError(t, err, "%s", text)
			t.Log("\n" + text)
			for _, want := range []string{
				"open       local (state in " + wantState,
				"provision  created local-",
				"wait       local-",
				"connect    host 127.0.0.1 port ",
				"password [redacted] database app tls require",
				tt.server,
				"quickstart_notes holds 1 row(s), the last \"written before the backup",
				"allow      cidr:192.0.2.0/24 allowed; access list [cidr:192.0.2.0/24]",
				"backup     backup-",
				"write      \"written after the backup at ",
				"holds 2 row(s)",
				"restore    local-",
				"compare    quickstart_notes of local-",
				"holds 1 row(s), with \"written before the backup at ",
				"without \"written after the backup at ",
				"delete     backup backup-",
				"done       in ",
			} {
				assert.Contains(t, text, want)
			}
			assert.Equal(t, 2, strings.Count(text, "delete     local-"), "both instances deleted")
			assert.NotContains(t, text, password)
			assert.NotContains(t, text, "fallback")
			assert.NotContains(t, text, "skipped")
			for _, step := range []string{"open", "provision", "wait", "connect", "query", "allow", "backup", "write", "restore", "compare", "delete"} {
				assert.Regexp(t, `(?m)^`+step+` +.* \([0-9.]+m?s\)$`, text, "step %s prints its time", step)
			}
			if tt.stateDir == "" {
				assertEmptyDir(t, dir)
				return
			}
			p, err := local.New(context.Background(), local.Options{StateDir: wantState})
			require.NoError(t, err)
			defer p.Close()
			list, err := p.List(context.Background())
			require.NoError(t, err)
			assert.Empty(t, list, "instances left in -state-dir")
			backups, err := filepath.Glob(filepath.Join(wantState, "backups", "*"))
			require.NoError(t, err)
			assert.Empty(t, backups, "backups left in -state-dir")
		})
	}
}

// cancelOn cancels a context when a line starting with prefix is
// written: Ctrl-C at a chosen step.
type cancelOn struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	prefix string
	cancel context.CancelFunc
}

func (w *cancelOn) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(b)
	if bytes.HasPrefix(b, []byte(w.prefix)) {
		w.cancel()
	}
	return len(b), nil
}

func (w *cancelOn) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func TestRunOnLocalDeletesWhatItMadeOnCtrlC(t *testing.T) {
	needLocal(t, dbaas.Postgres)
	dir := tmpDir(t)
	t.Setenv("DBAAS_SETTINGS", "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Interrupted while the server is still being made.
	w := &cancelOn{prefix: "provision  created", cancel: cancel}
	err := run(ctx, w, nil)
	text := w.String()
	require.ErrorIs(t, err, context.Canceled, "%s", text)
	assert.Contains(t, text, "wait       failed after")
	assert.Regexp(t, `cleanup    deleted local-[0-9a-f]+\n`, text)
	assert.NotContains(t, err.Error(), "left behind")
	assertEmptyDir(t, dir)
}

func TestRunOnMemoryUsesItsDataStore(t *testing.T) {
	tmpDir(t)
	t.Setenv("DBAAS_SETTINGS", "provision_delay=30ms, backup_delay=20ms")
	t.Setenv("DBAAS_ADMIN_PASSWORD", password)
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-provider", "memory", "-name", "shop", "-engine", "mariadb", "-allow", "10.1.2.0/24", "-poll", "5ms"})
	require.NoError(t, err, "%s", out.String())
	text := out.String()
	for _, want := range []string{
		"open       memory",
		"provision  created mem-000001 (shop mariadb), status provisioning",
		"wait       mem-000001 is available at 127.0.0.1:3306",
		"connect    host 127.0.0.1 port 3306 user dbadmin password [redacted]",
		"query      no SQL server behind memory",
		"allow      cidr:10.1.2.0/24 allowed",
		"backup     bk-000002 (shop-",
		"write      \"written after the backup at ",
		"restore    mem-000003 (shop-restored) from bk-000002 is available",
		"compare    quickstart_notes of mem-000003 holds 1 row(s), with \"written before the backup at ",
		"delete     mem-000003 deleted",
		"delete     mem-000001 deleted",
		"delete     backup bk-000002 goes with the process",
		"done",
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, password)
	assert.Regexp(t, `(?m)^wait .* \(\d+ms\)$`, text, "each step prints its time")
}

func TestCompareTellsARestoredCopyFromTheLiveData(t *testing.T) {
	const before, after = "b", "a"
	tests := []struct {
		name     string
		restored []string
		want     string
	}{
		{"the backup's moment", []string{"old", before}, ""},
		{"holds the later row", []string{before, after}, "written after the backup"},
		{"lacks the earlier row", []string{"old"}, "written before the backup"},
		{"empty", nil, "written before the backup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := compare(tt.restored, before, after)
			if tt.want == "" {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, errNotPointInTime)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// withoutEngines is a check of the local provider on a machine with no
// engine installed: the real provider, given an empty installation list,
// says what to install.
func withoutEngines(t *testing.T) func(context.Context, dbaas.Engine) error {
	t.Helper()
	dir := tmpDir(t)
	return func(ctx context.Context, e dbaas.Engine) error {
		p, err := local.New(ctx, local.Options{StateDir: filepath.Join(dir, "check"), Installations: []local.Installation{}})
		if err != nil {
			return err
		}
		defer p.Close()
		_, err = p.Create(ctx, dbaas.Spec{Name: "check", Engine: e, Size: "small"})
		if err == nil {
			return errors.New("created an instance with no engine installed")
		}
		return err
	}
}

func TestRunFallsBackToMemoryWherePostgreSQLIsNotInstalled(t *testing.T) {
	t.Setenv("DBAAS_SETTINGS", "")
	t.Setenv("DBAAS_ADMIN_PASSWORD", password)
	var out bytes.Buffer
	err := program{out: &out, checkLocal: withoutEngines(t)}.run(context.Background(), []string{"-poll", "5ms"})
	require.NoError(t, err, "%s", out.String())
	text := out.String()
	for _, want := range []string{
		"fallback   ",
		"engine postgres is not installed on this machine",
		"apt-get install postgresql",
		"fallback   running on memory instead",
		"open       memory",
		"compare    quickstart_notes of mem-",
		"done",
	} {
		assert.Contains(t, text, want)
	}
	assert.Less(t, strings.Index(text, "apt-get install"), strings.Index(text, "open "), "says what to install before it starts")
	assert.NotContains(t, text, password)

	// Asked for local by name, it does not fall back: it fails before any
	// step, saying what to install.
	out.Reset()
	err = program{out: &out, checkLocal: withoutEngines(t)}.run(context.Background(), []string{"-provider", "local"})
	require.ErrorIs(t, err, dbaas.ErrUnsupported)
	assert.Contains(t, err.Error(), "apt-get install postgresql")
	assert.Empty(t, out.String())
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
		{"name", "", []string{"-name", "Bad_Name"}, "name"},
		{"argument", "", []string{"extra"}, "flags only"},
		{"settings", "provision_delay", []string{"-provider", "memory"}, "DBAAS_SETTINGS"},
		{"timeout", "", []string{"-timeout", "0s"}, "-timeout"},
		{"poll", "", []string{"-poll", "-1s"}, "-poll"},
		{"state dir elsewhere", "", []string{"-provider", "memory", "-state-dir", "/tmp/x"}, "only the local provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpDir(t)
			t.Setenv("DBAAS_SETTINGS", tt.env)
			var out bytes.Buffer
			checked := false
			check := func(context.Context, dbaas.Engine) error { checked = true; return nil }
			err := program{out: &out, checkLocal: check}.run(context.Background(), tt.args)
			require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, out.String(), "open ")
			assert.NotContains(t, out.String(), "provision")
			if tt.env == "" {
				assert.False(t, checked, "flags are checked before the machine")
			}
		})
	}
}

func TestRunNamesTheProviderProblem(t *testing.T) {
	tmpDir(t)
	t.Setenv("DBAAS_SETTINGS", "provision_dealy=1s")
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-provider", "memory"})
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "settings.provision_dealy: is unknown")
	assert.NotContains(t, out.String(), "provision ")

	t.Setenv("DBAAS_SETTINGS", "")
	err = run(context.Background(), &out, []string{"-provider", "nosuch"})
	require.ErrorIs(t, err, dbaas.ErrInvalidArgument)
	assert.Contains(t, err.Error(), "known providers are")
	assert.Contains(t, err.Error(), "memory")
}

func TestRunCleansUpWhenAStepFails(t *testing.T) {
	tmpDir(t)
	// The instance never becomes available within the timeout: the wait
	// fails and quickstart deletes what it made.
	t.Setenv("DBAAS_SETTINGS", "provision_delay=1h")
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-provider", "memory", "-poll", "5ms", "-timeout", "100ms"})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, out.String(), "wait       failed after")
	assert.Contains(t, out.String(), "cleanup    deleted mem-000001")

	out.Reset()
	err = run(context.Background(), &out, []string{"-provider", "memory", "-poll", "5ms", "-timeout", "100ms", "-keep"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kept (-keep): mem-000001")
	assert.NotContains(t, out.String(), "cleanup")
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), &out, []string{"-h"})
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, out.String(), "-provider")
	assert.Contains(t, out.String(), "memory")
	assert.Contains(t, out.String(), "-state-dir")
}

func TestRestoredNameFitsTheNameRules(t *testing.T) {
	for _, name := range []string{"shop", strings.Repeat("a", 32), "abcdefghijklmnopqrstuvw-xyz"} {
		s := dbaas.Spec{Name: restoredName(name), Engine: dbaas.Postgres, Size: "small"}
		assert.NoError(t, s.Validate(), "%s → %s", name, s.Name)
	}
}
