package awssim

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The rules RDS applies to CreateDBInstance and the restores, as its
// documentation states them.

var identifierRE = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9]|-[A-Za-z0-9])*$`)

func validIdentifier(param, id string, max int) error {
	if len(id) < 1 || len(id) > max || !identifierRE.MatchString(id) {
		return invalidParam("The parameter " + param + " is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.")
	}
	return nil
}

type engineInfo struct {
	port     int
	versions []string // major versions offered
	latest   map[string]string
	userMax  int
	passMax  int
	dbMax    int
}

var engineDefaults = map[string]engineInfo{
	"postgres": {port: 5432, versions: []string{"13", "14", "15", "16", "17"},
		latest: map[string]string{"13": "13.20", "14": "14.17", "15": "15.12", "16": "16.8", "17": "17.4"}, userMax: 63, passMax: 128, dbMax: 63},
	"mysql": {port: 3306, versions: []string{"8.0", "8.4"},
		latest: map[string]string{"8.0": "8.0.41", "8.4": "8.4.4"}, userMax: 16, passMax: 41, dbMax: 64},
	"mariadb": {port: 3306, versions: []string{"10.5", "10.6", "10.11", "11.4"},
		latest: map[string]string{"10.5": "10.5.27", "10.6": "10.6.21", "10.11": "10.11.11", "11.4": "11.4.5"}, userMax: 16, passMax: 41, dbMax: 64},
}

// validVersion resolves a major or full version, as RDS does, and refuses
// one it does not offer.
func validVersion(engine, v string) (string, error) {
	info := engineDefaults[engine]
	if v == "" {
		last := info.versions[len(info.versions)-1]
		return info.latest[last], nil
	}
	for _, major := range info.versions {
		if v == major {
			return info.latest[major], nil
		}
		if strings.HasPrefix(v, major+".") {
			if _, err := strconv.Atoi(strings.ReplaceAll(strings.TrimPrefix(v, major+"."), ".", "")); err == nil {
				return v, nil
			}
		}
	}
	return "", &apiError{status: 400, code: "InvalidParameterCombination", msg: "Cannot find version " + v + " for " + engine}
}

var (
	classFamilies = []string{"t3", "t4g", "m5", "m6g", "m6i", "m7g", "r5", "r6g", "r6i", "r7g"}
	classSizes    = []string{"micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge"}
)

func validClass(class, engine string) error {
	parts := strings.Split(class, ".")
	if class == "" {
		return missingParam("DBInstanceClass")
	}
	if len(parts) != 3 || parts[0] != "db" || !slices.Contains(classFamilies, parts[1]) || !slices.Contains(classSizes, parts[2]) ||
		(!strings.HasPrefix(parts[1], "t") && (parts[2] == "micro" || parts[2] == "small" || parts[2] == "medium")) {
		return invalidCombination("RDS does not support creating a DB instance with the following combination: DBInstanceClass=" + class + ", Engine=" + engine + ". For supported combinations of instance class and database engine version, see the documentation.")
	}
	return nil
}

var (
	userRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	dbNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	reserved = []string{"rdsadmin", "rdsrepladmin", "rds_superuser", "rds_replication"}
)

func validUser(engine, user string) error {
	info := engineDefaults[engine]
	if len(user) > info.userMax || !userRE.MatchString(user) {
		return invalidParam("The parameter MasterUsername is not a valid identifier: it must be 1 to " + strconv.Itoa(info.userMax) + " letters, digits or underscores and begin with a letter.")
	}
	if slices.Contains(reserved, strings.ToLower(user)) {
		return invalidParam("MasterUsername " + user + " cannot be used as it is a reserved word used by the engine")
	}
	return nil
}

func validPassword(engine, pw string) error {
	info := engineDefaults[engine]
	if len(pw) < 8 || len(pw) > info.passMax {
		return invalidParam("The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters or longer than " + strconv.Itoa(info.passMax) + ".")
	}
	for i := 0; i < len(pw); i++ {
		c := pw[i]
		if c < 0x21 || c > 0x7e || c == '/' || c == '"' || c == '@' {
			return invalidParam("The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '\"', ' ' may be used.")
		}
	}
	return nil
}

func validDBName(engine, name string) error {
	info := engineDefaults[engine]
	if len(name) > info.dbMax || !dbNameRE.MatchString(name) {
		return invalidParam("The parameter DBName is not valid: it must be 1 to " + strconv.Itoa(info.dbMax) + " letters, digits or underscores and begin with a letter.")
	}
	return nil
}
