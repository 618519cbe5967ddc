package dosim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/certs"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

const defaultPort = 25060

// cluster is one simulated database cluster.
type cluster struct {
	ID         string
	Name       string
	Engine     string
	Version    string
	Size       string
	Region     string
	Nodes      int
	StorageMiB uint64
	Tags       []string
	VPC        string
	ProjectID  string
	CreatedAt  time.Time
	ReadyAt    time.Time
	Forked     bool
	Host       string
	Port       int
	User       string
	Password   string
	Database   string
	SSL        bool
	PrivHost   string
	CA         []byte
	Rules      []rule
	attached   bool
	apps       *clusterApps // made through /dbs and /users (users.go)
}

type rule struct {
	UUID        string    `json:"uuid"`
	ClusterUUID string    `json:"cluster_uuid"`
	Type        string    `json:"type"`
	Value       string    `json:"value"`
	CreatedAt   time.Time `json:"created_at"`
	Description string    `json:"description,omitempty"`
}

type vpc struct {
	ID          string    `json:"id"`
	URN         string    `json:"urn"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Region      string    `json:"region"`
	IPRange     string    `json:"ip_range"`
	Default     bool      `json:"default"`
	CreatedAt   time.Time `json:"created_at"`
}

// connection is the API's database_connection object.
type connection struct {
	URI      string `json:"uri"`
	Database string `json:"database"`
	Host     string `json:"host"`
	Port     int    `json:"port"`
	User     string `json:"user"`
	Password string `json:"password"`
	SSL      bool   `json:"ssl"`
}

type user struct {
	Name     string `json:"name"`
	Role     string `json:"role"`
	Password string `json:"password"`
}

type maintenanceWindow struct {
	Day     string `json:"day"`
	Hour    string `json:"hour"`
	Pending bool   `json:"pending"`
}

// clusterJSON is the API's database_cluster object as the simulator
// answers it.
type clusterJSON struct {
	ID                 string             `json:"id"`
	Name               string             `json:"name"`
	Engine             string             `json:"engine"`
	Version            string             `json:"version"`
	NumNodes           int                `json:"num_nodes"`
	Size               string             `json:"size"`
	Region             string             `json:"region"`
	Status             string             `json:"status"`
	CreatedAt          time.Time          `json:"created_at"`
	PrivateNetworkUUID string             `json:"private_network_uuid"`
	Tags               []string           `json:"tags"`
	DBNames            []string           `json:"db_names"`
	Connection         connection         `json:"connection"`
	PrivateConnection  connection         `json:"private_connection"`
	Users              []user             `json:"users"`
	MaintenanceWindow  *maintenanceWindow `json:"maintenance_window"`
	ProjectID          string             `json:"project_id"`
	StorageSizeMiB     uint64             `json:"storage_size_mib,omitempty"`
}

type backupJSON struct {
	CreatedAt     time.Time `json:"created_at"`
	SizeGigabytes float64   `json:"size_gigabytes"`
}

// createRequest is the body of POST /v2/databases.
type createRequest struct {
	Name               string   `json:"name"`
	Engine             string   `json:"engine"`
	Version            string   `json:"version"`
	Size               string   `json:"size"`
	Region             string   `json:"region"`
	NumNodes           int      `json:"num_nodes"`
	PrivateNetworkUUID string   `json:"private_network_uuid"`
	ProjectID          string   `json:"project_id"`
	Tags               []string `json:"tags"`
	StorageSizeMiB     uint64   `json:"storage_size_mib"`
	Rules              []rule   `json:"rules"`
	BackupRestore      *struct {
		DatabaseName    string `json:"database_name"`
		BackupCreatedAt string `json:"backup_created_at"`
	} `json:"backup_restore"`
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /v2/databases/options", s.handleOptions)
	s.mux.HandleFunc("GET /v2/databases", s.handleList)
	s.mux.HandleFunc("POST /v2/databases", s.handleCreate)
	s.mux.HandleFunc("GET /v2/databases/{id}", s.withCluster(s.handleGet))
	s.mux.HandleFunc("DELETE /v2/databases/{id}", s.handleDelete)
	s.mux.HandleFunc("GET /v2/databases/{id}/ca", s.withCluster(s.handleCA))
	s.mux.HandleFunc("GET /v2/databases/{id}/firewall", s.withCluster(s.handleGetFirewall))
	s.mux.HandleFunc("PUT /v2/databases/{id}/firewall", s.handlePutFirewall)
	s.mux.HandleFunc("GET /v2/databases/{id}/backups", s.withCluster(s.handleBackups))
	s.mux.HandleFunc("GET /v2/vpcs", s.handleVPCs)
	s.mux.HandleFunc("GET /v2/vpcs/{id}", s.handleVPC)
	s.userRoutes()
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, http.StatusNotFound, "not_found", "The resource you were accessing could not be found.")
}

func unprocessable(w http.ResponseWriter, r *http.Request, msg string) {
	writeError(w, r, http.StatusUnprocessableEntity, "unprocessable_entity", msg)
}

// withCluster looks up {id} and hands a copy of the cluster's JSON and
// the cluster (under no lock) to h.
func (s *Server) withCluster(h func(w http.ResponseWriter, r *http.Request, c *cluster, now time.Time)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		c, ok := s.clusters[r.PathValue("id")]
		var cp cluster
		if ok {
			cp = *c
			cp.Rules = append([]rule(nil), c.Rules...)
		}
		s.mu.Unlock()
		if !ok {
			notFound(w, r)
			return
		}
		h(w, r, &cp, s.clock.Now())
	}
}

func (s *Server) handleOptions(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"options": catalogue})
}

func (s *Server) handleGet(w http.ResponseWriter, _ *http.Request, c *cluster, now time.Time) {
	writeJSON(w, http.StatusOK, map[string]any{"database": c.json(now)})
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	tag := r.URL.Query().Get("tag_name")
	now := s.clock.Now()
	s.mu.Lock()
	all := make([]clusterJSON, 0, len(s.order))
	for _, id := range s.order {
		c := s.clusters[id]
		if tag != "" && !contains(c.Tags, tag) {
			continue
		}
		all = append(all, c.json(now))
	}
	s.mu.Unlock()
	from, to, links, meta := paginate(r, len(all))
	writeJSON(w, http.StatusOK, map[string]any{"databases": all[from:to], "links": links, "meta": meta})
}

// paginate reads page and per_page (default 20, at most 200) and returns
// the slice bounds of the page and the API's links and meta objects.
func paginate(r *http.Request, total int) (from, to int, links, meta map[string]any) {
	q := r.URL.Query()
	page, perPage := 1, 20
	if v, err := strconv.Atoi(q.Get("page")); err == nil && v > 0 {
		page = v
	}
	if v, err := strconv.Atoi(q.Get("per_page")); err == nil && v > 0 {
		perPage = min(v, 200)
	}
	last := max(1, (total+perPage-1)/perPage)
	from = min((page-1)*perPage, total)
	to = min(from+perPage, total)
	pages := map[string]string{}
	link := func(p int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(p))
		v.Set("per_page", strconv.Itoa(perPage))
		u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: v.Encode()}
		return u.String()
	}
	if page > 1 {
		pages["first"], pages["prev"] = link(1), link(min(page-1, last))
	}
	if page < last {
		pages["next"], pages["last"] = link(page+1), link(last)
	}
	return from, to, map[string]any{"pages": pages}, map[string]any{"total": total}
}

var (
	nameRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9-]{1,61}[a-z0-9]$`) })
	uuidRE = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	})
	digitRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]{1,20}$`) })
)

// validTag reports whether t is a DigitalOcean tag: 1 to 255 letters,
// digits, '_', ':' and '-'. A loop rather than a regexp with a counted
// repetition, whose compilation at init would slow every program that
// links the simulator (the CLI, for one).
func validTag(t string) bool {
	if len(t) == 0 || len(t) > 255 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&req); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", "invalid JSON body: "+err.Error())
		return
	}
	now := s.clock.Now()
	if br := req.BackupRestore; br != nil {
		// The backups of the source that are due get their copies first.
		s.mu.Lock()
		var sourceID string
		for _, c := range s.clusters {
			if c.Name == br.DatabaseName {
				sourceID = c.ID
			}
		}
		s.mu.Unlock()
		s.copyBackups(sourceID, now)
	}
	s.mu.Lock()
	c, msg := s.validateCreate(&req, now)
	var dataKey string
	if msg == "" && req.BackupRestore != nil {
		for _, src := range s.clusters {
			if src.Name == req.BackupRestore.DatabaseName {
				var missing bool
				if dataKey, missing = s.restoreKeyLocked(src, req.BackupRestore.BackupCreatedAt, now); missing {
					msg = "backup_restore: the backup of " + src.Name + " is still being taken"
				}
			}
		}
	}
	if msg != "" {
		s.mu.Unlock()
		unprocessable(w, r, msg)
		return
	}
	// Reserve the name before attaching (which may be slow) so that a
	// second create of the same name is refused meanwhile.
	s.clusters[c.ID] = c
	s.order = append(s.order, c.ID)
	s.mu.Unlock()

	if s.opts.Backend != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		db, err := s.attachFor(ctx, c, dataKey)
		cancel()
		if err != nil {
			s.remove(c.ID)
			writeError(w, r, http.StatusInternalServerError, "server_error", "Unexpected server-side error")
			return
		}
		s.mu.Lock()
		c.attached = true
		c.Host, c.Port, c.User, c.Password, c.Database = db.Endpoint.Host, db.Endpoint.Port, db.User, db.Password.Reveal(), db.Database
		c.PrivHost = db.Endpoint.Host
		c.SSL = len(db.CACertPEM) > 0
		if c.SSL {
			c.CA = db.CACertPEM
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	out := c.json(now)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"database": out})
}

// validateCreate checks a create request as the API does and returns the
// new cluster, or the 422 message. s.mu is held.
func (s *Server) validateCreate(req *createRequest, now time.Time) (*cluster, string) {
	switch {
	case req.Name == "":
		return nil, "name is required"
	case !nameRE().MatchString(req.Name) || strings.Contains(req.Name, "--"):
		return nil, "name must be 3 to 63 lower-case letters, digits and hyphens, starting with a letter"
	}
	for _, c := range s.clusters {
		if c.Name == req.Name {
			return nil, "name " + req.Name + " is already in use by another cluster"
		}
	}
	var source *cluster
	if br := req.BackupRestore; br != nil {
		for _, c := range s.clusters {
			if c.Name == br.DatabaseName {
				source = c
			}
		}
		if source == nil {
			return nil, "backup_restore: no database cluster named " + br.DatabaseName
		}
		backups := source.backups(now, s.opts.BackupInterval, s.opts.BackupRetention)
		if len(backups) == 0 {
			return nil, "backup_restore: cluster " + br.DatabaseName + " has no backup yet"
		}
		// Without backup_created_at the API restores the latest backup.
		if br.BackupCreatedAt != "" {
			t, err := time.Parse(time.RFC3339, br.BackupCreatedAt)
			if err != nil {
				return nil, "backup_restore: backup_created_at must be an ISO8601 time"
			}
			var backupAt time.Time
			for _, b := range backups {
				if b.CreatedAt.Equal(t) {
					backupAt = t
				}
			}
			if backupAt.IsZero() {
				return nil, "backup_restore: no backup of " + br.DatabaseName + " was created at " + br.BackupCreatedAt
			}
		}
		if req.Engine != source.Engine {
			return nil, "engine must be " + source.Engine + " to restore a backup of " + source.Name
		}
	}
	eo, ok := catalogue[req.Engine]
	switch {
	case req.Engine == "":
		return nil, "engine is required"
	case !ok:
		return nil, "engine " + req.Engine + " is not a valid engine"
	}
	if req.Engine != "pg" && req.Engine != "mysql" {
		return nil, "engine " + req.Engine + " cannot be created by this simulator"
	}
	version := req.Version
	if version == "" {
		version = eo.DefaultVersion
	}
	if !contains(eo.Versions, version) {
		return nil, fmt.Sprintf("version %s is not available for engine %s: available versions are %s", version, req.Engine, strings.Join(eo.Versions, ", "))
	}
	switch {
	case req.Region == "":
		return nil, "region is required"
	case !contains(eo.Regions, req.Region):
		return nil, "region " + req.Region + " is not available for engine " + req.Engine
	}
	if req.NumNodes < 1 || req.NumNodes > 3 {
		return nil, "num_nodes must be 1, 2 or 3"
	}
	switch {
	case req.Size == "":
		return nil, "size is required"
	case !eo.sizeOffered(req.Size, req.NumNodes):
		return nil, fmt.Sprintf("size %s is not available for engine %s with %d node(s)", req.Size, req.Engine, req.NumNodes)
	}
	if req.StorageSizeMiB != 0 && (req.StorageSizeMiB < 10240 || req.StorageSizeMiB > 4194304 || req.StorageSizeMiB%10240 != 0) {
		return nil, "storage_size_mib must be a multiple of 10240 between 10240 and 4194304"
	}
	for _, t := range req.Tags {
		if !validTag(t) {
			return nil, "tags: " + strconv.Quote(t) + " must be 1 to 255 letters, digits, ':', '-' and '_'"
		}
	}
	vpcID := req.PrivateNetworkUUID
	if vpcID == "" {
		vpcID = s.defaultVPC(req.Region).ID
	} else if v, ok := s.vpcs[vpcID]; !ok || v.Region != req.Region {
		return nil, "private_network_uuid " + vpcID + " is not a VPC in region " + req.Region
	}
	id := simkit.NewUUID()
	rules := make([]rule, 0, len(req.Rules))
	for i, rl := range req.Rules {
		if msg := checkRule(rl); msg != "" {
			return nil, fmt.Sprintf("rules[%d]: %s", i, msg)
		}
		rules = append(rules, rule{UUID: simkit.NewUUID(), ClusterUUID: id, Type: rl.Type, Value: rl.Value, CreatedAt: now, Description: rl.Description})
	}
	s.userSeq++
	host := fmt.Sprintf("%s-do-user-%d-0.db.ondigitalocean.com", req.Name, 19081923+s.userSeq)
	c := &cluster{
		ID: id, Name: req.Name, Engine: req.Engine, Version: version, Size: req.Size, Region: req.Region,
		Nodes: req.NumNodes, StorageMiB: req.StorageSizeMiB, Tags: append([]string(nil), req.Tags...),
		VPC: vpcID, ProjectID: req.ProjectID, CreatedAt: now.UTC().Truncate(time.Second),
		ReadyAt: now.Add(s.opts.ProvisionDelay), Forked: source != nil,
		Host: host, PrivHost: "private-" + host, Port: defaultPort, User: "doadmin",
		Password: simkit.Password(), Database: "defaultdb", SSL: true, CA: s.ca, Rules: rules,
	}
	if c.ProjectID == "" {
		c.ProjectID = "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30"
	}
	return c, ""
}

// checkRule checks one firewall rule as the API does.
func checkRule(rl rule) string {
	switch rl.Type {
	case "ip_addr":
		if _, err := netip.ParseAddr(rl.Value); err == nil {
			return ""
		}
		if p, err := netip.ParsePrefix(rl.Value); err == nil && p.Masked() == p {
			return ""
		}
		return "value " + strconv.Quote(rl.Value) + " is not an IP address or CIDR"
	case "droplet":
		if !digitRE().MatchString(rl.Value) {
			return "value " + strconv.Quote(rl.Value) + " is not a droplet id"
		}
	case "k8s", "app":
		if !uuidRE().MatchString(rl.Value) {
			return "value " + strconv.Quote(rl.Value) + " is not a " + rl.Type + " uuid"
		}
	case "tag":
		if !validTag(rl.Value) {
			return "value " + strconv.Quote(rl.Value) + " is not a tag name"
		}
	case "":
		return "type is required"
	default:
		return "type " + strconv.Quote(rl.Type) + " must be one of ip_addr, droplet, tag, k8s, app"
	}
	return ""
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	c := s.remove(id)
	if c == nil {
		notFound(w, r)
		return
	}
	if c.attached && s.opts.Backend != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		err := errors.Join(s.dropApps(ctx, c), s.opts.Backend.Detach(ctx, id), s.dropCopies(ctx, id))
		cancel()
		if err != nil {
			writeError(w, r, http.StatusInternalServerError, "server_error", "Unexpected server-side error")
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// remove forgets cluster id and returns it (nil when absent).
func (s *Server) remove(id string) *cluster {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clusters[id]
	if !ok {
		return nil
	}
	delete(s.clusters, id)
	for i, v := range s.order {
		if v == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
	return c
}

func (s *Server) handleCA(w http.ResponseWriter, _ *http.Request, c *cluster, _ time.Time) {
	// encoding/json writes []byte as base64, which is the API's format.
	writeJSON(w, http.StatusOK, map[string]any{"ca": map[string]any{"certificate": c.CA}})
}

func (s *Server) handleGetFirewall(w http.ResponseWriter, _ *http.Request, c *cluster, _ time.Time) {
	writeJSON(w, http.StatusOK, map[string]any{"rules": c.Rules})
}

func (s *Server) handlePutFirewall(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Rules []rule `json:"rules"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, r, http.StatusBadRequest, "bad_request", "invalid JSON body: "+err.Error())
		return
	}
	for i, rl := range req.Rules {
		if msg := checkRule(rl); msg != "" {
			unprocessable(w, r, fmt.Sprintf("rules[%d]: %s", i, msg))
			return
		}
	}
	now := s.clock.Now().UTC().Truncate(time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clusters[r.PathValue("id")]
	if !ok {
		notFound(w, r)
		return
	}
	// The PUT replaces every rule; a rule already present keeps its uuid.
	old := map[string]rule{}
	for _, rl := range c.Rules {
		old[rl.Type+"\x00"+rl.Value] = rl
	}
	seen := map[string]bool{}
	rules := make([]rule, 0, len(req.Rules))
	for _, rl := range req.Rules {
		k := rl.Type + "\x00" + rl.Value
		if seen[k] {
			continue
		}
		seen[k] = true
		if o, ok := old[k]; ok {
			rules = append(rules, o)
			continue
		}
		rules = append(rules, rule{UUID: simkit.NewUUID(), ClusterUUID: c.ID, Type: rl.Type, Value: rl.Value, CreatedAt: now, Description: rl.Description})
	}
	c.Rules = rules
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleBackups(w http.ResponseWriter, _ *http.Request, c *cluster, now time.Time) {
	s.copyBackups(c.ID, now)
	s.mu.Lock()
	backups := s.copiedLocked(c.ID, c.backups(now, s.opts.BackupInterval, s.opts.BackupRetention))
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"backups": backups})
}

