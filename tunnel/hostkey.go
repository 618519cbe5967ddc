package tunnel

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError is returned when a relay or jump host offers a host key
// that known_hosts does not hold for it: either the host is unknown, or
// (Mismatch) known with another key, which can mean a machine in the
// middle. It wraps dbaas.ErrPermissionDenied.
type HostKeyError struct {
	// Host is the host:port that was dialled.
	Host string
	// Offered is the key type and SHA256 fingerprint of the offered key.
	Offered string
	// Files are the known_hosts files checked.
	Files []string
	// Mismatch is true when known_hosts holds other keys for Host.
	Mismatch bool
	// Known lists the matching entries ("file:line type") when Mismatch.
	Known []string
}

func (e *HostKeyError) Error() string {
	files := strings.Join(e.Files, ", ")
	host, port, _ := net.SplitHostPort(e.Host)
	if e.Mismatch {
		return fmt.Sprintf("host key of %s does not match known_hosts: offered %s, known %s: the host key changed or someone is in the middle; if the change is expected, remove the old entry with ssh-keygen -R '%s' -f <file>",
			e.Host, e.Offered, strings.Join(e.Known, "; "), knownhosts.Normalize(e.Host))
	}
	return fmt.Sprintf("host %s is unknown: no entry in known_hosts %s: offered %s; check that fingerprint with the host's owner, then add it with ssh-keyscan -p %s %s >> %s",
		e.Host, files, e.Offered, port, host, e.Files[0])
}

// Unwrap makes errors.Is(err, dbaas.ErrPermissionDenied) true.
func (e *HostKeyError) Unwrap() error { return dbaas.ErrPermissionDenied }

// hostKeys checks host keys against known_hosts files.
type hostKeys struct {
	files    []string
	callback ssh.HostKeyCallback
	probe    ssh.PublicKey
	insecure bool
}

func loadHostKeys(c Config) (*hostKeys, error) {
	if c.InsecureIgnoreHostKey {
		return &hostKeys{insecure: true}, nil
	}
	for _, f := range c.KnownHosts {
		if err := checkKnownHostsFile(f); err != nil {
			return nil, err
		}
	}
	cb, err := knownhosts.New(c.KnownHosts...)
	if err != nil {
		return nil, fmt.Errorf("tunnel known_hosts: %w", err)
	}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return &hostKeys{files: c.KnownHosts, callback: cb, probe: probe}, nil
}

// checkKnownHostsFile refuses a missing file and any line that does not
// parse: knownhosts.New skips bad lines silently, and a skipped line may
// be the one entry of the relay, which would then look unknown.
func checkKnownHostsFile(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("tunnel known_hosts: file %s does not exist: add the relay's host key to it (ssh-keyscan -p PORT HOST >> %s), or name another file in Config.KnownHosts: %w",
			path, path, dbaas.ErrInvalidArgument)
	}
	if err != nil {
		return fmt.Errorf("tunnel known_hosts: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.Trim(sc.Bytes(), " \t")
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if err := checkKnownHostsLine(line); err != nil {
			return fmt.Errorf("tunnel known_hosts: %s line %d is malformed: %v: %w", path, n, err, dbaas.ErrInvalidArgument)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("tunnel known_hosts: %s line %d: %w", path, n+1, err)
	}
	return nil
}

// clientConfig returns the handshake configuration for one hop: its own
// host key check and the host key algorithms known_hosts holds for it.
func (h *hostKeys) clientConfig(hop Hop, methods []ssh.AuthMethod, c Config) *ssh.ClientConfig {
	cc := &ssh.ClientConfig{
		User:    hop.User,
		Auth:    methods,
		Timeout: c.DialTimeout,
	}
	if cc.User == "" {
		cc.User = currentUser()
	}
	if len(c.Ciphers) > 0 {
		cc.Ciphers = c.Ciphers
	}
	if h.insecure {
		cc.HostKeyCallback = ssh.InsecureIgnoreHostKey()
		return cc
	}
	addr := hop.Address()
	cc.HostKeyAlgorithms = h.algorithms(addr)
	cc.HostKeyCallback = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := h.callback(addr, remote, key)
		if err == nil {
			return nil
		}
		var ke *knownhosts.KeyError
		if errors.As(err, &ke) {
			he := &HostKeyError{Host: addr, Offered: key.Type() + " " + ssh.FingerprintSHA256(key),
				Files: h.files, Mismatch: len(ke.Want) > 0}
			for _, w := range ke.Want {
				he.Known = append(he.Known, fmt.Sprintf("%s:%d %s %s", w.Filename, w.Line, w.Key.Type(), ssh.FingerprintSHA256(w.Key)))
			}
			return he
		}
		var re *knownhosts.RevokedError
		if errors.As(err, &re) {
			return fmt.Errorf("host key of %s is revoked in %s: %w", addr, re.Revoked.String(), dbaas.ErrPermissionDenied)
		}
		return fmt.Errorf("host key of %s: %w", addr, err)
	}
	return cc
}

