package linodesim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

// timeLayout is how the API writes timestamps: UTC, no zone.
const timeLayout = "2006-01-02T15:04:05"

// The statuses the simulator uses (all of them are the API's own words).
const (
	statusProvisioning = "provisioning"
	statusActive       = "active"
	statusUpdating     = "updating"
	statusSuspended    = "suspended"
	statusResuming     = "resuming"
	statusDeleting     = "deleting"
)

// instance is one simulated managed database.
type instance struct {
	id          int
	key         string
	engine      string // mysql or postgresql
	version     string // major version as asked ("16")
	label       string
	region      string
	typ         string
	clusterSize int
	allowList   []string
	status      string
	next        string    // status after until
	until       time.Time // end of a transient status
	created     time.Time
	updated     time.Time
	activeSince time.Time
	port        int
	primary     string
	standby     string
	username    string
	password    string
	fork        *forkInfo
	private     *privateNetwork
	updates     json.RawMessage
	db          *simdb.Database
	goneAt      time.Time // set while deleting: when it disappears
}

type forkInfo struct {
	Source      int
	RestoreTime time.Time
}

type privateNetwork struct {
	VPCID        int  `json:"vpc_id"`
	SubnetID     int  `json:"subnet_id"`
	PublicAccess bool `json:"public_access"`
}

// step moves a transient status on when its time is up.
func (s *Server) stepLocked(in *instance, now time.Time) {
	if in.until.IsZero() || now.Before(in.until) {
		return
	}
	at := in.until
	in.status, in.next, in.until = in.next, "", time.Time{}
	if in.status == statusActive && in.activeSince.IsZero() {
		in.activeSince = at
	}
}

func (s *Server) setTransientLocked(in *instance, status, next string, d time.Duration, now time.Time) {
	in.status, in.next, in.until = status, next, now.Add(d)
	in.updated = now
	if d <= 0 {
		s.stepLocked(in, now)
	}
}

// view is the JSON form of an instance, as the API writes it.
func (s *Server) viewLocked(in *instance, now time.Time) map[string]any {
	s.stepLocked(in, now)
	allow := in.allowList
	if allow == nil {
		allow = []string{}
	}
	members := map[string]string{}
	var used any
	if !in.activeSince.IsZero() {
		used = 0
		for i := 0; i < in.clusterSize; i++ {
			role := "failover"
			if i == 0 {
				role = "primary"
			}
			members[fmt.Sprintf("172.105.%d.%d", in.id%250, 10+i)] = role
		}
	}
	var updates any = json.RawMessage(`{"day_of_week":3,"duration":4,"frequency":"weekly","hour_of_day":9,"pending":[]}`)
	if in.updates != nil {
		updates = in.updates
	}
	disk := 0
	for _, t := range Types() {
		if t.ID == in.typ {
			disk = t.Disk / 1024
		}
	}
	version := in.version
	if !in.activeSince.IsZero() {
		version = fullVersion(in.engine, in.version)
	}
	v := map[string]any{
		"allow_list":         allow,
		"cluster_size":       in.clusterSize,
		"created":            in.created.UTC().Format(timeLayout),
		"encrypted":          true,
		"engine":             in.engine,
		"hosts":              map[string]string{"primary": in.primary, "standby": in.standby},
		"id":                 in.id,
		"label":              in.label,
		"members":            members,
		"port":               in.port,
		"region":             in.region,
		"ssl_connection":     in.db == nil || len(in.db.CACertPEM) > 0,
		"status":             in.status,
		"total_disk_size_gb": disk,
		"type":               in.typ,
		"updated":            in.updated.UTC().Format(timeLayout),
		"updates":            updates,
		"used_disk_size_gb":  used,
		"version":            version,
		"platform":           "rdbms-default",
	}
	if oldest, ok := s.oldestRestoreLocked(in, now); ok {
		v["oldest_restore_time"] = oldest.UTC().Format(timeLayout)
	}
	if in.fork != nil {
		v["fork"] = map[string]any{"source": in.fork.Source, "restore_time": in.fork.RestoreTime.UTC().Format(timeLayout)}
	}
	if in.private != nil {
		v["private_network"] = in.private
	}
	return v
}

