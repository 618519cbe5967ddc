package main

import (
	"os"
	"slices"
	"testing"

	"github.com/agiledeploy/dbaaskit/internal/testenv"
)

// TestMain lets the test binary stand in for the program when the
// benchmark starts itself again as its sink, tunnel and link processes.
func TestMain(m *testing.M) {
	if slices.Contains(os.Args[1:], "-mode") {
		tb := &programTB{}
		err := benchMain(os.Args[1:], tb)
		tb.cleanup()
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSmoke runs the whole benchmark, every link profile included, at a
// tiny size: it proves the program works, and asserts no figure.
func TestSmoke(t *testing.T) {
	_ = testenv.LookPath(t, "sshd", "install OpenSSH's server (Debian: apt-get install openssh-server)")
	_ = testenv.LookPath(t, "ssh", "install OpenSSH's client (Debian: apt-get install openssh-client)")
	err := benchMain([]string{"-size", "1MiB", "-linksize", "256KiB", "-reps", "1", "-rounds", "50",
		"-linkrounds", "10", "-conns", "5", "-pgbench", "1s", "-links", "loopback,region,clouds"}, t)
	if err != nil {
		t.Fatal(err)
	}
}
