package dbaas

import (
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/internal/certs"
)

// tlsServer serves TLS on loopback with a certificate for names signed by
// a CA of its own, and returns its address and the CA's PEM.
func tlsServer(t *testing.T, names ...string) (string, []byte) {
	t.Helper()
	ca, err := certs.NewCA("db ca", time.Now(), time.Hour)
	require.NoError(t, err)
	cert, err := ca.Issue(names, time.Now(), time.Hour)
	require.NoError(t, err)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			_ = c.Close()
		}
	}()
	return ln.Addr().String(), ca.PEM
}

// TestTLSModesMeanTheSameEverywhere proves each mode's one meaning
// (libpq's) with real handshakes: the same *tls.Config serves pgx and
// go-sql-driver/mysql (dbaas/sqlconn), so both engines check alike.
func TestTLSModesMeanTheSameEverywhere(t *testing.T) {
	addr, caPEM := tlsServer(t, "db.example.test")
	_, otherCA := tlsServer(t, "db.example.test")
	tests := []struct {
		name       string
		mode       TLSMode
		ca         []byte
		serverName string
		ok         bool
	}{
		{"require without a CA encrypts only", TLSRequire, nil, "", true},
		{"require with the CA checks the chain", TLSRequire, caPEM, "", true},
		{"require with another CA fails", TLSRequire, otherCA, "", false},
		{"verify-ca ignores the name", TLSVerifyCA, caPEM, "", true},
		{"verify-ca with another CA fails", TLSVerifyCA, otherCA, "", false},
		{"verify-ca without a CA uses the system roots", TLSVerifyCA, nil, "", false},
		{"verify-full checks the endpoint's host", TLSVerifyFull, caPEM, "", false},
		{"verify-full checks ServerName behind a tunnel", TLSVerifyFull, caPEM, "db.example.test", true},
		{"verify-full with a wrong ServerName fails", TLSVerifyFull, caPEM, "other.example.test", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &ConnectionInfo{Endpoint: Endpoint{Host: "127.0.0.1", Port: 1}, TLS: tt.mode, CACertPEM: tt.ca, ServerName: tt.serverName}
			tc, err := c.TLSConfig("")
			require.NoError(t, err)
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, tc)
			if tt.ok {
				require.NoError(t, err)
				_ = conn.Close()
				return
			}
			require.Error(t, err)
		})
	}
	tc, err := (&ConnectionInfo{TLS: TLSDisable}).TLSConfig("")
	require.NoError(t, err)
	assert.Nil(t, tc, "disable has no TLS configuration")
	_, err = (&ConnectionInfo{TLS: "sometimes"}).TLSConfig("")
	assert.ErrorIs(t, err, ErrInvalidArgument)
}
