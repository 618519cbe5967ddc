package linode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/linode/linodego"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/httpretry"
)

// Linode's engine names, as in its paths and engine ids.
const (
	enginePostgres = "postgresql"
	engineMySQL    = "mysql"
)

func linodeEngine(e dbaas.Engine) (string, bool) {
	switch e {
	case dbaas.Postgres:
		return enginePostgres, true
	case dbaas.MySQL:
		return engineMySQL, true
	}
	return "", false
}

func dbaasEngine(e string) dbaas.Engine {
	if e == engineMySQL {
		return dbaas.MySQL
	}
	return dbaas.Postgres
}

// instanceID is a parsed instance id: "postgresql/227300" or "mysql/42",
// Linode's engine and numeric id as in the API's paths (the id alone does
// not say which path serves it).
type instanceID struct {
	engine string
	num    int
}

func (i instanceID) String() string { return i.engine + "/" + strconv.Itoa(i.num) }

// parseID reads an instance id; field names it in the error.
func parseID(field, id string) (instanceID, error) {
	eng, num, ok := strings.Cut(id, "/")
	n, err := strconv.Atoi(num)
	if !ok || (eng != enginePostgres && eng != engineMySQL) || err != nil || n <= 0 {
		return instanceID{}, &dbaas.Error{Kind: dbaas.ErrInvalidArgument, Field: field,
			Err: errors.New("want postgresql/<number> or mysql/<number>, as Create and List return")}
	}
	return instanceID{engine: eng, num: n}, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// record is what the adapter reads of a database, whichever linodego type
// carried it.
type record struct {
	id          int
	engine      string
	label       string
	region      string
	typ         string
	version     string
	status      linodego.DatabaseStatus
	clusterSize int
	allowList   []string
	primary     string
	port        int
	ssl         bool
	totalDiskGB int
	created     *time.Time
	oldest      *time.Time
	private     *linodego.DatabasePrivateNetwork
}

func (r *record) ID() string { return instanceID{r.engine, r.id}.String() }

func fromPostgres(d *linodego.PostgresDatabase) *record {
	return &record{id: d.ID, engine: enginePostgres, label: d.Label, region: d.Region, typ: d.Type,
		version: d.Version, status: d.Status, clusterSize: d.ClusterSize, allowList: d.AllowList,
		primary: d.Hosts.Primary, port: d.Port, ssl: d.SSLConnection, totalDiskGB: d.TotalDiskSizeGB,
		created: d.Created, oldest: d.OldestRestoreTime, private: d.PrivateNetwork}
}

func fromMySQL(d *linodego.MySQLDatabase) *record {
	return &record{id: d.ID, engine: engineMySQL, label: d.Label, region: d.Region, typ: d.Type,
		version: d.Version, status: d.Status, clusterSize: d.ClusterSize, allowList: d.AllowList,
		primary: d.Hosts.Primary, port: d.Port, ssl: d.SSLConnection, totalDiskGB: d.TotalDiskSizeGB,
		created: d.Created, oldest: d.OldestRestoreTime, private: d.PrivateNetwork}
}

// fromDatabase reads an entry of the all-engines list, which does not
// carry ssl_connection (Linode requires TLS on every database it makes).
func fromDatabase(d *linodego.Database) *record {
	return &record{id: d.ID, engine: d.Engine, label: d.Label, region: d.Region, typ: d.Type,
		version: d.Version, status: d.Status, clusterSize: d.ClusterSize, allowList: d.AllowList,
		primary: d.Hosts.Primary, port: d.Port, ssl: true, totalDiskGB: d.TotalDiskSizeGB,
		created: d.Created, oldest: d.OldestRestoreTime, private: d.PrivateNetwork}
}

// mapStatus maps Linode's status words to the normalized ones. Resuming
// is provisioning again (not usable yet), suspending is on its way to
// stopped, and degraded (a node lost, the cluster serving while Linode
// repairs it) is modifying.
func mapStatus(s linodego.DatabaseStatus) dbaas.Status {
	switch s {
	case linodego.DatabaseStatusProvisioning, linodego.DatabaseStatusResuming:
		return dbaas.StatusProvisioning
	case linodego.DatabaseStatusActive:
		return dbaas.StatusAvailable
	case linodego.DatabaseStatusUpdating, linodego.DatabaseStatusDegraded:
		return dbaas.StatusModifying
	case linodego.DatabaseStatusBackingUp:
		return dbaas.StatusBackingUp
	case linodego.DatabaseStatusRestoring:
		return dbaas.StatusRestoring
	case linodego.DatabaseStatusSuspending, linodego.DatabaseStatusSuspended:
		return dbaas.StatusStopped
	case linodego.DatabaseStatusFailed:
		return dbaas.StatusFailed
	case linodego.DatabaseStatusDeleting, linodego.DatabaseStatusDeleted:
		return dbaas.StatusDeleting
	}
	return dbaas.StatusUnknown
}

func (r *record) instance() *dbaas.Instance {
	in := &dbaas.Instance{
		ID: r.ID(), Name: r.label, Provider: Name, Engine: dbaasEngine(r.engine), Version: r.version,
		Status: mapStatus(r.status), RawStatus: string(r.status), Region: r.region, Size: r.typ,
		Nodes: r.clusterSize, StorageGB: r.totalDiskGB,
	}
	if r.primary != "" && r.port > 0 {
		in.Endpoint = dbaas.Endpoint{Host: r.primary, Port: r.port}
	}
	if r.created != nil {
		in.CreatedAt = r.created.UTC()
	}
	return in
}

// get reads one database.
func (p *client) get(ctx context.Context, id instanceID) (*record, error) {
	var rec *record
	var err error
	if id.engine == enginePostgres {
		var d *linodego.PostgresDatabase
		if d, err = p.api.GetPostgresDatabase(ctx, id.num); err == nil {
			rec = fromPostgres(d)
		}
	} else {
		var d *linodego.MySQLDatabase
		if d, err = p.api.GetMySQLDatabase(ctx, id.num); err == nil {
			rec = fromMySQL(d)
		}
	}
	if err != nil {
		return nil, fail(ctx, err)
	}
	return rec, nil
}

// read parses id and reads the database.
func (p *client) read(ctx context.Context, id string) (instanceID, *record, error) {
	iid, err := parseID("id", id)
	if err != nil {
		return instanceID{}, nil, err
	}
	rec, err := p.get(ctx, iid)
	return iid, rec, err
}

// Get returns the instance, or ErrNotFound. One API call.
func (p *client) Get(ctx context.Context, id string) (*dbaas.Instance, error) {
	_, rec, err := p.read(ctx, id)
	if err != nil {
		return nil, err
	}
	return rec.instance(), nil
}

// List returns every PostgreSQL and MySQL instance, reading every page of
// GET /databases/instances.
func (p *client) List(ctx context.Context) ([]*dbaas.Instance, error) {
	dbs, err := p.api.ListDatabases(ctx, nil)
	if err != nil {
		return nil, fail(ctx, err)
	}
	out := make([]*dbaas.Instance, 0, len(dbs))
	for i := range dbs {
		if dbs[i].Engine != enginePostgres && dbs[i].Engine != engineMySQL {
			continue
		}
		out = append(out, fromDatabase(&dbs[i]).instance())
	}
	return out, nil
}

// Delete deletes the instance (Linode takes no final backup). A delete
// whose first answer was lost and whose retry finds the instance gone
// has succeeded.
func (p *client) Delete(ctx context.Context, id string, _ dbaas.DeleteOptions) error {
	iid, err := parseID("id", id)
	if err != nil {
		return err
	}
	if iid.engine == enginePostgres {
		err = p.api.DeletePostgresDatabase(ctx, iid.num)
	} else {
		err = p.api.DeleteMySQLDatabase(ctx, iid.num)
	}
	if e := apiError(err); httpStatus(e) == http.StatusNotFound && e.Response != nil && e.Response.Header.Get(httpretry.HeaderAttempts) != "1" {
		return nil
	}
	return fail(ctx, err)
}

// createBody is what Create and Restore send: linodego's create options
// for the engine, and for a restore the fork with its restore_time, which
// linodego's DatabaseFork never sends (its RestoreTime is tagged "-").
type createBody struct {
	Label          string                           `json:"label"`
	Region         string                           `json:"region"`
	Type           string                           `json:"type"`
	Engine         string                           `json:"engine"`
	AllowList      []string                         `json:"allow_list,omitempty"`
	ClusterSize    int                              `json:"cluster_size,omitempty"`
	Fork           *forkBody                        `json:"fork,omitempty"`
	PrivateNetwork *linodego.DatabasePrivateNetwork `json:"private_network,omitempty"`
}

type forkBody struct {
	Source      int    `json:"source"`
	RestoreTime string `json:"restore_time"`
}

// apiTime is how the API writes times: UTC without a zone.
const apiTime = "2006-01-02T15:04:05"

// checkSpec checks spec against Linode's own rules and returns the body
// to send. It makes no call. The portable layer has checked the shared
// rules, the engine, the source kinds and the fields Linode never
// honours (capabilities.RefusedFields).
func (p *client) checkSpec(spec dbaas.Spec) (*createBody, error) {
	eng, _ := linodeEngine(spec.Engine)
	if spec.Database != "" && spec.Database != p.database {
		return nil, &dbaas.Error{Kind: dbaas.ErrUnsupported, Field: "database", Err: errors.New("Linode databases come with " + p.database + "; leave it empty")}
	}
	region := spec.Region
	if region == "" {
		region = p.region
	}
	if region == "" {
		return nil, dbaas.InvalidField("region", "is required: set Spec.Region or Config.Region")
	}
	version := spec.Version
	if version == "" {
		version = DefaultPostgresVersion
		if eng == engineMySQL {
			version = DefaultMySQLVersion
		}
	}
	major, _, _ := strings.Cut(version, ".")
	body := &createBody{Label: spec.Name, Region: region, Type: spec.Size, Engine: eng + "/" + major,
		ClusterSize: max(spec.Nodes, 1)}
	allow, err := allowList("access", spec.Access)
	if err != nil {
		return nil, err
	}
	body.AllowList = allow
	switch {
	case spec.PrivateNetwork == "" && spec.Subnet != "":
		return nil, dbaas.InvalidField("subnet", "needs private_network (the VPC id)")
	case spec.PrivateNetwork != "":
		vpc, err1 := strconv.Atoi(spec.PrivateNetwork)
		subnet, err2 := strconv.Atoi(spec.Subnet)
		if err1 != nil || vpc <= 0 {
			return nil, dbaas.InvalidField("private_network", "must be a Linode VPC id (a number)")
		}
		if err2 != nil || subnet <= 0 {
			return nil, dbaas.InvalidField("subnet", "must be the id (a number) of a subnet of the VPC")
		}
		body.PrivateNetwork = &linodego.DatabasePrivateNetwork{VPCID: vpc, SubnetID: subnet, PublicAccess: spec.PublicAccess}
	}
	return body, nil
}

// allowList turns CIDR sources into allow_list entries: IPv4 only, as
// the API accepts.
func allowList(field string, sources []dbaas.Source) ([]string, error) {
	out := make([]string, 0, len(sources))
	for i, s := range sources {
		pfx, _ := s.Prefix()
		if !pfx.Addr().Is4() {
			return nil, dbaas.InvalidField(fmt.Sprintf("%s[%d]", field, i), s.Value+" is IPv6: Linode's allow_list takes IPv4 addresses and networks")
		}
		out = append(out, pfx.String())
	}
	return out, nil
}

// Create checks spec (no call when Linode cannot take it), sends the
// create and returns the instance, provisioning.
//
// Linode answers a name in use with 400 on label: that is
// ErrAlreadyExists. The create is never resent blindly: the transport
// sends it again only after an answer the API gives without acting (429,
// after Retry-After); after an answer it could not read (dropped
// connection, timeout, 5xx) Create first looks for a database of that
// label and returns it when the create did take effect, so no database
// is made twice. When ctx ends
// while the request is out and the database turns out to exist, Create
// returns it together with the context's error.
func (p *client) Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error) {
	body, err := p.checkSpec(spec)
	if err != nil {
		return nil, err
	}
	rec, err := p.guardedCreate(ctx, strings.SplitN(body.Engine, "/", 2)[0], body)
	if rec == nil {
		return nil, err
	}
	return rec.instance(), err
}

