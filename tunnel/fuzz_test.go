package tunnel

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh/knownhosts"
)

// FuzzKnownHostsFile checks the known_hosts reader against the library
// behind it: a file it accepts, knownhosts must accept too (so no line is
// silently skipped), and nothing panics.
func FuzzKnownHostsFile(f *testing.F) {
	f.Add("[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHZbP3vTHn6UCdDb8tWGQkKc1HGU6sBfmN0NLj2bFvGJ\n")
	f.Add("|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC\n")
	f.Add("# comment\n\n@cert-authority *.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHZbP3vTHn6UCdDb8tWGQkKc1HGU6sBfmN0NLj2bFvGJ\n")
	f.Add("@revoked host ssh-ed25519\n")
	f.Add("host1,host2 ssh-ed25519 AAAA\n")
	f.Fuzz(func(t *testing.T, content string) {
		path := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := checkKnownHostsFile(path); err != nil {
			return
		}
		if _, err := knownhosts.New(path); err != nil {
			t.Fatalf("checkKnownHostsFile accepted a file knownhosts refuses: %v", err)
		}
	})
}

// FuzzHop checks that a hop the config accepts has an address that
// splits back into a host and a port.
func FuzzHop(f *testing.F) {
	f.Add("relay.example.com", 0)
	f.Add("[2001:db8::1]:2222", 0)
	f.Add("10.0.0.1", 22)
	f.Add("a:b:c", 0)
	f.Fuzz(func(t *testing.T, host string, port int) {
		h := Hop{Host: host, Port: port}
		if h.validate("hop") != nil {
			return
		}
		if _, _, err := splitHostPort(h.Address()); err != nil {
			t.Fatalf("valid hop %+v has address %q that does not split: %v", h, h.Address(), err)
		}
	})
}
