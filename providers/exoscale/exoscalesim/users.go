package exoscalesim

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"sync"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb/simsql"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

// The users and databases of a service are records of the API, made
// real on the server behind the service when the Backend is also a
// simdb.Admin (see the package's doc).

var (
	usernameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,63}$`) })
	databaseRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,63}$`) })
)

// work is what the backing server must do for a write of a service's
// users or databases; nil when there is nothing to do.
type work func(ctx context.Context, srv *simsql.Server) error

// change answers a write of the users or databases of service {name} of
// type typ, whose operation is command on link. check, under s.mu,
// answers and returns false when the write is refused, and otherwise
// returns the work for the backing server. A queued failure
// (FailOperations) answers its operation and changes nothing, as
// before. Otherwise the work runs, without s.mu, when a Backend that is
// a simdb.Admin is attached to the service, before the operation is
// answered: when the server fails, the answer is a 500 and neither the
// records nor the operations change. Then commit, under s.mu, records
// the write, and its operation is answered. Writes take turns (s.appMu),
// so what check saw still holds for commit: a service is removed only
// under s.appMu too.
func (s *Server) change(w http.ResponseWriter, r *http.Request, typ, command, link string, check func(svc *service) (work, bool), commit func(svc *service)) {
	s.appMu.Lock()
	defer s.appMu.Unlock()
	s.mu.Lock()
	svc, ok := s.lookup(w, r.PathValue("name"), typ)
	var job work
	if ok {
		job, ok = check(svc)
	}
	if !ok {
		s.mu.Unlock()
		return
	}
	o, ok := s.startOperationLocked(command, typePath(typ)+link)
	key, engine, attached := svc.backingKey()
	s.mu.Unlock()
	if ok && job != nil && attached {
		if err := simsql.Run(r.Context(), s.opts.Backend, key, engine, job); err != nil {
			s.mu.Lock()
			s.forgetOperationLocked(o)
			s.mu.Unlock()
			writeError(w, http.StatusInternalServerError, "Internal server error")
			return
		}
	}
	s.mu.Lock()
	if ok {
		commit(svc)
	}
	out := o.json(s.clock.Now())
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// forgetOperationLocked removes an operation no one was answered.
func (s *Server) forgetOperationLocked(o *operation) {
	delete(s.ops, o.id)
	s.pending = slices.DeleteFunc(s.pending, func(x *operation) bool { return x == o })
}

// engine is the engine of the service's type.
func (svc *service) engine() dbaas.Engine {
	if svc.Type == "mysql" {
		return dbaas.MySQL
	}
	return dbaas.Postgres
}

// backingKey is what finds the server behind svc: its key and engine,
// and whether a real database is attached.
func (svc *service) backingKey() (string, dbaas.Engine, bool) {
	return svc.Name, svc.engine(), svc.attached
}

// appDatabases are the databases made through the API: all but the
// default one.
func (svc *service) appDatabases() []string {
	return slices.DeleteFunc(slices.Clone(svc.databases), func(n string) bool { return n == svc.defaultDatabase })
}

// appUsers are the users made through the API: all but the primary.
func (svc *service) appUsers() []string {
	var out []string
	for _, u := range svc.users {
		if u.kind != "primary" {
			out = append(out, u.name)
		}
	}
	return out
}

// dropApps drops, on the server behind svc, the databases and users made
// through the API, for svc's delete (before its database is detached) or
// Close. s.appMu is held.
func (s *Server) dropApps(ctx context.Context, svc *service) error {
	s.mu.Lock()
	dbs, users, admin := svc.appDatabases(), svc.appUsers(), svc.adminUser
	key, engine, attached := svc.backingKey()
	s.mu.Unlock()
	if !attached || !simsql.Backed(s.opts.Backend) || len(dbs)+len(users) == 0 {
		return nil
	}
	return simsql.Run(ctx, s.opts.Backend, key, engine, func(ctx context.Context, srv *simsql.Server) error {
		return srv.DropApps(ctx, dbs, users, admin)
	})
}

func (s *Server) findUser(svc *service, name string) *user {
	for _, u := range svc.users {
		if u.name == name {
			return u
		}
	}
	return nil
}

// userCommand is the API's operation id of a write of verb on a user.
func userCommand(verb, typ string) string {
	if typ == "mysql" {
		return verb + "-dbaas-mysql-user"
	}
	return verb + "-dbaas-postgres-user"
}

// databaseCommand is the API's operation id of a write of verb on a
// database.
func databaseCommand(verb, typ string) string {
	if typ == "mysql" {
		return verb + "-dbaas-mysql-database"
	}
	return verb + "-dbaas-pg-database"
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request, typ string) {
	var req struct {
		Username       string `json:"username"`
		Authentication string `json:"authentication"`
	}
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.Username == "":
		writeError(w, http.StatusBadRequest, "Missing parameter: username")
		return
	case !usernameRE().MatchString(req.Username):
		writeError(w, http.StatusBadRequest, "Invalid username: 1 to 64 letters, digits, '_', '.' and '-'")
		return
	case req.Authentication != "" && req.Authentication != "caching_sha2_password" && req.Authentication != "mysql_native_password":
		writeError(w, http.StatusBadRequest, "Invalid authentication: caching_sha2_password or mysql_native_password")
		return
	}
	auth := req.Authentication
	if auth == "" {
		auth = "caching_sha2_password"
	}
	u := &user{name: req.Username, password: simkit.Password(), kind: "normal", authentication: auth}
	link := r.PathValue("name") + "/user/" + req.Username
	s.change(w, r, typ, userCommand("create", typ), link, func(svc *service) (work, bool) {
		if s.findUser(svc, req.Username) != nil {
			writeError(w, http.StatusConflict, "User already exists: "+req.Username)
			return nil, false
		}
		// The user logs in with the password revealed, and may use every
		// database made through the API (see the package's doc).
		dbs, admin := svc.appDatabases(), svc.adminUser
		return func(ctx context.Context, srv *simsql.Server) error {
			if err := srv.CreateUser(ctx, u.name, dbaas.NewSecret(u.password)); err != nil {
				return err
			}
			for _, n := range dbs {
				if err := srv.GrantAll(ctx, u.name, n); err != nil {
					return errors.Join(err, srv.RetireUser(ctx, u.name, admin))
				}
			}
			return nil
		}, true
	}, func(svc *service) {
		svc.users = append(svc.users, u)
	})
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request, typ string) {
	name, username := r.PathValue("name"), r.PathValue("username")
	s.change(w, r, typ, userCommand("delete", typ), name+"/user/"+username, func(svc *service) (work, bool) {
		u := s.findUser(svc, username)
		switch {
		case u == nil:
			writeError(w, http.StatusNotFound, "User not found: "+username)
			return nil, false
		case u.kind == "primary":
			writeError(w, http.StatusBadRequest, "The primary user cannot be deleted")
			return nil, false
		}
		admin := svc.adminUser
		return func(ctx context.Context, srv *simsql.Server) error {
			return srv.RetireUser(ctx, username, admin)
		}, true
	}, func(svc *service) {
		svc.users = slices.DeleteFunc(svc.users, func(x *user) bool { return x.name == username })
	})
}

