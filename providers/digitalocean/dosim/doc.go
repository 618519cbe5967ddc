// Package dosim simulates the DigitalOcean databases API closely enough
// that the unmodified godo client works against it: the real paths, JSON
// shapes, status codes and error bodies ({"id","message","request_id"}),
// 401 without a bearer token, 422 for an invalid name, engine, version,
// region, size or firewall rule, pagination (links.pages, meta.total), the
// asynchronous life cycle (creating, then online after
// Options.ProvisionDelay on Options.Clock), daily backups, restore by
// forking, firewall replace semantics, rate limiting with the
// RateLimit-* headers and 429 with Retry-After, and faults injected by
// the test.
//
// Served: GET /v2/databases/options, GET and POST /v2/databases, GET and
// DELETE /v2/databases/{id}, GET /v2/databases/{id}/ca, GET and PUT
// /v2/databases/{id}/firewall, GET /v2/databases/{id}/backups, GET
// /v2/vpcs and GET /v2/vpcs/{id}.
//
//	sim, url, err := dosim.Start(dosim.Options{ProvisionDelay: time.Second})
//	defer sim.Close()
//	client, _ := godo.New(http.DefaultClient, godo.SetBaseURL(url))
//	// requests need an Authorization: Bearer header (any non-empty token)
//	sim.Inject(dosim.Fault{Op: "POST /v2/databases", Status: 503})
//	n := sim.Calls("GET /v2/databases/{id}")
//
// With Options.Backend set, each cluster gets a real database
// (simdb.Backend), and its connection block points at it; with a
// simdb.AccountAttacher it is called defaultdb, as on DigitalOcean. When the
// Backend is also a simdb.Snapshotter, each daily backup holds a copy of
// the cluster's data, taken by the first request that finds the backup
// due (the simulator has no scheduler), and listed only once taken; a
// backup_restore attaches that copy.
//
// Databases and users: GET and POST /v2/databases/{id}/dbs, GET and
// DELETE /v2/databases/{id}/dbs/{name}, GET and POST
// /v2/databases/{id}/users, GET and DELETE /v2/databases/{id}/users/{name}
// and POST /v2/databases/{id}/users/{name}/reset_auth, in the API's
// envelopes ({"db"}, {"dbs"}, {"user"}, {"users"}), with generated
// passwords readable back, doadmin listed as the "primary" user, 422 for a
// taken name or a cluster not yet online, 404 for an absent one. When the
// Backend is also a simdb.Admin, they are made real on its servers (see users.go).
package dosim
