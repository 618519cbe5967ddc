// Package exoscale is the dbaas provider for Exoscale DBaaS (PostgreSQL
// and MySQL services) through the official client,
// github.com/exoscale/egoscale/v3. Import it for its side effect:
//
//	import _ "github.com/agiledeploy/dbaaskit/providers/exoscale"
//
//	p, err := dbaas.Open(ctx, "exoscale", dbaas.Config{Region: "de-fra-1"})
//
// Credentials: the API key is Config.Token or EXOSCALE_API_KEY; the API
// secret is the api_secret_file setting (a file of mode 0600), the
// WithAPISecret option of New, or EXOSCALE_API_SECRET. Either missing is
// an error at open. The secret signs every request (EXO2-HMAC-SHA256) and
// never appears in an error or a log; a refused signature reads as such
// (dbaas.ErrPermissionDenied with a *SignatureError that names the
// credentials and the clock, since signatures expire).
//
// One provider serves one zone (Config.Region: ch-gva-2 by default,
// ch-dk-2, de-fra-1, de-muc-1, at-vie-1, at-vie-2, bg-sof-1, hr-zag-1),
// whose endpoint is https://api-<zone>.exoscale.com/v2, or
// Config.BaseURL. Instance ids are the service names.
//
// Spec: Size is the plan (hobbyist-2, startup-4, business-8, …, which
// fixes nodes and disk), Version the major version, Access the ip-filter
// (CIDRs), DeletionProtection the service's termination-protection,
// AdminUser and AdminPassword the admin-username and admin-password
// (letters, digits, '-' and '_'). The maintenance window is left to
// Exoscale's default. Fields the API has no place for (Nodes, StorageGB,
// Port, Database, PrivateNetwork, Subnet, BackupRetentionDays, Tags) are
// refused before any call; make an application database with the Apps
// methods once the service runs.
//
// Writes answer an asynchronous operation, which the provider follows
// (GET /operation/{id}); one that ends in failure is an error
// (*OperationError), never a success. GET, PUT and DELETE are retried on
// 429 and 5xx with backoff; a create is not sent again after an
// ambiguous failure unless a look-up shows that no service of its name
// exists. The requests_per_second setting paces the calls, max_retries
// bounds the retries.
//
// Backups are Exoscale's automatic ones (ids "<service>/<backup-name>");
// there is no on-demand or final backup. Restore forks a new service from
// a backup, or from a point in time of the window Backups reports
// (fork-from-service and recovery-backup-time). Connection reveals the
// admin password through the API and adds the organization's CA.
//
// As hands out the *v3.Client (github.com/exoscale/egoscale/v3), for
// what the common interface does not cover:
//
//	var client *v3.Client
//	if p.As(&client) { … }
package exoscale
