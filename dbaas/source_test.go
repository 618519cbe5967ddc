package dbaas

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSource(t *testing.T) {
	tests := []struct {
		in      string
		want    Source
		wantErr string
	}{
		{in: "cidr:10.0.0.0/16", want: Source{SourceCIDR, "10.0.0.0/16"}},
		{in: "10.0.0.0/16", want: Source{SourceCIDR, "10.0.0.0/16"}},
		{in: "10.1.2.3", want: Source{SourceCIDR, "10.1.2.3/32"}},
		{in: " cidr:10.1.2.3 ", want: Source{SourceCIDR, "10.1.2.3/32"}},
		{in: "2001:db8::/32", want: Source{SourceCIDR, "2001:db8::/32"}},
		{in: "2001:db8::1", want: Source{SourceCIDR, "2001:db8::1/128"}},
		{in: "cidr:2001:db8::/32", want: Source{SourceCIDR, "2001:db8::/32"}},
		{in: "::ffff:10.1.2.3", want: Source{SourceCIDR, "10.1.2.3/32"}},
		{in: "sg:sg-0abc", want: Source{SourceSecurityGroup, "sg-0abc"}},
		{in: "SG:sg-0abc", want: Source{SourceSecurityGroup, "sg-0abc"}},
		{in: "tag:web", want: Source{SourceTag, "web"}},
		{in: "instance:1234", want: Source{SourceInstance, "1234"}},
		{in: "vpc:5f3c1b2a-1111-2222-3333-444455556666", want: Source{SourceVPC, "5f3c1b2a-1111-2222-3333-444455556666"}},
		{in: "k8s:cluster-1", want: Source{SourceKubernetes, "cluster-1"}},
		{in: "app:my-app", want: Source{SourceApp, "my-app"}},
		{in: "0.0.0.0/0", want: Source{SourceCIDR, "0.0.0.0/0"}},
		{in: "", wantErr: "empty"},
		{in: "10.0.0.5/16", wantErr: "did you mean 10.0.0.0/16"},
		{in: "10.0.0.0/33", wantErr: "not a CIDR"},
		{in: "cidr:", wantErr: "empty CIDR"},
		{in: "cidr:web", wantErr: "not an IP address"},
		{in: "tag:", wantErr: "tag value must be"},
		{in: "tag:has space", wantErr: "tag value must be"},
		{in: "foo:bar", wantErr: `unknown kind "foo"`},
		{in: "fe80::1%eth0", wantErr: "not an IP address"},
		{in: strings.Repeat("a", 300), wantErr: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSource(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.ErrorIs(t, err, ErrInvalidArgument)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			again, err := ParseSource(got.String())
			require.NoError(t, err)
			assert.Equal(t, got, again, "round trip")
			assert.NoError(t, got.Validate())
		})
	}
}

func TestSourceWorldAndJSON(t *testing.T) {
	assert.True(t, MustParseSource("0.0.0.0/0").IsWorld())
	assert.True(t, MustParseSource("::/0").IsWorld())
	assert.False(t, MustParseSource("10.0.0.0/8").IsWorld())
	assert.False(t, MustParseSource("tag:web").IsWorld())

	in := []Source{MustParseSource("10.0.0.0/16"), MustParseSource("sg:sg-1")}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	assert.JSONEq(t, `["cidr:10.0.0.0/16","sg:sg-1"]`, string(b))
	var out []Source
	require.NoError(t, json.Unmarshal(b, &out))
	assert.Equal(t, in, out)
	assert.Error(t, json.Unmarshal([]byte(`["nope:x"]`), &out))

	_, err = ParseSources("10.0.0.1", "bad:1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "source 2")
	assert.Error(t, Source{Kind: SourceCIDR, Value: "10.0.0.1"}.Validate(), "non-canonical CIDR must be refused")
	assert.Panics(t, func() { MustParseSource("x:y") })
}

func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"cidr:10.0.0.0/16", "10.1.2.3", "sg:sg-0abc", "tag:web", "::/0", "2001:db8::1", "cidr:", "x:y", "instance:12"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		src, err := ParseSource(s)
		if err != nil {
			if !strings.Contains(err.Error(), "source") {
				t.Fatalf("error %q does not name the source", err)
			}
			return
		}
		if err := src.Validate(); err != nil {
			t.Fatalf("parsed %q into %v which does not validate: %v", s, src, err)
		}
		again, err := ParseSource(src.String())
		if err != nil || again != src {
			t.Fatalf("round trip of %q: %v -> %q -> %v, %v", s, src, src.String(), again, err)
		}
	})
}