func (s *Server) handleResetPassword(w http.ResponseWriter, r *http.Request, typ string) {
	var req struct {
		Password       string `json:"password"`
		Authentication string `json:"authentication"`
	}
	if !decode(w, r, &req) {
		return
	}
	if req.Password != "" && (len(req.Password) < 8 || len(req.Password) > 256) {
		writeError(w, http.StatusBadRequest, "Invalid password: 8 to 256 characters")
		return
	}
	password := req.Password
	if password == "" {
		password = simkit.Password()
	}
	name, username := r.PathValue("name"), r.PathValue("username")
	s.change(w, r, typ, userCommand("reset", typ)+"-password", name+"/user/"+username, func(svc *service) (work, bool) {
		u := s.findUser(svc, username)
		if u == nil {
			writeError(w, http.StatusNotFound, "User not found: "+username)
			return nil, false
		}
		if u.kind != "primary" {
			return func(ctx context.Context, srv *simsql.Server) error {
				return srv.SetPassword(ctx, username, dbaas.NewSecret(password))
			}, true
		}
		if svc.attached && simsql.Backed(s.opts.Backend) {
			// The primary user's password is the backend's, which other
			// parts of it (snapshots, detach) may still use.
			writeError(w, http.StatusBadRequest, "The password of the primary user "+username+" cannot be reset on this service")
			return nil, false
		}
		return nil, true
	}, func(svc *service) {
		u := s.findUser(svc, username)
		u.password = password
		if u.kind == "primary" {
			svc.adminPassword = u.password
		}
	})
}

