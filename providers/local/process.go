package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// run runs a tool as account a, with its output kept for the error.
// Secrets go through env or files, never args, so that ps cannot show
// them.
func (p *servers) run(ctx context.Context, a account, env []string, name string, args ...string) error {
	return p.runWith(ctx, a, env, nil, name, args...)
}

// runInput runs a tool as account a with a file as its input; the file
// is opened by this process, so it need not be readable by the account.
func (p *servers) runInput(ctx context.Context, a account, input, name string, args ...string) error {
	f, err := os.Open(input)
	if err != nil {
		return err
	}
	defer f.Close()
	return p.runWith(ctx, a, nil, f, name, args...)
}

func (p *servers) runWith(ctx context.Context, a account, env []string, stdin io.Reader, name string, args ...string) error {
	if a.err != nil {
		return a.err
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = a.sysProcAttr()
	cmd.Env = append(baseEnv(), env...)
	cmd.Dir = "/"
	cmd.Stdin = stdin
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s failed (%w): %s", filepath.Base(name), err, errorLines(out.String()))
	}
	return nil
}

// baseEnv is a minimal environment for tools and servers: no PG* or MYSQL*
// variables of the caller leak into them.
func baseEnv() []string {
	return []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "LANG=C"}
}

// spawn starts a server as account a in its own session, output
// appended to logPath. A goroutine reaps it, so a killed server does not
// linger as a zombie; exited is closed when it has.
func (p *servers) spawn(a account, logPath, name string, args ...string) (pid int, exited <-chan struct{}, err error) {
	if a.err != nil {
		return 0, nil, a.err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, nil, err
	}
	if a.drop {
		_ = logf.Chown(a.uid, a.gid)
	}
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = a.sysProcAttr()
	cmd.Env = baseEnv()
	cmd.Dir = "/"
	cmd.Stdout = logf
	cmd.Stderr = logf
	err = cmd.Start()
	_ = logf.Close()
	if err != nil {
		return 0, nil, err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	return cmd.Process.Pid, done, nil
}

// readPID reads the first line of a server's pid file; 0 when absent.
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// alive reports whether pid is a live (not zombie) process whose command
// line holds marker, so that a reused pid is not taken for the server.
func alive(pid int, marker string) bool {
	if pid <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		if s := stat[i+2]; s == 'Z' || s == 'X' {
			return false
		}
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	return bytes.Contains(cmdline, []byte(marker))
}

// liveStat returns the fields of /proc/PID/stat after the command name
// (state ppid pgrp session …), or nil when the process is gone, a zombie
// or unreadable.
func liveStat(pid int) []string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return nil
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) == 0 || f[0] == "Z" || f[0] == "X" {
		return nil
	}
	return f
}

// findServer returns the live session leader whose command line holds
// marker: a server runs in a session of its own, its children do not
// lead one.
func findServer(marker string) int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !bytes.Contains(cmdline, []byte(marker)) {
			continue
		}
		f := liveStat(pid)
		if len(f) < 4 {
			continue
		}
		if sid, _ := strconv.Atoi(f[3]); sid == pid {
			return pid
		}
	}
	return 0
}

// groupMembers lists the live processes of process group pgid; a server
// runs in its own session, so its group is its children.
func groupMembers(pgid int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f := liveStat(pid)
		if len(f) < 3 {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// killLeftovers kills what is left of a dead server's process group (a
// PostgreSQL backend outlives a killed postmaster for a moment and holds
// its shared memory) and waits for it to go.
func killLeftovers(ctx context.Context, pgid int) {
	if pgid <= 0 {
		return
	}
	for range 100 {
		members := groupMembers(pgid)
		if len(members) == 0 {
			return
		}
		for _, pid := range members {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopProcess signals pid and waits until it has gone, killing it (and
// its group) after grace.
func stopProcess(ctx context.Context, pid int, marker string, sig syscall.Signal, grace time.Duration) error {
	if !alive(pid, marker) {
		killLeftovers(ctx, pid)
		return nil
	}
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal server process %d: %w", pid, err)
	}
	deadline := time.Now().Add(grace)
	for alive(pid, marker) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			deadline = time.Now().Add(grace)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	killLeftovers(ctx, pid)
	return nil
}

// lastLines returns the last n non-empty lines of s, for error messages.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// errorLines picks the lines of a tool's output that say what went wrong,
// or its last lines when none does.
func errorLines(s string) string {
	var picked []string
	for _, l := range strings.Split(s, "\n") {
		u := strings.ToUpper(l)
		if strings.Contains(u, "ERROR") || strings.Contains(u, "FATAL") || strings.Contains(u, "PANIC") {
			picked = append(picked, strings.TrimSpace(l))
		}
	}
	if len(picked) == 0 {
		return lastLines(s, 8)
	}
	if len(picked) > 8 {
		picked = picked[:8]
	}
	return strings.Join(picked, " | ")
}

// tailFile returns the last lines of a log file.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > 16<<10 {
		b = b[len(b)-16<<10:]
	}
	return lastLines(string(b), n)
}
