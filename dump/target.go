package dump

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Target is where a dump is to be imported.
type Target struct {
	// Provider is the managed service: aws, digitalocean, linode, vultr,
	// exoscale, aiven, azure, cloudsql, or "self" for a server where the
	// importing user is a superuser (only engine and version rules apply).
	Provider string
	// Engine is the target's engine; empty means the dump's own engine.
	Engine dbaas.Engine
	// Version is the target server's version, such as "8.0", "5.7",
	// "10.11" or "15". Empty means unknown: version rules then assume a
	// current MySQL or PostgreSQL, and a MariaDB without MySQL 8's
	// collations (most managed MariaDB still lacks them).
	Version string
	// Roles lists the PostgreSQL roles that exist on the target. When set,
	// OWNER TO and GRANT naming any other role are reported; when nil,
	// only the providers' administrative roles are.
	Roles []string
}

// providerFacts is what a provider allows that decides whether a rule
// applies there.
type providerFacts struct {
	// requirePK: MySQL runs with sql_require_primary_key=ON and the user
	// cannot turn it off.
	requirePK bool
	// innodbOnly: tables of other engines are refused.
	innodbOnly bool
	// roles: the provider's own PostgreSQL roles, which exist there.
	roles []string
	// extensions: provider-only PostgreSQL extensions available there.
	extensions []string
}

// providers holds the facts the rules use, from each provider's
// documentation of its managed MySQL and PostgreSQL.
var providers = map[string]providerFacts{
	"aws": {
		roles:      []string{"rdsadmin", "rds_superuser", "rds_replication", "rds_password", "rds_iam", "rds_ad", "rdstopmgr", "rds_extension", "postgres"},
		extensions: []string{"aws_commons", "aws_s3", "aws_lambda", "aws_ml", "rds_tools", "pg_tle", "apg_plan_mgmt", "log_fdw", "pg_transport", "rds_activity_stream"},
	},
	"digitalocean": {requirePK: true, innodbOnly: true, roles: []string{"doadmin", "_dodb"}},
	"linode":       {requirePK: true, innodbOnly: true, roles: []string{"akmadmin", "linpostgres"}},
	"vultr":        {requirePK: true, innodbOnly: true, roles: []string{"vultradmin"}},
	"exoscale":     {requirePK: true, innodbOnly: true, roles: []string{"avnadmin"}, extensions: []string{"aiven_extras"}},
	"aiven":        {requirePK: true, innodbOnly: true, roles: []string{"avnadmin"}, extensions: []string{"aiven_extras"}},
	"azure": {
		innodbOnly: true,
		roles:      []string{"azure_pg_admin", "azuresu", "azure_superuser"},
		extensions: []string{"azure", "pgaadauth", "azure_storage", "azure_ai", "pg_azure_storage"},
	},
	"cloudsql": {
		roles:      []string{"cloudsqlsuperuser", "cloudsqladmin", "cloudsqlagent", "cloudsqliamuser", "cloudsqlreplica", "postgres"},
		extensions: []string{"google_ml_integration", "google_columnar_engine"},
	},
	"self": {},
}

// Providers lists the provider names a Target accepts.
func Providers() []string {
	names := make([]string, 0, len(providers))
	for n := range providers {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// allProviderRoles and allProviderExtensions are every provider's.
var allProviderRoles, allProviderExtensions = func() (r, e []string) {
	for _, f := range providers {
		r = append(r, f.roles...)
		e = append(e, f.extensions...)
	}
	return r, e
}()

// validate checks t against the dump's engine and fills the defaults.
func (t Target) validate(src dbaas.Engine) (Target, error) {
	if _, ok := providers[t.Provider]; !ok {
		return t, fmt.Errorf("target provider %q: want one of %s: %w", clip([]byte(t.Provider), 40), strings.Join(Providers(), ", "), dbaas.ErrInvalidArgument)
	}
	if t.Engine == "" {
		t.Engine = src
	}
	if !t.Engine.Valid() {
		return t, fmt.Errorf("target engine %q: want postgres, mysql or mariadb: %w", clip([]byte(t.Engine), 40), dbaas.ErrInvalidArgument)
	}
	if src != "" && (t.Engine == dbaas.Postgres) != (src == dbaas.Postgres) {
		return t, fmt.Errorf("target engine %s: a %s dump cannot be imported into %s: %w", t.Engine, src, t.Engine, dbaas.ErrInvalidArgument)
	}
	if t.Version != "" {
		if _, err := parseVersion(t.Version); err != nil {
			return t, fmt.Errorf("target version %q: %v: %w", clip([]byte(t.Version), 40), err, dbaas.ErrInvalidArgument)
		}
	}
	return t, nil
}

func (t Target) facts() providerFacts { return providers[t.Provider] }

func (t Target) managed() bool { return t.Provider != "self" }

// versionBelow reports whether the target's version is known and older
// than v.
func (t Target) versionBelow(v string) bool {
	if t.Version == "" {
		return false
	}
	a, _ := parseVersion(t.Version)
	b, _ := parseVersion(v)
	return slices.Compare(a, b) < 0
}

// parseVersion reads "15", "8.0" or "10.11.6" (a "-suffix" is ignored).
func parseVersion(s string) ([]int, error) {
	s, _, _ = strings.Cut(s, "-")
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return nil, fmt.Errorf("want major[.minor[.patch]]")
	}
	v := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("want major[.minor[.patch]] with numbers")
		}
		v[i] = n
	}
	return v, nil
}

// badRole reports whether a PostgreSQL role named in the dump is missing
// on the target or is another provider's administrative role.
func (t Target) badRole(role string) bool {
	if role == "" || role == "public" || role == "current_user" || role == "session_user" || role == "current_role" || strings.HasPrefix(role, "pg_") {
		return false
	}
	if t.Roles != nil {
		return !slices.Contains(t.Roles, role)
	}
	if slices.Contains(t.facts().roles, role) {
		return false
	}
	return slices.Contains(allProviderRoles, role)
}
