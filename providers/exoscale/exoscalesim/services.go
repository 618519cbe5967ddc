package exoscalesim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

// service is one DBaaS service.
type service struct {
	Name, Type, Plan, Version, Zone string
	createdAt, updatedAt, readyAt   time.Time
	ipFilter                        []string
	protected                       bool
	backupHour, backupMinute        int64
	// Where to connect, and as whom.
	host            string
	port            int
	adminUser       string
	adminPassword   string
	defaultDatabase string
	tls             bool
	caPEM           []byte
	attached        bool
	users           []*user
	databases       []string
	// backups are the automatic backups taken so far, oldest first.
	backups []backup
}

type user struct {
	name, password, kind, authentication string
}

type backup struct {
	name string
	at   time.Time
	size int64
}

var (
	serviceNameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`) })
	adminUserRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[_A-Za-z0-9][-._A-Za-z0-9]{0,63}$`) })
	adminPassRE   = regexp.MustCompile(`^[a-zA-Z0-9-_]+$`)
)

func (s *Server) routes() {
	for _, t := range []struct{ path, typ string }{{"/v2/dbaas-postgres", "pg"}, {"/v2/dbaas-mysql", "mysql"}} {
		typ := t.typ
		s.mux.HandleFunc("POST "+t.path+"/{name}", func(w http.ResponseWriter, r *http.Request) { s.handleCreate(w, r, typ) })
		s.mux.HandleFunc("GET "+t.path+"/{name}", func(w http.ResponseWriter, r *http.Request) { s.handleGet(w, r, typ) })
		s.mux.HandleFunc("PUT "+t.path+"/{name}", func(w http.ResponseWriter, r *http.Request) { s.handleUpdate(w, r, typ) })
		s.mux.HandleFunc("DELETE "+t.path+"/{name}", func(w http.ResponseWriter, r *http.Request) { s.handleDelete(w, r, typ) })
		s.mux.HandleFunc("POST "+t.path+"/{name}/user", func(w http.ResponseWriter, r *http.Request) { s.handleCreateUser(w, r, typ) })
		s.mux.HandleFunc("DELETE "+t.path+"/{name}/user/{username}", func(w http.ResponseWriter, r *http.Request) { s.handleDeleteUser(w, r, typ) })
		s.mux.HandleFunc("PUT "+t.path+"/{name}/user/{username}/password/reset", func(w http.ResponseWriter, r *http.Request) { s.handleResetPassword(w, r, typ) })
		s.mux.HandleFunc("GET "+t.path+"/{name}/user/{username}/password/reveal", func(w http.ResponseWriter, r *http.Request) { s.handleRevealPassword(w, r, typ) })
		s.mux.HandleFunc("POST "+t.path+"/{name}/database", func(w http.ResponseWriter, r *http.Request) { s.handleCreateDatabase(w, r, typ) })
		s.mux.HandleFunc("DELETE "+t.path+"/{name}/database/{database}", func(w http.ResponseWriter, r *http.Request) { s.handleDeleteDatabase(w, r, typ) })
	}
	s.mux.HandleFunc("DELETE /v2/dbaas-service/{name}", func(w http.ResponseWriter, r *http.Request) { s.handleDelete(w, r, "") })
	s.mux.HandleFunc("GET /v2/dbaas-service", s.handleList)
	s.mux.HandleFunc("GET /v2/dbaas-service-type", s.handleServiceTypes)
	s.mux.HandleFunc("GET /v2/dbaas-service-type/{type}", s.handleServiceType)
	s.mux.HandleFunc("GET /v2/dbaas-ca-certificate", s.handleCA)
	s.mux.HandleFunc("GET /v2/operation/{id}", s.handleOperation)
}

// command is the API's operation id for a write on a service type.
func command(verb, typ string) string {
	if typ == "pg" {
		return verb + "-dbaas-service-pg"
	}
	return verb + "-dbaas-service-" + typ
}

func typePath(typ string) string {
	if typ == "pg" {
		return "/dbaas-postgres/"
	}
	return "/dbaas-" + typ + "/"
}

