package vultrsim

import (
	"net/http"
	"slices"
	"strconv"
)

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
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.lookup(w, r)
	if !ok || !s.runningLocked(w, d) {
		return
	}
	unprocessable := func(msg string) { writeError(w, http.StatusUnprocessableEntity, msg) }
	switch {
	case req.Username == "":
		unprocessable("Missing required field: username.")
		return
	case !nameRE.MatchString(req.Username):
		unprocessable("Invalid username: use up to 63 letters, digits, underscores and hyphens, not starting with a digit or hyphen.")
		return
	case req.Encryption != "" && d.Engine != "mysql":
		unprocessable("Field encryption is for MySQL databases only.")
		return
	case req.Encryption != "" && encryption[req.Encryption] == "":
		unprocessable("Invalid encryption " + strconv.Quote(req.Encryption) + ": use caching_sha2_password or mysql_native_password.")
		return
	}
	if _, u := findUser(d, req.Username); u != nil {
		unprocessable("User " + req.Username + " already exists.")
		return
	}
	u := &dbUser{Username: req.Username, Password: req.Password}
	if u.Password == "" {
		u.Password = "AVNS_" + randString(19)
	}
	if d.Engine == "mysql" {
		u.Encryption = encryption["caching_sha2_password"]
		if req.Encryption != "" {
			u.Encryption = encryption[req.Encryption]
		}
	}
	d.Users = append(d.Users, u)
	writeJSON(w, http.StatusAccepted, map[string]any{"user": *u})
}

// userOf returns the user {username} of database {id}, or answers 404.
func (s *Server) userOf(w http.ResponseWriter, r *http.Request) (*database, int, *dbUser, bool) {
	d, ok := s.lookup(w, r)
	if !ok {
		return nil, 0, nil, false
	}
	i, u := findUser(d, r.PathValue("username"))
	if u == nil {
		writeError(w, http.StatusNotFound, "User not found.")
		return nil, 0, nil, false
	}
	return d, i, u, true
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, u, ok := s.userOf(w, r); ok {
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
	s.mu.Lock()
	defer s.mu.Unlock()
	d, _, u, ok := s.userOf(w, r)
	if !ok || !s.runningLocked(w, d) {
		return
	}
	if req.Password == nil {
		writeError(w, http.StatusUnprocessableEntity, "Missing required field: password.")
		return
	}
	if u.Username == d.User && d.attached {
		// The admin's password is the real server's; it cannot change here.
		badRequest(w, "The password of "+u.Username+" cannot be changed.")
		return
	}
	u.Password = *req.Password
	if u.Password == "" {
		u.Password = "AVNS_" + randString(19)
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"user": *u})
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, i, u, ok := s.userOf(w, r)
	if !ok || !s.runningLocked(w, d) {
		return
	}
	if u.Username == d.User {
		badRequest(w, "The default user "+u.Username+" cannot be deleted.")
		return
	}
	d.Users = slices.Delete(d.Users, i, i+1)
	w.WriteHeader(http.StatusNoContent)
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
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.lookup(w, r)
	if !ok || !s.runningLocked(w, d) {
		return
	}
	switch {
	case req.Name == "":
		writeError(w, http.StatusUnprocessableEntity, "Missing required field: name.")
		return
	case !nameRE.MatchString(req.Name):
		writeError(w, http.StatusUnprocessableEntity, "Invalid name: use up to 63 letters, digits, underscores and hyphens, not starting with a digit or hyphen.")
		return
	case slices.Contains(d.DBs, req.Name):
		writeError(w, http.StatusUnprocessableEntity, "Logical database "+req.Name+" already exists.")
		return
	}
	d.DBs = append(d.DBs, req.Name)
	writeJSON(w, http.StatusAccepted, map[string]any{"db": map[string]string{"name": req.Name}})
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
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.lookup(w, r)
	if !ok || !s.runningLocked(w, d) {
		return
	}
	name := r.PathValue("name")
	i := slices.Index(d.DBs, name)
	switch {
	case i < 0:
		writeError(w, http.StatusNotFound, "Logical database not found.")
		return
	case name == d.DBName:
		badRequest(w, "The default database "+name+" cannot be deleted.")
		return
	}
	d.DBs = slices.Delete(d.DBs, i, i+1)
	w.WriteHeader(http.StatusNoContent)
}
