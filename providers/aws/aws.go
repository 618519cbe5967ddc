package aws

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/logging"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/driver"
)

// Name is the name the provider registers under.
const Name = "aws"

// DefaultSecurityGroupName is the security group the toolkit's web
// servers belong to, and which its databases let in.
const DefaultSecurityGroupName = "AgileDeploymentToolkitSecurityGroup"

// DefaultSubnetGroupName is the DB subnet group Create makes from
// Options.SubnetIDs.
const DefaultSubnetGroupName = "agiledeploymenttoolkit"

// Retry defaults: the SDK's standard retryer with more attempts than its
// default of 3, so that a throttled burst is waited out rather than
// reported, and without its client-side retry quota, which turns a long
// throttled burst into failures.
const (
	DefaultMaxAttempts = 8
	DefaultMaxBackoff  = 20 * time.Second
)

// typicalProvisioning is how long RDS usually takes to create a
// single-AZ instance and its first automated backup: ten to fifteen
// minutes is common, so Wait polls seldom before twelve.
const typicalProvisioning = 12 * time.Minute

// Options configures a Provider. Zero values take the documented
// defaults.
type Options struct {
	// Region is the AWS region; default the one of the default chain
	// (AWS_REGION, the shared config).
	Region string
	// Profile is the shared config profile; default AWS_PROFILE or
	// "default".
	Profile string
	// Credentials, when set, replace the default chain (environment,
	// shared config and credentials files, SSO, IMDS).
	Credentials aws.CredentialsProvider
	// BaseEndpoint points the RDS, EC2 and Secrets Manager clients at
	// another endpoint, such as an awssim simulator.
	BaseEndpoint string
	// HTTPClient is used for API calls; nil means a client of the
	// provider's own, on the SDK's default transport, that Close
	// releases. A client given here is the caller's to close.
	HTTPClient *http.Client
	// VPCID is the VPC of the security group; default the account's
	// default VPC.
	VPCID string
	// SubnetIDs, when set and SubnetGroup is empty, make Create ensure a
	// DB subnet group named DefaultSubnetGroupName holding them.
	SubnetIDs []string
	// SubnetGroup is the DB subnet group of new instances (Spec.Subnet and
	// the subnet_group option override it).
	SubnetGroup string
	// SecurityGroupName is the group of the toolkit's web servers, which
	// Create finds (or makes) in the instance's VPC and lets in to each
	// instance's port from the instance's own group; default
	// DefaultSecurityGroupName.
	SecurityGroupName string
	// MasterPassword is what Connection returns for an instance whose
	// password RDS does not manage and this Provider did not set (RDS
	// cannot give a password back).
	MasterPassword dbaas.Secret
	// CABundlePEM is the RDS certificate bundle for the region
	// (https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem):
	// RDS gives no PEM through its API, so Connection returns this one.
	CABundlePEM []byte
	// TLS is the TLS mode Connection reports; default verify-full with a
	// CA bundle and require without.
	TLS dbaas.TLSMode
	// MaxAttempts and MaxBackoff tune the SDK's standard retryer; default
	// DefaultMaxAttempts and DefaultMaxBackoff.
	MaxAttempts int
	MaxBackoff  time.Duration
	// Clock names final snapshots; default the system clock.
	Clock dbaas.Clock
	// Observer is told of every call; nil means dbaas.SlogObserver(nil).
	Observer dbaas.Observer
	// Logger receives the AWS SDK's own log lines; nil discards them, so
	// that nothing reaches stderr uninvited.
	Logger logging.Logger
}

// Settings keys read by dbaas.Open(ctx, "aws", cfg); any other key is
// refused.
const (
	SettingAccessKeyID       = "access_key_id"
	SettingSecretAccessKey   = "secret_access_key"
	SettingSessionToken      = "session_token"
	SettingProfile           = "profile"
	SettingVPCID             = "vpc_id"
	SettingSubnetIDs         = "subnet_ids"
	SettingSubnetGroup       = "subnet_group"
	SettingSecurityGroupName = "security_group_name"
	SettingMasterPassword    = "master_password"
	SettingCABundleFile      = "ca_bundle_file"
	SettingTLS               = "tls"
	SettingMaxAttempts       = "max_attempts"
)

// capabilities are what every RDS provider can do, known without
// credentials. A provider given a CA bundle also returns it
// (CACertificate, see rdsDriver.Capabilities).
var capabilities = dbaas.Capabilities{
	Engines:             []dbaas.Engine{dbaas.Postgres, dbaas.MySQL, dbaas.MariaDB},
	SourceKinds:         []dbaas.SourceKind{dbaas.SourceCIDR, dbaas.SourceSecurityGroup},
	Provision:           true,
	Access:              true,
	OnDemandBackup:      true,
	ListBackups:         true,
	Restore:             true,
	PointInTimeRestore:  true,
	FinalBackup:         true,
	PrivateNetwork:      true,
	CustomPort:          true,
	ReadablePassword:    false, // see rdsDriver.Capabilities
	AppUsers:            dbaas.AppUsersSQL,
	TypicalProvisioning: typicalProvisioning,
}

