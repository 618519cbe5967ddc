// Package appsql manages an instance's application databases and users
// over SQL with the admin connection, for providers whose cloud has no
// API for them (Linode, AWS, local, a static database, anything behind a
// tunnel). It gives the least privilege the engines allow: on PostgreSQL
// the user owns its database, which no one else may connect to; on MySQL
// and MariaDB it has all privileges on its database's tables and nothing
// else. Names are checked by the caller (dbaas.ValidateUserName,
// dbaas.ValidateDatabaseName) and quoted here all the same; passwords
// travel as quoted literals built by the server (PostgreSQL's format %L)
// or interpolated by the driver (MySQL), never in an error.
package appsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/sqlq"
)

// Admin opens admin connections to one instance. Each call opens and
// closes its own: these are rare calls, and a pool would outlive them.
type Admin struct {
	Conn *dbaas.ConnectionInfo
}

func (a Admin) open(ctx context.Context) (*sql.DB, error) {
	db, err := sqlconn.Open(a.Conn, dbaas.DSNOptions{})
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect as the admin user: %w", err)
	}
	return db, nil
}

func (a Admin) pg() bool { return !a.Conn.Engine.MySQLFamily() }

// EnsureDatabase creates database name unless it exists. On PostgreSQL
// it is made without the right for PUBLIC to connect.
func (a Admin) EnsureDatabase(ctx context.Context, name string) error {
	db, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if !a.pg() {
		_, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+sqlq.MyIdent(name))
		return err
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if _, err := db.ExecContext(ctx, "CREATE DATABASE "+sqlq.PGIdent(name)); err != nil && !isDuplicate(err) {
			return err
		}
	}
	_, err = db.ExecContext(ctx, "REVOKE CONNECT, TEMPORARY ON DATABASE "+sqlq.PGIdent(name)+" FROM PUBLIC")
	return err
}

