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
// Users and logical databases made through /users and /dbs live in the
// simulator only: the backing server gets no login or database for them.
package vultrsim