// info is the provider's registration.
var info = driver.Info{
	Capabilities: capabilities,
	Settings: []string{SettingAccessKeyID, SettingSecretAccessKey, SettingSessionToken, SettingProfile,
		SettingVPCID, SettingSubnetIDs, SettingSubnetGroup, SettingSecurityGroupName, SettingMasterPassword,
		SettingCABundleFile, SettingTLS, SettingMaxAttempts},
	SpecOptions: []string{OptionFinalSnapshot, OptionManagePassword, OptionStorageEncrypted, OptionStorageType, OptionSubnetGroup},
	Open: func(ctx context.Context, cfg dbaas.Config) (driver.Driver, error) {
		opts, err := options(cfg)
		if err != nil {
			return nil, err
		}
		return newDriver(ctx, opts)
	},
}

func init() { driver.Register(Name, info) }

// Provider is the RDS provider: the portable dbaas.Provider over RDS, EC2
// security groups and Secrets Manager. It is safe for concurrent use.
type Provider struct {
	dbaas.Provider
}

// New returns a Provider. Credentials and region come from opts or, when
// absent, from the AWS default chain (environment, shared config and
// profiles, instance role). Without Options.Credentials it asks the chain
// for credentials once, within CredentialTimeout, and fails with
// dbaas.ErrPermissionDenied, in one line naming the sources tried, when
// there are none. Close releases it.
func New(ctx context.Context, opts Options) (*Provider, error) {
	d, err := newDriver(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Provider{Provider: driver.NewProvider(Name, d, info, opts.Observer)}, nil
}

// options reads a dbaas.Config for dbaas.Open; driver.Open has refused
// unknown settings.
func options(cfg dbaas.Config) (Options, error) {
	s := cfg.Settings
	if !cfg.Token.IsZero() {
		return Options{}, dbaas.InvalidField("token", "AWS takes no token: set the settings access_key_id and secret_access_key, or use the default credential chain")
	}
	opts := Options{
		Region: cfg.Region, Profile: s[SettingProfile], BaseEndpoint: cfg.BaseURL, HTTPClient: cfg.HTTPClient,
		VPCID: s[SettingVPCID], SubnetGroup: s[SettingSubnetGroup], SecurityGroupName: s[SettingSecurityGroupName],
		MasterPassword: dbaas.NewSecret(s[SettingMasterPassword]), TLS: dbaas.TLSMode(s[SettingTLS]),
	}
	if v := s[SettingSubnetIDs]; v != "" {
		for _, id := range strings.Split(v, ",") {
			opts.SubnetIDs = append(opts.SubnetIDs, strings.TrimSpace(id))
		}
	}
	switch ak, sk := s[SettingAccessKeyID], s[SettingSecretAccessKey]; {
	case ak != "" && sk != "":
		opts.Credentials = credentials.NewStaticCredentialsProvider(ak, sk, s[SettingSessionToken])
	case ak != "" || sk != "":
		return Options{}, dbaas.InvalidField("settings.access_key_id", "access_key_id and secret_access_key go together")
	}
	if f := s[SettingCABundleFile]; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return Options{}, dbaas.InvalidField("settings.ca_bundle_file", "cannot be read: "+err.Error())
		}
		opts.CABundlePEM = b
	}
	if v := s[SettingMaxAttempts]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 {
			return Options{}, dbaas.InvalidField("settings.max_attempts", "must be 1 to 20")
		}
		opts.MaxAttempts = n
	}
	return opts, nil
}

// rdsDriver is the driver.Driver over the SDK clients.
type rdsDriver struct {
	opts Options
	rds  *rds.Client
	ec2  *ec2.Client
	sm   *secretsmanager.Client
	// transport is the one of the HTTP client the driver made itself,
	// whose idle connections Close drops; nil when the caller gave one.
	transport *http.Transport

	mu            sync.Mutex
	groupIDs      map[string]string       // the toolkit's security group by VPC, once found or made
	defaultVPC    string                  // the account's default VPC, once asked
	pendingGroups map[string]string       // own groups of deleted instances RDS still held, by instance
	subnetsOK     bool                    // the subnet group exists
	passwords     map[string]dbaas.Secret // master passwords this provider set or carried over, by passwordKey
}