// createRequest is the body of a create, both types.
type createRequest struct {
	Plan                  string   `json:"plan"`
	Version               string   `json:"version"`
	IPFilter              []string `json:"ip-filter"`
	TerminationProtection *bool    `json:"termination-protection"`
	AdminUsername         string   `json:"admin-username"`
	AdminPassword         string   `json:"admin-password"`
	ForkFromService       string   `json:"fork-from-service"`
	RecoveryBackupTime    string   `json:"recovery-backup-time"`
	BackupSchedule        *struct {
		Hour   *int64 `json:"backup-hour"`
		Minute *int64 `json:"backup-minute"`
	} `json:"backup-schedule"`
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request, typ string) {
	name := r.PathValue("name")
	var req createRequest
	if !decode(w, r, &req) {
		return
	}
	st, _ := findType(typ)
	now := s.clock.Now()
	switch {
	case !serviceNameRE().MatchString(name):
		writeError(w, http.StatusBadRequest, "Invalid service name: lower-case letters, digits and hyphens, starting with a letter, at most 63")
		return
	case req.Plan == "":
		writeError(w, http.StatusBadRequest, "Missing parameter: plan")
		return
	}
	p, ok := st.plan(req.Plan)
	switch {
	case !ok || !slices.Contains(p.Zones, s.opts.Zone):
		writeError(w, http.StatusBadRequest, "Invalid plan "+req.Plan+" for service type "+typ+" in zone "+s.opts.Zone)
		return
	case req.Version != "" && !slices.Contains(st.AvailableVersions, req.Version):
		writeError(w, http.StatusBadRequest, "Invalid version "+req.Version+": available versions are "+strings.Join(st.AvailableVersions, ", "))
		return
	case req.AdminUsername != "" && !adminUserRE().MatchString(req.AdminUsername):
		writeError(w, http.StatusBadRequest, "Invalid admin-username")
		return
	case req.AdminPassword != "" && (len(req.AdminPassword) < 8 || len(req.AdminPassword) > 256 || !adminPassRE.MatchString(req.AdminPassword)):
		writeError(w, http.StatusBadRequest, "Invalid admin-password: 8 to 256 letters, digits, '-' and '_'")
		return
	}
	if msg := checkIPFilter(req.IPFilter); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	version := req.Version
	if version == "" {
		version = st.DefaultVersion
	}

	// A fork restores a backup of its source: the one taken at
	// recovery-backup-time, or, for a time between backups, the last one
	// before it (the simulator keeps no log of writes); without a time, a
	// copy of the source as it is now.
	var snapshotKey string
	var forkErr error
	if req.ForkFromService != "" {
		var status int
		var msg string
		snapshotKey, status, msg, forkErr = s.forkSource(r.Context(), typ, req.ForkFromService, req.RecoveryBackupTime, now)
		if msg != "" {
			writeError(w, status, msg)
			return
		}
	} else if req.RecoveryBackupTime != "" {
		writeError(w, http.StatusBadRequest, "recovery-backup-time needs fork-from-service")
		return
	}
	if forkErr != nil {
		writeError(w, http.StatusInternalServerError, "Internal server error")
		return
	}

	s.mu.Lock()
	if _, taken := s.services[name]; taken {
		s.mu.Unlock()
		writeError(w, http.StatusConflict, "Service name is already taken: "+name)
		return
	}
	o, ok := s.startOperationLocked(command("create", typ), typePath(typ)+name)
	if !ok {
		s.mu.Unlock()
		s.answerOperation(w, o)
		return
	}
	svc := &service{Name: name, Type: typ, Plan: req.Plan, Version: version, Zone: s.opts.Zone,
		createdAt: now, updatedAt: now, readyAt: now.Add(s.opts.ProvisionDelay),
		ipFilter: slices.Clone(req.IPFilter), backupHour: -1, backupMinute: -1,
		host: name + "-exoscale-" + randomHex(4) + ".a.aivencloud.com", port: 21699,
		adminUser: "avnadmin", adminPassword: simkit.Password(), defaultDatabase: "defaultdb", tls: true, caPEM: s.ca}
	if req.TerminationProtection != nil {
		svc.protected = *req.TerminationProtection
	}
	if req.AdminUsername != "" {
		svc.adminUser = req.AdminUsername
	}
	if req.AdminPassword != "" {
		svc.adminPassword = req.AdminPassword
	}
	if bs := req.BackupSchedule; bs != nil && bs.Hour != nil && bs.Minute != nil {
		svc.backupHour, svc.backupMinute = *bs.Hour, *bs.Minute
	}
	// Reserve the name before attaching (which may be slow).
	s.services[name] = svc
	s.order = append(s.order, name)
	s.mu.Unlock()

	if s.opts.Backend != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		db, err := s.attach(ctx, svc, snapshotKey)
		cancel()
		if err != nil {
			s.remove(name)
			writeError(w, http.StatusInternalServerError, "Internal server error")
			return
		}
		s.mu.Lock()
		svc.attached = true
		svc.host, svc.port, svc.adminUser, svc.adminPassword = db.Endpoint.Host, db.Endpoint.Port, db.User, db.Password.Reveal()
		svc.defaultDatabase, svc.tls, svc.caPEM = db.Database, len(db.CACertPEM) > 0, db.CACertPEM
		s.mu.Unlock()
	}
	s.mu.Lock()
	svc.users = []*user{{name: svc.adminUser, password: svc.adminPassword, kind: "primary", authentication: "caching_sha2_password"}}
	svc.databases = []string{svc.defaultDatabase}
	s.mu.Unlock()
	s.answerOperation(w, o)
}