// guardedCreate sends body to POST /databases/{engine}/instances, at most
// maxCreateAttempts times, never twice when the first may have worked.
func (p *client) guardedCreate(ctx context.Context, engine string, body *createBody) (*record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var last error
	for attempt := 1; attempt <= maxCreateAttempts; attempt++ {
		rec, err := p.post(ctx, engine, body)
		if err == nil {
			return rec, nil
		}
		last = err
		if ctx.Err() != nil {
			return p.cancelledCreate(ctx, engine, body.Label)
		}
		if !ambiguous(err) {
			return nil, fail(ctx, err)
		}
		found, ferr := p.findByLabel(ctx, engine, body.Label)
		if ferr != nil {
			return nil, &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf(
				"the create may have taken effect (%v) and looking for it failed (%w): list instances before trying again", err, ferr)}
		}
		if found != nil {
			return found, nil
		}
		if attempt < maxCreateAttempts {
			if err := httpretry.Sleep(ctx, p.clock, p.retryMin<<(attempt-1)); err != nil {
				break
			}
		}
	}
	return nil, fail(ctx, last)
}

// cancelledCreate reports a create whose context ended while its request
// was out: the database may exist, so it looks for the label (on a short
// context of its own) and returns what it finds with the context's error.
func (p *client) cancelledCreate(ctx context.Context, engine, label string) (*record, error) {
	lookup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	found, err := p.findByLabel(lookup, engine, label)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w; the create may have taken effect and looking for it failed: %v", ctx.Err(), err)
	case found != nil:
		return found, fmt.Errorf("%w after the create took effect: instance %s exists", ctx.Err(), found.ID())
	}
	return nil, ctx.Err()
}

