// Package linode is the dbaas provider for Linode (Akamai) managed
// databases, through the official linodego client. Import it for its side
// effect and open it by name:
//
//	import _ "github.com/agiledeploy/dbaaskit/providers/linode"
//
//	p, err := dbaas.Open(ctx, "linode", dbaas.Config{Region: "us-east"}) // token from LINODE_TOKEN
//	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Version: "16", Size: "g6-nanode-1"})
//	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{})
//
// # Mapping
//
// Engines are postgres and mysql (Linode's engine ids postgresql/N and
// mysql/N: Spec.Version gives the major version, default 16 and 8).
// Spec.Size is the plan type (g6-nanode-1, g6-standard-2,
// g6-dedicated-4, …), Spec.Nodes the cluster size, Spec.Name the label,
// Spec.PrivateNetwork and Spec.Subnet the VPC and subnet ids (numbers),
// with Spec.PublicAccess. Instance ids are "postgresql/<id>" or
// "mysql/<id>", the engine and number of the API's paths. Linode chooses
// the port, the admin user and password, the storage (by plan) and the
// backup window, and databases carry no tags: asking for them is
// ErrUnsupported, before any call (Capabilities.RefusedFields). Statuses: provisioning and resuming
// are provisioning, active is available, updating and degraded are
// modifying, backing_up is backing-up, restoring is restoring, suspending
// and suspended are stopped, failed is failed, deleting and deleted are
// deleting.
//
// # Access
//
// The allow_list takes IPv4 addresses and networks only (other source
// kinds are ErrUnsupported, IPv6 is ErrInvalidArgument); an empty list,
// the default, lets nobody in. A PUT replaces the whole list, so Allow and
// Revoke read it, write the new list and read it back to confirm, starting
// over when another writer replaced it in between. Calls through one
// Provider to one instance take turns, so none of them loses an entry.
// Linode offers no compare-and-swap, so a writer in another process whose
// PUT arrives after the confirming read can still drop an entry; the next
// SyncAccess (the toolkit's cron job) puts it back.
//
// # Backups and restore
//
// Linode takes daily backups on its own; its API has no on-demand backup
// and no backup list, and restoring is a fork: a new database made from
// another one as it was at a point in time. So Backup is ErrUnsupported,
// Backups returns the restorable window (from the API's
// oldest_restore_time to now) as one backup of kind point-in-time, and
// Restore takes dbaas.AtTime(id, t) (dbaas.FromBackup is ErrUnsupported)
// and sends fork: {source, restore_time}, a body this package builds
// because linodego never sends restore_time. Delete takes no final
// backup: it needs DeleteOptions.SkipFinalBackup.
//
// # Calls, retries and rate limits
//
// linodego's own retries are off: they resend a create on 503, leave 500
// and 502 alone and print a line to the standard logger for each retry.
// The provider's transport retries instead (Settings "retries", default
// 5, waits from "retry_wait" doubling up to "retry_max_wait", Retry-After
// honoured up to it): 429, 408 and "Linode busy." for every request, and
// 5xx answers and lost connections for GET, PUT and DELETE, which are
// safe to send again. A create is never resent blindly: after an answer
// that leaves its outcome unknown the provider looks for the label
// first. Requests are paced on the client side to stay inside Linode's
// published limits (Settings "rate_limit", default 1600/1m, and
// "list_rate_limit" for paginated lists, default 200/1m), so bursts wait
// for the next window instead of collecting 429s.
//
// Connection reports hosts.primary and port, the admin credentials of
// …/credentials, TLS required with the CA of …/ssl, and the database name
// of the "database" setting (default defaultdb): the API returns none.
// Capabilities.TypicalProvisioning is 15 minutes (Linode documents 15 to
// 30), so dbaas.Wait polls a handful of times rather than every 30 s.
//
// Errors carry the dbaas sentinel of their HTTP status (400 is
// ErrInvalidArgument naming the Spec field, or ErrAlreadyExists for a
// label in use); the *linodego.Error stays reachable with errors.As. As
// hands out the *linodego.Client (target **linodego.Client).
package linode
