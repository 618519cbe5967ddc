// Package exoscalesim simulates the DBaaS part of the Exoscale API v2 for
// PostgreSQL and MySQL services, well enough that the unmodified egoscale
// v3 client works against it: the paths of one zone's endpoint
// (/v2/dbaas-postgres/{name}, /v2/dbaas-mysql/{name}, /v2/dbaas-service,
// /v2/dbaas-service-type, users, databases, password reveal and reset,
// /v2/dbaas-ca-certificate, /v2/operation/{id}), kebab-case JSON, the
// status codes and {"message": …} error bodies of the API.
//
// Every request must carry an EXO2-HMAC-SHA256 signature made with the
// simulator's API key and secret exactly as egoscale makes it (method and
// path, body, signed query values, expiry); unsigned, expired or wrongly
// signed requests are refused with 403. Writes answer an operation that
// is pending for Options.OperationDelay on the simulator's clock and then
// succeeds, or fails when a test queued a failure with FailOperations.
// Services are "rebuilding" for Options.ProvisionDelay, then "running";
// automatic backups are taken when a service comes up and every
// BackupInterval after; a create with fork-from-service (and
// recovery-backup-time) restores one. Faults, call counters and the rate
// limit come from the shared simulator kit; the operation names Calls and
// Fault.Op use are "METHOD /path-pattern" such as
// "POST /v2/dbaas-postgres/{name}".
//
// With Options.Backend each service is a real database that accepts
// connections, and backups carry its data when the backend can snapshot.
//
//	sim, baseURL, err := exoscalesim.Start(exoscalesim.Options{Backend: backend})
//	creds := credentials.NewStaticCredentials(exoscalesim.DefaultAPIKey, exoscalesim.DefaultAPISecret)
//	client, err := v3.NewClient(creds, v3.ClientOptWithEndpoint(v3.Endpoint(baseURL)))
package exoscalesim
