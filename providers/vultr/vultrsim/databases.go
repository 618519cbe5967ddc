package vultrsim

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/certs"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
)

// Time layouts of the API: date_created and latest_backup, and the date
// and time of backup information and restores (all UTC, no zone).
const (
	dateTimeLayout = "2006-01-02 15:04:05"
	dateLayout     = "2006-01-02"
	timeLayout     = "15:04:05"
)

// Status words of the official description.
const (
	statusRebuilding  = "Rebuilding"
	statusRebalancing = "Rebalancing"
	statusRunning     = "Running"
)

const adminUser = "vultradmin"

// database is one simulated Managed Database.
type database struct {
	ID             string
	Label          string
	Tag            string
	Engine         string
	Version        string
	Plan           plan
	Region         string
	VPC            string
	CreatedAt      time.Time
	ReadyAt        time.Time
	RebalanceUntil time.Time
	Host           string
	PublicHost     string
	Port           int
	User           string
	Password       string
	DBName         string
	CA             string
	TrustedIPs     []string
	MaintDOW       string
	MaintTime      string
	Users          []*dbUser
	DBs            []string
	attached       bool
}

type dbUser struct {
	Username   string `json:"username"`
	Password   string `json:"password"`
	Encryption string `json:"encryption,omitempty"`
}

// databaseJSON is the API's database object as the simulator answers it.
// ca_certificate is not in the official description's schema but the
// API sends it and govultr reads it.
type databaseJSON struct {
	ID                    string   `json:"id"`
	DateCreated           string   `json:"date_created"`
	Plan                  string   `json:"plan"`
	PlanDisk              int      `json:"plan_disk"`
	PlanRAM               int      `json:"plan_ram"`
	PlanVCPUs             int      `json:"plan_vcpus"`
	PlanReplicas          int      `json:"plan_replicas"`
	Region                string   `json:"region"`
	DatabaseEngine        string   `json:"database_engine"`
	DatabaseEngineVersion string   `json:"database_engine_version"`
	VPCID                 string   `json:"vpc_id"`
	Status                string   `json:"status"`
	Label                 string   `json:"label"`
	Tag                   string   `json:"tag"`
	DBName                string   `json:"dbname"`
	Host                  string   `json:"host"`
	PublicHost            string   `json:"public_host,omitempty"`
	User                  string   `json:"user"`
	Password              string   `json:"password"`
	Port                  string   `json:"port"`
	MaintenanceDOW        string   `json:"maintenance_dow"`
	MaintenanceTime       string   `json:"maintenance_time"`
	LatestBackup          string   `json:"latest_backup"`
	TrustedIPs            []string `json:"trusted_ips"`
	CACertificate         string   `json:"ca_certificate"`
	ClusterTimeZone       string   `json:"cluster_time_zone"`
	MySQLSQLModes         []string `json:"mysql_sql_modes,omitempty"`
	MySQLRequirePK        *bool    `json:"mysql_require_primary_key,omitempty"`
	MySQLSlowQueryLog     *bool    `json:"mysql_slow_query_log,omitempty"`
	ReadReplicas          []any    `json:"read_replicas"`
}

// createRequest is the body of POST /v2/databases.
type createRequest struct {
	DatabaseEngine        string   `json:"database_engine"`
	DatabaseEngineVersion string   `json:"database_engine_version"`
	Region                string   `json:"region"`
	Plan                  string   `json:"plan"`
	Label                 string   `json:"label"`
	Tag                   string   `json:"tag"`
	VPCID                 string   `json:"vpc_id"`
	MaintenanceDOW        string   `json:"maintenance_dow"`
	MaintenanceTime       string   `json:"maintenance_time"`
	TrustedIPs            []string `json:"trusted_ips"`
}

