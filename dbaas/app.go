package dbaas

import (
	"crypto/rand"
	"fmt"
	"strings"
)

// UserSpec describes an application user inside an instance: the
// application's own login, with rights on its own database only.
type UserSpec struct {
	// Name is the user's login name.
	Name string `json:"name"`
	// Database is the database the user owns (PostgreSQL) or has all
	// privileges on (MySQL, MariaDB: database.* only). Empty means the
	// user gets no database rights here.
	Database string `json:"database,omitempty"`
	// Password is the password to set; empty means a new random one
	// (crypto/rand, or the cloud's own generator).
	Password Secret `json:"-"`
}

// User is an application user as the provider reports it.
type User struct {
	Name     string `json:"name"`
	Database string `json:"database,omitempty"`
	// Password is set when the provider can read it back (always right
	// after EnsureUser created the user or a password was set).
	Password Secret `json:"password,omitzero"`
}

// The ways a provider manages application databases and users
// (Capabilities.AppUsers).
const (
	// AppUsersAPI: through the cloud's own API.
	AppUsersAPI = "api"
	// AppUsersSQL: over SQL, with the admin connection.
	AppUsersSQL = "sql"
)

// systemDatabases are the databases engines and clouds keep for
// themselves: never listed, made or dropped as an application's.
var systemDatabases = map[string]bool{"postgres": true, "template0": true, "template1": true,
	"mysql": true, "information_schema": true, "performance_schema": true, "sys": true,
	"rdsadmin": true, "_dodb": true, "innodb": true, "tmp": true}

// IsSystemDatabase reports whether name is a database an engine or a
// cloud keeps for itself (postgres, mysql, information_schema, rdsadmin,
// …), which Databases leaves out.
func IsSystemDatabase(name string) bool { return systemDatabases[strings.ToLower(name)] }

// ValidateDatabaseName checks an application database name: 1 to 63
// letters, digits and underscores starting with a letter, and not a
// system database.
func ValidateDatabaseName(field, name string) error {
	switch {
	case name == "":
		return InvalidField(field, "is required")
	case len(name) > MaxDatabaseLen || !databaseRE.MatchString(name):
		return InvalidField(field, fmt.Sprintf("must be 1 to %d letters, digits and underscores starting with a letter", MaxDatabaseLen))
	case IsSystemDatabase(name):
		return InvalidField(field, fmt.Sprintf("%q is a system database", name))
	}
	return nil
}

// ValidateUserName checks an application user name: 1 to 16 letters,
// digits and underscores starting with a letter (MySQL's limit, the
// strictest), and not a name an engine or a cloud reserves.
func ValidateUserName(field, name string) error {
	switch {
	case name == "":
		return InvalidField(field, "is required")
	case len(name) > MaxUserLen || !userRE.MatchString(name):
		return InvalidField(field, fmt.Sprintf("must be 1 to %d letters, digits and underscores starting with a letter", MaxUserLen))
	case reservedUsers[strings.ToLower(name)] || strings.HasPrefix(strings.ToLower(name), "rds_") || strings.HasPrefix(strings.ToLower(name), "pg_"):
		return InvalidField(field, fmt.Sprintf("%q is reserved by an engine or a cloud provider", name))
	}
	return nil
}

// Validate checks the name, the database and, when set, the password
// (Spec.AdminPassword's rules).
func (u UserSpec) Validate() error {
	var v validator
	if err := ValidateUserName("user.name", u.Name); err != nil {
		v.problems = append(v.problems, err.(*ValidationError).Problems...)
	}
	if u.Database != "" {
		if err := ValidateDatabaseName("user.database", u.Database); err != nil {
			v.problems = append(v.problems, err.(*ValidationError).Problems...)
		}
	}
	if !u.Password.IsZero() {
		if rule := passwordRule(u.Password.Reveal()); rule != "" {
			v.add("user.password", rule)
		}
	}
	return v.err()
}

// passwordRule returns the password rule pw breaks, or "".
func passwordRule(pw string) string {
	switch {
	case len(pw) < MinPasswordLen || len(pw) > MaxPasswordLen:
		return fmt.Sprintf("must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	case strings.ContainsAny(pw, passwordForbidden):
		return "must not contain '/', '\"', '@' or a space"
	case !printableASCII(pw):
		return "must be printable ASCII"
	}
	return ""
}

// GeneratePassword returns a new random password: 26 characters of
// base32 from crypto/rand (128 bits), valid on every cloud.
func GeneratePassword() Secret { return NewSecret(rand.Text()) }