// oldestRestoreLocked is the start of the window a fork can restore from:
// from when the database first became active, at most RestoreWindow back.
func (s *Server) oldestRestoreLocked(in *instance, now time.Time) (time.Time, bool) {
	if in.activeSince.IsZero() {
		return time.Time{}, false
	}
	oldest := in.activeSince.Truncate(time.Second)
	if lim := now.Add(-s.opts.RestoreWindow); oldest.Before(lim) {
		oldest = lim.Truncate(time.Second).Add(time.Second)
	}
	return oldest, true
}

// fullVersion is the minor version a running engine reports.
func fullVersion(engine, major string) string {
	if engine == "mysql" {
		return major + ".0.35"
	}
	minor := map[string]string{"13": "13.18", "14": "14.15", "15": "15.10", "16": "16.6", "17": "17.2"}
	if v, ok := minor[major]; ok {
		return v
	}
	return major
}

// route dispatches a request by its path (version already cut).
func (s *Server) route(w http.ResponseWriter, r *http.Request, rest string) {
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || parts[0] != "databases" {
		writeError(w, http.StatusNotFound, "", "Not found")
		return
	}
	switch {
	case len(parts) == 2 && parts[1] == "instances":
		s.onlyGET(w, r, func() { s.listInstances(w, r, "") })
	case parts[1] == "engines" && len(parts) == 2:
		s.onlyGET(w, r, func() { s.listEngines(w, r) })
	case parts[1] == "engines":
		id, err := url.PathUnescape(strings.Join(parts[2:], "/"))
		s.onlyGET(w, r, func() { s.getEngine(w, id, err) })
	case parts[1] == "types" && len(parts) == 2:
		s.onlyGET(w, r, func() { s.listTypes(w, r) })
	case parts[1] == "types" && len(parts) == 3:
		s.onlyGET(w, r, func() { s.getType(w, parts[2]) })
	case (parts[1] == "mysql" || parts[1] == "postgresql") && len(parts) >= 3 && parts[2] == "instances":
		s.routeEngine(w, r, parts[1], parts[3:])
	default:
		writeError(w, http.StatusNotFound, "", "Not found")
	}
}

func (s *Server) onlyGET(w http.ResponseWriter, r *http.Request, f func()) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "", "Method Not Allowed")
		return
	}
	f()
}

func (s *Server) routeEngine(w http.ResponseWriter, r *http.Request, engine string, rest []string) {
	if len(rest) == 0 {
		switch r.Method {
		case http.MethodGet:
			s.listInstances(w, r, engine)
		case http.MethodPost:
			s.create(w, r, engine)
		default:
			writeError(w, http.StatusMethodNotAllowed, "", "Method Not Allowed")
		}
		return
	}
	id, err := strconv.Atoi(rest[0])
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "", "Not found")
		return
	}
	action := strings.Join(rest[1:], "/")
	type route struct{ method, action string }
	switch (route{r.Method, action}) {
	case route{http.MethodGet, ""}:
		s.withInstance(w, engine, id, func(in *instance, now time.Time) { writeJSON(w, http.StatusOK, s.viewLocked(in, now)) })
	case route{http.MethodPut, ""}:
		s.update(w, r, engine, id)
	case route{http.MethodDelete, ""}:
		s.delete(w, engine, id)
	case route{http.MethodGet, "credentials"}:
		s.withInstance(w, engine, id, func(in *instance, _ time.Time) {
			writeJSON(w, http.StatusOK, map[string]string{"password": in.password, "username": in.username})
		})
	case route{http.MethodPost, "credentials/reset"}:
		s.withInstance(w, engine, id, func(in *instance, _ time.Time) {
			if in.db == nil {
				in.password = simkit.Password()
			}
			writeJSON(w, http.StatusOK, map[string]any{})
		})
	case route{http.MethodGet, "ssl"}:
		s.withInstance(w, engine, id, func(in *instance, _ time.Time) {
			ca := s.ca
			if in.db != nil && len(in.db.CACertPEM) > 0 {
				ca = in.db.CACertPEM
			}
			writeJSON(w, http.StatusOK, map[string][]byte{"ca_certificate": ca})
		})
	case route{http.MethodPost, "suspend"}:
		s.transition(w, engine, id, statusActive, statusSuspended, "", 0)
	case route{http.MethodPost, "resume"}:
		s.transition(w, engine, id, statusSuspended, statusResuming, statusActive, s.opts.ProvisionDelay)
	case route{http.MethodPost, "patch"}:
		s.transition(w, engine, id, statusActive, statusUpdating, statusActive, s.opts.UpdateDelay)
	default:
		if slices.Contains([]string{"", "credentials", "credentials/reset", "ssl", "suspend", "resume", "patch"}, action) {
			writeError(w, http.StatusMethodNotAllowed, "", "Method Not Allowed")
			return
		}
		writeError(w, http.StatusNotFound, "", "Not found")
	}
}

