// Package sshtest starts SSH servers for tests: an in-process server built
// on golang.org/x/crypto/ssh (Server) whose faults can be injected, and a
// real OpenSSH sshd (Sshd) on a loopback port with a temporary host key,
// authorized_keys and configuration. Both only forward TCP (direct-tcpip
// channels, what "ssh -L" and the tunnel package use).
//
//	key := sshtest.NewKey(t, t.TempDir())
//	srv := sshtest.NewServer(t, sshtest.ServerOptions{AuthorizedKeys: []ssh.PublicKey{key.Public}})
//	known := sshtest.WriteKnownHosts(t, t.TempDir(), srv.KnownHostsLine())
package sshtest

// TB is the part of testing.TB the helpers use, so that benchmark
// programs (which have no *testing.T) can start servers too. A helper
// that cannot do its job calls Fatalf; StartSshd skips a testing.TB when
// sshd is missing.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
	TempDir() string
}
