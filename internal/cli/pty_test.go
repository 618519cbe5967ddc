package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openPTY returns the two ends of a new pseudo-terminal: what the tool
// sees as its terminal (tty) and the test's side of it (ptm).
func openPTY(t *testing.T) (ptm, tty *os.File) {
	t.Helper()
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { _ = ptm.Close() })
	require.NoError(t, unix.IoctlSetPointerInt(int(ptm.Fd()), unix.TIOCSPTLCK, 0))
	n, err := unix.IoctlGetInt(int(ptm.Fd()), unix.TIOCGPTN)
	require.NoError(t, err)
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tty.Close() })
	return ptm, tty
}

// drain collects what the tool writes to its terminal until it closes.
func drain(ptm *os.File) <-chan string {
	out := make(chan string, 1)
	go func() {
		var b bytes.Buffer
		_, _ = io.Copy(&b, ptm) // ends with EIO once no process holds the tty
		out <- b.String()
	}()
	return out
}

func TestBinaryProgressLineOnATerminal(t *testing.T) {
	// The cluster provisions for longer than the wait lasts: every poll
	// sees it provisioning, however slow the machine.
	_, p := startDO(t, time.Hour)
	id := strings.TrimSpace(p.ok("create", "slow", "--engine", "pg", "--size", "db-s-1vcpu-1gb", "--region", "nyc1", "-q"))

	ptm, tty := openPTY(t)
	cmd := exec.Command(binary, "wait", id, "--poll", "50ms", "--timeout", "500ms")
	cmd.Env = p.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, tty
	require.NoError(t, cmd.Start())
	terminal := drain(ptm)
	require.NoError(t, tty.Close())
	err := cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, exitTimeout, ee.ExitCode())

	shown := <-terminal
	assert.Contains(t, shown, "\r\033[Kwaiting for slow: provisioning (creating), ")
	assert.Contains(t, shown, "elapsed")
	assert.Contains(t, shown, "\r\033[Kdbaas: wait "+id+": timeout: still provisioning", "the line is erased before the error")
	assert.Empty(t, out.String(), "nothing on stdout but results")
}

func TestBinaryDeleteAsksOnATerminal(t *testing.T) {
	_, p := startDO(t, 0)
	p.ok("create", "shop", "--engine", "pg", "--size", "db-s-1vcpu-1gb", "--region", "nyc1")

	for _, tc := range []struct {
		answer string
		code   int
	}{{"nope\n", exitFailure}, {"shop\n", exitOK}} {
		ptm, tty := openPTY(t)
		cmd := exec.Command(binary, "delete", "shop", "--skip-final-backup")
		cmd.Env = p.env
		var errb bytes.Buffer
		cmd.Stdin, cmd.Stderr = tty, &errb
		require.NoError(t, cmd.Start())
		terminal := drain(ptm)
		require.NoError(t, tty.Close())
		_, err := ptm.Write([]byte(tc.answer))
		require.NoError(t, err)
		err = cmd.Wait()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		<-terminal
		assert.Equal(t, tc.code, code, errb.String())
		assert.Contains(t, errb.String(), "Type the instance name to confirm: ")
	}
	assert.Equal(t, exitNotFound, p.run("get", "shop").code, "deleted after the right answer")
}
