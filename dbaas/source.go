package dbaas

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// SourceKind says what a network access Source names.
type SourceKind string

// The kinds of access source. Which ones a provider accepts is in its
// Capabilities.SourceKinds.
const (
	// SourceCIDR is an IPv4 or IPv6 network or single address.
	SourceCIDR SourceKind = "cidr"
	// SourceSecurityGroup is a cloud security group (AWS sg-…).
	SourceSecurityGroup SourceKind = "sg"
	// SourceTag is every machine that carries a tag (DigitalOcean tags).
	SourceTag SourceKind = "tag"
	// SourceInstance is one machine (a DigitalOcean droplet, a Linode, an EC2 instance).
	SourceInstance SourceKind = "instance"
	// SourceVPC is a private network.
	SourceVPC SourceKind = "vpc"
	// SourceKubernetes is a Kubernetes cluster (DigitalOcean k8s).
	SourceKubernetes SourceKind = "k8s"
	// SourceApp is a platform application (DigitalOcean App Platform).
	SourceApp SourceKind = "app"
)

// SourceKinds lists every source kind.
func SourceKinds() []SourceKind {
	return []SourceKind{SourceCIDR, SourceSecurityGroup, SourceTag, SourceInstance, SourceVPC, SourceKubernetes, SourceApp}
}

// Source is one entry of an instance's network access list: a CIDR or IP
// address, or a reference to something of the cloud's (security group,
// tag, machine, VPC, …).
//
// Its text form is "kind:value", for example "cidr:10.0.0.0/16",
// "sg:sg-0abc", "tag:web", "instance:1234". A bare address or network
// ("10.1.2.3", "10.0.0.0/16", "2001:db8::/32") is a CIDR. ParseSource and
// String round trip.
type Source struct {
	Kind  SourceKind
	Value string
}

// CIDR returns a CIDR source for a network or a single address. It does not
// validate; use ParseSource for input.
func CIDR(s string) Source { return Source{Kind: SourceCIDR, Value: s} }

// maxSourceLen bounds the text form; no cloud reference comes near it.
const maxSourceLen = 256

var refValue = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/@+=-]*$`)

// ParseSource parses the text form of a Source. CIDRs are kept as written
// but must be canonical (no host bits set); a single address becomes /32 or
// /128.
func ParseSource(s string) (Source, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Source{}, fmt.Errorf("source: empty: want kind:value such as cidr:10.0.0.0/16 or sg:sg-0abc: %w", ErrInvalidArgument)
	}
	if len(s) > maxSourceLen {
		return Source{}, fmt.Errorf("source %q: longer than %d characters: %w", truncate(s, 32), maxSourceLen, ErrInvalidArgument)
	}
	kind, value, ok := strings.Cut(s, ":")
	if ok {
		k := SourceKind(strings.ToLower(kind))
		if k.valid() {
			src := Source{Kind: k, Value: value}
			if err := src.normalize(); err != nil {
				return Source{}, err
			}
			return src, nil
		}
	}
	// A bare address or network, IPv6 included (which holds colons).
	src := Source{Kind: SourceCIDR, Value: s}
	if err := src.normalize(); err != nil {
		if ok && !strings.Contains(s, "/") && !looksLikeIP(s) {
			return Source{}, fmt.Errorf("source %q: unknown kind %q: want one of %s: %w", truncate(s, 64), truncate(kind, 32), kindList(), ErrInvalidArgument)
		}
		return Source{}, err
	}
	return src, nil
}

// MustParseSource is ParseSource for constants in programs and tests; it
// panics on error.
func MustParseSource(s string) Source {
	src, err := ParseSource(s)
	if err != nil {
		panic(err)
	}
	return src
}

// ParseSources parses each string, reporting the first bad one by position.
func ParseSources(ss ...string) ([]Source, error) {
	out := make([]Source, 0, len(ss))
	for i, s := range ss {
		src, err := ParseSource(s)
		if err != nil {
			return nil, fmt.Errorf("source %d: %w", i+1, err)
		}
		out = append(out, src)
	}
	return out, nil
}

func looksLikeIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

func kindList() string {
	ks := SourceKinds()
	parts := make([]string, len(ks))
	for i, k := range ks {
		parts[i] = string(k)
	}
	return strings.Join(parts, ", ")
}

func (k SourceKind) valid() bool {
	for _, v := range SourceKinds() {
		if k == v {
			return true
		}
	}
	return false
}

// normalize checks the value and puts a CIDR in its canonical form.
func (s *Source) normalize() error {
	if s.Kind == SourceCIDR {
		p, err := parseCIDR(s.Value)
		if err != nil {
			return err
		}
		s.Value = p.String()
		return nil
	}
	if !s.Kind.valid() {
		return fmt.Errorf("source %q: unknown kind %q: want one of %s: %w", truncate(s.String(), 64), truncate(string(s.Kind), 32), kindList(), ErrInvalidArgument)
	}
	if s.Value == "" || !refValue.MatchString(s.Value) {
		return fmt.Errorf("source %q: %s value must be non-empty letters, digits and ._:/@+=- : %w", truncate(string(s.Kind)+":"+s.Value, 64), s.Kind, ErrInvalidArgument)
	}
	return nil
}

func parseCIDR(v string) (netip.Prefix, error) {
	if v == "" {
		return netip.Prefix{}, fmt.Errorf("source %q: empty CIDR: %w", "cidr:", ErrInvalidArgument)
	}
	if !strings.Contains(v, "/") {
		a, err := netip.ParseAddr(v)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("source %q: not an IP address or CIDR: %w", truncate(v, 64), ErrInvalidArgument)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("source %q: not a CIDR: %w", truncate(v, 64), ErrInvalidArgument)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("source %q: IPv4-mapped IPv6 network: write it as IPv4: %w", truncate(v, 64), ErrInvalidArgument)
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("source %q: host bits set: did you mean %s?: %w", truncate(v, 64), m, ErrInvalidArgument)
	}
	return p, nil
}

// Validate checks the source as ParseSource would.
func (s Source) Validate() error {
	c := s
	if err := c.normalize(); err != nil {
		return err
	}
	if c != s {
		return fmt.Errorf("source %q: not canonical, want %q: %w", truncate(s.String(), 64), c.String(), ErrInvalidArgument)
	}
	return nil
}

// Prefix returns the network of a CIDR source.
func (s Source) Prefix() (netip.Prefix, bool) {
	if s.Kind != SourceCIDR {
		return netip.Prefix{}, false
	}
	p, err := parseCIDR(s.Value)
	return p, err == nil
}

// IsWorld reports whether the source opens access to every address
// (0.0.0.0/0 or ::/0).
func (s Source) IsWorld() bool {
	p, ok := s.Prefix()
	return ok && p.Bits() == 0
}

// String returns the text form, "kind:value".
func (s Source) String() string { return string(s.Kind) + ":" + s.Value }

// MarshalText writes the text form.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses the text form.
func (s *Source) UnmarshalText(b []byte) error {
	v, err := ParseSource(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
