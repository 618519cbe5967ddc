package digitalocean

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/digitalocean/godo"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/httpretry"
)

// maxCreateAttempts bounds how often a create is sent after ambiguous
// failures (each time only once a lookup found no cluster of that name).
const maxCreateAttempts = 3

// lookupTimeout bounds the lookup after a create whose context ended.
const lookupTimeout = 30 * time.Second

// Engine slugs of the API.
const (
	slugPostgres = "pg"
	slugMySQL    = "mysql"
)

func engineSlug(e dbaas.Engine) (string, bool) {
	switch e {
	case dbaas.Postgres:
		return slugPostgres, true
	case dbaas.MySQL:
		return slugMySQL, true
	}
	return "", false
}

func engineOf(slug string) dbaas.Engine {
	switch slug {
	case slugPostgres:
		return dbaas.Postgres
	case slugMySQL:
		return dbaas.MySQL
	}
	return dbaas.Engine(slug)
}

// statusOf maps the API's cluster status to the portable one.
func statusOf(raw string) dbaas.Status {
	switch raw {
	case "creating":
		return dbaas.StatusProvisioning
	case "online":
		return dbaas.StatusAvailable
	case "resizing", "migrating":
		return dbaas.StatusModifying
	case "forking":
		return dbaas.StatusRestoring
	}
	return dbaas.StatusUnknown
}

// tagPart is what a DigitalOcean tag may hold besides the ':' that
// separates a dbaas tag's key from its value.
var tagPart = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)

// tagsOf turns dbaas tags into DigitalOcean tags: "key" or "key:value".
func tagsOf(tags map[string]string) ([]string, error) {
	out := make([]string, 0, len(tags))
	for k, v := range tags {
		if k == "" || !tagPart.MatchString(k) || !tagPart.MatchString(v) || len(k)+len(v)+1 > 255 {
			return nil, dbaas.InvalidField("tags["+k+"]", "DigitalOcean tags allow only letters, digits, '_' and '-' in keys and values (sent as key:value, at most 255 characters)")
		}
		if v == "" {
			out = append(out, k)
		} else {
			out = append(out, k+":"+v)
		}
	}
	sort.Strings(out)
	return out, nil
}

func instanceOf(db *godo.Database) *dbaas.Instance {
	inst := &dbaas.Instance{
		ID:        db.ID,
		Name:      db.Name,
		Provider:  Name,
		Engine:    engineOf(db.EngineSlug),
		Version:   db.VersionSlug,
		Status:    statusOf(db.Status),
		RawStatus: db.Status,
		Region:    db.RegionSlug,
		Size:      db.SizeSlug,
		Nodes:     db.NumNodes,
		StorageGB: int(db.StorageSizeMib / 1024),
		CreatedAt: db.CreatedAt,
	}
	if c := db.Connection; c != nil {
		inst.Endpoint = dbaas.Endpoint{Host: c.Host, Port: c.Port}
	}
	if c := db.PrivateConnection; c != nil {
		inst.PrivateEndpoint = dbaas.Endpoint{Host: c.Host, Port: c.Port}
	}
	if len(db.Tags) > 0 {
		inst.Tags = make(map[string]string, len(db.Tags))
		for _, t := range db.Tags {
			k, v, _ := strings.Cut(t, ":")
			inst.Tags[k] = v
		}
	}
	return inst
}

// Create checks spec against DigitalOcean's own rules and what GET
// /v2/databases/options offers, then creates the cluster. With no Access
// and no AllowWorld, access is limited to the cluster's VPC range
// (DigitalOcean opens a cluster with no trusted source to every address).
// After an ambiguous failure (connection lost, 5xx) it looks the name up
// before sending the create again, so a cluster is never made twice; a
// cluster of that name found then is taken as the one this call made
// (another writer racing on the same name cannot be told apart).
func (p *client) Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error) {
	if err := p.checkLocal(&spec); err != nil {
		return nil, err
	}
	req, err := p.createRequest(ctx, &spec)
	if err != nil {
		return nil, err
	}
	return p.create(ctx, req)
}

