//go:build unix

package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

const exeSuffix = ""

func lookPath(prog string) (string, error) { return exec.LookPath(prog) }

// run replaces the front with the program, which keeps its process id,
// standard streams, signals and exit status: to a shell, a supervisor or
// systemd (dbaas tunnel's readiness) it is the same process.
func run(path string, args []string) int {
	err := syscall.Exec(path, append([]string{path}, args...), os.Environ())
	fmt.Fprintf(os.Stderr, "dbaas: run %s: %v\n", path, err)
	return 1
}