// post sends one create request. The transport sends it again only after
// answers the API gives without acting (429, 408, busy), never after a
// 5xx or a lost connection.
func (p *client) post(ctx context.Context, engine string, body *createBody) (*record, error) {
	var result any = &linodego.PostgresDatabase{}
	if engine == engineMySQL {
		result = &linodego.MySQLDatabase{}
	}
	resp, err := p.api.R(ctx).SetBody(body).SetResult(result).Post("databases/" + engine + "/instances")
	if err != nil {
		return nil, linodego.NewError(err)
	}
	if resp.IsError() {
		if apiErr, ok := resp.Error().(*linodego.APIError); ok && len(apiErr.Errors) > 0 {
			return nil, linodego.NewError(resp)
		}
		return nil, &linodego.Error{Code: resp.StatusCode(), Message: http.StatusText(resp.StatusCode()), Response: resp.RawResponse}
	}
	switch d := result.(type) {
	case *linodego.PostgresDatabase:
		return fromPostgres(d), nil
	case *linodego.MySQLDatabase:
		return fromMySQL(d), nil
	}
	return nil, errors.New("linode: unexpected result type")
}

// findByLabel returns the database of that engine and label, or nil.
func (p *client) findByLabel(ctx context.Context, engine, label string) (*record, error) {
	f, err := json.Marshal(map[string]string{"label": label})
	if err != nil {
		return nil, err
	}
	opts := &linodego.ListOptions{Filter: string(f)}
	if engine == enginePostgres {
		dbs, err := p.api.ListPostgresDatabases(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range dbs {
			if dbs[i].Label == label {
				return fromPostgres(&dbs[i]), nil
			}
		}
		return nil, nil
	}
	dbs, err := p.api.ListMySQLDatabases(ctx, opts)
	if err != nil {
		return nil, err
	}
	for i := range dbs {
		if dbs[i].Label == label {
			return fromMySQL(&dbs[i]), nil
		}
	}
	return nil, nil
}

// Start resumes a suspended instance (POST …/resume).
func (p *client) Start(ctx context.Context, id string) error {
	iid, err := parseID("id", id)
	if err != nil {
		return err
	}
	if iid.engine == enginePostgres {
		err = p.api.ResumePostgresDatabase(ctx, iid.num)
	} else {
		err = p.api.ResumeMySQLDatabase(ctx, iid.num)
	}
	return fail(ctx, err)
}

// Stop suspends an active instance (POST …/suspend).
func (p *client) Stop(ctx context.Context, id string) error {
	iid, err := parseID("id", id)
	if err != nil {
		return err
	}
	if iid.engine == enginePostgres {
		err = p.api.SuspendPostgresDatabase(ctx, iid.num)
	} else {
		err = p.api.SuspendMySQLDatabase(ctx, iid.num)
	}
	return fail(ctx, err)
}
