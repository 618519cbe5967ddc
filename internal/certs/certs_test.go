package certs

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewCA(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ca, err := NewCA("test CA", now, 24*time.Hour)
	require.NoError(t, err)

	block, rest := pem.Decode(ca.PEM)
	require.NotNil(t, block)
	assert.Empty(t, rest)
	assert.Equal(t, "CERTIFICATE", block.Type)
	parsed, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	assert.True(t, parsed.Equal(ca.Cert), "PEM and Cert are the same certificate")

	assert.True(t, ca.Cert.IsCA)
	assert.True(t, ca.Cert.MaxPathLenZero, "signs end-entity certificates only")
	assert.Equal(t, "test CA", ca.Cert.Subject.CommonName)
	assert.Equal(t, now.Add(-time.Hour), ca.Cert.NotBefore)
	assert.Equal(t, now.Add(24*time.Hour), ca.Cert.NotAfter)
	assert.NoError(t, ca.Cert.CheckSignatureFrom(ca.Cert), "self-signed with Key")
	assert.True(t, ca.Key.PublicKey.Equal(ca.Cert.PublicKey))

	other, err := NewCA("test CA", now, time.Hour)
	require.NoError(t, err)
	assert.NotEqual(t, ca.Cert.SerialNumber, other.Cert.SerialNumber, "serials differ")
	assert.Positive(t, ca.Cert.SerialNumber.Sign())
}
