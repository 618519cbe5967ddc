package vultr

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vultr/govultr/v3"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// The engines' names on Vultr, and the versions Vultr offers.
const (
	enginePG    = "pg"
	engineMySQL = "mysql"
)

var (
	versions       = map[string][]string{enginePG: {"13", "14", "15", "16", "17"}, engineMySQL: {"8"}}
	defaultVersion = map[string]string{enginePG: "17", engineMySQL: "8"}
)

// Vultr's administrator and default database.
const (
	AdminUser       = "vultradmin"
	DefaultDatabase = "defaultdb"
)

// Time layouts of the API, all UTC without a zone.
const (
	dateTimeLayout = "2006-01-02 15:04:05"
	dateLayout     = "2006-01-02"
	timeLayout     = "15:04:05"
)

// maxPerPage is the page size the provider asks for.
const maxPerPage = 500

func engineName(e dbaas.Engine) string {
	if e == dbaas.Postgres {
		return enginePG
	}
	return engineMySQL
}

func engineOf(name string) dbaas.Engine {
	switch name {
	case enginePG:
		return dbaas.Postgres
	case engineMySQL:
		return dbaas.MySQL
	}
	return dbaas.Engine(name)
}

// statusOf maps the API's status words (the official description lists
// Rebuilding, Rebalancing and Running) to the normalised statuses: a new,
// restored or forked database is Rebuilding until it is Running; a plan
// change Rebalances it while it serves.
func statusOf(raw string) dbaas.Status {
	switch raw {
	case "Running":
		return dbaas.StatusAvailable
	case "Rebuilding":
		return dbaas.StatusProvisioning
	case "Rebalancing":
		return dbaas.StatusModifying
	}
	return dbaas.StatusUnknown
}

// instanceOf maps a database to an instance.
func instanceOf(db *govultr.Database) *dbaas.Instance {
	inst := &dbaas.Instance{
		ID: db.ID, Name: db.Label, Provider: Name, Engine: engineOf(db.DatabaseEngine),
		Version: db.DatabaseEngineVersion, Status: statusOf(db.Status), RawStatus: db.Status,
		Region: strings.ToLower(db.Region), Size: db.Plan, Nodes: 1, StorageGB: db.PlanDisk,
	}
	if db.PlanReplicas != nil {
		inst.Nodes += *db.PlanReplicas
	}
	if t, err := time.Parse(dateTimeLayout, db.DateCreated); err == nil {
		inst.CreatedAt = t.UTC()
	}
	inst.Endpoint, inst.PrivateEndpoint = endpoints(db)
	if db.Tag != "" {
		k, v, _ := strings.Cut(db.Tag, "=")
		inst.Tags = map[string]string{k: v}
	}
	return inst
}

// endpoints returns the public and private endpoints: host is the
// private host when the database is in a VPC, and public_host is then
// the public one.
func endpoints(db *govultr.Database) (public, private dbaas.Endpoint) {
	port, err := strconv.Atoi(db.Port)
	if err != nil || db.Host == "" {
		return dbaas.Endpoint{}, dbaas.Endpoint{}
	}
	if db.PublicHost != "" {
		return dbaas.Endpoint{Host: db.PublicHost, Port: port}, dbaas.Endpoint{Host: db.Host, Port: port}
	}
	return dbaas.Endpoint{Host: db.Host, Port: port}, dbaas.Endpoint{}
}

// get reads one database.
func (d *vultrDriver) get(ctx context.Context, id string) (*govultr.Database, error) {
	var db *govultr.Database
	err := d.call(ctx, true, func(ctx context.Context) (err error) {
		db, _, err = d.client.Database.Get(ctx, url.PathEscape(id))
		return err
	})
	return db, err
}

// Get returns the database.
func (d *vultrDriver) Get(ctx context.Context, id string) (*dbaas.Instance, error) {
	db, err := d.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return instanceOf(db), nil
}

