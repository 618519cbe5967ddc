// Package simsql runs the statements with which the cloud simulators make
// the databases and users of a cloud's API real on the server behind a
// simulated instance, over the admin connection a simdb.Admin lends:
// create and drop a database, create a user with the password the API
// answers, set its password, grant it a database, and drop it. What a
// cloud gives whom is the simulator's choice; this package only says it
// in SQL, for PostgreSQL and for MySQL and MariaDB.
//
// Names are quoted here; passwords go through internal/appsql, which
// never puts one in an error. On a server that several instances share,
// names are global: CreateUser refuses a user the server already has, so
// that no instance takes over another's.
package simsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/internal/appsql"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/sqlq"
)

// Timeout bounds one Run: the statements go on when the API request that
// asked for them is cancelled, so that the server and the simulator's
// records do not part.
const Timeout = time.Minute

// Server is the admin connection to the server behind one instance.
type Server struct {
	// DB is the admin connection, one session at a time.
	DB *sql.DB
	// Conn is what DB was opened with.
	Conn *dbaas.ConnectionInfo
}

// Backed reports whether b lends admin connections (is a simdb.Admin).
func Backed(b simdb.Backend) bool {
	_, ok := b.(simdb.Admin)
	return ok
}

// Run opens the admin connection of the server attached as key on b,
// for engine, and runs f with it. When b is no simdb.Admin (or nil) there
// is nothing to run and Run returns nil: the caller's records are all
// there is. The caller checks that key is attached.
func Run(ctx context.Context, b simdb.Backend, key string, engine dbaas.Engine, f func(ctx context.Context, srv *Server) error) error {
	admin, ok := b.(simdb.Admin)
	if !ok {
		return nil
	}
	conn, err := admin.AdminConnection(key, engine)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), Timeout)
	defer cancel()
	db, err := open(conn)
	if err != nil {
		return err
	}
	defer db.Close()
	return f(ctx, &Server{DB: db, Conn: conn})
}

func open(conn *dbaas.ConnectionInfo) (*sql.DB, error) {
	db, err := sqlconn.Open(conn, dbaas.DSNOptions{ConnectTimeout: 10 * time.Second})
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// PG reports whether the server is PostgreSQL (otherwise MySQL or
// MariaDB).
func (s *Server) PG() bool { return !s.Conn.Engine.MySQLFamily() }

// in runs f with an admin connection to database on the server
// (PostgreSQL's privileges and objects are per database).
func (s *Server) in(ctx context.Context, database string, f func(db *sql.DB) error) error {
	c := *s.Conn
	c.Database = database
	db, err := open(&c)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect to %s as the admin user: %w", database, err)
	}
	return f(db)
}

// CreateDatabase creates database name owned by owner, an existing
// login: on PostgreSQL its owner, on MySQL and MariaDB a holder of all
// privileges on it, with GRANT OPTION. A name the server has is an error.
func (s *Server) CreateDatabase(ctx context.Context, name, owner string) error {
	if s.PG() {
		_, err := s.DB.ExecContext(ctx, "CREATE DATABASE "+sqlq.PGIdent(name)+" OWNER "+sqlq.PGIdent(owner))
		return err
	}
	if _, err := s.DB.ExecContext(ctx, "CREATE DATABASE "+sqlq.MyIdent(name)); err != nil {
		return err
	}
	return s.myGrant(ctx, owner, name, true)
}