// restoreRequest is the body of POST …/restore and …/fork (fork adds
// region, plan and vpc_id).
type restoreRequest struct {
	Label  string `json:"label"`
	Region string `json:"region"`
	Plan   string `json:"plan"`
	VPCID  string `json:"vpc_id"`
	Type   string `json:"type"`
	Date   string `json:"date"`
	Time   string `json:"time"`
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /v2/databases/plans", s.handlePlans)
	s.mux.HandleFunc("GET /v2/databases", s.handleList)
	s.mux.HandleFunc("POST /v2/databases", s.handleCreate)
	s.mux.HandleFunc("GET /v2/databases/{id}", s.handleGet)
	s.mux.HandleFunc("PUT /v2/databases/{id}", s.handleUpdate)
	s.mux.HandleFunc("DELETE /v2/databases/{id}", s.handleDelete)
	s.mux.HandleFunc("GET /v2/databases/{id}/backups", s.handleBackups)
	s.mux.HandleFunc("POST /v2/databases/{id}/restore", s.handleRestore)
	s.mux.HandleFunc("POST /v2/databases/{id}/fork", s.handleFork)
	s.mux.HandleFunc("GET /v2/databases/{id}/users", s.handleListUsers)
	s.mux.HandleFunc("POST /v2/databases/{id}/users", s.handleCreateUser)
	s.mux.HandleFunc("GET /v2/databases/{id}/users/{username}", s.handleGetUser)
	s.mux.HandleFunc("PUT /v2/databases/{id}/users/{username}", s.handleUpdateUser)
	s.mux.HandleFunc("DELETE /v2/databases/{id}/users/{username}", s.handleDeleteUser)
	s.mux.HandleFunc("GET /v2/databases/{id}/dbs", s.handleListDBs)
	s.mux.HandleFunc("POST /v2/databases/{id}/dbs", s.handleCreateDB)
	s.mux.HandleFunc("GET /v2/databases/{id}/dbs/{name}", s.handleGetDB)
	s.mux.HandleFunc("DELETE /v2/databases/{id}/dbs/{name}", s.handleDeleteDB)
}

func notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "Managed database not found.")
}

func badRequest(w http.ResponseWriter, msg string) { writeError(w, http.StatusBadRequest, msg) }

// decode reads a JSON body into v; false (and a 400) when it is not one.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(v); err != nil {
		badRequest(w, "Invalid JSON body.")
		return false
	}
	return true
}

func (s *Server) handlePlans(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := []plan{}
	for _, p := range plans {
		if e := q.Get("engine"); e != "" && !p.SupportedEngines[e] {
			continue
		}
		if n, err := strconv.Atoi(q.Get("nodes")); err == nil && n != p.NumberOfNodes {
			continue
		}
		if reg := q.Get("region"); reg != "" && !p.offeredIn(reg) {
			continue
		}
		out = append(out, p)
	}
	writeJSON(w, http.StatusOK, map[string]any{"plans": out, "meta": map[string]any{"total": len(out), "links": map[string]string{"next": "", "prev": ""}}})
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	now := s.clock.Now()
	s.mu.Lock()
	all := make([]databaseJSON, 0, len(s.order))
	for _, id := range s.order {
		d := s.dbs[id]
		if (q.Get("label") != "" && d.Label != q.Get("label")) || (q.Get("tag") != "" && d.Tag != q.Get("tag")) ||
			(q.Get("region") != "" && !strings.EqualFold(d.Region, q.Get("region"))) {
			continue
		}
		all = append(all, s.jsonLocked(d, now))
	}
	s.mu.Unlock()
	from, to, meta, ok := paginate(r, len(all))
	if !ok {
		badRequest(w, "Invalid cursor.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"databases": all[from:to], "meta": meta})
}

// paginate reads per_page (default 100, at most 500) and cursor, and
// returns the bounds of the page and the meta object with its links: the
// cursors are opaque strings, as the API's are.
func paginate(r *http.Request, total int) (from, to int, meta map[string]any, ok bool) {
	q := r.URL.Query()
	perPage := 100
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 500)
	}
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		off, ok := strings.CutPrefix(string(b), "offset:")
		n, err2 := strconv.Atoi(off)
		if err != nil || !ok || err2 != nil || n < 0 {
			return 0, 0, nil, false
		}
		from = min(n, total)
	}
	to = min(from+perPage, total)
	links := map[string]string{"next": "", "prev": ""}
	if to < total {
		links["next"] = cursorAt(to)
	}
	if from > 0 {
		links["prev"] = cursorAt(max(0, from-perPage))
	}
	return from, to, map[string]any{"total": total, "links": links}, true
}

func cursorAt(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(offset)))
}

