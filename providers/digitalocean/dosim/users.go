package dosim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb/simsql"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
	"github.com/agiledeploy/dbaaskit/internal/sqlq"
)

// When the Backend also implements simdb.Admin (realdb.Backend and
// localdb.Backend do), the databases and users of the API are real on
// its servers: a database made through /dbs is created on the server
// owned by the cluster's doadmin, and a user made through /users logs in
// with the password the API answers. doadmin then gets the rights it has
// on DigitalOcean that the application users' management needs: on
// PostgreSQL CREATEDB and CREATEROLE, on MySQL CREATE USER, reading
// mysql.user and mysql.db, and all privileges with GRANT OPTION on the
// databases made through /dbs.
//
// Names are global on a server, so two clusters on one server cannot
// have a database or a user of the same name: the second create is
// answered 422. The databases and users made this way are dropped with
// their cluster.

// clusterApps are a cluster's databases and users beyond its default
// database and doadmin, in the order they were made.
type clusterApps struct {
	dbs   []string
	users []*appUser
}

type appUser struct {
	Name     string
	Password string
}

// userJSON is the API's database_user object (PostgreSQL and MySQL).
type userJSON struct {
	Name          string         `json:"name"`
	Role          string         `json:"role"`
	Password      string         `json:"password"`
	MySQLSettings *mysqlSettings `json:"mysql_settings,omitempty"`
}

type mysqlSettings struct {
	AuthPlugin string `json:"auth_plugin"`
}

