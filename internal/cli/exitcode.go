package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Exit codes of the dbaas command, each distinct so that a shell script
// can branch on what went wrong. They are documented to users in
// exitCodesHelp ("dbaas help exit-codes") and the README.
//
// Commands added through registerCommand use them too: return a
// usageErrorf for bad command-line input, wrap an error with
// withExitCode to choose a code, or return any error and let exitCode
// classify it by its dbaas sentinel.
const (
	exitOK           = 0   // success
	exitFailure      = 1   // any other failure (cloud error, conflict, permission, I/O)
	exitUsage        = 2   // bad command line: unknown command or flag, missing argument, malformed source or toolkit string, unknown provider
	exitNotFound     = 3   // the instance or backup does not exist (dbaas.ErrNotFound)
	exitTimeout      = 4   // a wait or --timeout ran out (dbaas.ErrTimeout)
	exitUnsupported  = 5   // the provider cannot do this (dbaas.ErrUnsupported)
	exitPortMismatch = 6   // check-port: the real port differs (*dbaas.PortMismatchError)
	exitInvalid      = 7   // the provider refused a value (dbaas.ErrInvalidArgument)
	exitInterrupted  = 130 // interrupted by Ctrl-C or SIGTERM, as shells report it
)

const exitCodesHelp = `Exit codes of dbaas, distinct so that scripts can branch on them:

  0    success
  1    failure: any other error (cloud error, conflict, permission denied,
       rate limited, I/O); for migrate and dump load also: the server
       refused a statement, the target is not empty, or verification found
       a difference (migrate --verify-only: the pair differs)
  2    usage: unknown command or flag, missing argument, malformed source
       or toolkit string, unknown provider; nothing was sent to any cloud
  3    not found: the instance or backup does not exist
  4    timeout: a wait, or the whole command under --timeout, ran out of time
  5    unsupported: the provider cannot do this (see "dbaas providers")
  6    port mismatch: check-port or toolkit apply found the database on
       another port than the configured one
  7    invalid input: the provider refused a value (a size, a name, a rule
       of its own); the message names the field and the rule. Also a dump
       that is malformed, of no known format, or cut short (gzip included)
  130  interrupted (Ctrl-C, SIGTERM)

Example:

  dbaas check-port shop --expect "$DB_PORT"
  case $? in
    0) ;;
    6) echo "DB_PORT is wrong" >&2; exit 1 ;;
    3) echo "no database called shop" >&2; exit 1 ;;
  esac
`

// usageError is a command line that cannot be run as written. Its message
// names the input and the form expected; it maps to exitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// usageErrorf returns a usage error (exit code 2). The message must name
// the bad input and the expected form, on one line.
func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// codedError carries an explicit exit code.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// withExitCode makes run exit with code when err is returned from a
// command. A nil err stays nil.
func withExitCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: code, err: err}
}

// exitCode maps an error returned by a command to the process exit code.
func exitCode(err error) int {
	var (
		coded    *codedError
		usage    *usageError
		mismatch *dbaas.PortMismatchError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &coded):
		return coded.code
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &mismatch):
		return exitPortMismatch
	case errors.Is(err, dbaas.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return exitTimeout
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, dbaas.ErrNotFound):
		return exitNotFound
	case errors.Is(err, dbaas.ErrUnsupported):
		return exitUnsupported
	case errors.Is(err, dbaas.ErrInvalidArgument):
		return exitInvalid
	}
	return exitFailure
}

// exitKind names an exit code in JSON error output.
func exitKind(code int) string {
	switch code {
	case exitOK:
		return "ok"
	case exitUsage:
		return "usage"
	case exitNotFound:
		return "not_found"
	case exitTimeout:
		return "timeout"
	case exitUnsupported:
		return "unsupported"
	case exitPortMismatch:
		return "port_mismatch"
	case exitInvalid:
		return "invalid_input"
	case exitInterrupted:
		return "interrupted"
	}
	return "failure"
}

// oneLine folds a multi-line message (cobra's suggestions) into one line.
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, " ")
}

// unsupported is the error of a command the provider cannot serve,
// refused before any call.
func unsupported(provider, op, why string) error {
	return &dbaas.Error{Provider: provider, Op: op, Kind: dbaas.ErrUnsupported, Err: errors.New(why)}
}

// newError is an error of the command line's own, in the providers' shape.
func newError(op, id string, kind, cause error) error {
	return &dbaas.Error{Op: op, ID: id, Kind: kind, Err: cause}
}
