package dbaas

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Spec describes the database to create. Zero values mean "the provider's
// default" where a default makes sense; Validate says which fields are
// required.
type Spec struct {
	// Name identifies the instance; see Validate for the rules.
	Name string
	// Engine is required.
	Engine Engine
	// Version is the engine version ("16", "8.0", "10.11"); empty means the
	// provider's default.
	Version string
	// Size is the provider's size, class or plan ("db-s-1vcpu-1gb",
	// "db.t3.micro", "g6-nanode-1"). Required.
	Size string
	// Region or availability zone; empty means the provider's configured
	// default.
	Region string
	// Nodes is the number of nodes (primary plus standbys); 0 means 1.
	Nodes int
	// StorageGB is the allocated storage; 0 means the provider's default.
	StorageGB int
	// Port is the port the database listens on; 0 means the provider's
	// default. Not every cloud lets it be chosen (Capabilities.CustomPort).
	Port int
	// AdminUser is the administrator's name; empty means the provider's
	// default.
	AdminUser string
	// AdminPassword is the administrator's password; empty means generated
	// by the provider (or by the cloud).
	AdminPassword Secret
	// Database is the name of the database to create; empty means the
	// provider's default.
	Database string
	// Access lists the sources allowed in at creation.
	Access []Source
	// AllowWorld must be true for Access to hold 0.0.0.0/0 or ::/0. No
	// default opens a database to the world.
	AllowWorld bool
	// PrivateNetwork is the VPC or private network to place the instance in.
	PrivateNetwork string
	// Subnet is the subnet (or subnet group) inside PrivateNetwork.
	Subnet string
	// PublicAccess gives the instance a public endpoint where the cloud
	// makes that a choice. The default is private where it can be.
	PublicAccess bool
	// BackupRetentionDays keeps automated backups this long; 0 means the
	// provider's default.
	BackupRetentionDays int
	// DeletionProtection asks the cloud to refuse deletes until it is
	// turned off.
	DeletionProtection bool
	// Tags are labels for the instance (key=value; a value may be empty).
	Tags map[string]string
	// Options carries provider-specific settings, documented by each
	// provider; unknown keys are an error there.
	Options map[string]string
}

// Limits Validate enforces.
const (
	MinNameLen        = 3
	MaxNameLen        = 32
	MinStorageGB      = 20
	MaxStorageGB      = 65536
	MinPasswordLen    = 8
	MaxPasswordLen    = 41
	MaxUserLen        = 16
	MaxDatabaseLen    = 63
	MaxNodes          = 3
	MaxTags           = 50
	MaxAccessSources  = 100
	maxTagLen         = 128
	maxVersionLen     = 16
	maxSizeLen        = 64
	maxFreeTextLen    = 255
	passwordForbidden = "/\"@ "
)

var (
	nameRE     = regexp.MustCompile(`^[a-z]([a-z0-9]|-[a-z0-9])*$`)
	versionRE  = regexp.MustCompile(`^[0-9]+(\.[0-9]+){0,2}$`)
	sizeRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	userRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	databaseRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	tagKeyRE   = regexp.MustCompile(`^[A-Za-z0-9_.:/=+@-]+$`)
	// reservedUsers are refused as admin names by at least one cloud.
	reservedUsers = map[string]bool{"rdsadmin": true, "rdsrepladmin": true, "rds_superuser": true,
		"doadmin": true, "linroot": true, "linpostgres": true, "postgres": true, "root": true,
		"mysql": true, "mariadb.sys": true}
)

// FieldError is one broken rule of a Spec.
type FieldError struct {
	Field string // the field, as "name" or "access[2]"
	Rule  string // what the rule requires, in words
}

func (e FieldError) Error() string { return e.Field + ": " + e.Rule }

// ValidationError lists every rule a Spec breaks. It wraps
// ErrInvalidArgument.
type ValidationError struct {
	Problems []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Error()
	}
	return "invalid argument: " + strings.Join(parts, "; ")
}

// Unwrap makes errors.Is(err, ErrInvalidArgument) true.
func (e *ValidationError) Unwrap() error { return ErrInvalidArgument }

// Fields returns the names of the fields at fault, in order.
func (e *ValidationError) Fields() []string {
	out := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = p.Field
	}
	return out
}