// appNameRE is what the simulator accepts as a database or user name:
// letters, digits, '_' and '-', starting with a letter or '_', at most 63
// (PostgreSQL's limit; MySQL users at most 32).
var appNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,62}$`) })

// userRoutes registers the databases and users endpoints.
func (s *Server) userRoutes() {
	s.mux.HandleFunc("GET /v2/databases/{id}/dbs", s.withCluster(s.handleListDBs))
	s.mux.HandleFunc("POST /v2/databases/{id}/dbs", s.withCluster(s.handleCreateDB))
	s.mux.HandleFunc("GET /v2/databases/{id}/dbs/{name}", s.withCluster(s.handleGetDB))
	s.mux.HandleFunc("DELETE /v2/databases/{id}/dbs/{name}", s.withCluster(s.handleDeleteDB))
	s.mux.HandleFunc("GET /v2/databases/{id}/users", s.withCluster(s.handleListUsers))
	s.mux.HandleFunc("POST /v2/databases/{id}/users", s.withCluster(s.handleCreateUser))
	s.mux.HandleFunc("GET /v2/databases/{id}/users/{name}", s.withCluster(s.handleGetUser))
	s.mux.HandleFunc("DELETE /v2/databases/{id}/users/{name}", s.withCluster(s.handleDeleteUser))
	s.mux.HandleFunc("POST /v2/databases/{id}/users/{name}/reset_auth", s.withCluster(s.handleResetAuth))
}

// appsLocked returns cluster id's apps, made on first use, or nil when
// the cluster is gone. s.mu is held.
func (s *Server) appsLocked(id string) *clusterApps {
	c, ok := s.clusters[id]
	if !ok {
		return nil
	}
	if c.apps == nil {
		c.apps = &clusterApps{}
	}
	return c.apps
}

// online refuses (422) a cluster that is not online yet, as the API does.
func online(w http.ResponseWriter, r *http.Request, c *cluster, now time.Time) bool {
	if st := c.status(now); st != "online" {
		unprocessable(w, r, "the database cluster is "+st+": try again when it is online")
		return false
	}
	return true
}

func (s *Server) dbNames(c *cluster) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := []string{c.Database}
	if a := s.appsLocked(c.ID); a != nil {
		names = append(names, a.dbs...)
	}
	return names
}

func (s *Server) handleListDBs(w http.ResponseWriter, _ *http.Request, c *cluster, _ time.Time) {
	dbs := []map[string]string{}
	for _, n := range s.dbNames(c) {
		dbs = append(dbs, map[string]string{"name": n})
	}
	writeJSON(w, http.StatusOK, map[string]any{"dbs": dbs})
}

func (s *Server) handleGetDB(w http.ResponseWriter, r *http.Request, c *cluster, _ time.Time) {
	name := r.PathValue("name")
	if !slices.Contains(s.dbNames(c), name) {
		notFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"db": map[string]string{"name": name}})
}

func (s *Server) handleCreateDB(w http.ResponseWriter, r *http.Request, c *cluster, now time.Time) {
	var req struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", "invalid JSON body: "+err.Error())
		return
	}
	switch {
	case req.Name == "":
		unprocessable(w, r, "name is required")
		return
	case !appNameRE().MatchString(req.Name):
		unprocessable(w, r, "name must be 1 to 63 letters, digits, '_' and '-', starting with a letter or '_'")
		return
	case !online(w, r, c, now):
		return
	}
	s.mu.Lock()
	a := s.appsLocked(c.ID)
	taken := a == nil || req.Name == c.Database || slices.Contains(a.dbs, req.Name)
	if !taken {
		a.dbs = append(a.dbs, req.Name) // reserved while the server makes it
	}
	s.mu.Unlock()
	if taken {
		unprocessable(w, r, "a database named "+req.Name+" already exists in this cluster")
		return
	}
	if err := s.backing(r.Context(), c, func(ctx context.Context, srv *simsql.Server) error {
		return srv.CreateDatabase(ctx, req.Name, c.User)
	}); err != nil {
		s.forgetDB(c.ID, req.Name)
		backingError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"db": map[string]string{"name": req.Name}})
}

func (s *Server) forgetDB(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.appsLocked(id); a != nil {
		a.dbs = slices.DeleteFunc(a.dbs, func(n string) bool { return n == name })
	}
}

func (s *Server) handleDeleteDB(w http.ResponseWriter, r *http.Request, c *cluster, _ time.Time) {
	name := r.PathValue("name")
	if name == c.Database {
		unprocessable(w, r, "the cluster's default database "+name+" cannot be deleted")
		return
	}
	s.mu.Lock()
	a := s.appsLocked(c.ID)
	found := a != nil && slices.Contains(a.dbs, name)
	s.mu.Unlock()
	if !found {
		notFound(w, r)
		return
	}
	if err := s.backing(r.Context(), c, func(ctx context.Context, srv *simsql.Server) error {
		return srv.DropDatabase(ctx, name)
	}); err != nil {
		backingError(w, r, err)
		return
	}
	s.forgetDB(c.ID, name)
	w.WriteHeader(http.StatusNoContent)
}

// users returns the cluster's users, doadmin first.
func (s *Server) users(c *cluster) []userJSON {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []userJSON{c.userJSON(&appUser{Name: c.User, Password: c.Password}, "primary")}
	if cur, ok := s.clusters[c.ID]; ok {
		// The primary's password may have been reset since c was copied.
		out[0].Password = cur.Password
	}
	if a := s.appsLocked(c.ID); a != nil {
		for _, u := range a.users {
			out = append(out, c.userJSON(u, "normal"))
		}
	}
	return out
}

func (c *cluster) userJSON(u *appUser, role string) userJSON {
	out := userJSON{Name: u.Name, Role: role, Password: u.Password}
	if c.Engine == "mysql" {
		out.MySQLSettings = &mysqlSettings{AuthPlugin: "caching_sha2_password"}
	}
	return out
}

func (s *Server) handleListUsers(w http.ResponseWriter, _ *http.Request, c *cluster, _ time.Time) {
	writeJSON(w, http.StatusOK, map[string]any{"users": s.users(c)})
}

func (s *Server) handleGetUser(w http.ResponseWriter, r *http.Request, c *cluster, _ time.Time) {
	name := r.PathValue("name")
	for _, u := range s.users(c) {
		if u.Name == name {
			writeJSON(w, http.StatusOK, map[string]any{"user": u})
			return
		}
	}
	notFound(w, r)
}

func (s *Server) handleCreateUser(w http.ResponseWriter, r *http.Request, c *cluster, now time.Time) {
	var req struct {
		Name          string         `json:"name"`
		MySQLSettings *mysqlSettings `json:"mysql_settings"`
		Settings      *struct {
			PgAllowReplication bool `json:"pg_allow_replication"`
		} `json:"settings"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", "invalid JSON body: "+err.Error())
		return
	}
	switch {
	case req.Name == "":
		unprocessable(w, r, "name is required")
		return
	case !appNameRE().MatchString(req.Name) || (c.Engine == "mysql" && len(req.Name) > 32):
		unprocessable(w, r, "name must be 1 to 63 (MySQL: 32) letters, digits, '_' and '-', starting with a letter or '_'")
		return
	case req.MySQLSettings != nil && c.Engine != "mysql":
		unprocessable(w, r, "mysql_settings is only for MySQL clusters")
		return
	case req.MySQLSettings != nil && req.MySQLSettings.AuthPlugin != "mysql_native_password" && req.MySQLSettings.AuthPlugin != "caching_sha2_password":
		unprocessable(w, r, "mysql_settings.auth_plugin must be mysql_native_password or caching_sha2_password")
		return
	case req.Settings != nil && req.Settings.PgAllowReplication:
		unprocessable(w, r, "settings.pg_allow_replication is not supported by this simulator")
		return
	case !online(w, r, c, now):
		return
	}
	u := &appUser{Name: req.Name, Password: simkit.Password()}
	s.mu.Lock()
	a := s.appsLocked(c.ID)
	taken := a == nil || req.Name == c.User || slices.ContainsFunc(a.users, func(x *appUser) bool { return x.Name == req.Name })
	if !taken {
		a.users = append(a.users, u) // reserved while the server makes it
	}
	s.mu.Unlock()
	if taken {
		unprocessable(w, r, "a user named "+req.Name+" already exists in this cluster")
		return
	}
	if err := s.backing(r.Context(), c, func(ctx context.Context, srv *simsql.Server) error {
		return srv.CreateUser(ctx, u.Name, dbaas.NewSecret(u.Password))
	}); err != nil {
		s.forgetUser(c.ID, u.Name)
		backingError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": c.userJSON(u, "normal")})
}

