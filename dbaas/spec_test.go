package dbaas

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func validSpec() Spec {
	return Spec{Name: "shop-db", Engine: Postgres, Version: "16", Size: "db-s-1vcpu-1gb", Region: "fra1",
		AdminUser: "shopadmin", AdminPassword: NewSecret("Str0ng!pass"), Database: "shop",
		Access: []Source{MustParseSource("10.0.0.0/16")}, Tags: map[string]string{"env": "prod"}}
}

func TestSpecValidateAccepts(t *testing.T) {
	s := validSpec()
	require.NoError(t, s.Validate())
	minimal := Spec{Name: "abc", Engine: MySQL, Size: "small"}
	require.NoError(t, minimal.Validate())
	world := validSpec()
	world.Access = []Source{MustParseSource("0.0.0.0/0")}
	world.AllowWorld = true
	require.NoError(t, world.Validate())
}

func TestSpecValidateRules(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Spec)
		field string
		rule  string
	}{
		{"name missing", func(s *Spec) { s.Name = "" }, "name", "required"},
		{"name short", func(s *Spec) { s.Name = "ab" }, "name", "3 to 32"},
		{"name long", func(s *Spec) { s.Name = strings.Repeat("a", 33) }, "name", "3 to 32"},
		{"name upper", func(s *Spec) { s.Name = "Shop" }, "name", "lower-case"},
		{"name digit first", func(s *Spec) { s.Name = "1shop" }, "name", "start with a letter"},
		{"name trailing hyphen", func(s *Spec) { s.Name = "shop-" }, "name", "not end with a hyphen"},
		{"name double hyphen", func(s *Spec) { s.Name = "sh--op" }, "name", "two hyphens"},
		{"name underscore", func(s *Spec) { s.Name = "sh_op" }, "name", "hyphens"},
		{"engine missing", func(s *Spec) { s.Engine = "" }, "engine", "required"},
		{"engine unknown", func(s *Spec) { s.Engine = "oracle" }, "engine", "not postgres"},
		{"version", func(s *Spec) { s.Version = "latest" }, "version", "numeric"},
		{"size missing", func(s *Spec) { s.Size = "" }, "size", "required"},
		{"size chars", func(s *Spec) { s.Size = "a b" }, "size", "letters"},
		{"region chars", func(s *Spec) { s.Region = "fra 1" }, "region", "letters"},
		{"nodes", func(s *Spec) { s.Nodes = 4 }, "nodes", "0 (one node) to 3"},
		{"storage low", func(s *Spec) { s.StorageGB = 5 }, "storage_gb", "20 to 65536"},
		{"storage high", func(s *Spec) { s.StorageGB = 70000 }, "storage_gb", "20 to 65536"},
		{"port low", func(s *Spec) { s.Port = 80 }, "port", "1024 to 65535"},
		{"port high", func(s *Spec) { s.Port = 70000 }, "port", "1024 to 65535"},
		{"user chars", func(s *Spec) { s.AdminUser = "shop-admin" }, "admin_user", "letters, digits and underscores"},
		{"user long", func(s *Spec) { s.AdminUser = strings.Repeat("a", 17) }, "admin_user", "1 to 16"},
		{"user reserved", func(s *Spec) { s.AdminUser = "rdsadmin" }, "admin_user", "reserved"},
		{"user reserved prefix", func(s *Spec) { s.AdminUser = "rds_x" }, "admin_user", "reserved"},
		{"password short", func(s *Spec) { s.AdminPassword = NewSecret("short") }, "admin_password", "8 to 41"},
		{"password long", func(s *Spec) { s.AdminPassword = NewSecret(strings.Repeat("a", 42)) }, "admin_password", "8 to 41"},
		{"password slash", func(s *Spec) { s.AdminPassword = NewSecret("abcd/efgh") }, "admin_password", "'/'"},
		{"password quote", func(s *Spec) { s.AdminPassword = NewSecret(`abcd"efgh`) }, "admin_password", "'/'"},
		{"password at", func(s *Spec) { s.AdminPassword = NewSecret("abcd@efgh") }, "admin_password", "'@'"},
		{"password space", func(s *Spec) { s.AdminPassword = NewSecret("abcd efgh") }, "admin_password", "space"},
		{"password non-ascii", func(s *Spec) { s.AdminPassword = NewSecret("abcdéfghi") }, "admin_password", "printable ASCII"},
		{"database", func(s *Spec) { s.Database = "shop-db" }, "database", "letters, digits and underscores"},
		{"bad cidr", func(s *Spec) { s.Access = []Source{{Kind: SourceCIDR, Value: "10.0.0.1/8"}} }, "access[0]", "host bits"},
		{"world", func(s *Spec) { s.Access = []Source{CIDR("0.0.0.0/0")} }, "access[0]", "AllowWorld"},
		{"world v6", func(s *Spec) { s.Access = []Source{MustParseSource("10.0.0.0/8"), CIDR("::/0")} }, "access[1]", "AllowWorld"},
		{"retention", func(s *Spec) { s.BackupRetentionDays = 36 }, "backup_retention_days", "0 (provider default) to 35"},
		{"tag key", func(s *Spec) { s.Tags = map[string]string{"bad key": "v"} }, "tags[bad key]", "key must be"},
		{"option key", func(s *Spec) { s.Options = map[string]string{"": "v"} }, "options[]", "key must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.edit(&s)
			err := s.Validate()
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidArgument)
			ve, ok := AsValidationError(err)
			require.True(t, ok)
			require.Len(t, ve.Problems, 1, "only the broken field is reported: %v", err)
			assert.Equal(t, tt.field, ve.Problems[0].Field)
			assert.Contains(t, ve.Problems[0].Rule, tt.rule)
			assert.Contains(t, err.Error(), tt.field+": ")
			assert.NotContains(t, err.Error(), s.AdminPassword.Reveal(), "a password never reaches an error")
		})
	}
}

