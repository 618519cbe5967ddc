// Package cli is the dbaas command line: its commands, flags, output and
// exit codes. The programs under cmd/ run it, each with the providers it
// links: cmd/dbaas is a small front that answers version and help itself
// and hands every other command to the program that has the providers the
// command names (dbaas-core, dbaas-aws, …, dbaas-all), so that a cloud's
// SDK is loaded only by a command that uses that cloud.
package cli

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main runs the command line on the process's arguments and standard
// streams and returns the exit code. Ctrl-C and SIGTERM cancel the
// context: waits stop, tunnels drain, and the exit code is 130.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// Run runs the command line on args with the given streams and returns
// the exit code; ctx cancels it. Main is Run on the process's own.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return run(ctx, args, stdin, stdout, stderr)
}
