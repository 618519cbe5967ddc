package toolkit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// The clouds whose toolkit strings Parse recognises, named as their dbaas
// providers are registered.
const (
	DigitalOcean = "digitalocean"
	Linode       = "linode"
	AWS          = "aws"
	Vultr        = "vultr"
	Exoscale     = "exoscale"
	// Local is the embedded default: real servers on this machine
	// (providers/local), so the whole toolkit step runs without a cloud.
	Local = "local"
)

// Config is a parsed toolkit string.
type Config struct {
	// Provider is the registered name of the provider the string is for.
	Provider string
	// Kind is the toolkit's word before ":DBAAS:" (MySQL, Maria or
	// Postgres), as written.
	Kind string
	// Spec is the database the string describes. It passes Validate.
	Spec dbaas.Spec
	// AppDatabase, AppUser and AppPassword are the database and user the
	// toolkit makes inside a DigitalOcean or Linode cluster after creating
	// it: those clouds' create takes no such fields (the administrator is
	// theirs), so they are kept apart from Spec. On AWS they are the
	// instance's own (Spec.Database, AdminUser, AdminPassword) and these
	// are empty.
	AppDatabase string
	AppUser     string
	AppPassword dbaas.Secret
}

// form is one cloud's field layout after "KIND:DBAAS:".
type form struct {
	cloud  string
	fields []string
	// optional is how many trailing fields may be left off together.
	optional int
	// specField maps the dbaas.Spec field names used by Validate to the
	// toolkit's field names, so a rule broken by the spec names the
	// toolkit field the user wrote.
	specField map[string]string
	supported bool
}

var forms = []form{
	{cloud: DigitalOcean, supported: true,
		fields: []string{"engine", "region", "nodes", "size", "version", "cluster", "db", "user", "pass", "vpc_uuid"},
		specField: map[string]string{"engine": "engine", "region": "region", "nodes": "nodes", "size": "size",
			"version": "version", "name": "cluster", "database": "db", "admin_user": "user",
			"admin_password": "pass", "private_network": "vpc_uuid"}},
	{cloud: Linode, supported: true, optional: 2,
		fields: []string{"engine", "region", "type", "cluster_size", "label", "db", "user", "pass", "vpc_id", "subnet_id"},
		specField: map[string]string{"engine": "engine", "version": "engine", "region": "region", "size": "type",
			"nodes": "cluster_size", "name": "label", "database": "db", "admin_user": "user",
			"admin_password": "pass", "private_network": "vpc_id"}},
	{cloud: AWS, supported: true,
		fields: []string{"engine", "az", "class", "dbname", "identifier", "storageGB", "user", "pass"},
		specField: map[string]string{"engine": "engine", "region": "az", "size": "class", "database": "dbname",
			"name": "identifier", "storage_gb": "storageGB", "admin_user": "user", "admin_password": "pass"}},
	{cloud: Local, supported: true,
		fields: []string{"engine", "version", "name", "db", "user", "pass"},
		specField: map[string]string{"engine": "engine", "version": "version", "name": "name", "database": "db",
			"admin_user": "user", "admin_password": "pass"}},
	{cloud: Vultr, supported: true,
		fields: []string{"engine", "version", "region", "plan", "db", "label", "vpc"},
		specField: map[string]string{"engine": "engine", "version": "version", "region": "region", "size": "plan",
			"database": "db", "name": "label", "private_network": "vpc"}},
	{cloud: Exoscale, supported: true, fields: []string{"engine", "zone", "size", "name"},
		specField: map[string]string{"engine": "engine", "region": "zone", "size": "size", "name": "name"}},
}

func formOf(cloud string) (form, bool) {
	for _, f := range forms {
		if f.cloud == cloud {
			return f, true
		}
	}
	return form{}, false
}

// Form returns the layout of cloud's toolkit string, such as
// "KIND:DBAAS:engine:az:class:dbname:identifier:storageGB:user:pass" for
// aws, or "" for a cloud the toolkit has no form for.
func Form(cloud string) string {
	f, ok := formOf(cloud)
	if !ok {
		return ""
	}
	s := "KIND:DBAAS:" + strings.Join(f.fields[:len(f.fields)-f.optional], ":")
	if f.optional > 0 {
		s += "[:" + strings.Join(f.fields[len(f.fields)-f.optional:], ":") + "]"
	}
	return s
}

// Clouds lists the clouds that have a toolkit form, supported or not.
func Clouds() []string {
	out := make([]string, len(forms))
	for i, f := range forms {
		out[i] = f.cloud
	}
	return out
}