// Restore creates a new cluster, described by spec, from a backup of
// Backups (its ID).
func (p *client) Restore(ctx context.Context, from dbaas.RestorePoint, spec dbaas.Spec) (*dbaas.Instance, error) {
	clusterID, at, err := parseBackupID(from.BackupID)
	if err != nil {
		return nil, err
	}
	if err := p.checkLocal(&spec); err != nil {
		return nil, err
	}
	src, _, err := p.godo.Databases.Get(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	if engineOf(src.EngineSlug) != spec.Engine {
		return nil, dbaas.InvalidField("engine", fmt.Sprintf("must be %s, the engine of the backup's cluster", engineOf(src.EngineSlug)))
	}
	req, err := p.createRequest(ctx, &spec)
	if err != nil {
		return nil, err
	}
	req.BackupRestore = &godo.DatabaseBackupRestore{DatabaseName: src.Name, BackupCreatedAt: at.UTC().Format(time.RFC3339)}
	return p.create(ctx, req)
}

// create sends req, and after an ambiguous failure looks the name up
// before sending it again.
func (p *client) create(ctx context.Context, req *godo.DatabaseCreateRequest) (*dbaas.Instance, error) {
	for attempt := 1; ; attempt++ {
		db, _, err := p.godo.Databases.Create(ctx, req)
		if err == nil {
			return instanceOf(db), nil
		}
		if ctx.Err() != nil && !errors.Is(err, httpretry.ErrNotSent) {
			return p.cancelledCreate(ctx, req.Name, err)
		}
		if !ambiguous(ctx, err) {
			return nil, withField(err)
		}
		// The cluster may exist: find it rather than make a second one.
		found, lerr := p.findByName(ctx, req.Name)
		switch {
		case lerr != nil:
			return nil, fmt.Errorf("create failed (%w) and looking the name up failed too: %v; the cluster may exist", err, lerr)
		case found != nil && found.EngineSlug != req.EngineSlug:
			return nil, &dbaas.Error{Kind: dbaas.ErrAlreadyExists, Err: fmt.Errorf("a %s cluster of that name exists", found.EngineSlug)}
		case found != nil:
			return instanceOf(found), nil
		case attempt >= maxCreateAttempts:
			return nil, err
		}
		if err := httpretry.Sleep(ctx, p.clock, httpretry.Backoff(p.tr.baseDelay, p.tr.maxDelay, attempt)); err != nil {
			return nil, err
		}
	}
}

// cancelledCreate reports a create whose context ended while the request
// was on its way: the cluster may have been made all the same. It looks
// the name up (on a short context of its own) so that such a cluster is
// returned with the error, never left unreported.
func (p *client) cancelledCreate(ctx context.Context, name string, err error) (*dbaas.Instance, error) {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), lookupTimeout)
	defer cancel()
	found, lerr := p.findByName(lctx, name)
	switch {
	case lerr != nil:
		return nil, fmt.Errorf("%w; the cluster may exist (looking it up failed: %v)", err, lerr)
	case found != nil:
		return instanceOf(found), fmt.Errorf("%w; the cluster was created nevertheless: id %s", err, found.ID)
	}
	return nil, fmt.Errorf("%w; no cluster of that name exists yet, but the API may still make it", err)
}

// ambiguous reports whether a failed POST may have been acted on: the
// connection failed, or the server answered 5xx.
func ambiguous(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var er *godo.ErrorResponse
	if errors.As(err, &er) {
		return er.Response != nil && er.Response.StatusCode >= 500
	}
	return true
}

// checkLocal checks spec against DigitalOcean's own rules (no API call)
// and fills the default region. The portable layer has checked the
// shared rules, the engine and the access sources.
func (p *client) checkLocal(spec *dbaas.Spec) error {
	if spec.Region == "" {
		spec.Region = p.region
	}
	if err := checkSpec(spec); err != nil {
		return err
	}
	_, err := tagsOf(spec.Tags)
	return err
}

// createRequest builds the request for a spec checkLocal accepted. It
// may read the options and the VPCs (GETs), never change anything.
func (p *client) createRequest(ctx context.Context, spec *dbaas.Spec) (*godo.DatabaseCreateRequest, error) {
	slug, _ := engineSlug(spec.Engine)
	nodes := max(spec.Nodes, 1)
	version, err := p.checkOptions(ctx, slug, spec, nodes)
	if err != nil {
		return nil, err
	}
	tags, _ := tagsOf(spec.Tags)
	req := &godo.DatabaseCreateRequest{
		Name:               spec.Name,
		EngineSlug:         slug,
		Version:            version,
		SizeSlug:           spec.Size,
		Region:             spec.Region,
		NumNodes:           nodes,
		PrivateNetworkUUID: spec.PrivateNetwork,
		Tags:               tags,
		StorageSizeMib:     uint64(spec.StorageGB) * 1024,
	}
	for _, s := range spec.Access {
		r := ruleOf(s)
		req.Rules = append(req.Rules, &godo.DatabaseCreateFirewallRule{Type: r.Type, Value: r.Value})
	}
	if len(spec.Access) == 0 && !spec.AllowWorld {
		ipRange, err := p.vpcRange(ctx, spec.PrivateNetwork, spec.Region)
		if err != nil {
			return nil, err
		}
		req.Rules = []*godo.DatabaseCreateFirewallRule{{Type: ruleIPAddr, Value: ipRange}}
	}
	return req, nil
}