func (s *Server) handleVPCs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	all := make([]vpc, 0, len(s.vpcs))
	for _, v := range s.vpcs {
		all = append(all, *v)
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		return all[i].CreatedAt.Before(all[j].CreatedAt) || (all[i].CreatedAt.Equal(all[j].CreatedAt) && all[i].ID < all[j].ID)
	})
	from, to, links, meta := paginate(r, len(all))
	writeJSON(w, http.StatusOK, map[string]any{"vpcs": all[from:to], "links": links, "meta": meta})
}

func (s *Server) handleVPC(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	v, ok := s.vpcs[r.PathValue("id")]
	var cp vpc
	if ok {
		cp = *v
	}
	s.mu.Unlock()
	if !ok {
		notFound(w, r)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"vpc": cp})
}

// AddVPC creates a VPC in region with the given IP range and returns its
// id, for clusters created with that private_network_uuid.
func (s *Server) AddVPC(region, ipRange string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := &vpc{ID: simkit.NewUUID(), Region: region, IPRange: ipRange, CreatedAt: s.clock.Now().UTC().Truncate(time.Second)}
	v.Name = "vpc-" + region + "-" + v.ID[:8]
	v.URN = "do:vpc:" + v.ID
	s.vpcs[v.ID] = v
	return v.ID
}

