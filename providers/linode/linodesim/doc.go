// Package linodesim simulates the Linode managed databases API (v4) well
// enough that the unmodified linodego client, and so the linode provider,
// work against it: the paths under /v4 (and /v4beta), the JSON shapes of
// the real API's recorded answers, lists as {"data","page","pages",
// "results"} with page and page_size, errors as {"errors":[{"reason",
// "field"}]} with a Content-Type of exactly application/json, timestamps
// without a zone, 401 without a bearer token, 400 naming the field for an
// invalid label, region, type, engine, cluster size or allow list, and
// labels unique among databases.
//
// Life cycle: a new database is provisioning for Options.ProvisionDelay
// and then active, measured on Options.Clock; suspend makes it suspended,
// resume makes it resuming and then active, patch and a plan change make
// it updating, and a deleted one stays deleting for Options.DeleteDelay.
// A PUT of allow_list replaces the list, written back as the
// API does (CIDR form, sorted). A fork ({"fork":{"source","restore_time"}})
// makes a new database from another one at a time inside its restore
// window (oldest_restore_time to now).
//
// Rate limits work in fixed windows per token on the same clock, as
// Linode's do (general requests and paginated collection GETs apart): a
// spent window answers 429 with Retry-After and X-RateLimit-* headers.
// Faults (a status, latency, a dropped connection before or after the
// request took effect) are injected with Inject, and every request is
// counted by its operation, the method and the path with numeric ids as
// {id} ("PUT /v4/databases/mysql/instances/{id}"): see internal/simkit,
// which every simulator shares.
//
// With Options.Backend set, each database gets a real one: its endpoint
// and credentials are what hosts.primary, port and /credentials return,
// and with a simdb.AccountAttacher its admin is akmadmin and it has the
// database defaultdb, as Linode's servers do.
// A fork (POST with fork: {source, restore_time}) gets a fresh, empty
// database even when the Backend is a simdb.Snapshotter: a fork restores
// the source as it was at restore_time, and the simulator keeps no log of
// writes to rebuild that moment, so it does not pretend to.
//
// Example:
//
//	sim, baseURL, err := linodesim.Start(linodesim.Options{ProvisionDelay: time.Second})
//	if err != nil { … }
//	defer sim.Close()
//	client := linodego.NewClient(nil)
//	client.SetToken("any")
//	client.SetBaseURL(baseURL) // linodego appends /v4
package linodesim
