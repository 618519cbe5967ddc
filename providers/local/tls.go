package local

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/agiledeploy/dbaaskit/internal/certs"
)

// certValidity is how long an instance's CA and server certificate last:
// an instance has no way to renew them, so they outlive it.
const certValidity = 20 * 365 * 24 * time.Hour

// serverCerts is an instance's TLS material: the CA certificate handed to
// clients, and the server's certificate and key. The CA's key signs the
// server certificate once and is then dropped, so nothing else can ever be
// signed by an instance's CA.
type serverCerts struct {
	caPEM, certPEM, keyPEM []byte
}

// certHosts are the names and addresses a client may use to reach this
// machine's servers: loopback, which Connection and the endpoint return,
// the host name, and the machine's own addresses for clients that Allow
// lets in from elsewhere.
func certHosts() (dns []string, ips []net.IP) {
	dns = []string{"localhost"}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		dns = append(dns, h)
	}
	ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() && !n.IP.IsLinkLocalMulticast() {
			if !slices.ContainsFunc(ips, n.IP.Equal) {
				ips = append(ips, n.IP)
			}
		}
	}
	return dns, ips
}

// newCerts makes a CA (ECDSA P-256) for the instance named name and a
// server certificate it signs for the hosts of certHosts.
func newCerts(name string) (*serverCerts, error) {
	ca, err := certs.NewCA("dbaaskit local CA for "+name, time.Now(), certValidity)
	if err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("tls: server key: %w", err)
	}
	dns, ips := certHosts()
	tmpl := &x509.Certificate{
		SerialNumber: certs.Serial(),
		Subject:      pkix.Name{Organization: []string{"dbaaskit local"}, CommonName: "localhost"},
		DNSNames:     dns,
		IPAddresses:  ips,
		NotBefore:    ca.Cert.NotBefore,
		NotAfter:     ca.Cert.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		// Client authentication too: MariaDB's tools read the server's
		// own options and may present this certificate to it.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("tls: server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("tls: server key: %w", err)
	}
	return &serverCerts{
		caPEM:   ca.PEM,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// The instance's TLS files live in its server directory, outside the data
// directory, so that backups never carry the key.
func (p *servers) caFile(r *record) string   { return p.tlsFile(r, "ca") }
func (p *servers) certFile(r *record) string { return p.tlsFile(r, "cert") }
func (p *servers) keyFile(r *record) string  { return p.tlsFile(r, "key") }

func (p *servers) tlsFile(r *record, kind string) string {
	return filepath.Join(p.store.serverDir(r.ID), "tls-"+kind+".pem")
}

// writeCerts writes the instance's TLS files, mode 0600 and owned by the
// servers' user: PostgreSQL refuses a key others can read.
func (p *servers) writeCerts(r *record, c *serverCerts) error {
	for _, f := range []struct {
		path string
		data []byte
	}{{p.caFile(r), c.caPEM}, {p.certFile(r), c.certPEM}, {p.keyFile(r), c.keyPEM}} {
		if err := p.account(r).writeOwned(f.path, f.data); err != nil {
			return fmt.Errorf("write TLS file %s: %w", f.path, err)
		}
	}
	return nil
}
