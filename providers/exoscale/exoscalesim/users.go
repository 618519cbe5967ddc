package exoscalesim

import (
	"net/http"
	"regexp"
	"slices"
	"sync"

	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

// The users and databases of a service are records of the API: the
// simulator does not make them in the real database behind the service
// (the backend hook attaches databases, not logins).

var (
	usernameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,63}$`) })
	databaseRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,63}$`) })
)

func (s *Server) findUser(svc *service, name string) *user {
	for _, u := range svc.users {
		if u.name == name {
			return u
		}
	}
	return nil
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
	name := r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, ok := s.lookup(w, name, typ)
	if !ok {
		return
	}
	if s.findUser(svc, req.Username) != nil {
		writeError(w, http.StatusConflict, "User already exists: "+req.Username)
		return
	}
	cmd := "create-dbaas-postgres-user"
	if typ == "mysql" {
		cmd = "create-dbaas-mysql-user"
	}
	o, ok := s.startOperationLocked(cmd, typePath(typ)+name+"/user/"+req.Username)
	if ok {
		auth := req.Authentication
		if auth == "" {
			auth = "caching_sha2_password"
		}
		svc.users = append(svc.users, &user{name: req.Username, password: simkit.Password(), kind: "normal", authentication: auth})
	}
	writeJSON(w, http.StatusOK, o.json(s.clock.Now()))
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request, typ string) {
	name, username := r.PathValue("name"), r.PathValue("username")
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, ok := s.lookup(w, name, typ)
	if !ok {
		return
	}
	u := s.findUser(svc, username)
	switch {
	case u == nil:
		writeError(w, http.StatusNotFound, "User not found: "+username)
		return
	case u.kind == "primary":
		writeError(w, http.StatusBadRequest, "The primary user cannot be deleted")
		return
	}
	cmd := "delete-dbaas-postgres-user"
	if typ == "mysql" {
		cmd = "delete-dbaas-mysql-user"
	}
	o, ok := s.startOperationLocked(cmd, typePath(typ)+name+"/user/"+username)
	if ok {
		svc.users = slices.DeleteFunc(svc.users, func(x *user) bool { return x == u })
	}
	writeJSON(w, http.StatusOK, o.json(s.clock.Now()))
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
	cmd := "reset-dbaas-postgres-user-password"
	if typ == "mysql" {
		cmd = "reset-dbaas-mysql-user-password"
	}
	o, ok := s.startOperationLocked(cmd, typePath(typ)+name+"/user/"+username)
	if ok {
		u.password = req.Password
		if u.password == "" {
			u.password = simkit.Password()
		}
		if u.kind == "primary" {
			svc.adminPassword = u.password
		}
	}
	writeJSON(w, http.StatusOK, o.json(s.clock.Now()))
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
	name := r.PathValue("name")
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, ok := s.lookup(w, name, typ)
	if !ok {
		return
	}
	if slices.Contains(svc.databases, req.DatabaseName) {
		writeError(w, http.StatusConflict, "Database already exists: "+req.DatabaseName)
		return
	}
	cmd := "create-dbaas-pg-database"
	if typ == "mysql" {
		cmd = "create-dbaas-mysql-database"
	}
	o, ok := s.startOperationLocked(cmd, typePath(typ)+name+"/database/"+req.DatabaseName)
	if ok {
		svc.databases = append(svc.databases, req.DatabaseName)
	}
	writeJSON(w, http.StatusOK, o.json(s.clock.Now()))
}

func (s *Server) handleDeleteDatabase(w http.ResponseWriter, r *http.Request, typ string) {
	name, db := r.PathValue("name"), r.PathValue("database")
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, ok := s.lookup(w, name, typ)
	if !ok {
		return
	}
	if !slices.Contains(svc.databases, db) {
		writeError(w, http.StatusNotFound, "Database not found: "+db)
		return
	}
	cmd := "delete-dbaas-pg-database"
	if typ == "mysql" {
		cmd = "delete-dbaas-mysql-database"
	}
	o, ok := s.startOperationLocked(cmd, typePath(typ)+name+"/database/"+db)
	if ok {
		svc.databases = slices.DeleteFunc(svc.databases, func(x string) bool { return x == db })
	}
	writeJSON(w, http.StatusOK, o.json(s.clock.Now()))
}