// withInstance runs f with the lock held and the instance found, or
// answers 404.
func (s *Server) withInstance(w http.ResponseWriter, engine string, id int, f func(in *instance, now time.Time)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Clock.Now()
	s.reapLocked(now)
	in, ok := s.instances[id]
	if !ok || in.engine != engine {
		writeError(w, http.StatusNotFound, "", "Not found")
		return
	}
	s.stepLocked(in, now)
	f(in, now)
}

// reapLocked removes the instances whose deletion is over.
func (s *Server) reapLocked(now time.Time) {
	for id, in := range s.instances {
		if !in.goneAt.IsZero() && !now.Before(in.goneAt) {
			delete(s.instances, id)
		}
	}
}

func (s *Server) transition(w http.ResponseWriter, engine string, id int, from, status, next string, d time.Duration) {
	s.withInstance(w, engine, id, func(in *instance, now time.Time) {
		if in.status != from {
			writeError(w, http.StatusBadRequest, "", fmt.Sprintf("Database must be %s; it is %s.", from, in.status))
			return
		}
		if next == "" {
			in.status, in.updated = status, now
		} else {
			s.setTransientLocked(in, status, next, d, now)
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	})
}

// createRequest is the body of POST …/instances.
type createRequest struct {
	Label          *string         `json:"label"`
	Region         *string         `json:"region"`
	Type           *string         `json:"type"`
	Engine         *string         `json:"engine"`
	AllowList      []string        `json:"allow_list"`
	ClusterSize    *int            `json:"cluster_size"`
	Fork           *forkRequest    `json:"fork"`
	PrivateNetwork *privateNetwork `json:"private_network"`
}

type forkRequest struct {
	Source      int    `json:"source"`
	RestoreTime string `json:"restore_time"`
}

var createFields = []string{"label", "region", "type", "engine", "allow_list", "cluster_size", "fork",
	"private_network", "engine_config", "encrypted", "ssl_connection", "replication_type"}

var updateFields = []string{"label", "allow_list", "type", "updates", "cluster_size", "version",
	"engine_config", "private_network"}

// decodeBody decodes a JSON object into v, refusing fields the API does
// not know, and returns the error list for a 400.
func decodeBody(r *http.Request, v any, known []string) []apiError {
	var raw map[string]json.RawMessage
	body := new(bytes.Buffer)
	if _, err := body.ReadFrom(http.MaxBytesReader(nil, r.Body, 1<<20)); err != nil {
		return []apiError{{Reason: "Request body too large or unreadable"}}
	}
	if err := json.Unmarshal(body.Bytes(), &raw); err != nil {
		return []apiError{{Reason: "Malformed JSON"}}
	}
	var errs []apiError
	for _, k := range sortedKeys(raw) {
		if !slices.Contains(known, k) {
			errs = append(errs, apiError{Field: k, Reason: k + " is not a valid field"})
		}
	}
	if errs != nil {
		return errs
	}
	if err := json.Unmarshal(body.Bytes(), v); err != nil {
		field := ""
		var te *json.UnmarshalTypeError
		if ok := asTypeError(err, &te); ok {
			field = te.Field
		}
		return []apiError{{Field: field, Reason: "Invalid value: " + typeReason(err)}}
	}
	return nil
}

func asTypeError(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}

func typeReason(err error) string {
	if te, ok := err.(*json.UnmarshalTypeError); ok {
		return "expected " + te.Type.String()
	}
	return "malformed"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var labelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$`)

func (s *Server) checkLabelLocked(label string, self int) []apiError {
	switch {
	case len(label) < 3 || len(label) > 32:
		return []apiError{{Field: "label", Reason: "Length must be 3-32 characters"}}
	case !labelRE.MatchString(label):
		return []apiError{{Field: "label", Reason: "Label must begin and end with a letter or number, and contain only letters, numbers, dashes, underscores and periods"}}
	}
	for _, in := range s.instances {
		if in.label == label && in.id != self {
			return []apiError{{Field: "label", Reason: "Label must be unique among your Managed Databases"}}
		}
	}
	return nil
}

// normalizeAllowList checks IPv4 addresses and networks and writes them
// as the API does: CIDR form, sorted, without duplicates.
func normalizeAllowList(list []string) ([]string, []apiError) {
	out := make([]string, 0, len(list))
	for _, e := range list {
		var p netip.Prefix
		var err error
		if strings.Contains(e, "/") {
			p, err = netip.ParsePrefix(e)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(e)
			if err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil || !p.Addr().Is4() || p.Masked() != p {
			return nil, []apiError{{Field: "allow_list", Reason: fmt.Sprintf("%q is not a valid IPv4 address or CIDR range", e)}}
		}
		out = append(out, p.String())
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, engine string) {
	var req createRequest
	if errs := decodeBody(r, &req, createFields); errs != nil {
		writeErrors(w, http.StatusBadRequest, errs)
		return
	}
	s.mu.Lock()
	now := s.opts.Clock.Now()
	var errs []apiError
	required := func(field string, v *string) string {
		if v == nil || *v == "" {
			errs = append(errs, apiError{Field: field, Reason: field + " is required"})
			return ""
		}
		return *v
	}
	label := required("label", req.Label)
	region := required("region", req.Region)
	typ := required("type", req.Type)
	eng := required("engine", req.Engine)
	if label != "" {
		errs = append(errs, s.checkLabelLocked(label, 0)...)
	}
	if region != "" && !slices.Contains(Regions(), region) {
		errs = append(errs, apiError{Field: "region", Reason: "Region " + region + " is not valid"})
	}
	var plan *Type
	for _, t := range Types() {
		if t.ID == typ {
			plan = &t
		}
	}
	if typ != "" && plan == nil {
		errs = append(errs, apiError{Field: "type", Reason: "A valid type is required"})
	}
	version := ""
	if eng != "" {
		found := false
		for _, e := range Engines() {
			if e.ID == eng && e.Engine == engine {
				found, version = true, e.Version
			}
		}
		if !found {
			errs = append(errs, apiError{Field: "engine", Reason: "Engine " + eng + " is not valid for " + engine})
		}
	}
	size := 1
	if req.ClusterSize != nil {
		size = *req.ClusterSize
	}
	if plan != nil {
		ok := false
		for _, p := range plan.Engines[engine] {
			ok = ok || p.Quantity == size
		}
		if !ok {
			errs = append(errs, apiError{Field: "cluster_size", Reason: fmt.Sprintf("cluster_size %d is not offered for type %s", size, typ)})
		}
	}
	allow, aerrs := normalizeAllowList(req.AllowList)
	errs = append(errs, aerrs...)
	if pn := req.PrivateNetwork; pn != nil {
		if pn.VPCID <= 0 {
			errs = append(errs, apiError{Field: "private_network.vpc_id", Reason: "A valid VPC is required"})
		}
		if pn.SubnetID <= 0 {
			errs = append(errs, apiError{Field: "private_network.subnet_id", Reason: "A valid subnet is required"})
		}
	}
	var fork *forkInfo
	if req.Fork != nil {
		fork, errs = s.checkForkLocked(req.Fork, engine, version, now, errs)
	}
	if len(errs) > 0 {
		s.mu.Unlock()
		writeErrors(w, http.StatusBadRequest, errs)
		return
	}
	id := s.nextID
	s.nextID++
	in := &instance{
		id: id, key: fmt.Sprintf("linode-%s-%d", engine, id), engine: engine, version: version,
		label: label, region: region, typ: typ, clusterSize: size, allowList: allow,
		created: now, updated: now, port: 18319, username: "akmadmin", password: simkit.Password(),
		primary: fmt.Sprintf("a%d-akamai-prod-1-default.g2a.akamaidb.net", id),
		fork:    fork, private: req.PrivateNetwork,
	}
	if size > 1 {
		in.standby = "replica-" + in.primary
	}
	s.setTransientLocked(in, statusProvisioning, statusActive, s.opts.ProvisionDelay, now)
	s.instances[id] = in
	s.mu.Unlock()

	if s.opts.Backend != nil {
		// Linode's servers come with the admin akmadmin and the database
		// defaultdb, which the API does not report but clients use.
		account := simdb.Account{User: in.username, Password: dbaas.NewSecret(in.password), Database: "defaultdb"}
		db, err := simdb.Attach(r.Context(), s.opts.Backend, in.key, dbEngine(engine), version, account)
		s.mu.Lock()
		if err != nil {
			delete(s.instances, id)
			s.mu.Unlock()
			writeError(w, http.StatusInternalServerError, "", "An unexpected error occurred.")
			return
		}
		if s.instances[id] != in {
			// Deleted while its database was being attached.
			s.mu.Unlock()
			_ = s.opts.Backend.Detach(context.Background(), in.key)
			writeError(w, http.StatusNotFound, "", "Not found")
			return
		}
		in.db = db
		in.primary, in.port = db.Endpoint.Host, db.Endpoint.Port
		in.username, in.password = db.User, db.Password.Reveal()
		in.standby = ""
		s.mu.Unlock()
	}
	s.mu.Lock()
	v := s.viewLocked(in, s.opts.Clock.Now())
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) checkForkLocked(f *forkRequest, engine, version string, now time.Time, errs []apiError) (*forkInfo, []apiError) {
	src, ok := s.instances[f.Source]
	if !ok || src.engine != engine {
		return nil, append(errs, apiError{Field: "fork.source", Reason: "Source database not found"})
	}
	s.stepLocked(src, now)
	oldest, ok := s.oldestRestoreLocked(src, now)
	if !ok {
		return nil, append(errs, apiError{Field: "fork.source", Reason: "Source database has no backups to restore yet"})
	}
	if version != "" && version != src.version {
		errs = append(errs, apiError{Field: "engine", Reason: "Engine version must match the source database"})
	}
	at := now.Truncate(time.Second)
	if f.RestoreTime != "" {
		t, err := time.ParseInLocation(timeLayout, f.RestoreTime, time.UTC)
		if err != nil {
			return nil, append(errs, apiError{Field: "fork.restore_time", Reason: "Must be a date-time such as 2025-01-02T03:04:05"})
		}
		if t.Before(oldest) || t.After(now) {
			return nil, append(errs, apiError{Field: "fork.restore_time",
				Reason: fmt.Sprintf("Must be between %s and %s", oldest.UTC().Format(timeLayout), now.UTC().Format(timeLayout))})
		}
		at = t
	}
	return &forkInfo{Source: src.id, RestoreTime: at}, errs
}

func dbEngine(engine string) dbaas.Engine {
	if engine == "mysql" {
		return dbaas.MySQL
	}
	return dbaas.Postgres
}

// updateRequest is the body of PUT …/instances/{id}.
type updateRequest struct {
	Label     *string         `json:"label"`
	AllowList *[]string       `json:"allow_list"`
	Type      *string         `json:"type"`
	Updates   json.RawMessage `json:"updates"`
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, engine string, id int) {
	var req updateRequest
	if errs := decodeBody(r, &req, updateFields); errs != nil {
		writeErrors(w, http.StatusBadRequest, errs)
		return
	}
	s.withInstance(w, engine, id, func(in *instance, now time.Time) {
		if in.status != statusActive {
			writeError(w, http.StatusBadRequest, "", "Database must be active to be updated; it is "+in.status+".")
			return
		}
		var errs []apiError
		if req.Label != nil {
			errs = append(errs, s.checkLabelLocked(*req.Label, in.id)...)
		}
		var allow []string
		if req.AllowList != nil {
			var aerrs []apiError
			allow, aerrs = normalizeAllowList(*req.AllowList)
			errs = append(errs, aerrs...)
		}
		if req.Type != nil && !slices.ContainsFunc(Types(), func(t Type) bool { return t.ID == *req.Type }) {
			errs = append(errs, apiError{Field: "type", Reason: "A valid type is required"})
		}
		if len(errs) > 0 {
			writeErrors(w, http.StatusBadRequest, errs)
			return
		}
		if req.Label != nil {
			in.label = *req.Label
		}
		if req.AllowList != nil {
			in.allowList = allow
		}
		if req.Updates != nil {
			in.updates = req.Updates
		}
		in.updated = now
		if req.Type != nil && *req.Type != in.typ {
			in.typ = *req.Type
			s.setTransientLocked(in, statusUpdating, statusActive, s.opts.UpdateDelay, now)
		}
		writeJSON(w, http.StatusOK, s.viewLocked(in, now))
	})
}

func (s *Server) delete(w http.ResponseWriter, engine string, id int) {
	var detach string
	s.withInstance(w, engine, id, func(in *instance, now time.Time) {
		if s.opts.DeleteDelay > 0 {
			if in.goneAt.IsZero() {
				in.status, in.next, in.until = statusDeleting, "", time.Time{}
				in.goneAt, in.updated = now.Add(s.opts.DeleteDelay), now
			}
		} else {
			delete(s.instances, id)
		}
		if in.db != nil {
			detach, in.db = in.key, nil
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	})
	if detach != "" && s.opts.Backend != nil {
		_ = s.opts.Backend.Detach(context.Background(), detach)
	}
}

// page cuts a list by the page and page_size query parameters, or
// answers 400.
func page[T any](w http.ResponseWriter, r *http.Request, all []T) {
	q := r.URL.Query()
	pg, size := 1, 100
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "page", "Must be an integer greater than 0")
			return
		}
		pg = n
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 25 || n > 500 {
			writeError(w, http.StatusBadRequest, "page_size", "Must be 25-500")
			return
		}
		size = n
	}
	pages := max((len(all)+size-1)/size, 1)
	if pg > pages {
		writeError(w, http.StatusNotFound, "", "Not found")
		return
	}
	lo := min((pg-1)*size, len(all))
	hi := min(lo+size, len(all))
	data := all[lo:hi]
	if data == nil {
		data = []T{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data, "page": pg, "pages": pages, "results": len(all)})
}

// filterable are the instance fields X-Filter may name.
var filterable = []string{"id", "label", "engine", "region", "status", "type", "cluster_size"}

// parseFilter reads the X-Filter header: an object of field equalities,
// with "+order_by" and "+order" allowed and ignored.
func parseFilter(r *http.Request) (map[string]any, *apiError) {
	h := r.Header.Get("X-Filter")
	if h == "" {
		return nil, nil
	}
	var f map[string]any
	if err := json.Unmarshal([]byte(h), &f); err != nil {
		return nil, &apiError{Field: "X-Filter", Reason: "Malformed JSON"}
	}
	for k := range f {
		if k == "+order_by" || k == "+order" {
			delete(f, k)
			continue
		}
		if !slices.Contains(filterable, k) {
			return nil, &apiError{Field: "X-Filter", Reason: "Cannot filter on " + k}
		}
	}
	return f, nil
}

func matches(v map[string]any, f map[string]any) bool {
	for k, want := range f {
		got, _ := json.Marshal(v[k])
		w, _ := json.Marshal(want)
		if !bytes.Equal(got, w) {
			return false
		}
	}
	return true
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request, engine string) {
	f, ferr := parseFilter(r)
	if ferr != nil {
		writeErrors(w, http.StatusBadRequest, []apiError{*ferr})
		return
	}
	s.mu.Lock()
	now := s.opts.Clock.Now()
	s.reapLocked(now)
	ids := make([]int, 0, len(s.instances))
	for id, in := range s.instances {
		if engine == "" || in.engine == engine {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	all := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		v := s.viewLocked(s.instances[id], now)
		if engine == "" {
			v["instance_uri"] = fmt.Sprintf("/v4/databases/%s/instances/%d", v["engine"], id)
		}
		if matches(v, f) {
			all = append(all, v)
		}
	}
	s.mu.Unlock()
	page(w, r, all)
}

func (s *Server) listEngines(w http.ResponseWriter, r *http.Request) { page(w, r, Engines()) }

func (s *Server) getEngine(w http.ResponseWriter, id string, err error) {
	for _, e := range Engines() {
		if err == nil && e.ID == id {
			writeJSON(w, http.StatusOK, e)
			return
		}
	}
	writeError(w, http.StatusNotFound, "", "Not found")
}

func (s *Server) listTypes(w http.ResponseWriter, r *http.Request) { page(w, r, Types()) }

func (s *Server) getType(w http.ResponseWriter, id string) {
	for _, t := range Types() {
		if t.ID == id {
			writeJSON(w, http.StatusOK, t)
			return
		}
	}
	writeError(w, http.StatusNotFound, "", "Not found")
}
