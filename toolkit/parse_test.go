package toolkit

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

func TestParseForms(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		cloud string
		want  Config
	}{
		{
			name: "digitalocean mysql",
			in:   "MySQL:DBAAS:mysql:lon1:1:db-s-1vcpu-1gb:8:testdbcluster1:testdb1:example_user:s3cretPass1:e265abcb-1295-1d8b-af36-0129f89456c2",
			want: Config{Provider: DigitalOcean, Kind: "MySQL", Spec: dbaas.Spec{
				Engine: dbaas.MySQL, Region: "lon1", Nodes: 1, Size: "db-s-1vcpu-1gb", Version: "8",
				Name: "testdbcluster1", Database: "testdb1", AdminUser: "example_user",
				AdminPassword: dbaas.NewSecret("s3cretPass1"), PrivateNetwork: "e265abcb-1295-1d8b-af36-0129f89456c2"}},
		},
		{
			name: "digitalocean pg with generated password and no vpc",
			in:   "Postgres:DBAAS:pg:ams3:2:db-s-2vcpu-4gb:16:shop:shopdb:shop_user::",
			want: Config{Provider: DigitalOcean, Kind: "Postgres", Spec: dbaas.Spec{
				Engine: dbaas.Postgres, Region: "ams3", Nodes: 2, Size: "db-s-2vcpu-4gb", Version: "16",
				Name: "shop", Database: "shopdb", AdminUser: "shop_user"}},
		},
		{
			name: "linode mysql with vpc",
			in:   "MySQL:DBAAS:mysql/8:gb-lon:g6-nanode-1:1:test-cluster:testdb:testdbuser:hfhuf83jfhfu73jd:436653:234531",
			want: Config{Provider: Linode, Kind: "MySQL", Spec: dbaas.Spec{
				Engine: dbaas.MySQL, Version: "8", Region: "gb-lon", Size: "g6-nanode-1", Nodes: 1,
				Name: "test-cluster", Database: "testdb", AdminUser: "testdbuser",
				AdminPassword: dbaas.NewSecret("hfhuf83jfhfu73jd"), PrivateNetwork: "436653", Subnet: "234531"}},
		},
		{
			name: "linode postgres without vpc",
			in:   "Postgres:DBAAS:postgresql/14.4:nl-ams:g6-standard-2:3:test-cluster:testdb1:appuser:hfhuf83jfhfu73jd",
			want: Config{Provider: Linode, Kind: "Postgres", Spec: dbaas.Spec{
				Engine: dbaas.Postgres, Version: "14.4", Region: "nl-ams", Size: "g6-standard-2", Nodes: 3,
				Name: "test-cluster", Database: "testdb1", AdminUser: "appuser",
				AdminPassword: dbaas.NewSecret("hfhuf83jfhfu73jd")}},
		},
		{
			name: "aws mariadb",
			in:   "Maria:DBAAS:mariadb:eu-west-1b:db.t3.micro:appdb:app-db-1:20:admin_user:Secr3tPass",
			want: Config{Provider: AWS, Kind: "Maria", Spec: dbaas.Spec{
				Engine: dbaas.MariaDB, Region: "eu-west-1b", Size: "db.t3.micro", Database: "appdb",
				Name: "app-db-1", StorageGB: 20, AdminUser: "admin_user", AdminPassword: dbaas.NewSecret("Secr3tPass")}},
		},
		{
			name: "vultr mysql with vpc",
			in:   "MySQL:DBAAS:mysql:8:lhr:vultr-dbaas-hobbyist-cc-1-25-1:testdb:test-database:2fb13fd1-3145-3127-7132-13f28f1912c1",
			want: Config{Provider: Vultr, Kind: "MySQL", Spec: dbaas.Spec{
				Engine: dbaas.MySQL, Version: "8", Region: "lhr", Size: "vultr-dbaas-hobbyist-cc-1-25-1", Database: "testdb",
				Name: "test-database", PrivateNetwork: "2fb13fd1-3145-3127-7132-13f28f1912c1"}},
		},
		{
			name: "vultr pg without vpc",
			in:   "Postgres:DBAAS:pg:16:ewr:vultr-dbaas-startup-cc-1-55-2:shopdb:shop-db:",
			want: Config{Provider: Vultr, Kind: "Postgres", Spec: dbaas.Spec{
				Engine: dbaas.Postgres, Version: "16", Region: "ewr", Size: "vultr-dbaas-startup-cc-1-55-2", Database: "shopdb", Name: "shop-db"}},
		},
		{
			name: "exoscale postgres",
			in:   "Postgres:DBAAS:pg:ch-gva-2:hobbyist-2:testdb1",
			want: Config{Provider: Exoscale, Kind: "Postgres", Spec: dbaas.Spec{
				Engine: dbaas.Postgres, Region: "ch-gva-2", Size: "hobbyist-2", Name: "testdb1"}},
		},
		{
			name: "exoscale mysql",
			in:   "MySQL:DBAAS:mysql:de-fra-1:startup-4:shop-db",
			want: Config{Provider: Exoscale, Kind: "MySQL", Spec: dbaas.Spec{
				Engine: dbaas.MySQL, Region: "de-fra-1", Size: "startup-4", Name: "shop-db"}},
		},
		{
			name:  "cloud given explicitly",
			in:    "  Postgres:DBAAS:postgres:us-east-1a:db.t3.small:appdb:app-db-2:100:admin_user:Secr3tPass\n",
			cloud: AWS,
			want: Config{Provider: AWS, Kind: "Postgres", Spec: dbaas.Spec{
				Engine: dbaas.Postgres, Region: "us-east-1a", Size: "db.t3.small", Database: "appdb",
				Name: "app-db-2", StorageGB: 100, AdminUser: "admin_user", AdminPassword: dbaas.NewSecret("Secr3tPass")}},
		},
		{
			name:  "a non-toolkit provider name means detect",
			in:    "MySQL:DBAAS:mysql:lon1:1:db-s-1vcpu-1gb:8:c1x:db1:user1::",
			cloud: "memory",
			want: Config{Provider: DigitalOcean, Kind: "MySQL", Spec: dbaas.Spec{
				Engine: dbaas.MySQL, Region: "lon1", Nodes: 1, Size: "db-s-1vcpu-1gb", Version: "8",
				Name: "c1x", Database: "db1", AdminUser: "user1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, tt.cloud)
			require.NoError(t, err)
			assert.Equal(t, tt.want.Provider, got.Provider)
			assert.Equal(t, tt.want.Kind, got.Kind)
			want := tt.want
			if want.Provider != AWS {
				// The database and user are the toolkit's, made inside the
				// cluster, not the cloud's administrator.
				want.AppDatabase, want.AppUser, want.AppPassword = want.Spec.Database, want.Spec.AdminUser, want.Spec.AdminPassword
				want.Spec.Database, want.Spec.AdminUser, want.Spec.AdminPassword = "", "", dbaas.Secret{}
			}
			assert.Equal(t, want.Spec.AdminPassword.Reveal(), got.Spec.AdminPassword.Reveal())
			assert.Equal(t, want.AppPassword.Reveal(), got.AppPassword.Reveal())
			assert.Equal(t, want.AppDatabase, got.AppDatabase)
			assert.Equal(t, want.AppUser, got.AppUser)
			got.Spec.AdminPassword, want.Spec.AdminPassword = dbaas.Secret{}, dbaas.Secret{}
			assert.Equal(t, want.Spec, got.Spec)
		})
	}
}

