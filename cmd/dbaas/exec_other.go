//go:build !unix

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
)

const exeSuffix = ".exe"

func lookPath(prog string) (string, error) { return exec.LookPath(prog + exeSuffix) }

// run starts the program with the front's streams and returns its exit
// code. Interrupts reach the program from the console; the front only
// outlives it.
func run(path string, args []string) int {
	signal.Ignore(os.Interrupt)
	cmd := exec.Command(path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		fmt.Fprintf(os.Stderr, "dbaas: run %s: %v\n", path, err)
		return 1
	}
}