// defaultVPC returns the region's default VPC. s.mu is held.
func (s *Server) defaultVPC(region string) *vpc {
	for _, v := range s.vpcs {
		if v.Default && v.Region == region {
			return v
		}
	}
	return nil
}

// addDefaultVPCs gives every region its default VPC, as an account that
// has used the region has.
func (s *Server) addDefaultVPCs() {
	now := s.clock.Now().UTC().Truncate(time.Second)
	for i, region := range regions {
		v := &vpc{ID: simkit.NewUUID(), Name: "default-" + region, Region: region, Default: true,
			IPRange: fmt.Sprintf("10.%d.0.0/20", 100+i), CreatedAt: now}
		v.URN = "do:vpc:" + v.ID
		s.vpcs[v.ID] = v
	}
}

// status is the cluster's life-cycle word at now.
func (c *cluster) status(now time.Time) string {
	if now.Before(c.ReadyAt) {
		if c.Forked {
			return "forking"
		}
		return "creating"
	}
	return "online"
}

// backups lists the automatic backups taken by now: one when the cluster
// came online, then one every interval, keeping those within retention.
func (c *cluster) backups(now time.Time, interval, retention time.Duration) []backupJSON {
	out := []backupJSON{}
	if now.Before(c.ReadyAt) {
		return out
	}
	first := c.ReadyAt.UTC().Truncate(time.Second)
	if first.Before(c.ReadyAt) {
		first = first.Add(time.Second)
	}
	n := int(now.Sub(first) / interval)
	k0 := 0
	if oldest := now.Add(-retention); !oldest.Before(first) {
		k0 = int(oldest.Sub(first)/interval) + 1
	}
	for k := k0; k <= n; k++ {
		out = append(out, backupJSON{CreatedAt: first.Add(time.Duration(k) * interval), SizeGigabytes: 0.03364864})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out
}

func (c *cluster) json(now time.Time) clusterJSON {
	conn := connection{Host: c.Host, Port: c.Port, User: c.User, Password: c.Password, Database: c.Database, SSL: c.SSL}
	priv := conn
	priv.Host = c.PrivHost
	conn.URI, priv.URI = c.uri(conn), c.uri(priv)
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	return clusterJSON{
		ID: c.ID, Name: c.Name, Engine: c.Engine, Version: c.Version, NumNodes: c.Nodes, Size: c.Size,
		Region: c.Region, Status: c.status(now), CreatedAt: c.CreatedAt, PrivateNetworkUUID: c.VPC,
		Tags: tags, DBNames: []string{c.Database}, Connection: conn, PrivateConnection: priv,
		Users:             []user{{Name: c.User, Role: "primary", Password: c.Password}},
		MaintenanceWindow: &maintenanceWindow{Day: "tuesday", Hour: "08:00:00"},
		ProjectID:         c.ProjectID, StorageSizeMiB: c.StorageMiB,
	}
}

func (c *cluster) uri(conn connection) string {
	u := url.URL{Host: fmt.Sprintf("%s:%d", conn.Host, conn.Port), User: url.UserPassword(conn.User, conn.Password), Path: "/" + conn.Database}
	switch c.Engine {
	case "pg":
		u.Scheme = "postgresql"
		mode := "require"
		if !conn.SSL {
			mode = "disable"
		}
		u.RawQuery = "sslmode=" + mode
	default:
		u.Scheme = "mysql"
		mode := "REQUIRED"
		if !conn.SSL {
			mode = "DISABLED"
		}
		u.RawQuery = "ssl-mode=" + mode
	}
	return u.String()
}

func engineOf(slug string) dbaas.Engine {
	if slug == "pg" {
		return dbaas.Postgres
	}
	return dbaas.MySQL
}

// newCA makes the project CA certificate that /ca returns for clusters
// with no real database behind them.
func newCA() []byte {
	ca, err := certs.NewCA("dosim Project CA", time.Now(), 10*365*24*time.Hour)
	if err != nil {
		panic("dosim: " + err.Error())
	}
	return ca.PEM
}