var (
	dowRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(monday|tuesday|wednesday|thursday|friday|saturday|sunday)$`)
	})
	hourRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([01][0-9]|2[0-3]):00(:00)?$`) })
	nameRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]{0,62}$`) })
	encryption = map[string]string{"caching_sha2_password": "Default (MySQL 8+)", "mysql_native_password": "Legacy (MySQL 5.x)"}
)

// checkTrustedIPs validates and normalises trusted_ips as the API does: an
// address without a prefix length is one host (/32, /128); a network
// must have no host bits set. Duplicates are kept once.
func checkTrustedIPs(list []string) ([]string, string) {
	out := make([]string, 0, len(list))
	seen := map[string]bool{}
	for _, v := range list {
		var p netip.Prefix
		if a, err := netip.ParseAddr(v); err == nil && a.Zone() == "" {
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		} else if q, err := netip.ParsePrefix(v); err == nil && q.Masked() == q {
			p = q
		} else {
			return nil, "Invalid trusted IP " + strconv.Quote(v) + ": use an IP address or a network in CIDR notation."
		}
		if !seen[p.String()] {
			seen[p.String()] = true
			out = append(out, p.String())
		}
	}
	return out, ""
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !decode(w, r, &req) {
		return
	}
	now := s.clock.Now()
	d, msg := s.validateCreate(&req, now)
	if msg != "" {
		writeError(w, http.StatusUnprocessableEntity, msg)
		return
	}
	s.admit(w, d, "", now, http.StatusAccepted)
}

// admit adds a new database, attaches its real database (a copy of the
// data copy dataKey when set) and answers it with status.
func (s *Server) admit(w http.ResponseWriter, d *database, dataKey string, now time.Time, status int) {
	s.mu.Lock()
	s.dbs[d.ID] = d
	s.order = append(s.order, d.ID)
	s.mu.Unlock()
	if s.opts.Backend != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		engine := engineOf(d.Engine)
		var err error
		var db *simdb.Database
		if snap, ok := s.snapshotter(); ok && dataKey != "" {
			db, err = snap.Restore(ctx, dataKey, d.ID, engine, d.Version)
		} else {
			// Vultr's administrator and database, where the backend can
			// make them (a server of the instance's own).
			db, err = simdb.Attach(ctx, s.opts.Backend, d.ID, engine, d.Version, simdb.Account{User: adminUser, Database: "defaultdb"})
		}
		if err != nil {
			s.remove(d.ID)
			writeError(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		s.mu.Lock()
		d.attached = true
		d.Host, d.Port, d.User, d.Password, d.DBName = db.Endpoint.Host, db.Endpoint.Port, db.User, db.Password.Reveal(), db.Database
		d.PublicHost = ""
		if d.VPC != "" {
			d.PublicHost = db.Endpoint.Host
		}
		d.CA = string(db.CACertPEM)
		d.Users = []*dbUser{{Username: d.User, Password: d.Password, Encryption: d.Users[0].Encryption}}
		d.DBs = []string{d.DBName}
		s.mu.Unlock()
	}
	s.mu.Lock()
	out := s.jsonLocked(d, now)
	s.mu.Unlock()
	writeJSON(w, status, map[string]any{"database": out})
}

// engineOf is the engine of an API engine name (pg or mysql).
func engineOf(name string) dbaas.Engine {
	if name == "pg" {
		return dbaas.Postgres
	}
	return dbaas.MySQL
}

// validateCreate checks a create request as the API does and returns the
// new database, or the error message.
func (s *Server) validateCreate(req *createRequest, now time.Time) (*database, string) {
	switch {
	case req.DatabaseEngine == "":
		return nil, "Missing required field: database_engine."
	case req.DatabaseEngine != "pg" && req.DatabaseEngine != "mysql":
		return nil, "Invalid database engine " + strconv.Quote(req.DatabaseEngine) + "."
	case req.DatabaseEngineVersion == "":
		return nil, "Missing required field: database_engine_version."
	case !contains(versions[req.DatabaseEngine], req.DatabaseEngineVersion):
		return nil, fmt.Sprintf("Invalid database engine version %q for %s: choose one of %s.", req.DatabaseEngineVersion, req.DatabaseEngine, strings.Join(versions[req.DatabaseEngine], ", "))
	case req.Label == "":
		return nil, "Missing required field: label."
	case len(req.Label) > 255:
		return nil, "Label must be at most 255 characters."
	}
	p, msg := checkPlacement(req.Plan, req.Region, req.DatabaseEngine)
	if msg != "" {
		return nil, msg
	}
	if req.MaintenanceDOW != "" && !dowRE().MatchString(req.MaintenanceDOW) {
		return nil, "Invalid maintenance_dow: use a day of the week in lower case."
	}
	if req.MaintenanceTime != "" && !hourRE().MatchString(req.MaintenanceTime) {
		return nil, "Invalid maintenance_time: use HH:00 (24-hour)."
	}
	ips, msg := checkTrustedIPs(req.TrustedIPs)
	if msg != "" {
		return nil, msg
	}
	return s.newDatabase(req.Label, req.Tag, req.DatabaseEngine, req.DatabaseEngineVersion, p, strings.ToLower(req.Region), req.VPCID, ips, req.MaintenanceDOW, req.MaintenanceTime, now), ""
}

// checkPlacement checks a plan and region for an engine.
func checkPlacement(planID, region, engine string) (plan, string) {
	switch {
	case region == "":
		return plan{}, "Missing required field: region."
	case !contains(regions, strings.ToLower(region)):
		return plan{}, "Invalid region " + strconv.Quote(region) + "."
	case planID == "":
		return plan{}, "Missing required field: plan."
	}
	p, ok := findPlan(planID)
	switch {
	case !ok:
		return plan{}, "Invalid plan " + strconv.Quote(planID) + "."
	case !p.SupportedEngines[engine]:
		return plan{}, "Plan " + planID + " does not support engine " + engine + "."
	case !p.offeredIn(region):
		return plan{}, "Plan " + planID + " is not available in region " + region + "."
	}
	return p, ""
}

func (s *Server) newDatabase(label, tag, engine, version string, p plan, region, vpc string, ips []string, dow, hour string, now time.Time) *database {
	if dow == "" {
		dow = "sunday"
	}
	if hour == "" {
		hour = "06:00"
	}
	if len(hour) == 5 {
		hour += ":00"
	}
	id := newUUID()
	host := fmt.Sprintf("vultr-prod-%s-vultr-prod-%s.vultrdb.com", id, id[:4])
	d := &database{
		ID: id, Label: label, Tag: tag, Engine: engine, Version: version, Plan: p, Region: region, VPC: vpc,
		CreatedAt: now.UTC().Truncate(time.Second), ReadyAt: now.Add(s.opts.ProvisionDelay),
		Host: host, Port: 16000 + randInt(4000), User: adminUser, Password: "AVNS_" + randString(19),
		DBName: "defaultdb", CA: s.caPEM(), TrustedIPs: ips, MaintDOW: dow, MaintTime: hour,
	}
	if vpc != "" {
		d.PublicHost = "public-" + host
		d.Host = "private-" + host
	}
	enc := ""
	if engine == "mysql" {
		enc = encryption["caching_sha2_password"]
	}
	d.Users = []*dbUser{{Username: d.User, Password: d.Password, Encryption: enc}}
	d.DBs = []string{d.DBName}
	return d
}

// lookup returns the database {id} of the request, or answers 404.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*database, bool) {
	d, ok := s.dbs[r.PathValue("id")]
	if !ok {
		notFound(w)
	}
	return d, ok
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"database": s.jsonLocked(d, now)})
}

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	var raw map[string]json.RawMessage
	if !decode(w, r, &raw) {
		return
	}
	var req struct {
		createRequest
		ClusterTimeZone string `json:"cluster_time_zone"`
	}
	b, _ := json.Marshal(raw)
	if err := json.Unmarshal(b, &req); err != nil {
		badRequest(w, "Invalid JSON body.")
		return
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.lookup(w, r)
	if !ok {
		return
	}
	// Check everything before changing anything.
	var ips []string
	if _, set := raw["trusted_ips"]; set {
		var msg string
		if ips, msg = checkTrustedIPs(req.TrustedIPs); msg != "" {
			writeError(w, http.StatusUnprocessableEntity, msg)
			return
		}
	}
	newPlan := d.Plan
	if req.Plan != "" || req.Region != "" {
		planID, region := d.Plan.ID, d.Region
		if req.Plan != "" {
			planID = req.Plan
		}
		if req.Region != "" {
			region = req.Region
		}
		p, msg := checkPlacement(planID, region, d.Engine)
		if msg != "" {
			writeError(w, http.StatusUnprocessableEntity, msg)
			return
		}
		newPlan = p
	}
	if req.MaintenanceDOW != "" && !dowRE().MatchString(req.MaintenanceDOW) {
		writeError(w, http.StatusUnprocessableEntity, "Invalid maintenance_dow: use a day of the week in lower case.")
		return
	}
	if req.MaintenanceTime != "" && !hourRE().MatchString(req.MaintenanceTime) {
		writeError(w, http.StatusUnprocessableEntity, "Invalid maintenance_time: use HH:00 (24-hour).")
		return
	}
	if _, set := raw["trusted_ips"]; set {
		d.TrustedIPs = ips
	}
	if newPlan.ID != d.Plan.ID {
		d.Plan = newPlan
		d.RebalanceUntil = now.Add(s.opts.ProvisionDelay)
	}
	if req.Region != "" {
		d.Region = strings.ToLower(req.Region)
	}
	if req.Label != "" {
		d.Label = req.Label
	}
	if _, set := raw["tag"]; set {
		d.Tag = req.Tag
	}
	if req.MaintenanceDOW != "" {
		d.MaintDOW = req.MaintenanceDOW
	}
	if req.MaintenanceTime != "" {
		d.MaintTime = req.MaintenanceTime[:5] + ":00"
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"database": s.jsonLocked(d, now)})
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Its users and logical databases go first, while its database is
	// attached; no change of them is under way (appMu).
	s.appMu.Lock()
	d := s.remove(id)
	var err error
	if d != nil {
		err = s.dropApps(ctx, d)
	}
	s.appMu.Unlock()
	if d == nil {
		notFound(w)
		return
	}
	if d.attached && s.opts.Backend != nil {
		err = errors.Join(err, s.opts.Backend.Detach(ctx, id))
	}
	s.mu.Lock()
	ms := s.marks[id]
	delete(s.marks, id)
	s.mu.Unlock()
	if err2 := s.dropMarks(ctx, ms); err == nil {
		err = err2
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// remove forgets database id and returns it (nil when absent).
func (s *Server) remove(id string) *database {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.dbs[id]
	if !ok {
		return nil
	}
	delete(s.dbs, id)
	for i, v := range s.order {
		if v == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	return d
}

// status is the database's life-cycle word at now.
func (d *database) status(now time.Time) string {
	switch {
	case now.Before(d.ReadyAt):
		return statusRebuilding
	case now.Before(d.RebalanceUntil):
		return statusRebalancing
	}
	return statusRunning
}

// backupTimes lists the daily backups taken by now and still kept: the
// first when the database came up, then one every interval.
func (s *Server) backupTimes(d *database, now time.Time) []time.Time {
	if now.Before(d.ReadyAt) {
		return nil
	}
	first := d.ReadyAt.UTC().Truncate(time.Second)
	if first.Before(d.ReadyAt) {
		first = first.Add(time.Second)
	}
	interval := s.opts.BackupInterval
	n := int(now.Sub(first) / interval)
	k0 := 0
	if oldest := now.Add(-s.opts.BackupRetention); !oldest.Before(first) {
		k0 = int(oldest.Sub(first)/interval) + 1
	}
	out := make([]time.Time, 0, n-k0+1)
	for k := k0; k <= n; k++ {
		out = append(out, first.Add(time.Duration(k)*interval))
	}
	return out
}

func (s *Server) jsonLocked(d *database, now time.Time) databaseJSON {
	latest := ""
	if bs := s.backupTimes(d, now); len(bs) > 0 {
		latest = bs[len(bs)-1].Format(dateTimeLayout)
	}
	ips := append([]string{}, d.TrustedIPs...)
	out := databaseJSON{
		ID: d.ID, DateCreated: d.CreatedAt.Format(dateTimeLayout), Plan: d.Plan.ID, PlanDisk: d.Plan.Disk,
		PlanRAM: d.Plan.RAM, PlanVCPUs: d.Plan.VCPUCount, PlanReplicas: d.Plan.NumberOfNodes - 1,
		Region: strings.ToUpper(d.Region), DatabaseEngine: d.Engine, DatabaseEngineVersion: d.Version,
		VPCID: d.VPC, Status: d.status(now), Label: d.Label, Tag: d.Tag, DBName: d.DBName, Host: d.Host,
		PublicHost: d.PublicHost, User: d.User, Password: d.Password, Port: strconv.Itoa(d.Port),
		MaintenanceDOW: d.MaintDOW, MaintenanceTime: d.MaintTime, LatestBackup: latest, TrustedIPs: ips,
		CACertificate: d.CA, ClusterTimeZone: "UTC", ReadReplicas: []any{},
	}
	if d.Engine == "mysql" {
		f, t := false, true
		out.MySQLSQLModes = []string{"ANSI", "ERROR_FOR_DIVISION_BY_ZERO", "NO_ENGINE_SUBSTITUTION", "NO_ZERO_DATE", "NO_ZERO_IN_DATE", "STRICT_ALL_TABLES"}
		out.MySQLRequirePK, out.MySQLSlowQueryLog = &t, &f
	}
	return out
}

func randInt(n int) int {
	v, _ := rand.Int(rand.Reader, big.NewInt(int64(n)))
	return int(v.Int64())
}

func randString(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[randInt(len(letters))]
	}
	return string(b)
}

// caPEM is the project CA that databases with no real one behind them
// report; made once per simulator.
func (s *Server) caPEM() string {
	s.caOnce.Do(func() {
		ca, err := certs.NewCA("vultrsim Project CA", time.Now(), 10*365*24*time.Hour)
		if err != nil {
			panic("vultrsim: " + err.Error())
		}
		s.ca = string(ca.PEM)
	})
	return s.ca
}
