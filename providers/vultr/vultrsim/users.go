package vultrsim

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb/simsql"
)

// work is what the backing server must do for a change of a database's
// users or logical databases; nil when there is nothing to do.
type work func(ctx context.Context, srv *simsql.Server) error

// change runs a change of the users or logical databases of database
// {id}. check, under s.mu, answers and returns false when the change is
// refused, and otherwise returns the work for the backing server, run
// without s.mu when a Backend that is a simdb.Admin is attached to the
// database. When the server fails, the answer is a 500 and nothing
// changes; otherwise commit, under s.mu, records the change and answers.
// Changes take turns (s.appMu), so what check saw still holds for
// commit: a database is removed only under s.appMu too.
func (s *Server) change(w http.ResponseWriter, r *http.Request, check func(d *database) (work, bool), commit func(d *database)) {
	s.appMu.Lock()
	defer s.appMu.Unlock()
	s.mu.Lock()
	d, ok := s.lookup(w, r)
	var job work
	if ok {
		job, ok = check(d)
	}
	key, engine, attached := d.backingKey()
	s.mu.Unlock()
	if !ok {
		return
	}
	if job != nil && attached {
		if err := simsql.Run(r.Context(), s.opts.Backend, key, engine, job); err != nil {
			writeError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	commit(d)
}

// backingKey is what finds the server behind d: its key and engine, and
// whether a real database is attached. d may be nil.
func (d *database) backingKey() (string, dbaas.Engine, bool) {
	if d == nil {
		return "", "", false
	}
	return d.ID, engineOf(d.Engine), d.attached
}

// appDBs are the logical databases made through the API: all but the
// default one.
func (d *database) appDBs() []string {
	return slices.DeleteFunc(slices.Clone(d.DBs), func(n string) bool { return n == d.DBName })
}

// appUsers are the users made through the API: all but the admin.
func (d *database) appUsers() []string {
	var out []string
	for _, u := range d.Users {
		if u.Username != d.User {
			out = append(out, u.Username)
		}
	}
	return out
}

// dropApps drops, on the server behind d, the logical databases and users
// made through the API, for d's delete (before its database is detached)
// or Close. s.appMu is held.
func (s *Server) dropApps(ctx context.Context, d *database) error {
	s.mu.Lock()
	dbs, users, admin := d.appDBs(), d.appUsers(), d.User
	key, engine, attached := d.backingKey()
	s.mu.Unlock()
	if !attached || !simsql.Backed(s.opts.Backend) || len(dbs)+len(users) == 0 {
		return nil
	}
	return simsql.Run(ctx, s.opts.Backend, key, engine, func(ctx context.Context, srv *simsql.Server) error {
		return srv.DropApps(ctx, dbs, users, admin)
	})
}

// runningLocked answers 400 unless the database is Running (or
// Rebalancing): users and logical databases are made on a live server.
func (s *Server) runningLocked(w http.ResponseWriter, d *database) bool {
	if d.status(s.clock.Now()) == statusRebuilding {
		badRequest(w, "Managed database is not yet running.")
		return false
	}
	return true
}

func findUser(d *database, name string) (int, *dbUser) {
	for i, u := range d.Users {
		if u.Username == name {
			return i, u
		}
	}
	return -1, nil
}

func (s *Server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.lookup(w, r)
	if !ok {
		return
	}
	users := make([]dbUser, len(d.Users))
	for i, u := range d.Users {
		users[i] = *u
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "meta": map[string]any{"total": len(users), "links": map[string]string{"next": "", "prev": ""}}})
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username   string `json:"username"`
		Password   string `json:"password"`
		Encryption string `json:"encryption"`
	}
	if !decode(w, r, &req) {
		return
	}
	var u *dbUser
	s.change(w, r, func(d *database) (work, bool) {
		if !s.runningLocked(w, d) {
			return nil, false
		}
		unprocessable := func(msg string) { writeError(w, http.StatusUnprocessableEntity, msg) }
		switch {
		case req.Username == "":
			unprocessable("Missing required field: username.")
			return nil, false
		case !nameRE().MatchString(req.Username):
			unprocessable("Invalid username: use up to 63 letters, digits, underscores and hyphens, not starting with a digit or hyphen.")
			return nil, false
		case req.Encryption != "" && d.Engine != "mysql":
			unprocessable("Field encryption is for MySQL databases only.")
			return nil, false
		case req.Encryption != "" && encryption[req.Encryption] == "":
			unprocessable("Invalid encryption " + strconv.Quote(req.Encryption) + ": use caching_sha2_password or mysql_native_password.")
			return nil, false
		}
		if _, u := findUser(d, req.Username); u != nil {
			unprocessable("User " + req.Username + " already exists.")
			return nil, false
		}
		u = &dbUser{Username: req.Username, Password: req.Password}
		if u.Password == "" {
			u.Password = "AVNS_" + randString(19)
		}
		if d.Engine == "mysql" {
			u.Encryption = encryption["caching_sha2_password"]
			if req.Encryption != "" {
				u.Encryption = encryption[req.Encryption]
			}
		}
		// The user logs in with the password answered, and may use every
		// logical database made through the API (see the package's doc).
		dbs, admin := d.appDBs(), d.User
		return func(ctx context.Context, srv *simsql.Server) error {
			if err := srv.CreateUser(ctx, u.Username, dbaas.NewSecret(u.Password)); err != nil {
				return err
			}
			for _, n := range dbs {
				if err := srv.GrantAll(ctx, u.Username, n); err != nil {
					return errors.Join(err, srv.RetireUser(ctx, u.Username, admin))
				}
			}
			return nil
		}, true
	}, func(d *database) {
		d.Users = append(d.Users, u)
		writeJSON(w, http.StatusAccepted, map[string]any{"user": *u})
	})
}