// ParseError is a toolkit string that breaks a rule. It names the field by
// position and name and the form expected, never a field's value when
// that field is the password. It wraps dbaas.ErrInvalidArgument.
type ParseError struct {
	// Cloud is the form the string was read as; empty when none fits.
	Cloud string
	// Field is the toolkit name of the field at fault ("nodes"), or empty
	// when the string as a whole is at fault.
	Field string
	// Position is the 1-based position of Field among all colon-separated
	// fields (the kind is 1, DBAAS 2), or 0.
	Position int
	// Rule says what is wrong and what is expected.
	Rule string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("toolkit string")
	if e.Cloud != "" {
		b.WriteString(" (" + e.Cloud + " form " + Form(e.Cloud) + ")")
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %d (%s)", e.Position, e.Field)
	}
	b.WriteString(": ")
	b.WriteString(e.Rule)
	return b.String()
}

// Unwrap makes errors.Is(err, dbaas.ErrInvalidArgument) true.
func (e *ParseError) Unwrap() error { return dbaas.ErrInvalidArgument }

// maxInput bounds what Parse reads; real strings are under 300 bytes.
const maxInput = 2048

// Parse reads a DATABASE_DBaaS_INSTALLATION_TYPE string. cloud chooses the
// form (digitalocean, linode, aws, vultr, exoscale); any other value,
// including "", makes Parse tell the form from the string's shape.
//
// A malformed string gives a *ParseError (wrapping
// dbaas.ErrInvalidArgument) naming the field and the form; a form
// recognised but not supported would give an error wrapping
// dbaas.ErrUnsupported that names the cloud. Empty optional fields (pass, user, vpc) mean the provider's
// default.
func Parse(s, cloud string) (*Config, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, &ParseError{Rule: "is empty: want KIND:DBAAS:fields..., see the forms of " + strings.Join(Clouds(), ", ")}
	}
	if len(s) > maxInput {
		return nil, &ParseError{Rule: fmt.Sprintf("is longer than %d bytes", maxInput)}
	}
	parts := strings.Split(s, ":")
	if len(parts) < 3 || !strings.EqualFold(parts[1], "DBAAS") {
		return nil, &ParseError{Rule: "does not start with KIND:DBAAS: (KIND is MySQL, Maria or Postgres)"}
	}
	kind := parts[0]
	family, ok := kindFamily(kind)
	if !ok {
		return nil, &ParseError{Field: "kind", Position: 1, Rule: fmt.Sprintf("%q is not MySQL, Maria or Postgres", clip(kind))}
	}
	fields := parts[2:]
	f, ok := formOf(cloud)
	if !ok {
		f, ok = detect(fields)
		if !ok {
			return nil, &ParseError{Rule: fmt.Sprintf("has %d fields after DBAAS, which fits no form: want %s",
				len(fields), allForms())}
		}
	}
	if len(fields) != len(f.fields) && len(fields) != len(f.fields)-f.optional {
		if other, ok := detect(fields); ok && other.cloud != f.cloud {
			if !other.supported {
				return nil, unsupported(other.cloud)
			}
			return nil, &ParseError{Cloud: f.cloud, Rule: fmt.Sprintf("has %d fields after DBAAS, the shape of the %s form, not this one", len(fields), other.cloud)}
		}
		want := strconv.Itoa(len(f.fields))
		if f.optional > 0 {
			want = fmt.Sprintf("%d or %d", len(f.fields)-f.optional, len(f.fields))
		}
		return nil, &ParseError{Cloud: f.cloud, Rule: fmt.Sprintf("has %d fields after DBAAS, want %s (a password may not hold ':')", len(fields), want)}
	}
	if !f.supported {
		return nil, unsupported(f.cloud)
	}
	p := parser{form: f, fields: fields}
	spec := p.spec()
	if p.err != nil {
		return nil, p.err
	}
	if spec.Engine.MySQLFamily() != (family == "mysql") {
		return nil, p.fail("engine", fmt.Sprintf("%s engine %s does not match the kind %s", f.cloud, spec.Engine, clip(kind)))
	}
	// The app fields obey the spec's rules for names and passwords.
	if err := spec.Validate(); err != nil {
		return nil, p.specError(err)
	}
	cfg := &Config{Provider: f.cloud, Kind: kind, Spec: spec}
	if f.cloud != AWS {
		cfg.AppDatabase, cfg.AppUser, cfg.AppPassword = spec.Database, spec.AdminUser, spec.AdminPassword
		cfg.Spec.Database, cfg.Spec.AdminUser, cfg.Spec.AdminPassword = "", "", dbaas.Secret{}
	}
	return cfg, nil
}

