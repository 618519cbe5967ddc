package dbaas

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Secret holds a password, token or key. It prints as [redacted] under
// every fmt verb, in slog and in JSON, so that it cannot reach a log line
// or an error text by accident. Reveal returns the value for the one place
// that needs it.
//
// The zero Secret is empty.
type Secret struct {
	v string
}

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: s} }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// Len returns the length of the value in bytes.
func (s Secret) Len() int { return len(s.v) }

// String returns [redacted] (or the empty string when empty).
func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return redacted
}

// GoString returns the redacted form for %#v.
func (s Secret) GoString() string { return `dbaas.Secret("` + s.String() + `")` }

// Format writes the redacted form whatever the verb.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// LogValue makes slog print the redacted form.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON writes the redacted form: a secret never leaves in JSON.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalText writes the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalJSON reads a JSON string, so configuration files can carry
// secrets in.
func (s *Secret) UnmarshalJSON(b []byte) error {
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("secret: want a JSON string: %w", ErrInvalidArgument)
	}
	s.v = v
	return nil
}