// Databases lists the databases, system ones left out.
func (a Admin) Databases(ctx context.Context) ([]string, error) {
	db, err := a.open(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	q := "SELECT datname FROM pg_database WHERE NOT datistemplate"
	if !a.pg() {
		q = "SHOW DATABASES"
	}
	names, err := sqlq.Column(ctx, db, q)
	if err != nil {
		return nil, err
	}
	names = slices.DeleteFunc(names, dbaas.IsSystemDatabase)
	slices.Sort(names)
	return names, nil
}

// DropDatabase drops database name, closing other sessions on PostgreSQL.
func (a Admin) DropDatabase(ctx context.Context, name string) error {
	db, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	q := "DROP DATABASE IF EXISTS " + sqlq.PGIdent(name) + " WITH (FORCE)"
	if !a.pg() {
		q = "DROP DATABASE IF EXISTS " + sqlq.MyIdent(name)
	}
	_, err = db.ExecContext(ctx, q)
	return err
}

// EnsureUser makes or updates user u with the rights of
// dbaas.Provider.EnsureUser. A zero u.Password keeps an existing user's
// password (the result then has none) and gives a new user a random one.
func (a Admin) EnsureUser(ctx context.Context, u dbaas.UserSpec) (*dbaas.User, error) {
	db, err := a.open(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if u.Password.IsZero() {
		exists, err := a.userExists(ctx, db, u.Name)
		if err != nil {
			return nil, err
		}
		if !exists {
			u.Password = dbaas.GeneratePassword()
		}
	}
	if a.pg() {
		err = a.pgEnsureUser(ctx, db, u)
	} else {
		err = a.myEnsureUser(ctx, db, u)
	}
	if err != nil {
		return nil, err
	}
	return &dbaas.User{Name: u.Name, Database: u.Database, Password: u.Password}, nil
}

func (a Admin) pgEnsureUser(ctx context.Context, db *sql.DB, u dbaas.UserSpec) error {
	var exists, mighty bool
	err := db.QueryRowContext(ctx, "SELECT true, rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls FROM pg_roles WHERE rolname = $1", u.Name).Scan(&exists, &mighty)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	switch {
	case mighty:
		return &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf("role %s exists with more rights than an application user (superuser, or the right to create roles or databases): choose another name", u.Name)}
	case !exists:
		const rights = " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
		if err := pgExecFormat(ctx, db, "CREATE ROLE %I"+rights+" PASSWORD %L", u.Name, u.Password.Reveal()); err != nil && !isDuplicate(err) {
			return err
		}
	case !u.Password.IsZero():
		if err := pgExecFormat(ctx, db, "ALTER ROLE %I LOGIN PASSWORD %L", u.Name, u.Password.Reveal()); err != nil {
			return err
		}
	}
	if u.Database == "" {
		return nil
	}
	return a.pgGrant(ctx, db, u.Name, u.Database)
}

// GrantDatabase gives an existing user its database and nothing else,
// as EnsureUser does: on PostgreSQL the user owns the database, whose
// public schema it owns too, and PUBLIC may no longer connect to it; on
// MySQL and MariaDB the user has all privileges on database.*. It is for
// clouds whose API makes users but gives no control over their rights.
func (a Admin) GrantDatabase(ctx context.Context, user, database string) error {
	db, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if a.pg() {
		return a.pgGrant(ctx, db, user, database)
	}
	return myGrant(ctx, db, user, database)
}

func (a Admin) pgGrant(ctx context.Context, db *sql.DB, user, database string) error {
	// Making another role the owner needs membership of it on managed
	// servers where the admin is no superuser.
	var super bool
	if err := db.QueryRowContext(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
		return err
	}
	if !super {
		if err := pgExecFormat(ctx, db, "GRANT %I TO current_user", user); err != nil && !isDuplicate(err) {
			return fmt.Errorf("grant %s to the admin user: %w", user, err)
		}
	}
	if err := pgExecFormat(ctx, db, "ALTER DATABASE %I OWNER TO %I", database, user); err != nil {
		return fmt.Errorf("make %s the owner of %s: %w", user, database, err)
	}
	if err := pgExecFormat(ctx, db, "REVOKE CONNECT, TEMPORARY ON DATABASE %I FROM PUBLIC", database); err != nil {
		return err
	}
	// The owner's schema: the public schema of the new database belongs to
	// pg_database_owner on PostgreSQL 15 and later, and to the admin
	// before that.
	adb, err := a.openDB(ctx, database)
	if err != nil {
		return err
	}
	defer adb.Close()
	return pgExecFormat(ctx, adb, "ALTER SCHEMA public OWNER TO %I", user)
}

// openDB opens the admin connection to another database of the instance.
func (a Admin) openDB(ctx context.Context, database string) (*sql.DB, error) {
	c := *a.Conn
	c.Database = database
	return Admin{Conn: &c}.open(ctx)
}

func (a Admin) myEnsureUser(ctx context.Context, db *sql.DB, u dbaas.UserSpec) error {
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM mysql.user WHERE user = ? AND host = '%'", u.Name).Scan(&n); err != nil {
		return err
	}
	switch {
	case n == 0 && u.Password.IsZero():
		return errors.New("a new user needs a password")
	case n == 0:
		if _, err := db.ExecContext(ctx, "CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", u.Name, u.Password.Reveal()); err != nil {
			return err
		}
	case !u.Password.IsZero():
		if _, err := db.ExecContext(ctx, "ALTER USER ?@'%' IDENTIFIED BY ?", u.Name, u.Password.Reveal()); err != nil {
			return err
		}
	}
	if u.Database == "" {
		return nil
	}
	return myGrant(ctx, db, u.Name, u.Database)
}

func myGrant(ctx context.Context, db *sql.DB, user, database string) error {
	_, err := db.ExecContext(ctx, "GRANT ALL PRIVILEGES ON "+sqlq.MyIdent(database)+".* TO ?@'%'", user)
	return err
}

// SetPassword sets the password of an existing user.
func (a Admin) SetPassword(ctx context.Context, user string, pw dbaas.Secret) (*dbaas.User, error) {
	db, err := a.open(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	exists, err := a.userExists(ctx, db, user)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, &dbaas.Error{Kind: dbaas.ErrNotFound, Err: fmt.Errorf("no user %s", user)}
	}
	if a.pg() {
		err = pgExecFormat(ctx, db, "ALTER ROLE %I PASSWORD %L", user, pw.Reveal())
	} else {
		_, err = db.ExecContext(ctx, "ALTER USER ?@'%' IDENTIFIED BY ?", user, pw.Reveal())
	}
	if err != nil {
		return nil, err
	}
	return &dbaas.User{Name: user, Password: pw}, nil
}

func (a Admin) userExists(ctx context.Context, db *sql.DB, user string) (bool, error) {
	q := "SELECT count(*) FROM pg_roles WHERE rolname = $1"
	if !a.pg() {
		q = "SELECT count(*) FROM mysql.user WHERE user = ? AND host = '%'"
	}
	var n int
	err := db.QueryRowContext(ctx, q, user).Scan(&n)
	return n > 0, err
}

