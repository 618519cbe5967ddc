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
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// Name is the name the provider registers under.
const Name = "aws"

// DefaultSecurityGroupName is the security group the toolkit has always
// used for its databases.
const DefaultSecurityGroupName = "AgileDeploymentToolkitSecurityGroup"

// TypicalProvisioning is how long RDS usually takes to create a
// single-AZ instance and its first automated backup: ten to fifteen
// minutes is common, so Wait polls seldom before twelve.
const TypicalProvisioning = 12 * time.Minute

// Retry defaults: the SDK's standard retryer with more attempts than its
// default of 3, so that a throttled burst is waited out rather than
// reported, and without its client-side retry quota, which turns a long
// throttled burst into failures.
const (
	DefaultMaxAttempts = 8
	DefaultMaxBackoff  = 20 * time.Second
)

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
	// HTTPClient is used for API calls; nil means the SDK's default.
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
	// SecurityGroupName is the group Create ensures and attaches and that
	// Allow and Revoke change; default DefaultSecurityGroupName.
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
}

// DefaultSubnetGroupName is the DB subnet group Create makes from
// Options.SubnetIDs.
const DefaultSubnetGroupName = "agiledeploymenttoolkit"

// Provider is the RDS adapter. It is safe for concurrent use.
type Provider struct {
	opts Options
	rds  *rds.Client
	ec2  *ec2.Client
	sm   *secretsmanager.Client

	mu        sync.Mutex
	groupIDs  map[string]string // the security group by VPC ("" the default), once found or made
	subnetsOK bool              // the subnet group exists
	passwords map[string]string // master passwords set by this Provider
}

var _ dbaas.Provider = (*Provider)(nil)

func init() { dbaas.Register(Name, open) }

// Settings keys read by the registered opener (dbaas.Open(ctx, "aws", cfg)).
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

func open(ctx context.Context, cfg dbaas.Config) (dbaas.Provider, error) {
	s := cfg.Settings
	if err := dbaas.UnknownSettings(Name, s, SettingAccessKeyID, SettingSecretAccessKey, SettingSessionToken, SettingProfile,
		SettingVPCID, SettingSubnetIDs, SettingSubnetGroup, SettingSecurityGroupName, SettingMasterPassword,
		SettingCABundleFile, SettingTLS, SettingMaxAttempts); err != nil {
		return nil, err
	}
	if !cfg.Token.IsZero() {
		return nil, dbaas.InvalidField("token", "AWS takes no token: set the settings access_key_id and secret_access_key, or use the default credential chain")
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
		return nil, dbaas.InvalidField("settings.access_key_id", "access_key_id and secret_access_key go together")
	}
	if f := s[SettingCABundleFile]; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, dbaas.NewError("open", Name, dbaas.ErrInvalidArgument, fmt.Errorf("settings.ca_bundle_file: %w", err))
		}
		opts.CABundlePEM = b
	}
	if v := s[SettingMaxAttempts]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 {
			return nil, dbaas.InvalidField("settings.max_attempts", "must be 1 to 20")
		}
		opts.MaxAttempts = n
	}
	return New(ctx, opts)
}

// New returns a Provider. Credentials and region come from opts or, when
// absent, from the AWS default chain (environment, shared config and
// profiles).
func New(ctx context.Context, opts Options) (*Provider, error) {
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
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, dbaas.NewError("open", Name, dbaas.ErrInvalidArgument, fmt.Errorf("load AWS configuration: %w", err))
	}
	if cfg.Region == "" {
		return nil, dbaas.InvalidField("region", "is required: set it, AWS_REGION or the region of the profile")
	}
	opts.Region = cfg.Region
	if opts.HTTPClient != nil {
		// Set after loading: the loader would try to add AWS_CA_BUNDLE to
		// it, which only the SDK's own client type allows.
		cfg.HTTPClient = opts.HTTPClient
	}
	return &Provider{
		opts:      opts,
		rds:       rds.NewFromConfig(cfg),
		ec2:       ec2.NewFromConfig(cfg),
		sm:        secretsmanager.NewFromConfig(cfg),
		passwords: map[string]string{},
		groupIDs:  map[string]string{},
	}, nil
}

// Capabilities says what RDS can do through this adapter.
func (p *Provider) Capabilities() dbaas.Capabilities {
	return dbaas.Capabilities{
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
		CACertificate:       len(p.opts.CABundlePEM) > 0,
		CustomPort:          true,
		ReadablePassword:    true,
		TypicalProvisioning: TypicalProvisioning,
	}
}

// As hands out the SDK clients: target may be **rds.Client, **ec2.Client
// or **secretsmanager.Client.
func (p *Provider) As(target any) bool {
	switch t := target.(type) {
	case **rds.Client:
		*t = p.rds
	case **ec2.Client:
		*t = p.ec2
	case **secretsmanager.Client:
		*t = p.sm
	default:
		return false
	}
	return true
}
