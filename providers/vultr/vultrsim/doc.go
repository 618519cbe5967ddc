// Package vultrsim simulates the Vultr API v2 managed databases endpoints
// closely enough that the unmodified govultr client works against it: the
// real paths under /v2/databases, the JSON envelopes ({"database": …},
// {"databases": […], "meta": {"total", "links": {"next", "prev"}}}), the
// status codes of the official description (202 for a create, 204 for a
// delete, 200 for a restore or fork), error bodies as the API sends them
// ({"error": "…", "status": 400}, Content-Type exactly application/json,
// which govultr needs to decode an answer), 401 without a bearer token,
// cursor pagination (per_page, cursor), the asynchronous life cycle
// (Rebuilding, then Running after Options.ProvisionDelay on Options.Clock),
// trusted_ips (a bare address is stored as /32 or /128; a PUT replaces the
// list; an empty list lets every address in, as on Vultr), daily backups
// with a point-in-time window from the oldest one to now, /restore and
// /fork (type basebackup or pitr), users and logical databases, the
// per-second rate limit (429) and faults injected by the test.
//
// Served: GET /v2/databases/plans, GET and POST /v2/databases, GET, PUT
// and DELETE /v2/databases/{id}, GET /v2/databases/{id}/backups, POST
// /v2/databases/{id}/restore and /fork, GET and POST
// /v2/databases/{id}/users, GET, PUT and DELETE
// /v2/databases/{id}/users/{username}, GET and POST
// /v2/databases/{id}/dbs, GET and DELETE /v2/databases/{id}/dbs/{name}.
//
//	sim, url, err := vultrsim.Start(vultrsim.Options{ProvisionDelay: time.Second})
//	defer sim.Close()
//	client := govultr.NewClient(httpClientWithBearerToken)
//	_ = client.SetBaseURL(url)
//	sim.Inject(simkit.Fault{Op: "POST /v2/databases", Status: 503})
//	n := sim.Calls("GET /v2/databases/{id}")
//
// Operation names (Calls, simkit.Fault.Op) are the method and the path
// pattern; every method but GET counts as a write (Writes). The rate
// limit counts requests per client address, as Vultr does.
//
// With Options.Backend set, each database gets a real one (simdb.Backend)
// and its host, port, user, password and dbname point at it. When the
// Backend is also a simdb.Snapshotter, data is carried through backups
// and restores: each daily backup holds a copy of the data, taken by the
// first request that finds the backup due (the simulator has no
// scheduler), and each GET of /backups takes a copy of the data as it is
// then, which marks a point of the window. A restore of the latest backup
// attaches its copy; a point-in-time restore attaches the newest copy
// taken at or before the time asked for, so writes between two copies are
// not replayed as a cloud's log would.
//
// Users and logical databases made through /users and /dbs are real on
// the backing server when the Backend is also a simdb.Admin (realdb's and
// localdb's are), as they are on Vultr: a logical database is created on
// it, owned by the database's administrator (on PostgreSQL its owner, on
// MySQL all privileges on it with GRANT OPTION), so the connection the
// API reports can use it; a user logs in with the password the API
// answers, and with the one a PUT sets; a DELETE drops them.
//
// Privileges: Vultr's MySQL and PostgreSQL users made through the API log
// in and use the logical databases. The simulator gives each the least
// that allows it: all privileges on every logical database made through
// the API, whether made before or after the user (PostgreSQL: those on
// the database, to connect and make schemas and temporary tables, and
// those on its public schema, to make tables there; tables other users
// made stay theirs. MySQL: ALL PRIVILEGES on name.*, without GRANT
// OPTION), and nothing else: no role-wide or global right, and none on
// the default database (the backend's own) or any other. On PostgreSQL a
// dropped user's objects go to the administrator first, so the drop
// succeeds and the data stays. The encryption field is recorded only: the
// server's default authentication plugin is used.
//
// An error of the backing server, such as a name that another instance
// on a shared server (or the server itself, like postgres or root)
// already has, answers 500 with the API's error body, and the
// simulator's records stay as they were. The users and logical databases
// made this way are dropped with their database and by Close; they are
// not carried through backups (a restored or forked database has only its
// default database and administrator, as the simulator reports). Without
// such a Backend they live in the simulator only.
package vultrsim