// Users lists the login users that are neither the admin nor the
// engine's or cloud's own, each with the database it owns (PostgreSQL)
// or holds privileges on (MySQL).
func (a Admin) Users(ctx context.Context) ([]*dbaas.User, error) {
	db, err := a.open(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	q := `SELECT r.rolname, coalesce(min(d.datname), '') FROM pg_roles r
		LEFT JOIN pg_database d ON d.datdba = r.oid AND NOT d.datistemplate
		WHERE r.rolcanlogin AND NOT r.rolsuper AND r.rolname <> current_user
		GROUP BY r.rolname ORDER BY r.rolname`
	if !a.pg() {
		q = `SELECT u.user, coalesce(min(d.db), '') FROM mysql.user u
			LEFT JOIN mysql.db d ON d.user = u.user AND d.host = u.host
			WHERE u.host = '%' AND u.user <> '' AND u.user <> substring_index(current_user(), '@', 1)
			GROUP BY u.user ORDER BY u.user`
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*dbaas.User
	for rows.Next() {
		var u dbaas.User
		if err := rows.Scan(&u.Name, &u.Database); err != nil {
			return nil, err
		}
		if dbaas.ValidateUserName("", u.Name) != nil {
			continue // an engine's or a cloud's own user
		}
		out = append(out, &u)
	}
	return out, rows.Err()
}

// DropUser drops the user, giving what it owned to the admin first.
func (a Admin) DropUser(ctx context.Context, user string) error {
	db, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if !a.pg() {
		_, err := db.ExecContext(ctx, "DROP USER IF EXISTS ?@'%'", user)
		return err
	}
	if err := a.pgRelease(ctx, db, user); err != nil {
		return err
	}
	return pgExecFormat(ctx, db, "DROP ROLE IF EXISTS %I", user)
}

// ReleaseUser gives what the user owns to the admin user, so that the
// user can be dropped (PostgreSQL refuses to drop a role that owns a
// database or objects in one); on MySQL and MariaDB users own nothing.
// It is for clouds whose API drops users.
func (a Admin) ReleaseUser(ctx context.Context, user string) error {
	if !a.pg() {
		return nil
	}
	db, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return a.pgRelease(ctx, db, user)
}

func (a Admin) pgRelease(ctx context.Context, db *sql.DB, user string) error {
	var exists bool
	if err := db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", user).Scan(&exists); err != nil || !exists {
		return err
	}
	owned, err := sqlq.Column(ctx, db, "SELECT datname FROM pg_database d JOIN pg_roles r ON d.datdba = r.oid WHERE r.rolname = $1", user)
	if err != nil {
		return err
	}
	for _, d := range owned {
		if err := pgExecFormat(ctx, db, "ALTER DATABASE %I OWNER TO current_user", d); err != nil {
			return err
		}
		adb, err := a.openDB(ctx, d)
		if err != nil {
			return err
		}
		err = pgExecFormat(ctx, adb, "REASSIGN OWNED BY %I TO current_user", user)
		if err == nil {
			err = pgExecFormat(ctx, adb, "DROP OWNED BY %I", user)
		}
		_ = adb.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// pgExecFormat has the server quote identifiers (%I) and literals (%L)
// with its own format(), then runs the result: no client-side quoting.
func pgExecFormat(ctx context.Context, db *sql.DB, format string, args ...any) error {
	params := make([]string, len(args))
	for i := range args {
		params[i] = fmt.Sprintf("$%d::text", i+2)
	}
	var stmt string
	q := "SELECT format($1::text" + strings.Join(append([]string{""}, params...), ", ") + ")"
	if err := db.QueryRowContext(ctx, q, append([]any{format}, args...)...).Scan(&stmt); err != nil {
		return err
	}
	_, err := db.ExecContext(ctx, stmt)
	if err != nil && strings.Contains(format, "%L") {
		// The statement held a password: keep only the server's code.
		return fmt.Errorf("%s failed: %w", strings.Fields(format)[0]+" "+strings.Fields(format)[1], redacted{err})
	}
	return err
}

// redacted keeps an error's identity for errors.Is and errors.As but not
// its text, which may quote a statement with a password.
type redacted struct{ err error }

func (r redacted) Error() string { return "the server refused the statement" }
func (r redacted) Unwrap() error { return r.err }

// isDuplicate reports an error of a concurrent creator that won the race.
func isDuplicate(err error) bool {
	s := err.Error()
	return strings.Contains(s, "already exists") || strings.Contains(s, "42710") || strings.Contains(s, "42P04")
}