// checkSpec refuses what DigitalOcean cannot honour, naming the field;
// the fields it never honours are in Capabilities.RefusedFields.
func checkSpec(spec *dbaas.Spec) error {
	var problems []dbaas.FieldError
	add := func(field, rule string) { problems = append(problems, dbaas.FieldError{Field: field, Rule: rule}) }
	if spec.Region == "" {
		add("region", "is required: no default region is configured (Options.Region)")
	}
	if spec.Port != 0 && spec.Port != Port {
		add("port", fmt.Sprintf("DigitalOcean clusters listen on %d: leave 0", Port))
	}
	if spec.AdminUser != "" && spec.AdminUser != "doadmin" {
		add("admin_user", "DigitalOcean's administrator is doadmin: leave empty")
	}
	if spec.Database != "" && spec.Database != "defaultdb" {
		add("database", "DigitalOcean creates the database defaultdb: leave empty")
	}
	if spec.StorageGB%10 != 0 {
		add("storage_gb", "must be a multiple of 10 on DigitalOcean")
	}
	if spec.BackupRetentionDays != 0 && spec.BackupRetentionDays != 7 {
		add("backup_retention_days", "DigitalOcean keeps daily backups 7 days: leave 0")
	}
	if len(problems) > 0 {
		return &dbaas.ValidationError{Problems: problems}
	}
	return nil
}

// checkOptions checks version, region, size and node count against GET
// /v2/databases/options (read once) and returns the version to send.
func (p *client) checkOptions(ctx context.Context, slug string, spec *dbaas.Spec, nodes int) (string, error) {
	opts, err := p.databaseOptions(ctx)
	if err != nil {
		return "", err
	}
	eo := opts.PostgresSQLOptions
	if slug == slugMySQL {
		eo = opts.MySQLOptions
	}
	version := spec.Version
	if version != "" && !slices.Contains(eo.Versions, version) {
		// "8.0" names the same release as DigitalOcean's "8".
		if major, _, _ := strings.Cut(version, "."); slices.Contains(eo.Versions, major) {
			version = major
		} else {
			return "", dbaas.InvalidField("version", fmt.Sprintf("%s %s is not offered: DigitalOcean offers %s", spec.Engine, spec.Version, strings.Join(eo.Versions, ", ")))
		}
	}
	if len(eo.Regions) > 0 && !slices.Contains(eo.Regions, spec.Region) {
		return "", dbaas.InvalidField("region", fmt.Sprintf("%s is not offered for %s: DigitalOcean offers %s", spec.Region, spec.Engine, strings.Join(eo.Regions, ", ")))
	}
	for _, l := range eo.Layouts {
		if l.NodeNum == nodes {
			if !slices.Contains(l.Sizes, spec.Size) {
				return "", dbaas.InvalidField("size", fmt.Sprintf("%s is not offered for %s with %d node(s): DigitalOcean offers %s", spec.Size, spec.Engine, nodes, shortList(l.Sizes, 12)))
			}
			return version, nil
		}
	}
	if len(eo.Layouts) > 0 {
		return "", dbaas.InvalidField("nodes", fmt.Sprintf("%d node(s) is not offered for %s", nodes, spec.Engine))
	}
	return version, nil
}

// databaseOptions returns GET /v2/databases/options, read once.
func (p *client) databaseOptions(ctx context.Context) (*godo.DatabaseOptions, error) {
	p.optMu.Lock()
	defer p.optMu.Unlock()
	if p.options != nil {
		return p.options, nil
	}
	o, _, err := p.godo.Databases.ListOptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the database options: %w", err)
	}
	p.options = o
	return o, nil
}