// Validate checks the spec against rules every provider shares and reports
// every problem at once as a *ValidationError (which wraps
// ErrInvalidArgument). Providers check their own extra rules (sizes,
// regions, versions they offer) after this.
//
// Name: 3 to 32 characters of lower-case letters, digits and hyphens,
// starting with a letter, not ending with a hyphen and with no two hyphens
// in a row. That is the strictest rule common to RDS DB instance
// identifiers (1–63 letters, digits and hyphens, first a letter, no
// trailing or double hyphen, stored lower case), DigitalOcean cluster names
// (3–63 lower-case letters, digits and hyphens) and Linode database labels
// (3–32 characters, first and last alphanumeric).
//
// Other rules: Engine is postgres, mysql or mariadb; Version, when set, is
// numeric ("16", "8.0.35"); Size is present; StorageGB is 0 or 20–65536
// (the RDS bounds); Port is 0 or 1024–65535; Nodes is 0–3; AdminUser, when
// set, is 1–16 letters, digits and underscores starting with a letter and
// not a name a cloud reserves; AdminPassword, when set, is 8–41 printable
// ASCII characters without '/', '"', '@' or a space (RDS's rules, the
// strictest); Database, when set, is 1–63 letters, digits and underscores
// starting with a letter; every Access source is valid and 0.0.0.0/0 or
// ::/0 needs AllowWorld.
func (s *Spec) Validate() error {
	if s == nil {
		return &ValidationError{Problems: []FieldError{{Field: "spec", Rule: "must not be nil"}}}
	}
	var v validator
	switch {
	case s.Name == "":
		v.add("name", "is required")
	case len(s.Name) < MinNameLen || len(s.Name) > MaxNameLen:
		v.add("name", fmt.Sprintf("must be %d to %d characters (got %d)", MinNameLen, MaxNameLen, len(s.Name)))
	case !nameRE.MatchString(s.Name):
		v.add("name", "must be lower-case letters, digits and hyphens, start with a letter, not end with a hyphen and have no two hyphens in a row")
	}
	switch {
	case s.Engine == "":
		v.add("engine", "is required: postgres, mysql or mariadb")
	case !s.Engine.Valid():
		v.add("engine", fmt.Sprintf("%q is not postgres, mysql or mariadb", truncate(string(s.Engine), 32)))
	}
	if s.Version != "" && (len(s.Version) > maxVersionLen || !versionRE.MatchString(s.Version)) {
		v.add("version", "must be a numeric version such as 16 or 8.0")
	}
	switch {
	case s.Size == "":
		v.add("size", "is required (the provider's size, class or plan)")
	case len(s.Size) > maxSizeLen || !sizeRE.MatchString(s.Size):
		v.add("size", fmt.Sprintf("must be at most %d letters, digits, dots, underscores and hyphens", maxSizeLen))
	}
	if len(s.Region) > maxSizeLen || (s.Region != "" && !sizeRE.MatchString(s.Region)) {
		v.add("region", fmt.Sprintf("must be at most %d letters, digits, dots, underscores and hyphens", maxSizeLen))
	}
	if s.Nodes < 0 || s.Nodes > MaxNodes {
		v.add("nodes", fmt.Sprintf("must be 0 (one node) to %d", MaxNodes))
	}
	if s.StorageGB != 0 && (s.StorageGB < MinStorageGB || s.StorageGB > MaxStorageGB) {
		v.add("storage_gb", fmt.Sprintf("must be 0 (provider default) or %d to %d", MinStorageGB, MaxStorageGB))
	}
	if s.Port != 0 && (s.Port < 1024 || s.Port > 65535) {
		v.add("port", "must be 0 (provider default) or 1024 to 65535")
	}
	if s.AdminUser != "" {
		switch {
		case len(s.AdminUser) > MaxUserLen || !userRE.MatchString(s.AdminUser):
			v.add("admin_user", fmt.Sprintf("must be 1 to %d letters, digits and underscores starting with a letter", MaxUserLen))
		case reservedUsers[strings.ToLower(s.AdminUser)] || strings.HasPrefix(strings.ToLower(s.AdminUser), "rds_"):
			v.add("admin_user", fmt.Sprintf("%q is reserved by a cloud provider", s.AdminUser))
		}
	}
	if !s.AdminPassword.IsZero() {
		if rule := passwordRule(s.AdminPassword.Reveal()); rule != "" {
			v.add("admin_password", rule)
		}
	}
	if s.Database != "" && (len(s.Database) > MaxDatabaseLen || !databaseRE.MatchString(s.Database)) {
		v.add("database", fmt.Sprintf("must be 1 to %d letters, digits and underscores starting with a letter", MaxDatabaseLen))
	}
	if len(s.Access) > MaxAccessSources {
		v.add("access", fmt.Sprintf("must hold at most %d sources", MaxAccessSources))
	} else {
		for i, src := range s.Access {
			field := fmt.Sprintf("access[%d]", i)
			if err := src.Validate(); err != nil {
				v.add(field, strings.TrimSuffix(err.Error(), ": "+ErrInvalidArgument.Error()))
				continue
			}
			if src.IsWorld() && !s.AllowWorld {
				v.add(field, src.Value+" opens the database to the whole internet: set Spec.AllowWorld (dbaas --allow-world) to mean it")
			}
		}
	}
	if len(s.PrivateNetwork) > maxFreeTextLen || len(s.Subnet) > maxFreeTextLen {
		v.add("private_network", fmt.Sprintf("ids must be at most %d characters", maxFreeTextLen))
	}
	if s.BackupRetentionDays < 0 || s.BackupRetentionDays > 35 {
		v.add("backup_retention_days", "must be 0 (provider default) to 35")
	}
	if len(s.Tags) > MaxTags {
		v.add("tags", fmt.Sprintf("must hold at most %d tags", MaxTags))
	} else {
		for _, k := range sortedKeys(s.Tags) {
			if len(k) > maxTagLen || !tagKeyRE.MatchString(k) || len(s.Tags[k]) > maxTagLen {
				v.add("tags["+truncate(k, 32)+"]", fmt.Sprintf("key must be 1 to %d letters, digits and _.:/=+@-, value at most %d characters", maxTagLen, maxTagLen))
			}
		}
	}
	for _, k := range sortedKeys(s.Options) {
		if k == "" || len(k) > maxTagLen || len(s.Options[k]) > 4096 {
			v.add("options["+truncate(k, 32)+"]", "key must be 1 to 128 characters and value at most 4096")
		}
	}
	return v.err()
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

type validator struct{ problems []FieldError }

func (v *validator) add(field, rule string) {
	v.problems = append(v.problems, FieldError{Field: field, Rule: rule})
}

func (v *validator) err() error {
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

// InvalidField returns an error wrapping ErrInvalidArgument that names a
// field and its rule, in the same form as Validate. Providers use it for
// their own rules.
func InvalidField(field, rule string) error {
	return &ValidationError{Problems: []FieldError{{Field: field, Rule: rule}}}
}

// AsValidationError returns the *ValidationError inside err, if any.
func AsValidationError(err error) (*ValidationError, bool) {
	var ve *ValidationError
	ok := errors.As(err, &ve)
	return ve, ok
}