func TestParseRejects(t *testing.T) {
	const pass = "Sup3rSecretPw"
	tests := []struct {
		name     string
		in       string
		cloud    string
		field    string // toolkit field named by the error; "" for the whole string
		contains string
	}{
		{name: "empty", in: "", contains: "is empty"},
		{name: "no DBAAS marker", in: "MySQL:mysql:lon1", contains: "KIND:DBAAS:"},
		{name: "bad kind", in: "Oracle:DBAAS:mysql:lon1:1:s:8:clus:db:u:" + pass + ":", field: "kind", contains: "MySQL, Maria or Postgres"},
		{name: "no form fits", in: "MySQL:DBAAS:a:b:c", contains: "fits no form"},
		{name: "do nodes not a number", in: "MySQL:DBAAS:mysql:lon1:x:db-s-1vcpu-1gb:8:cluster:db:user:" + pass + ":vpc", cloud: DigitalOcean, field: "nodes", contains: "whole number from 1 to 3"},
		{name: "do too many nodes", in: "MySQL:DBAAS:mysql:lon1:7:db-s-1vcpu-1gb:8:cluster:db:user:" + pass + ":vpc", field: "nodes", contains: "from 1 to 3"},
		{name: "aws string read as digitalocean", in: "MySQL:DBAAS:mysql:eu-west-1a:db.t3.micro:db:ident:20:user:" + pass, cloud: DigitalOcean, contains: "the shape of the aws form"},
		{name: "do wrong field count", in: "MySQL:DBAAS:mysql:lon1:1:db-s-1vcpu-1gb:8:cluster:db:user:" + pass, cloud: DigitalOcean, contains: "has 9 fields after DBAAS, want 10"},
		{name: "do bad engine", in: "MySQL:DBAAS:oracle:lon1:1:db-s-1vcpu-1gb:8:cluster:db:user:" + pass + ":vpc", field: "engine", contains: `"oracle" is not`},
		{name: "kind and engine disagree", in: "Postgres:DBAAS:mysql:lon1:1:db-s-1vcpu-1gb:8:cluster:db:user:" + pass + ":vpc", field: "engine", contains: "does not match the kind Postgres"},
		{name: "exoscale empty size", in: "Postgres:DBAAS:pg:ch-gva-2::shop-db", field: "size", contains: "is empty"},
		{name: "exoscale bad name", in: "Postgres:DBAAS:pg:ch-gva-2:startup-4:Shop_DB", field: "name", contains: "lower-case letters"},
		{name: "exoscale kind and engine disagree", in: "MySQL:DBAAS:pg:ch-gva-2:startup-4:shop-db", field: "engine", contains: "does not match the kind MySQL"},
		{name: "do bad cluster name", in: "MySQL:DBAAS:mysql:lon1:1:db-s-1vcpu-1gb:8:Bad_Name:db:user:" + pass + ":vpc", field: "cluster", contains: "lower-case letters"},
		{name: "do short password", in: "MySQL:DBAAS:mysql:lon1:1:db-s-1vcpu-1gb:8:cluster:db:user:short:vpc", field: "pass", contains: "8 to 41 characters"},
		{name: "do password with slash", in: "MySQL:DBAAS:mysql:lon1:1:db-s-1vcpu-1gb:8:cluster:db:user:Sup3r/Secret:vpc", field: "pass", contains: "must not contain"},
		{name: "do reserved user", in: "MySQL:DBAAS:mysql:lon1:1:db-s-1vcpu-1gb:8:cluster:db:doadmin:" + pass + ":vpc", field: "user", contains: "reserved"},
		{name: "do password with colon", in: "MySQL:DBAAS:mysql:lon1:1:db-s-1vcpu-1gb:8:cluster:db:user:Sup3r:Secret:vpc", cloud: DigitalOcean, contains: "may not hold ':'"},
		{name: "linode engine without version", in: "MySQL:DBAAS:mysql:gb-lon:g6-nanode-1:1:cluster:db:user:" + pass, cloud: Linode, field: "engine", contains: "engine/version"},
		{name: "linode vpc without subnet", in: "MySQL:DBAAS:mysql/8:gb-lon:g6-nanode-1:1:cluster:db:user:" + pass + ":4366:", field: "subnet_id", contains: "go together"},
		{name: "linode missing label", in: "MySQL:DBAAS:mysql/8:gb-lon:g6-nanode-1:1::db:user:" + pass, field: "label", contains: "is empty"},
		{name: "aws storage too small", in: "MySQL:DBAAS:mysql:eu-west-1a:db.t3.micro:db:ident:5:user:" + pass, field: "storageGB", contains: "from 20 to 65536"},
		{name: "aws bad class", in: "MySQL:DBAAS:mysql:eu-west-1a:db t3:db:ident:20:user:" + pass, cloud: AWS, field: "class", contains: "letters, digits"},
		{name: "aws bad db name", in: "MySQL:DBAAS:mysql:eu-west-1a:db.t3.micro:1db:ident:20:user:" + pass, field: "dbname", contains: "starting with a letter"},
		{name: "vultr label in capitals", in: "MySQL:DBAAS:mysql:8:lhr:vultr-dbaas-hobbyist-cc-1-25-1:testdb:TestDatabase:vpc", field: "label", contains: "lower-case letters"},
		{name: "vultr missing version", in: "Postgres:DBAAS:pg::ewr:vultr-dbaas-startup-cc-1-55-2:shopdb:shop-db:", cloud: Vultr, field: "version", contains: "is empty"},
		{name: "vultr bad plan", in: "Postgres:DBAAS:pg:16:ewr:big plan:shopdb:shop-db:", field: "plan", contains: "letters, digits"},
		{name: "too long", in: "MySQL:DBAAS:" + strings.Repeat("x", maxInput), contains: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse(tt.in, tt.cloud)
			require.Error(t, err)
			assert.Nil(t, cfg)
			assert.ErrorIs(t, err, dbaas.ErrInvalidArgument)
			assert.Contains(t, err.Error(), tt.contains)
			assert.NotContains(t, err.Error(), pass, "the password must never be echoed")
			assert.NotContains(t, err.Error(), "Secret", "no part of a password may be echoed")
			assert.NotContains(t, err.Error(), "\n", "one line")
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tt.field, pe.Field)
			if tt.field != "" {
				assert.Contains(t, err.Error(), "("+tt.field+")")
			}
		})
	}
}