// attach attaches the real database of a new service: a copy of a
// backup's data, or an empty one.
func (s *Server) attach(ctx context.Context, svc *service, snapshotKey string) (*simdb.Database, error) {
	engine := svc.engine()
	if snap, ok := s.opts.Backend.(simdb.Snapshotter); ok && snapshotKey != "" {
		return snap.Restore(ctx, snapshotKey, svc.Name, engine, svc.Version)
	}
	// A backend that can gives the server the account Exoscale makes: the
	// admin user and password of the create, and defaultdb.
	s.mu.Lock()
	account := simdb.Account{User: svc.adminUser, Password: dbaas.NewSecret(svc.adminPassword), Database: svc.defaultDatabase}
	s.mu.Unlock()
	return simdb.Attach(ctx, s.opts.Backend, svc.Name, engine, svc.Version, account)
}

// forkSource checks the source of a fork and returns the data copy to
// restore ("" without a backend that copies), or the status and message
// of the error to answer.
func (s *Server) forkSource(ctx context.Context, typ, source, recovery string, now time.Time) (key string, status int, msg string, err error) {
	s.takeBackups(ctx, source, now)
	s.mu.Lock()
	src, ok := s.services[source]
	if !ok || src.Type != typ {
		s.mu.Unlock()
		return "", http.StatusNotFound, "Service to fork from not found: " + source, nil
	}
	if src.status(now) != "running" {
		s.mu.Unlock()
		return "", http.StatusConflict, "Service to fork from is not running: " + source, nil
	}
	backups := slices.Clone(src.backups)
	copies := s.snapshots[source]
	attached := src.attached
	s.mu.Unlock()

	_, snapshots := s.opts.Backend.(simdb.Snapshotter)
	snapshots = snapshots && attached
	if recovery == "" {
		if !snapshots {
			return "", 0, "", nil
		}
		key = "fork-" + source + "-" + randomHex(6)
		return key, 0, "", s.snapshotNow(ctx, source, key)
	}
	at, perr := time.Parse(time.RFC3339, recovery)
	switch {
	case perr != nil:
		return "", http.StatusBadRequest, "Invalid recovery-backup-time: want an ISO 8601 time", nil
	case len(backups) == 0 || at.Before(backups[0].at) || at.After(now):
		first := "none yet"
		if len(backups) > 0 {
			first = backups[0].at.UTC().Format(time.RFC3339)
		}
		return "", http.StatusBadRequest, "recovery-backup-time " + recovery + " is outside the recovery window of " + source +
			" (first backup: " + first + ", now: " + now.UTC().Format(time.RFC3339) + ")", nil
	}
	var chosen backup
	for _, b := range backups {
		if !b.at.After(at) {
			chosen = b
		}
	}
	if !snapshots {
		return "", 0, "", nil
	}
	key = copies[chosen.name]
	if key == "" {
		return "", http.StatusConflict, "The backup of " + source + " at " + recovery + " is still being taken", nil
	}
	return key, 0, "", nil
}

func checkIPFilter(list []string) string {
	for _, v := range list {
		if _, err := netip.ParsePrefix(v); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(v); err == nil {
			continue
		}
		return "Invalid ip-filter entry " + v + ": want an IP address or a CIDR block"
	}
	return ""
}

// status is the service's state at now.
func (svc *service) status(now time.Time) string {
	if now.Before(svc.readyAt) {
		return "rebuilding"
	}
	return "running"
}

// lookup returns the service name of type typ (any type when typ is
// empty), or answers 404.
func (s *Server) lookup(w http.ResponseWriter, name, typ string) (*service, bool) {
	svc, ok := s.services[name]
	if !ok || (typ != "" && svc.Type != typ) {
		writeError(w, http.StatusNotFound, "Service not found: "+name)
		return nil, false
	}
	return svc, true
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request, typ string) {
	name := r.PathValue("name")
	now := s.clock.Now()
	s.takeBackups(r.Context(), name, now)
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, ok := s.lookup(w, name, typ)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, svc.json(now))
}

func (s *Server) handleList(w http.ResponseWriter, _ *http.Request) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	list := make([]commonJSON, 0, len(s.order))
	for _, n := range s.order {
		list = append(list, s.services[n].common(now))
	}
	writeJSON(w, http.StatusOK, map[string]any{"dbaas-services": list})
}

func (s *Server) handleServiceTypes(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"dbaas-service-types": serviceTypes})
}

