package tunnel

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// loadSigners reads the key files once at Open, so a bad file or a wrong
// passphrase is reported before any connection is made.
func loadSigners(a Auth) ([]ssh.Signer, error) {
	signers := append([]ssh.Signer(nil), a.Signers...)
	files := a.KeyFiles
	explicit := len(files) > 0
	if a.empty() {
		if home, err := os.UserHomeDir(); err == nil {
			for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
				files = append(files, filepath.Join(home, ".ssh", n))
			}
		}
	}
	for _, f := range files {
		s, err := loadKeyFile(f, a.Passphrase)
		if errors.Is(err, fs.ErrNotExist) && !explicit {
			continue
		}
		if err != nil {
			return nil, err
		}
		signers = append(signers, s)
	}
	return signers, nil
}

func loadKeyFile(path string, passphrase func(string) ([]byte, error)) (ssh.Signer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tunnel auth: key file %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("tunnel auth: key file %s is a directory: %w", path, dbaas.ErrInvalidArgument)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("tunnel auth: key file %s has mode %04o and is readable by others: run chmod 600 on it (OpenSSH refuses such a key too): %w",
			path, perm, dbaas.ErrPermissionDenied)
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tunnel auth: key file %s: %w", path, err)
	}
	s, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return s, nil
	case errors.As(err, &missing):
		if passphrase == nil {
			return nil, fmt.Errorf("tunnel auth: key file %s is encrypted and Auth.Passphrase is not set: %w", path, dbaas.ErrInvalidArgument)
		}
		pw, err := passphrase(path)
		if err != nil {
			return nil, fmt.Errorf("tunnel auth: passphrase for key file %s: %w", path, err)
		}
		s, err := ssh.ParsePrivateKeyWithPassphrase(pem, pw)
		clear(pw)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("tunnel auth: key file %s: wrong passphrase: %w", path, dbaas.ErrPermissionDenied)
		}
		if err != nil {
			return nil, fmt.Errorf("tunnel auth: key file %s: %w", path, err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("tunnel auth: key file %s is not a private key: %v: %w", path, err, dbaas.ErrInvalidArgument)
	}
}

// authMethods returns the methods for one handshake. The agent is asked
// for its keys at handshake time, so keys added to it later are used.
// The returned close function closes the agent connection.
func authMethods(a Auth, signers []ssh.Signer) ([]ssh.AuthMethod, func(), error) {
	useAgent := a.Agent || (a.empty() && os.Getenv("SSH_AUTH_SOCK") != "")
	var methods []ssh.AuthMethod
	closeFn := func() {}
	if useAgent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, closeFn, fmt.Errorf("tunnel auth: Auth.Agent is set but SSH_AUTH_SOCK is empty: start ssh-agent: %w", dbaas.ErrInvalidArgument)
		}
		c, err := net.Dial("unix", sock)
		if err != nil {
			if a.Agent {
				return nil, closeFn, fmt.Errorf("tunnel auth: ssh-agent at SSH_AUTH_SOCK=%s: %w", sock, err)
			}
		} else {
			closeFn = func() { _ = c.Close() }
			ag := agent.NewClient(c)
			// Local keys first, so a key file given on purpose is tried
			// before the agent's many keys exhaust the server's
			// MaxAuthTries.
			methods = append(methods, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
				as, err := ag.Signers()
				if err != nil {
					return signers, nil
				}
				return append(append([]ssh.Signer(nil), signers...), as...), nil
			}))
			return methods, closeFn, nil
		}
	}
	if len(signers) == 0 {
		return nil, closeFn, fmt.Errorf("tunnel auth: no key: set Auth.KeyFiles, Auth.Signers or Auth.Agent: %w", dbaas.ErrInvalidArgument)
	}
	methods = append(methods, ssh.PublicKeys(signers...))
	return methods, closeFn, nil
}