// algorithms returns the host key algorithms of the keys known_hosts
// holds for addr, so the server is asked for a key we can check: a server
// with an ed25519 and an RSA key, known by its RSA key only, would
// otherwise offer ed25519 and look like a mismatch. It returns nil (the
// library's defaults) for an unknown host.
func (h *hostKeys) algorithms(addr string) []string {
	err := h.callback(addr, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}, h.probe)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) == 0 {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(a ...string) {
		for _, s := range a {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	for _, w := range ke.Want {
		switch t := w.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA)
		default:
			add(t)
		}
	}
	return out
}

// checkKnownHostsLine applies the rules knownhosts applies to a line,
// which it does not export: an optional @cert-authority or @revoked
// marker, host patterns ("host", "[host]:port", "!neg", or one hashed
// "|1|salt|hash"), then a key whose type is the one named.
func checkKnownHostsLine(line []byte) error {
	word := func(b []byte) (string, []byte) {
		i := bytes.IndexAny(b, " \t")
		if i < 0 {
			return string(b), nil
		}
		return string(b[:i]), bytes.Trim(b[i:], " \t")
	}
	marker, rest := word(line)
	if marker == "@cert-authority" || marker == "@revoked" {
		line = rest
	} else {
		marker = ""
	}
	hosts, rest := word(line)
	if strings.HasPrefix(hosts, "@") {
		return fmt.Errorf("unknown marker %q", truncate(hosts, 32))
	}
	if len(rest) == 0 {
		return errors.New("no key after the host pattern")
	}
	keyType, rest := word(rest)
	if len(rest) == 0 {
		return errors.New("no key after the key type")
	}
	blob, _ := word(rest)
	raw, err := base64.StdEncoding.DecodeString(blob)
	if err != nil {
		return fmt.Errorf("key is not base64: %v", err)
	}
	key, err := ssh.ParsePublicKey(raw)
	if err != nil {
		return fmt.Errorf("key: %v", err)
	}
	if key.Type() != keyType {
		return fmt.Errorf("key is %s, but the line says %s", key.Type(), truncate(keyType, 32))
	}
	if marker == "@revoked" {
		return nil
	}
	if strings.HasPrefix(hosts, "|") {
		parts := strings.Split(hosts, "|")
		if len(parts) != 4 || parts[1] != "1" {
			return errors.New("hashed host is not |1|salt|hash")
		}
		for _, p := range parts[2:] {
			if _, err := base64.StdEncoding.DecodeString(p); err != nil {
				return fmt.Errorf("hashed host: %v", err)
			}
		}
		return nil
	}
	for _, p := range strings.Split(hosts, ",") {
		p = strings.TrimPrefix(p, "!")
		if p == "" {
			if strings.Contains(hosts, "!,") || strings.HasSuffix(hosts, "!") {
				return errors.New("negation without a host name")
			}
			continue
		}
		if p[0] == '[' {
			if _, _, err := net.SplitHostPort(p); err != nil {
				return fmt.Errorf("host pattern %q: %v", truncate(p, 64), err)
			}
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
