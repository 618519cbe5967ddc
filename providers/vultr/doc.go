// Package vultr is the dbaaskit adapter for Vultr Managed Databases
// (PostgreSQL and MySQL), through the official client, govultr v3.
// Importing it registers the provider "vultr":
//
//	import _ "github.com/agiledeploy/dbaaskit/providers/vultr"
//
//	p, err := dbaas.Open(ctx, "vultr", dbaas.Config{Region: "ewr"}) // key from VULTR_API_KEY
//	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop-db", Engine: dbaas.Postgres, Version: "16",
//		Size: "vultr-dbaas-startup-cc-1-55-2", Access: []dbaas.Source{dbaas.MustParseSource("203.0.113.0/24")}})
//
// What maps to what: Spec.Name is the label (Vultr allows two databases
// of one label; the provider refuses a second with ErrAlreadyExists, and
// looks the label up before sending a create again after an answer that
// never came, so a database is never made twice), Size the plan (which
// fixes nodes and disk), Region the region, PrivateNetwork the vpc_id,
// Access the trusted IPs (CIDRs and single addresses), one Tags entry
// the tag. Vultr chooses the port (Capabilities.CustomPort is false; the
// port is known once the database is made: check it with
// dbaas.CheckPort), the administrator (vultradmin), the password and the
// database (defaultdb). Statuses: Rebuilding is provisioning, Running
// available, Rebalancing modifying.
//
// Access: an empty trusted IP list lets every address in on Vultr, so
// Create needs Access (or Spec.AllowWorld), and Revoke refuses to remove
// the last source unless the context allows world access
// (dbaas.WithWorldAccess). The API replaces the whole list on each
// update: Allow and Revoke read, change, write and read again to confirm,
// and calls of one provider on one database take turns.
//
// Backups: Vultr takes daily backups itself and has no on-demand backup
// (Backup is ErrUnsupported). Backups lists the oldest and the latest
// and the point-in-time window from the oldest to now; Restore forks the
// source into a new database, of the latest backup (type basebackup) or
// of a moment (type pitr). Deleted databases keep no backup.
//
// Application databases and users go through the API (/dbs, /users;
// Capabilities.AppUsers is "api"). The API cannot restrict a PostgreSQL
// or MySQL user to one database: its access controls are for Redis and
// Valkey only. A user has the rights Vultr gives every user it makes.
//
// Requests keep to a client-side limit of 30 a second (Vultr answers 429
// past it), and are retried with backoff after a 429, and after a 5xx or
// a lost connection when they are idempotent. Errors wrap the dbaas
// sentinels; an error answer of the API is an *APIError (status and the
// API's message) wrapping govultr's error.
//
// Settings (dbaas.Config.Settings): retries, retry_wait, retry_max_wait,
// rate_limit (requests a second), rate_burst. Spec.Options:
// maintenance_dow, maintenance_time.
//
// As hands out *govultr.Client (its requests go through the provider's
// rate limit and key).
package vultr