// newDriver checks opts, fills its defaults and makes the SDK clients.
func newDriver(ctx context.Context, opts Options) (*rdsDriver, error) {
	if opts.SecurityGroupName == "" {
		opts.SecurityGroupName = DefaultSecurityGroupName
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.Clock == nil {
		opts.Clock = dbaas.SystemClock{}
	}
	switch opts.TLS {
	case "":
		opts.TLS = dbaas.TLSRequire
		if len(opts.CABundlePEM) > 0 {
			opts.TLS = dbaas.TLSVerifyFull
		}
	case dbaas.TLSDisable, dbaas.TLSRequire, dbaas.TLSVerifyCA, dbaas.TLSVerifyFull:
	default:
		return nil, dbaas.InvalidField("tls", "must be disable, require, verify-ca or verify-full")
	}
	if len(opts.SubnetIDs) == 1 {
		return nil, dbaas.InvalidField("subnet_ids", "a DB subnet group needs subnets in at least two availability zones")
	}
	for i, id := range opts.SubnetIDs {
		if !strings.HasPrefix(id, "subnet-") {
			return nil, dbaas.InvalidField(fmt.Sprintf("subnet_ids[%d]", i), "must be a subnet id (subnet-…)")
		}
	}
	if opts.VPCID != "" && !strings.HasPrefix(opts.VPCID, "vpc-") {
		return nil, dbaas.InvalidField("vpc_id", "must be a VPC id (vpc-…)")
	}
	load := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = opts.MaxAttempts
				o.MaxBackoff = opts.MaxBackoff
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	if opts.Profile != "" {
		load = append(load, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.Credentials != nil {
		load = append(load, config.WithCredentialsProvider(opts.Credentials))
	}
	if opts.BaseEndpoint != "" {
		load = append(load, config.WithBaseEndpoint(opts.BaseEndpoint))
	}
	// The SDK logs to stderr by default (such as IMDS's "falling back to
	// IMDSv1"): only a logger asked for gets its lines.
	var logger logging.Logger = logging.Nop{}
	if opts.Logger != nil {
		logger = opts.Logger
	}
	load = append(load, config.WithLogger(logger))
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w: %w", dbaas.ErrInvalidArgument, err)
	}
	if cfg.Region == "" {
		return nil, dbaas.InvalidField("region", "is required: set it, AWS_REGION or the region of the profile")
	}
	if opts.Credentials == nil {
		if err := checkCredentials(ctx, cfg.Credentials, opts.Profile); err != nil {
			return nil, err
		}
	}
	opts.Region = cfg.Region
	d := &rdsDriver{opts: opts, passwords: map[string]dbaas.Secret{}, groupIDs: map[string]string{}, pendingGroups: map[string]string{}}
	switch bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); {
	case opts.HTTPClient != nil:
		// Set after loading: the loader would try to add AWS_CA_BUNDLE to
		// it, which only the SDK's own client type allows.
		cfg.HTTPClient = opts.HTTPClient
	case ok:
		// The SDK's client hides its transport; a copy of it (with
		// AWS_CA_BUNDLE applied) in a client of our own lets Close drop
		// the idle connections. Redirects are answers, as in the SDK's.
		d.transport = bc.GetTransport()
		cfg.HTTPClient = &http.Client{Transport: d.transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	d.rds, d.ec2, d.sm = rds.NewFromConfig(cfg), ec2.NewFromConfig(cfg), secretsmanager.NewFromConfig(cfg)
	return d, nil
}

// Capabilities are the registered ones, with CACertificate when a CA
// bundle was given, and ReadablePassword when Options.MasterPassword is
// set: RDS cannot give a password back, so without it Connection has
// none for an instance whose password RDS does not manage and this
// process did not set (made elsewhere, or restored from a snapshot of
// one).
func (d *rdsDriver) Capabilities() dbaas.Capabilities {
	c := capabilities
	c.CACertificate = len(d.opts.CABundlePEM) > 0
	c.ReadablePassword = !d.opts.MasterPassword.IsZero()
	return c
}

// passwordKey is what a master password is known by: the instance's
// resource id (DbiResourceId), which its snapshots carry and which a new
// instance of the same name does not share; the name when RDS gives none.
func passwordKey(resourceID, name string) string {
	if resourceID != "" {
		return resourceID
	}
	return "name:" + strings.ToLower(name)
}

// knownPassword returns the master password this process knows for the
// instance of that resource id and name.
func (d *rdsDriver) knownPassword(resourceID, name string) (dbaas.Secret, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if pw, ok := d.passwords[passwordKey(resourceID, name)]; ok {
		return pw, true
	}
	pw, ok := d.passwords[passwordKey("", name)]
	return pw, ok
}

// As hands out the SDK clients: target may be **rds.Client, **ec2.Client
// or **secretsmanager.Client.
func (d *rdsDriver) As(target any) bool {
	switch t := target.(type) {
	case **rds.Client:
		*t = d.rds
	case **ec2.Client:
		*t = d.ec2
	case **secretsmanager.Client:
		*t = d.sm
	default:
		return false
	}
	return true
}

// Close removes the own security groups of deleted instances that RDS
// has let go of since, forgets the passwords this provider knows and
// drops the idle connections of the HTTP client it made. Groups RDS still
// holds (their instances are still being deleted) are left, and the error
// names them.
func (d *rdsDriver) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	err := d.settleGroups(ctx)
	d.mu.Lock()
	clear(d.passwords)
	d.mu.Unlock()
	if d.transport != nil {
		d.transport.CloseIdleConnections()
	}
	return err
}

// closeTimeout bounds the calls Close makes.
const closeTimeout = 30 * time.Second