// DropDatabase drops database name, closing its sessions on PostgreSQL;
// an absent one is no error. On MySQL and MariaDB, whose grants outlive
// their database, the grants on it are revoked too, so that a database
// of that name made later (by another instance of a shared server) gives
// no one rights.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	if s.PG() {
		_, err := s.DB.ExecContext(ctx, "DROP DATABASE IF EXISTS "+sqlq.PGIdent(name)+" WITH (FORCE)")
		return err
	}
	if _, err := s.DB.ExecContext(ctx, "DROP DATABASE IF EXISTS "+sqlq.MyIdent(name)); err != nil {
		return err
	}
	rows, err := s.DB.QueryContext(ctx, "SELECT user, host, grant_priv = 'Y' FROM mysql.db WHERE db = ?", name)
	if err != nil {
		return err
	}
	var revokes []string
	for rows.Next() {
		var user, host string
		var grantOption bool
		if err := rows.Scan(&user, &host, &grantOption); err != nil {
			_ = rows.Close()
			return err
		}
		// ALL PRIVILEGES leaves GRANT OPTION, which has a REVOKE of its
		// own (refused when it was not granted).
		from := " ON " + sqlq.MyIdent(name) + ".* FROM " + sqlq.MyString(user) + "@" + sqlq.MyString(host)
		revokes = append(revokes, "REVOKE ALL PRIVILEGES"+from)
		if grantOption {
			revokes = append(revokes, "REVOKE GRANT OPTION"+from)
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, q := range revokes {
		if _, err := s.DB.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// UserFree refuses a user name the server already has (another
// instance's, or the server's own).
func (s *Server) UserFree(ctx context.Context, name string) error {
	q := "SELECT count(*) FROM pg_roles WHERE rolname = $1"
	if !s.PG() {
		q = "SELECT count(*) FROM mysql.user WHERE user = ?"
	}
	var n int
	if err := s.DB.QueryRowContext(ctx, q, name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("user %s already exists on the backing server", name)
	}
	return nil
}

// CreateUser creates user name, which logs in with password and has no
// rights beyond logging in (appsql's application user: on PostgreSQL no
// role-wide right, on MySQL and MariaDB name@'%' with USAGE). A name the
// server has is an error (UserFree).
func (s *Server) CreateUser(ctx context.Context, name string, password dbaas.Secret) error {
	if err := s.UserFree(ctx, name); err != nil {
		return err
	}
	_, err := appsql.Admin{Conn: s.Conn}.EnsureUser(ctx, dbaas.UserSpec{Name: name, Password: password})
	return err
}

// SetPassword sets the password of user name, which must exist.
func (s *Server) SetPassword(ctx context.Context, name string, password dbaas.Secret) error {
	_, err := appsql.Admin{Conn: s.Conn}.SetPassword(ctx, name, password)
	return err
}

// DropUser drops user name (on MySQL and MariaDB the login from any
// host, name@'%', as CreateUser makes it); an absent one is no error. On
// PostgreSQL a role that still owns objects or holds privileges cannot
// be dropped (the server's 2BP01): ReleaseUser first where the cloud
// lets it go.
func (s *Server) DropUser(ctx context.Context, name string) error {
	if s.PG() {
		_, err := s.DB.ExecContext(ctx, "DROP ROLE IF EXISTS "+sqlq.PGIdent(name))
		return err
	}
	_, err := s.DB.ExecContext(ctx, "DROP USER IF EXISTS "+sqlq.MyString(name)+"@'%'")
	return err
}

// Has reports whether the server has a database (kind "database") or a
// user (kind "user") of that name.
func (s *Server) Has(ctx context.Context, kind, name string) (bool, error) {
	q := map[string]string{"database": "SELECT count(*) FROM pg_database WHERE datname = $1", "user": "SELECT count(*) FROM pg_roles WHERE rolname = $1"}[kind]
	if !s.PG() {
		q = map[string]string{"database": "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", "user": "SELECT count(*) FROM mysql.user WHERE user = ?"}[kind]
	}
	if q == "" {
		return false, fmt.Errorf("has: kind %q is not database or user", kind)
	}
	var n int
	err := s.DB.QueryRowContext(ctx, q, name).Scan(&n)
	return n > 0, err
}

// RetireUser lets user name go: what it owns goes to heir (PostgreSQL,
// see ReleaseUser), then it is dropped.
func (s *Server) RetireUser(ctx context.Context, name, heir string) error {
	if err := s.ReleaseUser(ctx, name, heir); err != nil {
		return err
	}
	return s.DropUser(ctx, name)
}

// DropApps drops the databases, then the users, that a simulated API
// made on this server, for the delete of their instance or the
// simulator's Close; one refusal does not keep the rest (the errors are
// joined). With heir set, each user is retired to it (RetireUser);
// without, it is dropped as it is.
func (s *Server) DropApps(ctx context.Context, dbs, users []string, heir string) error {
	var errs []error
	for _, d := range dbs {
		errs = append(errs, s.DropDatabase(ctx, d))
	}
	for _, u := range users {
		if heir != "" {
			errs = append(errs, s.RetireUser(ctx, u, heir))
		} else {
			errs = append(errs, s.DropUser(ctx, u))
		}
	}
	return errors.Join(errs...)
}

// GrantAll gives user all privileges on database: on PostgreSQL those
// on the database (connect, create schemas, temporary tables) and on its
// public schema (create objects in it), on MySQL and MariaDB all
// privileges on database.*. Objects other users made stay theirs on
// PostgreSQL.
func (s *Server) GrantAll(ctx context.Context, user, database string) error {
	if !s.PG() {
		return s.myGrant(ctx, user, database, false)
	}
	if _, err := s.DB.ExecContext(ctx, "GRANT ALL PRIVILEGES ON DATABASE "+sqlq.PGIdent(database)+" TO "+sqlq.PGIdent(user)); err != nil {
		return err
	}
	return s.in(ctx, database, func(db *sql.DB) error {
		_, err := db.ExecContext(ctx, "GRANT ALL PRIVILEGES ON SCHEMA public TO "+sqlq.PGIdent(user))
		return err
	})
}

func (s *Server) myGrant(ctx context.Context, user, database string, grantOption bool) error {
	opt := ""
	if grantOption {
		opt = " WITH GRANT OPTION"
	}
	return s.ForHosts(ctx, user, func(host string) []string {
		return []string{"GRANT ALL PRIVILEGES ON " + sqlq.MyIdent(database) + ".* TO " + sqlq.MyString(user) + "@" + sqlq.MyString(host) + opt}
	})
}

// ReleaseUser lets user name go on PostgreSQL: in every database where
// it owns objects or holds privileges, what it owns goes to heir and its
// privileges are revoked, so that DropUser can drop it. An admin that is
// no superuser is made a member of both roles for it. On MySQL and
// MariaDB, where users own nothing, there is nothing to do. An absent
// user is no error.
func (s *Server) ReleaseUser(ctx context.Context, name, heir string) error {
	if !s.PG() {
		return nil
	}
	var oid sql.NullInt64
	if err := s.DB.QueryRowContext(ctx, "SELECT oid FROM pg_roles WHERE rolname = $1", name).Scan(&oid); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if !oid.Valid {
		return nil
	}
	// Giving away what a role owns needs the rights of both roles: an
	// admin that is no superuser (CREATEROLE, as managed clouds' are)
	// takes them by membership first.
	var super bool
	var me string
	if err := s.DB.QueryRowContext(ctx, "SELECT rolsuper, current_user FROM pg_roles WHERE rolname = current_user").Scan(&super, &me); err != nil {
		return err
	}
	for _, r := range []string{name, heir} {
		if super || r == me {
			continue
		}
		if _, err := s.DB.ExecContext(ctx, "GRANT "+sqlq.PGIdent(r)+" TO current_user"); err != nil {
			return fmt.Errorf("grant %s to the admin user: %w", r, err)
		}
	}
	// Objects and privileges in a database are recorded with its oid;
	// those on databases themselves (shared objects) with 0, and are
	// handled from any database: the admin connection's.
	dbs, err := sqlq.Column(ctx, s.DB, `SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
		WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = $1 AND d.datname <> current_database()`, oid.Int64)
	if err != nil {
		return err
	}
	release := func(db *sql.DB) error {
		if _, err := db.ExecContext(ctx, "REASSIGN OWNED BY "+sqlq.PGIdent(name)+" TO "+sqlq.PGIdent(heir)); err != nil {
			return err
		}
		_, err := db.ExecContext(ctx, "DROP OWNED BY "+sqlq.PGIdent(name))
		return err
	}
	for _, d := range dbs {
		if err := s.in(ctx, d, release); err != nil {
			return err
		}
	}
	return release(s.DB)
}

// ForHosts runs the statements stmts makes for each host user has a
// login for (MySQL and MariaDB: a user is one login per host).
func (s *Server) ForHosts(ctx context.Context, user string, stmts func(host string) []string) error {
	hosts, err := sqlq.Column(ctx, s.DB, "SELECT host FROM mysql.user WHERE user = ?", user)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		for _, q := range stmts(h) {
			if _, err := s.DB.ExecContext(ctx, q); err != nil {
				return err
			}
		}
	}
	return nil
}