// list reads every page of the databases, with label when set: the API
// filters by label.
func (d *vultrDriver) list(ctx context.Context, label string) ([]govultr.Database, error) {
	var all []govultr.Database
	cursor := ""
	for range 10000 {
		q := url.Values{"per_page": {strconv.Itoa(maxPerPage)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if label != "" {
			q.Set("label", label)
		}
		// govultr's Database.List takes no cursor: the same request, built
		// and sent by govultr, with the page's query.
		var page struct {
			Databases []govultr.Database `json:"databases"`
			Meta      *govultr.Meta      `json:"meta"`
		}
		err := d.call(ctx, true, func(ctx context.Context) error {
			req, err := d.client.NewRequest(ctx, http.MethodGet, "/v2/databases?"+q.Encode(), nil)
			if err != nil {
				return err
			}
			page.Databases, page.Meta = nil, nil
			_, err = d.client.DoWithContext(ctx, req, &page)
			return err
		})
		if err != nil {
			return nil, err
		}
		all = append(all, page.Databases...)
		if page.Meta == nil || page.Meta.Links == nil || page.Meta.Links.Next == "" {
			return all, nil
		}
		cursor = page.Meta.Links.Next
	}
	return nil, errors.New("list databases: the API kept answering more pages")
}

// List returns every database.
func (d *vultrDriver) List(ctx context.Context) ([]*dbaas.Instance, error) {
	dbs, err := d.list(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]*dbaas.Instance, len(dbs))
	for i := range dbs {
		out[i] = instanceOf(&dbs[i])
	}
	return out, nil
}

// Delete deletes the database. Vultr keeps no backup of a deleted
// database (Capabilities.FinalBackup is false).
func (d *vultrDriver) Delete(ctx context.Context, id string, _ dbaas.DeleteOptions) error {
	return d.call(ctx, true, func(ctx context.Context) error {
		err := d.client.Database.Delete(ctx, url.PathEscape(id))
		if x, _ := ctx.Value(exchangeKey{}).(*exchange); err != nil && x.lost && x.status == http.StatusNotFound {
			// A try before got no answer or a 5xx: a 404 now means it
			// deleted the database.
			return nil
		}
		return err
	})
}

// Connection returns how to connect as the administrator. Vultr requires
// TLS and gives its CA; a database that reports no CA (a simulator on a
// plain server) is reached without TLS.
func (d *vultrDriver) Connection(ctx context.Context, id string) (*dbaas.ConnectionInfo, error) {
	db, err := d.get(ctx, id)
	if err != nil {
		return nil, err
	}
	ci := &dbaas.ConnectionInfo{
		Engine: engineOf(db.DatabaseEngine), User: db.User, Password: dbaas.NewSecret(db.Password),
		Database: db.DBName, TLS: dbaas.TLSDisable,
	}
	ci.Endpoint, ci.PrivateEndpoint = endpoints(db)
	if db.CACertificate != "" {
		ci.TLS, ci.CACertPEM = dbaas.TLSRequire, []byte(db.CACertificate)
	}
	return ci, nil
}

var hourRE = regexp.MustCompile(`^([01][0-9]|2[0-3]):00$`)

var days = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

// placement is what a spec asks of Vultr, checked.
type placement struct {
	engine, version, region, plan, tag string
	trustedIPs                         []string
}

// checkSpec checks spec against Vultr's rules and its plans (one call,
// the first time), and returns what to send.
func (d *vultrDriver) checkSpec(ctx context.Context, spec dbaas.Spec) (*placement, error) {
	var problems []dbaas.FieldError
	add := func(field, rule string) { problems = append(problems, dbaas.FieldError{Field: field, Rule: rule}) }
	p := &placement{engine: engineName(spec.Engine), version: spec.Version, region: strings.ToLower(spec.Region), plan: spec.Size}
	if p.region == "" {
		p.region = d.region
	}
	if p.version == "" {
		p.version = defaultVersion[p.engine]
	}
	if !slices.Contains(versions[p.engine], p.version) {
		add("version", fmt.Sprintf("Vultr offers %s %s", spec.Engine, strings.Join(versions[p.engine], ", ")))
	}
	if p.region == "" {
		add("region", "is required: no default region is configured (dbaas.Config.Region)")
	}
	if spec.AdminUser != "" && spec.AdminUser != AdminUser {
		add("admin_user", "Vultr's administrator is "+AdminUser+": leave empty")
	}
	if spec.Database != "" && spec.Database != DefaultDatabase {
		add("database", "Vultr creates the database "+DefaultDatabase+": leave empty, and add others as application databases")
	}
	if spec.PublicAccess {
		add("public_access", "Vultr databases always have a public host guarded by the trusted IPs: leave false and use Access")
	}
	switch len(spec.Tags) {
	case 0:
	case 1:
		for k, v := range spec.Tags {
			p.tag = k
			if v != "" {
				p.tag += "=" + v
			}
		}
	default:
		add("tags", "Vultr keeps one tag per database: give at most one")
	}
	if v := spec.Options[OptionMaintenanceDOW]; v != "" && !slices.Contains(days, v) {
		add("options."+OptionMaintenanceDOW, "must be a day of the week in lower case, such as sunday")
	}
	if v := spec.Options[OptionMaintenanceTime]; v != "" && !hourRE.MatchString(v) {
		add("options."+OptionMaintenanceTime, "must be an hour HH:00 (UTC), such as 06:00")
	}
	for _, s := range spec.Access {
		p.trustedIPs = append(p.trustedIPs, s.Value)
	}
	if len(spec.Access) == 0 && !spec.AllowWorld {
		add("access", "Vultr lets every address in when a database has no trusted IP: give an access list (Spec.Access; dbaas --allow), or allow every address on purpose (Spec.AllowWorld; --allow-world)")
	}
	if len(problems) > 0 {
		return nil, &dbaas.ValidationError{Problems: problems}
	}
	plan, err := d.plan(ctx, spec.Size)
	if err != nil {
		return nil, err
	}
	switch {
	case plan == nil:
		add("size", fmt.Sprintf("%q is not a Vultr managed database plan (such as vultr-dbaas-startup-cc-1-55-2)", spec.Size))
	case !engineSupported(plan.SupportedEngines, p.engine):
		add("size", fmt.Sprintf("plan %s does not support %s", plan.ID, spec.Engine))
	case !slices.ContainsFunc(plan.Locations, func(l string) bool { return strings.EqualFold(l, p.region) }):
		add("region", fmt.Sprintf("plan %s is not offered in %q", plan.ID, p.region))
	case spec.Nodes != 0 && spec.Nodes != plan.NumberOfNodes:
		add("nodes", fmt.Sprintf("plan %s has %d node(s): leave 0 or choose a plan with %d", plan.ID, plan.NumberOfNodes, spec.Nodes))
	}
	if len(problems) > 0 {
		return nil, &dbaas.ValidationError{Problems: problems}
	}
	return p, nil
}

func engineSupported(s govultr.SupportedEngines, engine string) bool {
	b := s.MySQL
	if engine == enginePG {
		b = s.PG
	}
	return b != nil && *b
}

// plan returns the plan id, or nil when Vultr has none of that id. The
// plans are read once per provider.
func (d *vultrDriver) plan(ctx context.Context, id string) (*govultr.DatabasePlan, error) {
	d.plansMu.Lock()
	defer d.plansMu.Unlock()
	if d.plans == nil {
		var plans []govultr.DatabasePlan
		err := d.call(ctx, true, func(ctx context.Context) (err error) {
			plans, _, _, err = d.client.Database.ListPlans(ctx, nil)
			return err
		})
		if err != nil {
			return nil, err
		}
		d.plans = plans
	}
	for i := range d.plans {
		if d.plans[i].ID == id {
			p := d.plans[i]
			return &p, nil
		}
	}
	return nil, nil
}

// Create creates the database. The label is looked up first: a database
// of that label is ErrAlreadyExists (Vultr itself allows duplicate
// labels). After a failure that may have created it (a 5xx, a lost
// answer) the label is looked up again before the create is sent again,
// so a database is never made twice; one found then is taken as the one
// this call made.
func (d *vultrDriver) Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error) {
	p, err := d.checkSpec(ctx, spec)
	if err != nil {
		return nil, err
	}
	req := &govultr.DatabaseCreateReq{
		DatabaseEngine: p.engine, DatabaseEngineVersion: p.version, Region: p.region, Plan: p.plan,
		Label: spec.Name, Tag: p.tag, VPCID: spec.PrivateNetwork, TrustedIPs: p.trustedIPs,
		MaintenanceDOW: spec.Options[OptionMaintenanceDOW], MaintenanceTime: spec.Options[OptionMaintenanceTime],
	}
	return d.createOnce(ctx, spec.Name, func(ctx context.Context) (*govultr.Database, error) {
		var db *govultr.Database
		err := d.call(ctx, false, func(ctx context.Context) (err error) {
			db, _, err = d.client.Database.Create(ctx, req)
			return err
		})
		return db, err
	})
}

// createOnce makes a database of label with create, unless one exists,
// and never twice (see Create).
func (d *vultrDriver) createOnce(ctx context.Context, label string, create func(context.Context) (*govultr.Database, error)) (*dbaas.Instance, error) {
	unlock := d.locks.lock("label:" + label)
	defer unlock()
	found, err := d.list(ctx, label)
	if err != nil {
		return nil, err
	}
	if len(found) > 0 {
		return nil, &dbaas.Error{Kind: dbaas.ErrAlreadyExists, Err: fmt.Errorf("database %s (%s) has that label", found[0].ID, found[0].Status)}
	}
	for attempt := 1; ; attempt++ {
		db, err := create(ctx)
		if err == nil {
			return instanceOf(db), nil
		}
		var amb *errAmbiguous
		if !errors.As(err, &amb) {
			return nil, err
		}
		found, lerr := d.list(ctx, label)
		if lerr != nil {
			return nil, errors.Join(err, lerr)
		}
		if len(found) > 0 {
			return instanceOf(&found[0]), nil
		}
		if attempt >= d.retries {
			return nil, amb.err
		}
		if err := d.pause(ctx, attempt); err != nil {
			return nil, err
		}
	}
}
