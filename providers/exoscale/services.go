package exoscale

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	v3 "github.com/exoscale/egoscale/v3"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// The service types this provider manages.
const (
	typePG    = "pg"
	typeMySQL = "mysql"
)

// pgVersions are the PostgreSQL versions the API description allows in a
// create (dbaas-pg-target-versions); MySQL's version is a free string
// there, checked by the API.
var pgVersions = []string{"13", "14", "15", "16", "17", "18"}

// adminPasswordRE is the description's rule for admin-password.
var adminPasswordRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-zA-Z0-9_-]{8,256}$`) })

// service is a PostgreSQL or MySQL service, whichever the API answered.
type service struct {
	name, typ, plan, version, zone string
	state                          v3.EnumServiceState
	createdAt                      time.Time
	nodes                          int64
	diskBytes                      int64
	protected                      bool
	ipFilter                       []string
	host                           string
	port                           int64
	uriParams                      map[string]any
	backups                        []v3.DBAASServiceBackup
	databases                      []string
	users                          []serviceUser
}

type serviceUser struct{ name, kind string }

func typeOf(e dbaas.Engine) string {
	if e == dbaas.Postgres {
		return typePG
	}
	return typeMySQL
}

func engineOf(typ string) dbaas.Engine {
	if typ == typePG {
		return dbaas.Postgres
	}
	return dbaas.MySQL
}

func fromPG(s *v3.DBAASServicePG) *service {
	out := &service{name: string(s.Name), typ: typePG, plan: s.Plan, version: s.Version, zone: s.Zone, state: s.State,
		createdAt: s.CreatedAT, nodes: s.NodeCount, diskBytes: s.DiskSize, ipFilter: s.IPFilter, uriParams: s.URIParams, backups: s.Backups}
	out.protected = s.TerminationProtection != nil && *s.TerminationProtection
	for _, c := range s.Components {
		if c.Component == "pg" && c.Usage == v3.EnumComponentUsagePrimary && out.host == "" {
			out.host, out.port = c.Host, c.Port
		}
	}
	for _, d := range s.Databases {
		out.databases = append(out.databases, string(d))
	}
	for _, u := range s.Users {
		out.users = append(out.users, serviceUser{name: u.Username, kind: u.Type})
	}
	return out
}

func fromMySQL(s *v3.DBAASServiceMysql) *service {
	out := &service{name: string(s.Name), typ: typeMySQL, plan: s.Plan, version: s.Version, zone: s.Zone, state: s.State,
		createdAt: s.CreatedAT, nodes: s.NodeCount, diskBytes: s.DiskSize, ipFilter: s.IPFilter, uriParams: s.URIParams, backups: s.Backups}
	out.protected = s.TerminationProtection != nil && *s.TerminationProtection
	for _, c := range s.Components {
		if c.Component == "mysql" && c.Usage == v3.EnumComponentUsagePrimary && out.host == "" {
			out.host, out.port = c.Host, c.Port
		}
	}
	for _, d := range s.Databases {
		out.databases = append(out.databases, string(d))
	}
	for _, u := range s.Users {
		out.users = append(out.users, serviceUser{name: u.Username, kind: u.Type})
	}
	return out
}

// param reads a uri-params value as a string.
func (s *service) param(key string) string {
	switch v := s.uriParams[key].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// endpoint is the primary component's host and port, or uri-params'.
func (s *service) endpoint() dbaas.Endpoint {
	if s.host != "" && s.port > 0 {
		return dbaas.Endpoint{Host: s.host, Port: int(s.port)}
	}
	port, _ := strconv.Atoi(s.param("port"))
	return dbaas.Endpoint{Host: s.param("host"), Port: port}
}

// statusOf normalises a service state.
func statusOf(state v3.EnumServiceState) dbaas.Status {
	switch state {
	case v3.EnumServiceStateRunning:
		return dbaas.StatusAvailable
	case v3.EnumServiceStateRebuilding:
		return dbaas.StatusProvisioning
	case v3.EnumServiceStateRebalancing:
		return dbaas.StatusModifying
	case v3.EnumServiceStatePoweroff:
		return dbaas.StatusStopped
	}
	return dbaas.StatusUnknown
}

func (s *service) instance() *dbaas.Instance {
	inst := &dbaas.Instance{ID: s.name, Name: s.name, Provider: Name, Engine: engineOf(s.typ), Version: s.version,
		Status: statusOf(s.state), RawStatus: string(s.state), Region: s.zone, Size: s.plan, Nodes: int(s.nodes),
		StorageGB: int(s.diskBytes >> 30), CreatedAt: s.createdAt}
	if e := s.endpoint(); e.Validate() == nil {
		inst.Endpoint = e
	}
	return inst
}

// notFound is the error for a name that is no PostgreSQL or MySQL
// service of the zone.
func (p *provider) notFound(name string) error {
	return &dbaas.Error{Kind: dbaas.ErrNotFound, Err: fmt.Errorf("no PostgreSQL or MySQL service named %q in zone %s", truncate(name, 64), p.zone)}
}

// serviceType returns the type of service name: remembered, or learnt
// from the list of services.
func (p *provider) serviceType(ctx context.Context, name string) (string, error) {
	if t, ok := p.types.Load(name); ok {
		return t.(string), nil
	}
	if _, err := p.list(ctx); err != nil {
		return "", err
	}
	if t, ok := p.types.Load(name); ok {
		return t.(string), nil
	}
	return "", p.notFound(name)
}

// get reads service name.
func (p *provider) get(ctx context.Context, name string) (*service, error) {
	for attempt := 0; ; attempt++ {
		typ, err := p.serviceType(ctx, name)
		if err != nil {
			return nil, err
		}
		var s *service
		if typ == typePG {
			var r *v3.DBAASServicePG
			if r, err = p.client.GetDBAASServicePG(ctx, name); err == nil {
				s = fromPG(r)
			}
		} else {
			var r *v3.DBAASServiceMysql
			if r, err = p.client.GetDBAASServiceMysql(ctx, name); err == nil {
				s = fromMySQL(r)
			}
		}
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, v3.ErrNotFound) {
			return nil, explain(err)
		}
		// The name may have been reused by a service of the other type.
		p.types.Delete(name)
		if attempt > 0 {
			return nil, err
		}
	}
}

// list reads the zone's services and remembers their types.
func (p *provider) list(ctx context.Context) ([]v3.DBAASServiceCommon, error) {
	r, err := p.client.ListDBAASServices(ctx)
	if err != nil {
		return nil, explain(err)
	}
	var out []v3.DBAASServiceCommon
	for _, s := range r.DBAASServices {
		if t := string(s.Type); t == typePG || t == typeMySQL {
			p.types.Store(string(s.Name), t)
			out = append(out, s)
		}
	}
	return out, nil
}

func (p *provider) Get(ctx context.Context, id string) (*dbaas.Instance, error) {
	s, err := p.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.instance(), nil
}

func (p *provider) List(ctx context.Context) ([]*dbaas.Instance, error) {
	list, err := p.list(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*dbaas.Instance, 0, len(list))
	for _, s := range list {
		out = append(out, &dbaas.Instance{ID: string(s.Name), Name: string(s.Name), Provider: Name, Engine: engineOf(string(s.Type)),
			Status: statusOf(s.State), RawStatus: string(s.State), Region: s.Zone, Size: s.Plan, Nodes: int(s.NodeCount),
			StorageGB: int(s.DiskSize >> 30), CreatedAt: s.CreatedAT})
	}
	return out, nil
}

// createRequest is what a create or a fork sends, for either type.
type createRequest struct {
	plan, version, adminUser, adminPassword string
	ipFilter                                []string
	protected                               bool
	forkFrom, recoveryTime                  string
}

// checkSpec applies the rules of the API description the adapter can
// check before any call.
func (p *provider) checkSpec(spec dbaas.Spec) (createRequest, error) {
	if spec.Region != "" && spec.Region != p.zone {
		return createRequest{}, dbaas.InvalidField("region", fmt.Sprintf("%q: this provider serves zone %s (open one provider per zone)", truncate(spec.Region, 32), p.zone))
	}
	if spec.Engine == dbaas.Postgres && spec.Version != "" && !slices.Contains(pgVersions, spec.Version) {
		return createRequest{}, dbaas.InvalidField("version", fmt.Sprintf("%q: PostgreSQL versions are %s", truncate(spec.Version, 16), strings.Join(pgVersions, ", ")))
	}
	if pw := spec.AdminPassword.Reveal(); pw != "" && !adminPasswordRE().MatchString(pw) {
		return createRequest{}, dbaas.InvalidField("admin_password", "Exoscale takes 8 to 256 letters, digits, '-' and '_'")
	}
	req := createRequest{plan: spec.Size, version: spec.Version, adminUser: spec.AdminUser, adminPassword: spec.AdminPassword.Reveal(),
		protected: spec.DeletionProtection}
	for _, s := range spec.Access {
		req.ipFilter = append(req.ipFilter, s.Value)
	}
	return req, nil
}

func (p *provider) Create(ctx context.Context, spec dbaas.Spec) (*dbaas.Instance, error) {
	req, err := p.checkSpec(spec)
	if err != nil {
		return nil, err
	}
	return p.create(ctx, spec, req)
}

// create sends a create (or a fork) and follows its operation. After a
// failure whose outcome is unknown (a 5xx or a lost connection) it looks
// the name up: a service that exists now was made by this request, one
// that does not is asked for once more.
func (p *provider) create(ctx context.Context, spec dbaas.Spec, req createRequest) (*dbaas.Instance, error) {
	typ := typeOf(spec.Engine)
	var op *v3.Operation
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		op, err = p.post(ctx, typ, spec.Name, req)
		if err == nil || !ambiguous(err) {
			break
		}
		if _, gerr := p.lookup(ctx, typ, spec.Name); gerr == nil {
			// It was made: its operation is lost, the service's state says
			// the rest.
			op, err = nil, nil
			break
		}
	}
	switch {
	case errors.Is(err, v3.ErrConflict):
		return nil, &dbaas.Error{Kind: dbaas.ErrAlreadyExists, Err: fmt.Errorf("a service named %s exists already: %w", spec.Name, err)}
	case errors.Is(err, v3.ErrBadRequest):
		return nil, apiFieldError(err)
	case err != nil:
		return nil, explain(err)
	}
	p.types.Store(spec.Name, typ)
	if op != nil {
		if err := p.follow(ctx, op); err != nil {
			return nil, err
		}
	}
	return &dbaas.Instance{ID: spec.Name, Name: spec.Name, Provider: Name, Engine: spec.Engine, Version: spec.Version,
		Status: dbaas.StatusProvisioning, RawStatus: string(v3.EnumServiceStateRebuilding), Region: p.zone, Size: spec.Size,
		CreatedAt: p.clock.Now().UTC()}, nil
}

// post sends the create request of typ.
func (p *provider) post(ctx context.Context, typ, name string, r createRequest) (*v3.Operation, error) {
	var protect *bool
	if r.protected {
		protect = v3.Bool(true)
	}
	if typ == typePG {
		return p.client.CreateDBAASServicePG(ctx, name, v3.CreateDBAASServicePGRequest{
			Plan: r.plan, Version: v3.DBAASPGTargetVersions(r.version), IPFilter: r.ipFilter, TerminationProtection: protect,
			AdminUsername: r.adminUser, AdminPassword: r.adminPassword,
			ForkFromService: v3.DBAASServiceName(r.forkFrom), RecoveryBackupTime: r.recoveryTime,
		})
	}
	return p.client.CreateDBAASServiceMysql(ctx, name, v3.CreateDBAASServiceMysqlRequest{
		Plan: r.plan, Version: r.version, IPFilter: r.ipFilter, TerminationProtection: protect,
		AdminUsername: r.adminUser, AdminPassword: r.adminPassword,
		ForkFromService: v3.DBAASServiceName(r.forkFrom), RecoveryBackupTime: r.recoveryTime,
	})
}

// lookup reads service name as type typ, without the type cache.
func (p *provider) lookup(ctx context.Context, typ, name string) (*service, error) {
	if typ == typePG {
		r, err := p.client.GetDBAASServicePG(ctx, name)
		if err != nil {
			return nil, err
		}
		return fromPG(r), nil
	}
	r, err := p.client.GetDBAASServiceMysql(ctx, name)
	if err != nil {
		return nil, err
	}
	return fromMySQL(r), nil
}

// ambiguous reports whether a write's failure leaves its outcome
// unknown: the API may have acted on it.
func ambiguous(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var apiErr *v3.APIError
	if !errors.As(err, &apiErr) {
		return true // the connection failed: the request may have arrived
	}
	for _, e := range []error{v3.ErrInternalServerError, v3.ErrBadGateway, v3.ErrServiceUnavailable, v3.ErrGatewayTimeout} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// apiFieldError names the spec field a 400 is about, when its message
// says.
func apiFieldError(err error) error {
	var apiErr *v3.APIError
	if !errors.As(err, &apiErr) {
		return err
	}
	msg := strings.ToLower(apiErr.Message)
	for _, f := range []struct{ word, field string }{
		{"recovery-backup-time", "from.time"}, {"fork-from-service", "from"}, {"plan", "size"}, {"version", "version"},
		{"ip-filter", "access"}, {"admin-password", "admin_password"}, {"admin-username", "admin_user"},
		{"service name", "name"}, {"zone", "region"},
	} {
		if strings.Contains(msg, f.word) {
			return &fieldError{field: dbaas.InvalidField(f.field, apiErr.Message), api: err}
		}
	}
	return err
}

// fieldError is the API's refusal of an input, named by the spec field
// it is about; it reads as the field's rule and unwraps to both the
// validation error and egoscale's.
type fieldError struct{ field, api error }

func (e *fieldError) Error() string   { return e.field.Error() }
func (e *fieldError) Unwrap() []error { return []error{e.field, e.api} }

func (p *provider) Delete(ctx context.Context, id string, _ dbaas.DeleteOptions) error {
	if _, err := p.serviceType(ctx, id); err != nil {
		return err
	}
	op, err := p.client.DeleteDBAASService(ctx, id)
	switch {
	case errors.Is(err, v3.ErrForbidden) && strings.Contains(strings.ToLower(err.Error()), "termination"):
		return &dbaas.Error{Kind: dbaas.ErrConflict, Err: fmt.Errorf("termination protection is on: turn it off before deleting: %w", err)}
	case err != nil:
		return explain(err)
	}
	if err := p.follow(ctx, op); err != nil {
		return err
	}
	p.types.Delete(id)
	p.userDBs.Range(func(k, _ any) bool {
		if strings.HasPrefix(k.(string), userKey(id, "")) {
			p.userDBs.Delete(k)
		}
		return true
	})
	return nil
}
