package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Key is a key pair written to disk for a test.
type Key struct {
	// Path is the private key file (OpenSSH format, mode 0600).
	Path string
	// Signer signs with the private key.
	Signer ssh.Signer
	// Public is the public key.
	Public ssh.PublicKey
	// Raw is the private key (ed25519.PrivateKey or *rsa.PrivateKey).
	Raw any
}

// NewKey makes an ed25519 key and writes it to dir/id_ed25519.
func NewKey(t TB, dir string) *Key {
	t.Helper()
	return newKey(t, dir, "id_ed25519", false, nil)
}

// NewRSAKey makes a 2048-bit RSA key and writes it to dir/name.
func NewRSAKey(t TB, dir, name string) *Key {
	t.Helper()
	return newKey(t, dir, name, true, nil)
}

// NewEncryptedKey makes an ed25519 key and writes it to dir/name encrypted
// with passphrase.
func NewEncryptedKey(t TB, dir, name string, passphrase []byte) *Key {
	t.Helper()
	return newKey(t, dir, name, false, passphrase)
}

func newKey(t TB, dir, name string, useRSA bool, passphrase []byte) *Key {
	t.Helper()
	var raw any
	if useRSA {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatalf("sshtest: rsa key: %v", err)
		}
		raw = k
	} else {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatalf("sshtest: ed25519 key: %v", err)
		}
		raw = k
	}
	signer, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		t.Fatalf("sshtest: signer: %v", err)
	}
	var block *pem.Block
	if passphrase != nil {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(raw, "sshtest", passphrase)
	} else {
		block, err = ssh.MarshalPrivateKey(raw, "sshtest")
	}
	if err != nil {
		t.Fatalf("sshtest: marshal key: %v", err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatalf("sshtest: write key: %v", err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		t.Fatalf("sshtest: write public key: %v", err)
	}
	return &Key{Path: path, Signer: signer, Public: signer.PublicKey(), Raw: raw}
}

// KnownHostsLine returns the known_hosts line for key at addr
// ("127.0.0.1:2222" gives "[127.0.0.1]:2222 ssh-ed25519 …").
func KnownHostsLine(addr string, key ssh.PublicKey) string {
	return knownhosts.Line([]string{knownhosts.Normalize(addr)}, key)
}

// HashedKnownHostsLine is KnownHostsLine with the host name hashed, as
// "HashKnownHosts yes" writes it.
func HashedKnownHostsLine(addr string, key ssh.PublicKey) string {
	return knownhosts.Line([]string{knownhosts.HashHostname(knownhosts.Normalize(addr))}, key)
}

// WriteKnownHosts writes lines to dir/known_hosts and returns its path.
func WriteKnownHosts(t TB, dir string, lines ...string) string {
	t.Helper()
	path := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("sshtest: write known_hosts: %v", err)
	}
	return path
}