func unsupported(cloud string) error {
	return &dbaas.Error{Provider: cloud, Op: "toolkit", Kind: dbaas.ErrUnsupported,
		Err: errors.New("the toolkit's " + cloud + " form is recognised but dbaaskit has no " + cloud + " provider yet; supported forms: " + supportedForms())}
}

func supportedForms() string {
	var names []string
	for _, f := range forms {
		if f.supported {
			names = append(names, f.cloud)
		}
	}
	return strings.Join(names, ", ")
}

func allForms() string {
	parts := make([]string, 0, len(forms))
	for _, f := range forms {
		parts = append(parts, f.cloud+" "+Form(f.cloud))
	}
	return strings.Join(parts, "; ")
}

// detect tells the form from the shape: Linode engines carry their version
// ("mysql/8"); the other forms differ in their number of fields. A bad
// value inside a form is then reported by name rather than as a shape
// that fits nothing.
func detect(fields []string) (form, bool) {
	n := len(fields)
	var cloud string
	switch {
	case strings.Contains(fields[0], "/") && (n == 8 || n == 10):
		cloud = Linode
	case n == 10:
		cloud = DigitalOcean
	case n == 8:
		cloud = AWS
	case n == 7:
		cloud = Vultr
	case n == 6:
		cloud = Local
	case n == 4:
		cloud = Exoscale
	default:
		return form{}, false
	}
	return formOf(cloud)
}

func kindFamily(kind string) (string, bool) {
	switch strings.ToLower(kind) {
	case "mysql", "maria", "mariadb":
		return "mysql", true
	case "postgres", "postgresql":
		return "postgres", true
	}
	return "", false
}

// clip shortens echoed input so a long field cannot flood a message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

type parser struct {
	form   form
	fields []string
	err    error
}

func (p *parser) index(name string) int {
	for i, f := range p.form.fields {
		if f == name {
			return i
		}
	}
	panic("toolkit: unknown field " + name)
}

// get returns the named field, or "" when it is an absent optional one.
func (p *parser) get(name string) string {
	i := p.index(name)
	if i >= len(p.fields) {
		return ""
	}
	return p.fields[i]
}

func (p *parser) fail(name, rule string) error {
	err := &ParseError{Cloud: p.form.cloud, Field: name, Position: p.index(name) + 3, Rule: rule}
	if p.err == nil {
		p.err = err
	}
	return err
}

func (p *parser) required(name string) string {
	v := p.get(name)
	if v == "" && p.err == nil {
		p.fail(name, "is empty")
	}
	return v
}

func (p *parser) number(name string, lo, hi int) int {
	v := p.required(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(name, fmt.Sprintf("%q is not a whole number from %d to %d", clip(v), lo, hi))
		return 0
	}
	return n
}

func (p *parser) engine(v string) dbaas.Engine {
	if v == "" {
		p.fail("engine", "is empty")
		return ""
	}
	e, err := dbaas.ParseEngine(v)
	if err != nil {
		p.fail("engine", fmt.Sprintf("%q is not mysql, mariadb, postgres or pg", clip(v)))
	}
	return e
}

func (p *parser) spec() dbaas.Spec {
	var s dbaas.Spec
	switch p.form.cloud {
	case DigitalOcean:
		s.Engine = p.engine(p.get("engine"))
		s.Region = p.required("region")
		s.Nodes = p.number("nodes", 1, dbaas.MaxNodes)
		s.Size = p.required("size")
		s.Version = p.get("version")
		s.Name = p.required("cluster")
		s.Database = p.get("db")
		s.AdminUser = p.get("user")
		s.AdminPassword = dbaas.NewSecret(p.get("pass"))
		s.PrivateNetwork = p.get("vpc_uuid")
	case Linode:
		eng, ver, ok := strings.Cut(p.get("engine"), "/")
		if !ok || ver == "" {
			p.fail("engine", fmt.Sprintf("%q is not engine/version such as mysql/8 or postgresql/16", clip(p.get("engine"))))
		}
		s.Engine = p.engine(eng)
		s.Version = ver
		s.Region = p.required("region")
		s.Size = p.required("type")
		s.Nodes = p.number("cluster_size", 1, dbaas.MaxNodes)
		s.Name = p.required("label")
		s.Database = p.get("db")
		s.AdminUser = p.get("user")
		s.AdminPassword = dbaas.NewSecret(p.get("pass"))
		s.PrivateNetwork = p.get("vpc_id")
		s.Subnet = p.get("subnet_id")
		if (s.PrivateNetwork == "") != (s.Subnet == "") {
			p.fail("subnet_id", "vpc_id and subnet_id go together: give both or neither")
		}
	case AWS:
		s.Engine = p.engine(p.get("engine"))
		s.Region = p.required("az")
		s.Size = p.required("class")
		s.Database = p.get("dbname")
		s.Name = p.required("identifier")
		s.StorageGB = p.number("storageGB", dbaas.MinStorageGB, dbaas.MaxStorageGB)
		s.AdminUser = p.get("user")
		s.AdminPassword = dbaas.NewSecret(p.get("pass"))
	case Vultr:
		s.Engine = p.engine(p.get("engine"))
		s.Version = p.required("version")
		s.Region = p.required("region")
		s.Size = p.required("plan")
		s.Database = p.get("db")
		s.Name = p.required("label")
		s.PrivateNetwork = p.get("vpc")
	case Local:
		s.Engine = p.engine(p.get("engine"))
		s.Version = p.get("version")
		s.Name = p.required("name")
		s.Size = "small"
		s.Database = p.get("db")
		s.AdminUser = p.get("user")
		s.AdminPassword = dbaas.NewSecret(p.get("pass"))
	case Exoscale:
		s.Engine = p.engine(p.get("engine"))
		s.Region = p.required("zone")
		s.Size = p.required("size")
		s.Name = p.required("name")
	}
	return s
}

