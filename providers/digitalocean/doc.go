// Package digitalocean is the dbaas provider for DigitalOcean managed
// databases (PostgreSQL and MySQL), built on the official godo client.
// Importing it registers the provider as "digitalocean":
//
//	import _ "github.com/agiledeploy/dbaaskit/providers/digitalocean"
//
//	p, err := dbaas.Open(ctx, "digitalocean", dbaas.Config{Region: "fra1"})
//	inst, err := p.Create(ctx, dbaas.Spec{Name: "web-db", Engine: dbaas.Postgres,
//		Version: "16", Size: "db-s-1vcpu-1gb",
//		Access: []dbaas.Source{dbaas.MustParseSource("10.110.0.0/20")}})
//	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{})
//
// The token comes from dbaas.Config.Token, else DIGITALOCEAN_TOKEN, else
// DIGITALOCEAN_ACCESS_TOKEN; without one, Open fails at once. Settings:
// "rate_limit" (requests a minute, default 250), "hourly_rate_limit"
// (default 5,000) and "max_retries".
//
// Mapping: engine postgres is "pg", mysql is "mysql" (mariadb is
// ErrUnsupported). Status creating → provisioning, online → available,
// resizing and migrating → modifying, forking → restoring. Tags key=value
// are sent as "key:value". Access sources map to firewall rules: cidr →
// ip_addr, instance → droplet, tag, k8s and app as themselves. A spec with
// no Access (and no AllowWorld) gets one rule for its VPC's range, because
// DigitalOcean lets every address in when a cluster has no rule; for the
// same reason Revoke keeps the last rule unless the context opted in with
// dbaas.WithWorldAccess (Capabilities.EmptyAccessIsWorld).
//
// The API replaces all firewall rules on each write, so Allow and Revoke
// read, write and read again, starting over when a concurrent writer
// dropped their change; callers of one Provider are serialised per
// cluster. Two processes that write the same cluster's rules at the same
// moment can still lose a rule that was confirmed before the other's
// stale write landed: the API offers no conditional write. Run one
// writer per cluster (dbaas.SyncAccess from one cron job) to be safe.
//
// Backups: DigitalOcean takes daily backups and keeps them 7 days; there
// is no on-demand or final backup (Backup returns ErrUnsupported, Delete
// needs SkipFinalBackup). Restore forks a new cluster from a backup of
// Backups (dbaas.FromBackup(id)); dbaas.AtTime is ErrUnsupported.
//
// Application databases and users (Capabilities.AppUsers "api"): the
// API makes, lists and drops them (/dbs, /users) and generates every
// user's password, which it also reads back for an existing user;
// RotatePassword is the API's reset_auth, the cloud choosing the new
// password. The API gives a PostgreSQL or MySQL user no privilege
// control, so EnsureUser gives the user its database and nothing else
// over SQL with the doadmin connection (PostgreSQL: owner of the
// database and its public schema, PUBLIC no longer allowed to connect;
// MySQL: all privileges on database.*), and DropUser first hands what a
// PostgreSQL user owns back to doadmin. A password the caller chooses
// (the toolkit's line gives one) is set over SQL too; the API then keeps
// reporting the one it generated, so give such a user's password again
// on later calls. Those SQL steps need the cluster's endpoint to be
// reachable (a trusted source in its firewall); a user EnsureUser made
// is deleted again when one fails.
//
// Requests go through a transport that adds the token, keeps the whole
// provider under the account's rate limits (250 a minute, 5,000 an hour)
// and retries 429 (honouring Retry-After and RateLimit-Reset) and, except
// for POST, 5xx and lost connections, with capped exponential backoff.
// godo's own retrying client is not used: it needs an oauth2 client (it
// panics with a plain one) and resends POSTs blindly. A create whose
// outcome is unknown is looked up by name before it is sent again; one
// whose context ends in flight is looked up too, and a cluster made
// anyway is returned with the error.
//
// Errors carry the dbaas sentinel of their status and error id (a 422
// names the Spec field at fault); the *godo.ErrorResponse stays
// reachable with errors.As. Spec fields DigitalOcean never honours
// (AdminPassword, Subnet, DeletionProtection, PublicAccess) are refused
// as ErrUnsupported before any call (Capabilities.RefusedFields). As
// hands out the *godo.Client for what the common interface does not
// cover.
package digitalocean