// vpcRange returns the IP range of VPC id, or of the region's default VPC
// when id is empty.
func (p *client) vpcRange(ctx context.Context, id, region string) (string, error) {
	if id != "" {
		v, resp, err := p.godo.VPCs.Get(ctx, id)
		if err != nil {
			if resp != nil && resp.StatusCode == http.StatusNotFound {
				return "", dbaas.InvalidField("private_network", fmt.Sprintf("VPC %s does not exist", id))
			}
			return "", fmt.Errorf("read VPC %s: %w", id, err)
		}
		if v.RegionSlug != region {
			return "", dbaas.InvalidField("private_network", fmt.Sprintf("VPC %s is in %s, not %s", id, v.RegionSlug, region))
		}
		return v.IPRange, nil
	}
	opt := &godo.ListOptions{PerPage: maxPageSize}
	for {
		vpcs, resp, err := p.godo.VPCs.List(ctx, opt)
		if err != nil {
			return "", fmt.Errorf("list VPCs: %w", err)
		}
		for _, v := range vpcs {
			if v.Default && v.RegionSlug == region {
				return v.IPRange, nil
			}
		}
		if resp == nil || resp.Links == nil || resp.Links.IsLastPage() {
			break
		}
		page, err := resp.Links.CurrentPage()
		if err != nil {
			break
		}
		opt.Page = page + 1
	}
	return "", dbaas.InvalidField("access", fmt.Sprintf("no sources given and region %s has no default VPC to limit access to: give an access list (Spec.Access; dbaas --allow), or allow every address on purpose (Spec.AllowWorld; --allow-world)", region))
}

func shortList(list []string, n int) string {
	if len(list) <= n {
		return strings.Join(list, ", ")
	}
	return strings.Join(list[:n], ", ") + ", …"
}

// Get returns the cluster, or ErrNotFound.
func (p *client) Get(ctx context.Context, id string) (*dbaas.Instance, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	db, _, err := p.godo.Databases.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return instanceOf(db), nil
}

// List returns every cluster, reading every page.
func (p *client) List(ctx context.Context) ([]*dbaas.Instance, error) {
	dbs, err := p.listAll(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*dbaas.Instance, 0, len(dbs))
	for i := range dbs {
		out = append(out, instanceOf(&dbs[i]))
	}
	return out, nil
}

// listAll reads pages until one comes back short: godo does not expose
// the links of this list.
func (p *client) listAll(ctx context.Context) ([]godo.Database, error) {
	var all []godo.Database
	for page := 1; ; page++ {
		dbs, _, err := p.godo.Databases.List(ctx, &godo.ListOptions{Page: page, PerPage: p.pageSize})
		if err != nil {
			return nil, err
		}
		all = append(all, dbs...)
		if len(dbs) < p.pageSize {
			return all, nil
		}
	}
}

// findByName returns the cluster named name, or nil.
func (p *client) findByName(ctx context.Context, name string) (*godo.Database, error) {
	dbs, err := p.listAll(ctx)
	if err != nil {
		return nil, err
	}
	for i := range dbs {
		if dbs[i].Name == name {
			return &dbs[i], nil
		}
	}
	return nil, nil
}

// Delete destroys the cluster (DigitalOcean takes no final backup). A
// delete whose first attempt was lost and whose retry finds the cluster
// gone has succeeded.
func (p *client) Delete(ctx context.Context, id string, _ dbaas.DeleteOptions) error {
	if err := checkID(id); err != nil {
		return err
	}
	resp, err := p.godo.Databases.Delete(ctx, id)
	if err != nil && resp != nil && resp.StatusCode == http.StatusNotFound && resp.Header.Get(httpretry.HeaderAttempts) != "1" {
		return nil
	}
	return err
}

// idRE is what a cluster id may hold: it goes into the request path, so
// nothing that could change the path ("/", "..", "?") gets through.
var idRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`) })

func checkID(id string) error {
	if !idRE().MatchString(id) {
		return dbaas.InvalidField("id", fmt.Sprintf("%q is not a cluster id (a UUID)", truncate(id, 80)))
	}
	return nil
}

// fieldOf names the Spec field a 422 message of the API is about.
func fieldOf(msg string) string {
	m := strings.ToLower(msg)
	for _, f := range []struct{ prefix, field string }{
		{"name", "name"}, {"engine", "engine"}, {"version", "version"}, {"region", "region"},
		{"num_nodes", "nodes"}, {"size", "size"}, {"storage_size_mib", "storage_gb"},
		{"private_network_uuid", "private_network"}, {"tags", "tags"}, {"rules", "access"},
		{"backup_restore", "backup_id"},
	} {
		if strings.HasPrefix(m, f.prefix) || strings.Contains(m, "invalid "+f.prefix) {
			return f.field
		}
	}
	return ""
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