// specError renames the spec fields of a validation error to the toolkit's
// and keeps its rules (which never quote the password).
func (p *parser) specError(err error) error {
	ve, ok := dbaas.AsValidationError(err)
	if !ok || len(ve.Problems) == 0 {
		return &ParseError{Cloud: p.form.cloud, Rule: err.Error()}
	}
	prob := ve.Problems[0]
	name, ok := p.form.specField[prob.Field]
	if !ok {
		return &ParseError{Cloud: p.form.cloud, Rule: prob.Error()}
	}
	return &ParseError{Cloud: p.form.cloud, Field: name, Position: p.index(name) + 3, Rule: prob.Rule}
}

// Format writes cfg back as a toolkit string of its Provider's form. It is
// the inverse of Parse for every string Parse accepts (up to spelling:
// engines are written as the cloud's CLI spells them).
func Format(cfg *Config) (string, error) {
	if cfg == nil {
		return "", errors.New("toolkit format: config is nil")
	}
	s := cfg.Spec
	if cfg.Provider != AWS {
		s.Database, s.AdminUser, s.AdminPassword = cfg.AppDatabase, cfg.AppUser, cfg.AppPassword
	}
	kind := cfg.Kind
	if kind == "" {
		kind = "MySQL"
		if s.Engine == dbaas.Postgres {
			kind = "Postgres"
		}
	}
	pass := s.AdminPassword.Reveal()
	var fields []string
	switch cfg.Provider {
	case DigitalOcean:
		eng := string(s.Engine)
		if s.Engine == dbaas.Postgres {
			eng = "pg"
		}
		fields = []string{eng, s.Region, strconv.Itoa(max(s.Nodes, 1)), s.Size, s.Version, s.Name, s.Database, s.AdminUser, pass, s.PrivateNetwork}
	case Linode:
		eng := string(s.Engine)
		if s.Engine == dbaas.Postgres {
			eng = "postgresql"
		}
		fields = []string{eng + "/" + s.Version, s.Region, s.Size, strconv.Itoa(max(s.Nodes, 1)), s.Name, s.Database, s.AdminUser, pass}
		if s.PrivateNetwork != "" || s.Subnet != "" {
			fields = append(fields, s.PrivateNetwork, s.Subnet)
		}
	case AWS:
		fields = []string{string(s.Engine), s.Region, s.Size, s.Database, s.Name, strconv.Itoa(s.StorageGB), s.AdminUser, pass}
	case Vultr:
		eng := string(s.Engine)
		if s.Engine == dbaas.Postgres {
			eng = "pg"
		}
		fields = []string{eng, s.Version, s.Region, s.Size, s.Database, s.Name, s.PrivateNetwork}
	case Local:
		fields = []string{string(s.Engine), s.Version, s.Name, s.Database, s.AdminUser, pass}
	case Exoscale:
		eng := string(s.Engine)
		if s.Engine == dbaas.Postgres {
			eng = "pg"
		}
		fields = []string{eng, s.Region, s.Size, s.Name}
	default:
		return "", fmt.Errorf("toolkit format: provider %q has no supported toolkit form: %w", clip(cfg.Provider), dbaas.ErrUnsupported)
	}
	return kind + ":DBAAS:" + strings.Join(fields, ":"), nil
}