func (s *Server) handleRevealPassword(w http.ResponseWriter, r *http.Request, typ string) {
	name, username := r.PathValue("name"), r.PathValue("username")
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, ok := s.lookup(w, name, typ)
	if !ok {
		return
	}
	u := s.findUser(svc, username)
	if u == nil {
		writeError(w, http.StatusNotFound, "User not found: "+username)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"username": u.name, "password": u.password})
}

func (s *Server) handleCreateDatabase(w http.ResponseWriter, r *http.Request, typ string) {
	var req struct {
		DatabaseName string `json:"database-name"`
	}
	if !decode(w, r, &req) {
		return
	}
	switch {
	case req.DatabaseName == "":
		writeError(w, http.StatusBadRequest, "Missing parameter: database-name")
		return
	case len(req.DatabaseName) > 40 || !databaseRE().MatchString(req.DatabaseName):
		writeError(w, http.StatusBadRequest, "Invalid database-name: 1 to 40 letters, digits, '_' and '-'")
		return
	}
	db := req.DatabaseName
	s.change(w, r, typ, databaseCommand("create", typ), r.PathValue("name")+"/database/"+db, func(svc *service) (work, bool) {
		if slices.Contains(svc.databases, db) {
			writeError(w, http.StatusConflict, "Database already exists: "+db)
			return nil, false
		}
		// The admin owns it, and every user made through the API may use
		// it (see the package's doc).
		admin, users := svc.adminUser, svc.appUsers()
		return func(ctx context.Context, srv *simsql.Server) error {
			if err := srv.CreateDatabase(ctx, db, admin); err != nil {
				return err
			}
			for _, u := range users {
				if err := srv.GrantAll(ctx, u, db); err != nil {
					return errors.Join(err, srv.DropDatabase(ctx, db))
				}
			}
			return nil
		}, true
	}, func(svc *service) {
		svc.databases = append(svc.databases, db)
	})
}

func (s *Server) handleDeleteDatabase(w http.ResponseWriter, r *http.Request, typ string) {
	name, db := r.PathValue("name"), r.PathValue("database")
	s.change(w, r, typ, databaseCommand("delete", typ), name+"/database/"+db, func(svc *service) (work, bool) {
		switch {
		case !slices.Contains(svc.databases, db):
			writeError(w, http.StatusNotFound, "Database not found: "+db)
			return nil, false
		case db == svc.defaultDatabase && svc.attached && simsql.Backed(s.opts.Backend):
			// The default database is the backend's, which it snapshots
			// and drops itself.
			writeError(w, http.StatusBadRequest, "The default database "+db+" cannot be deleted on this service")
			return nil, false
		}
		return func(ctx context.Context, srv *simsql.Server) error {
			return srv.DropDatabase(ctx, db)
		}, true
	}, func(svc *service) {
		svc.databases = slices.DeleteFunc(svc.databases, func(x string) bool { return x == db })
	})
}