func (s *Server) forgetUser(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.appsLocked(id); a != nil {
		a.users = slices.DeleteFunc(a.users, func(x *appUser) bool { return x.Name == name })
	}
}

func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request, c *cluster, _ time.Time) {
	name := r.PathValue("name")
	if name == c.User {
		unprocessable(w, r, "the primary user "+name+" cannot be deleted")
		return
	}
	s.mu.Lock()
	a := s.appsLocked(c.ID)
	found := a != nil && slices.ContainsFunc(a.users, func(x *appUser) bool { return x.Name == name })
	s.mu.Unlock()
	if !found {
		notFound(w, r)
		return
	}
	if err := s.backing(r.Context(), c, func(ctx context.Context, srv *simsql.Server) error {
		return srv.DropUser(ctx, name)
	}); err != nil {
		backingError(w, r, err)
		return
	}
	s.forgetUser(c.ID, name)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleResetAuth(w http.ResponseWriter, r *http.Request, c *cluster, _ time.Time) {
	name := r.PathValue("name")
	var req struct {
		MySQLSettings *mysqlSettings `json:"mysql_settings"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", "invalid JSON body: "+err.Error())
		return
	}
	if req.MySQLSettings != nil && c.Engine != "mysql" {
		unprocessable(w, r, "mysql_settings is only for MySQL clusters")
		return
	}
	var found bool
	for _, u := range s.users(c) {
		found = found || u.Name == name
	}
	if !found {
		notFound(w, r)
		return
	}
	pw := simkit.Password()
	if err := s.backing(r.Context(), c, func(ctx context.Context, srv *simsql.Server) error {
		return srv.SetPassword(ctx, name, dbaas.NewSecret(pw))
	}); err != nil {
		backingError(w, r, err)
		return
	}
	s.mu.Lock()
	var out userJSON
	if cur, ok := s.clusters[c.ID]; ok && name == cur.User {
		cur.Password = pw
		out = cur.userJSON(&appUser{Name: name, Password: pw}, "primary")
	} else if a := s.appsLocked(c.ID); a != nil {
		for _, u := range a.users {
			if u.Name == name {
				u.Password = pw
				out = c.userJSON(u, "normal")
			}
		}
	}
	s.mu.Unlock()
	if out.Name == "" {
		notFound(w, r) // deleted meanwhile
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": out})
}

// backing runs f with the admin connection of the server behind c, after
// giving c's doadmin its DigitalOcean rights; without a real database
// behind c (or a Backend that is no Admin) there is nothing to do.
func (s *Server) backing(ctx context.Context, c *cluster, f func(ctx context.Context, srv *simsql.Server) error) error {
	if !c.attached {
		return nil
	}
	return simsql.Run(ctx, s.opts.Backend, c.ID, engineOf(c.Engine), func(ctx context.Context, srv *simsql.Server) error {
		// A server of the cluster's own (one per cluster) gives its admin
		// these rights already; a shared one's admin gives them to doadmin.
		if srv.Conn.User != c.User {
			if err := doadminRights(ctx, srv, c.User); err != nil {
				return err
			}
		}
		return f(ctx, srv)
	})
}

// doadminRights gives the cluster's doadmin what it may do on
// DigitalOcean and the management of application users needs.
func doadminRights(ctx context.Context, srv *simsql.Server, admin string) error {
	if srv.PG() {
		_, err := srv.DB.ExecContext(ctx, "ALTER ROLE "+sqlq.PGIdent(admin)+" CREATEDB CREATEROLE")
		return err
	}
	return srv.ForHosts(ctx, admin, func(host string) []string {
		to := " TO " + sqlq.MyString(admin) + "@" + sqlq.MyString(host)
		return []string{"GRANT CREATE USER ON *.*" + to, "GRANT SELECT ON mysql.user" + to, "GRANT SELECT ON mysql.db" + to}
	})
}

// dropApps drops the databases and users made through the API of a
// cluster that is being deleted, before its own database is detached.
func (s *Server) dropApps(ctx context.Context, c *cluster) error {
	s.mu.Lock()
	var a clusterApps
	if c.apps != nil {
		a = *c.apps
		a.dbs = slices.Clone(a.dbs)
		a.users = slices.Clone(a.users)
	}
	s.mu.Unlock()
	if len(a.dbs) == 0 && len(a.users) == 0 {
		return nil
	}
	users := make([]string, len(a.users))
	for i, u := range a.users {
		users[i] = u.Name
	}
	return s.backing(ctx, c, func(ctx context.Context, srv *simsql.Server) error {
		return srv.DropApps(ctx, a.dbs, users, "")
	})
}

// dropAllApps drops the API-made databases and users of every attached
// cluster, for Close.
func (s *Server) dropAllApps() error {
	s.mu.Lock()
	var cs []*cluster
	for _, c := range s.clusters {
		if c.attached && c.apps != nil {
			cs = append(cs, c)
		}
	}
	s.mu.Unlock()
	return simkit.UndoAll(cs, s.dropApps)
}

// backingError answers a failure of the backing server: a name taken by
// another cluster on the server, or a role that still owns objects, is
// the API's 422; anything else a 500.
func backingError(w http.ResponseWriter, r *http.Request, err error) {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "already exists") || strings.Contains(msg, "42710") || strings.Contains(msg, "42P04") || strings.Contains(msg, "Error 1007") || strings.Contains(msg, "Error 1396"):
		unprocessable(w, r, "the name is already in use")
	case strings.Contains(msg, "2BP01"):
		unprocessable(w, r, "the user owns a database or objects in one: give them to another user first")
	default:
		writeError(w, r, http.StatusInternalServerError, "server_error", fmt.Sprintf("Unexpected server-side error (%s)", r.Method))
	}
}