func TestParseFieldPositionsCountFromKind(t *testing.T) {
	_, err := Parse("MySQL:DBAAS:mysql:lon1:x:db-s-1vcpu-1gb:8:cluster:db:user::", DigitalOcean)
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	// awk -F: '{print $5}' is nodes: the position a shell user counts.
	assert.Equal(t, 5, pe.Position)
	assert.Equal(t, "x", strings.Split("MySQL:DBAAS:mysql:lon1:x", ":")[pe.Position-1])
}

func TestFormatRoundTrips(t *testing.T) {
	for _, in := range []string{
		"MySQL:DBAAS:mysql:lon1:1:db-s-1vcpu-1gb:8:testdbcluster1:testdb1:example_user:s3cretPass1:e265abcb",
		"Postgres:DBAAS:pg:ams3:2:db-s-2vcpu-4gb:16:shop:shopdb:shop_user::",
		"MySQL:DBAAS:mysql/8:gb-lon:g6-nanode-1:1:test-cluster:testdb:testdbuser:hfhuf83jfhfu73jd:436653:234531",
		"Postgres:DBAAS:postgresql/14.4:nl-ams:g6-standard-2:3:test-cluster:testdb1:appuser:hfhuf83jfhfu73jd",
		"Maria:DBAAS:mariadb:eu-west-1b:db.t3.micro:appdb:app-db-1:20:admin_user:Secr3tPass",
		"MySQL:DBAAS:mysql:8:lhr:vultr-dbaas-hobbyist-cc-1-25-1:testdb:test-database:2fb13fd1-3145-3127-7132-13f28f1912c1",
		"Postgres:DBAAS:pg:16:ewr:vultr-dbaas-startup-cc-1-55-2:shopdb:shop-db:",
		"MySQL:DBAAS:mysql:ch-gva-2:hobbyist-2:testdb1",
		"Postgres:DBAAS:pg:de-fra-1:startup-4:shop-db",
	} {
		cfg, err := Parse(in, "")
		require.NoError(t, err, in)
		out, err := Format(cfg)
		require.NoError(t, err)
		assert.Equal(t, in, out)
	}
	_, err := Format(&Config{Provider: "memory"})
	assert.ErrorIs(t, err, dbaas.ErrUnsupported)
}

