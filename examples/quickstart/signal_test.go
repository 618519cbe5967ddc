package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Ctrl-C on the built program, while its server is being made: main's
// signal handling cancels the run, which deletes the instance, stops its
// server and removes its temporary state directory before exiting 1.
func TestInterruptedProgramDeletesWhatItMade(t *testing.T) {
	needLocal(t, dbaas.Postgres)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH: cannot build the program")
	}
	// Built before TMPDIR points at the directory checked for leftovers.
	bin := filepath.Join(t.TempDir(), "quickstart")
	build := exec.Command(goBin, "build", "-o", bin, ".")
	b, err := build.CombinedOutput()
	require.NoError(t, err, "%s", b)
	dir := tmpDir(t)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), "DBAAS_SETTINGS=")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())

	var lines []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "provision  created") {
			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		}
	}
	err = cmd.Wait()
	text := strings.Join(lines, "\n")
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", text)
	assert.Equal(t, 1, exit.ExitCode())
	assert.Contains(t, stderr.String(), "context canceled")
	assert.Regexp(t, `cleanup    deleted local-[0-9a-f]+`, text)
	assert.NotContains(t, stderr.String(), "left behind")
	assertEmptyDir(t, dir)
}
