// Package sqlq holds what the SDK's own SQL shares across engines:
// quoting names and string literals for statements that cannot take
// parameters (CREATE USER, GRANT, ALTER ROLE), and reading one column.
package sqlq

import (
	"context"
	"database/sql"
	"strings"
)

// PGIdent quotes a PostgreSQL identifier.
func PGIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// PGString quotes a PostgreSQL string constant; standard_conforming_strings
// (on since PostgreSQL 9.1) keeps backslashes literal.
func PGString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// MyIdent quotes a MySQL or MariaDB identifier.
func MyIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// MyString quotes a MySQL or MariaDB string literal (a password, a user
// or host name) under the default SQL mode, where a backslash escapes.
func MyString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// Column returns the first column of a query's rows, as strings.
func Column(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