// userIn returns the user {username} of d, or answers 404.
func userIn(w http.ResponseWriter, r *http.Request, d *database) (*dbUser, bool) {
	_, u := findUser(d, r.PathValue("username"))
	if u == nil {
		writeError(w, http.StatusNotFound, "User not found.")
		return nil, false
	}
	return u, true
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if u, ok := userIn(w, r, d); ok {
		writeJSON(w, http.StatusOK, map[string]any{"user": *u})
	}
}

func (s *Server) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Password *string `json:"password"`
	}
	if !decode(w, r, &req) {
		return
	}
	var pw string
	s.change(w, r, func(d *database) (work, bool) {
		u, ok := userIn(w, r, d)
		if !ok || !s.runningLocked(w, d) {
			return nil, false
		}
		if req.Password == nil {
			writeError(w, http.StatusUnprocessableEntity, "Missing required field: password.")
			return nil, false
		}
		if u.Username == d.User && d.attached {
			// The admin's password is the real server's; it cannot change here.
			badRequest(w, "The password of "+u.Username+" cannot be changed.")
			return nil, false
		}
		pw = *req.Password
		if pw == "" {
			pw = "AVNS_" + randString(19)
		}
		name := u.Username
		return func(ctx context.Context, srv *simsql.Server) error {
			return srv.SetPassword(ctx, name, dbaas.NewSecret(pw))
		}, true
	}, func(d *database) {
		_, u := findUser(d, r.PathValue("username"))
		u.Password = pw
		writeJSON(w, http.StatusAccepted, map[string]any{"user": *u})
	})
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	s.change(w, r, func(d *database) (work, bool) {
		u, ok := userIn(w, r, d)
		if !ok || !s.runningLocked(w, d) {
			return nil, false
		}
		if u.Username == d.User {
			badRequest(w, "The default user "+u.Username+" cannot be deleted.")
			return nil, false
		}
		name, admin := u.Username, d.User
		return func(ctx context.Context, srv *simsql.Server) error {
			return srv.RetireUser(ctx, name, admin)
		}, true
	}, func(d *database) {
		i, _ := findUser(d, r.PathValue("username"))
		d.Users = slices.Delete(d.Users, i, i+1)
		w.WriteHeader(http.StatusNoContent)
	})
}

func (s *Server) handleListDBs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.lookup(w, r)
	if !ok {
		return
	}
	dbs := make([]map[string]string, len(d.DBs))
	for i, n := range d.DBs {
		dbs[i] = map[string]string{"name": n}
	}
	writeJSON(w, http.StatusOK, map[string]any{"dbs": dbs, "meta": map[string]any{"total": len(dbs), "links": map[string]string{"next": "", "prev": ""}}})
}

func (s *Server) handleCreateDB(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if !decode(w, r, &req) {
		return
	}
	s.change(w, r, func(d *database) (work, bool) {
		if !s.runningLocked(w, d) {
			return nil, false
		}
		switch {
		case req.Name == "":
			writeError(w, http.StatusUnprocessableEntity, "Missing required field: name.")
			return nil, false
		case !nameRE().MatchString(req.Name):
			writeError(w, http.StatusUnprocessableEntity, "Invalid name: use up to 63 letters, digits, underscores and hyphens, not starting with a digit or hyphen.")
			return nil, false
		case slices.Contains(d.DBs, req.Name):
			writeError(w, http.StatusUnprocessableEntity, "Logical database "+req.Name+" already exists.")
			return nil, false
		}
		// The admin owns it, and every user made through the API may use
		// it (see the package's doc).
		admin, users := d.User, d.appUsers()
		return func(ctx context.Context, srv *simsql.Server) error {
			if err := srv.CreateDatabase(ctx, req.Name, admin); err != nil {
				return err
			}
			for _, u := range users {
				if err := srv.GrantAll(ctx, u, req.Name); err != nil {
					return errors.Join(err, srv.DropDatabase(ctx, req.Name))
				}
			}
			return nil
		}, true
	}, func(d *database) {
		d.DBs = append(d.DBs, req.Name)
		writeJSON(w, http.StatusAccepted, map[string]any{"db": map[string]string{"name": req.Name}})
	})
}

func (s *Server) handleGetDB(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if !slices.Contains(d.DBs, r.PathValue("name")) {
		writeError(w, http.StatusNotFound, "Logical database not found.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"db": map[string]string{"name": r.PathValue("name")}})
}

func (s *Server) handleDeleteDB(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.change(w, r, func(d *database) (work, bool) {
		if !s.runningLocked(w, d) {
			return nil, false
		}
		switch {
		case !slices.Contains(d.DBs, name):
			writeError(w, http.StatusNotFound, "Logical database not found.")
			return nil, false
		case name == d.DBName:
			badRequest(w, "The default database "+name+" cannot be deleted.")
			return nil, false
		}
		return func(ctx context.Context, srv *simsql.Server) error {
			return srv.DropDatabase(ctx, name)
		}, true
	}, func(d *database) {
		d.DBs = slices.DeleteFunc(d.DBs, func(n string) bool { return n == name })
		w.WriteHeader(http.StatusNoContent)
	})
}