func (s *Server) handleServiceType(w http.ResponseWriter, r *http.Request) {
	t, ok := findType(r.PathValue("type"))
	if !ok {
		writeError(w, http.StatusNotFound, "Service type not found: "+r.PathValue("type"))
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// handleCA answers the organization's CA: the simulator's own, and the
// CAs of the real databases behind services, in one PEM bundle, so that
// one file verifies every service as the organization's CA does.
func (s *Server) handleCA(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	bundle := slices.Clone(s.ca)
	for _, n := range s.order {
		if ca := s.services[n].caPEM; len(ca) > 0 && !strings.Contains(string(bundle), string(ca)) {
			bundle = append(bundle, ca...)
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"certificate": string(bundle)})
}

// updateRequest is the body of an update, both types.
type updateRequest struct {
	Plan                  string    `json:"plan"`
	Version               string    `json:"version"`
	IPFilter              *[]string `json:"ip-filter"`
	TerminationProtection *bool     `json:"termination-protection"`
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request, typ string) {
	name := r.PathValue("name")
	var req updateRequest
	if !decode(w, r, &req) {
		return
	}
	if req.IPFilter != nil {
		if msg := checkIPFilter(*req.IPFilter); msg != "" {
			writeError(w, http.StatusBadRequest, msg)
			return
		}
	}
	st, _ := findType(typ)
	s.mu.Lock()
	defer s.mu.Unlock()
	svc, ok := s.lookup(w, name, typ)
	if !ok {
		return
	}
	if req.Plan != "" {
		if _, ok := st.plan(req.Plan); !ok {
			writeError(w, http.StatusBadRequest, "Invalid plan "+req.Plan+" for service type "+typ)
			return
		}
	}
	if req.Version != "" && !slices.Contains(st.AvailableVersions, req.Version) {
		writeError(w, http.StatusBadRequest, "Invalid version "+req.Version)
		return
	}
	o, ok := s.startOperationLocked(command("update", typ), typePath(typ)+name)
	if ok {
		// An update takes effect when its operation ends, as the API's
		// do: a read before then still shows the old service.
		o.apply = func(now time.Time) {
			s.applyUpdate(svc, req, now)
		}
		s.settleLocked(s.clock.Now())
	}
	writeJSON(w, http.StatusOK, o.json(s.clock.Now()))
}

// applyUpdate changes svc as req asks. s.mu is held.
func (s *Server) applyUpdate(svc *service, req updateRequest, now time.Time) {
	svc.updatedAt = now
	if req.Plan != "" && req.Plan != svc.Plan {
		svc.Plan = req.Plan
		svc.readyAt = now.Add(s.opts.ProvisionDelay)
	}
	if req.Version != "" {
		svc.Version = req.Version
	}
	if req.IPFilter != nil {
		svc.ipFilter = slices.Clone(*req.IPFilter)
	}
	if req.TerminationProtection != nil {
		svc.protected = *req.TerminationProtection
	}
}

// handleDelete deletes a service, through its type's path or through
// /dbaas-service/{name} (typ empty).
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, typ string) {
	name := r.PathValue("name")
	// Its users and databases go first, while its database is attached;
	// no write of them is under way (appMu).
	s.appMu.Lock()
	s.mu.Lock()
	svc, ok := s.lookup(w, name, typ)
	if !ok {
		s.mu.Unlock()
		s.appMu.Unlock()
		return
	}
	if svc.protected {
		s.mu.Unlock()
		s.appMu.Unlock()
		writeError(w, http.StatusForbidden, "Service "+name+" is protected against termination: turn termination-protection off first")
		return
	}
	cmd := "delete-dbaas-service"
	if typ != "" {
		cmd = command("delete", typ)
	}
	o, ok := s.startOperationLocked(cmd, typePath(svc.Type)+name)
	s.mu.Unlock()
	var err error
	if ok {
		s.remove(name)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err = s.dropApps(ctx, svc)
		cancel()
	}
	s.appMu.Unlock()
	if ok {
		if err = errors.Join(err, s.release(name, svc.attached)); err != nil {
			writeError(w, http.StatusInternalServerError, "Internal server error")
			return
		}
	}
	s.answerOperation(w, o)
}

// remove forgets service name.
func (s *Server) remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.services, name)
	if i := slices.Index(s.order, name); i >= 0 {
		s.order = slices.Delete(s.order, i, i+1)
	}
}

// release detaches the real database of a deleted service and drops its
// backups' copies: the backups go with the service.
func (s *Server) release(name string, attached bool) error {
	if s.opts.Backend == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	if attached {
		err = s.opts.Backend.Detach(ctx, name)
	}
	s.mu.Lock()
	copies := s.snapshots[name]
	delete(s.snapshots, name)
	s.mu.Unlock()
	if snap, ok := s.opts.Backend.(simdb.Snapshotter); ok {
		for _, k := range copies {
			if k != "" {
				_ = snap.DropSnapshot(ctx, k)
			}
		}
	}
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