func TestSpecValidateReportsEveryProblem(t *testing.T) {
	s := Spec{Name: "X", Engine: "oracle", Port: 1, AdminPassword: NewSecret("a/b")}
	err := s.Validate()
	ve, ok := AsValidationError(err)
	require.True(t, ok)
	assert.Equal(t, []string{"name", "engine", "size", "port", "admin_password"}, ve.Fields())
	var nilSpec *Spec
	assert.ErrorIs(t, nilSpec.Validate(), ErrInvalidArgument)
}

func FuzzSpecValidate(f *testing.F) {
	f.Add("shop-db", "postgres", "16", "small", 5432, 20, "admin1", "Str0ng!pass", "shop", "10.0.0.0/16", false)
	f.Add("", "", "", "", -1, -1, "", "", "", "", true)
	f.Add("a--b", "mysql", "8.0", "db.t3.micro", 70000, 10, "rdsadmin", "a@b", "1db", "0.0.0.0/0", false)
	f.Fuzz(func(t *testing.T, name, engine, version, size string, port, storage int, user, pw, db, src string, world bool) {
		s := Spec{Name: name, Engine: Engine(engine), Version: version, Size: size, Port: port, StorageGB: storage,
			AdminUser: user, AdminPassword: NewSecret(pw), Database: db, AllowWorld: world}
		if src != "" {
			s.Access = []Source{{Kind: SourceCIDR, Value: src}}
		}
		err := s.Validate()
		if err == nil {
			// What passes must hold to the documented rules.
			if !nameRE.MatchString(name) || len(name) < MinNameLen || len(name) > MaxNameLen || !Engine(engine).Valid() || size == "" {
				t.Fatalf("accepted an invalid spec: %+v", s)
			}
			if port != 0 && (port < 1024 || port > 65535) {
				t.Fatalf("accepted port %d", port)
			}
			if pw != "" && strings.ContainsAny(pw, "/\"@ ") {
				t.Fatal("accepted a forbidden password character")
			}
			for _, a := range s.Access {
				if a.IsWorld() && !world {
					t.Fatal("accepted a world source without AllowWorld")
				}
			}
			return
		}
		ve, ok := AsValidationError(err)
		if !ok || len(ve.Problems) == 0 {
			t.Fatalf("error is not a ValidationError with problems: %v", err)
		}
		for _, p := range ve.Problems {
			if p.Field == "" || p.Rule == "" {
				t.Fatalf("problem without field or rule: %+v", p)
			}
		}
		if len(pw) >= 4 && strings.Contains(err.Error(), pw) && !strings.Contains(name+engine+version+size+user+db+src, pw) {
			t.Fatalf("password leaked into %q", err)
		}
	})
}
