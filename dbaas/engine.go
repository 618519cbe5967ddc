package dbaas

import (
	"fmt"
	"strings"
)

// Engine is a database engine.
type Engine string

// The engines dbaas knows.
const (
	Postgres Engine = "postgres"
	MySQL    Engine = "mysql"
	MariaDB  Engine = "mariadb"
)

// Engines lists every engine dbaas knows, in a fixed order.
func Engines() []Engine { return []Engine{Postgres, MySQL, MariaDB} }

// Valid reports whether e is one of the known engines.
func (e Engine) Valid() bool { return e == Postgres || e == MySQL || e == MariaDB }

// DefaultPort is the engine's usual port: 5432 for PostgreSQL, 3306 for
// MySQL and MariaDB, 0 for an unknown engine.
func (e Engine) DefaultPort() int {
	switch e {
	case Postgres:
		return 5432
	case MySQL, MariaDB:
		return 3306
	}
	return 0
}

// MySQLFamily reports whether e speaks the MySQL protocol.
func (e Engine) MySQLFamily() bool { return e == MySQL || e == MariaDB }

// ParseEngine accepts the engine names the clouds use: postgres, postgresql,
// pg, mysql and mariadb, in any case.
func ParseEngine(s string) (Engine, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "postgres", "postgresql", "pg":
		return Postgres, nil
	case "mysql":
		return MySQL, nil
	case "mariadb":
		return MariaDB, nil
	}
	return "", fmt.Errorf("engine %q: want postgres, mysql or mariadb: %w", truncate(s, 64), ErrInvalidArgument)
}

// truncate shortens s for error messages so oversized input cannot flood a
// log.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
