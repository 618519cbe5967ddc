package dbaas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSecretNeverPrints(t *testing.T) {
	const pw = "hunter2-very-secret"
	s := NewSecret(pw)
	holder := struct {
		User     string
		Password Secret
		Ptr      *Secret
	}{"u", s, &s}
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-20v"} {
		t.Run(format, func(t *testing.T) {
			assert.NotContains(t, fmt.Sprintf(format, s), pw)
			assert.NotContains(t, fmt.Sprintf(format, holder), pw)
			assert.NotContains(t, fmt.Sprintf(format, &holder), pw)
		})
	}
	assert.Equal(t, "[redacted]", s.String())
	assert.Equal(t, pw, s.Reveal())

	b, err := json.Marshal(holder)
	require.NoError(t, err)
	assert.NotContains(t, string(b), pw)
	assert.Contains(t, string(b), `"Password":"[redacted]"`)

	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("connect", "password", s, "holder", holder)
	logger.Info("connect", slog.Any("password", s))
	text := slog.New(slog.NewTextHandler(&buf, nil))
	text.Info("connect", "password", s)
	assert.NotContains(t, buf.String(), pw)
	assert.Contains(t, buf.String(), "[redacted]")
}

func TestSecretZeroAndJSONIn(t *testing.T) {
	var z Secret
	assert.True(t, z.IsZero())
	assert.Equal(t, "", z.String())
	var in struct{ P Secret }
	require.NoError(t, json.Unmarshal([]byte(`{"P":"abc"}`), &in))
	assert.Equal(t, "abc", in.P.Reveal())
	assert.Equal(t, 3, in.P.Len())
	err := json.Unmarshal([]byte(`{"P":42}`), &in)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrInvalidArgument)
}