func TestFormNamesEveryCloud(t *testing.T) {
	for _, c := range Clouds() {
		assert.True(t, strings.HasPrefix(Form(c), "KIND:DBAAS:engine:"), c)
	}
	assert.Equal(t, "KIND:DBAAS:engine:region:type:cluster_size:label:db:user:pass[:vpc_id:subnet_id]", Form(Linode))
	assert.Empty(t, Form("gcp"))
}

// FuzzParse checks that Parse never panics, that what it accepts is a
// valid spec that Format writes back to an equal config, and that its
// errors are one bounded line that never repeats a password field.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"MySQL:DBAAS:mysql:lon1:1:db-s-1vcpu-1gb:8:testdbcluster1:testdb1:example_user:s3cretPass1:e265abcb",
		"MySQL:DBAAS:mysql/8:gb-lon:g6-nanode-1:1:test-cluster:testdb:testdbuser:hfhuf83jfhfu73jd:436653:234531",
		"Maria:DBAAS:mariadb:eu-west-1b:db.t3.micro:appdb:app-db-1:20:admin_user:Secr3tPass",
		"MySQL:DBAAS:mysql:8:lhr:plan:testdb:TestDatabase:vpc",
		"MySQL:DBAAS:mysql:ch-gva-2:hobbyist-2:testdb1",
		"Postgres:DBAAS:pg::::::::",
		"x:DBAAS:",
	} {
		f.Add(s, "")
		f.Add(s, AWS)
	}
	f.Fuzz(func(t *testing.T, in, cloud string) {
		cfg, err := Parse(in, cloud)
		if err != nil {
			msg := err.Error()
			if strings.Contains(msg, "\n") || len(msg) > 1024 {
				t.Fatalf("error is not one bounded line: %q", msg)
			}
			if pw := passwordField(in); len(pw) >= 6 && strings.Contains(msg, pw) && !echoedElsewhere(in, msg, pw) {
				t.Fatalf("error %q repeats the password field %q", msg, pw)
			}
			if !errors.Is(err, dbaas.ErrInvalidArgument) && !errors.Is(err, dbaas.ErrUnsupported) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if verr := cfg.Spec.Validate(); verr != nil {
			t.Fatalf("accepted an invalid spec: %v", verr)
		}
		out, err := Format(cfg)
		if err != nil {
			t.Fatalf("format: %v", err)
		}
		again, err := Parse(out, cfg.Provider)
		if err != nil {
			t.Fatalf("reparse %q: %v", out, err)
		}
		if again.Provider != cfg.Provider || again.Spec.AdminPassword.Reveal() != cfg.Spec.AdminPassword.Reveal() ||
			again.AppPassword.Reveal() != cfg.AppPassword.Reveal() || again.AppUser != cfg.AppUser || again.AppDatabase != cfg.AppDatabase {
			t.Fatalf("round trip changed %q into %q", in, out)
		}
		a, b := again.Spec, cfg.Spec
		a.AdminPassword, b.AdminPassword = dbaas.Secret{}, dbaas.Secret{}
		if a.Name != b.Name || a.Engine != b.Engine || a.Size != b.Size || a.Region != b.Region ||
			a.Nodes != b.Nodes || a.StorageGB != b.StorageGB || a.Database != b.Database || a.AdminUser != b.AdminUser {
			t.Fatalf("round trip changed the spec: %+v vs %+v", a, b)
		}
	})
}

// echoedElsewhere reports whether msg may hold pw because another field,
// or the text of the message itself, holds it too.
func echoedElsewhere(in, msg, pw string) bool {
	n := 0
	for _, p := range strings.Split(strings.TrimSpace(in), ":") {
		if strings.Contains(p, pw) {
			n++
		}
	}
	if n > 1 {
		return true
	}
	// A password made of words that the message says anyway.
	return strings.Contains(Form(AWS)+Form(Linode)+Form(DigitalOcean)+" is not a whole number lower-case letters digits", pw)
}

// passwordField returns what a supported form would read as the password,
// whichever form the fields fit.
func passwordField(in string) string {
	parts := strings.Split(strings.TrimSpace(in), ":")
	switch len(parts) - 2 {
	case 10: // digitalocean (pass 9th) or linode with vpc (pass 8th)
		if strings.Contains(parts[2], "/") {
			return parts[9]
		}
		return parts[10]
	case 8: // aws or linode without vpc: pass is last
		return parts[9]
	}
	return ""
}
