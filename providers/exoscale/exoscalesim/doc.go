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
// Users and databases made through …/user and …/database are real on the
// backing server when the Backend is also a simdb.Admin (realdb's and
// localdb's are), as they are on Exoscale: a database is created on it,
// owned by the service's admin user (avnadmin, or the backend's own
// login where the backend chooses it; on MySQL all privileges on it with
// GRANT OPTION), so the admin connection uses it; a user logs in with
// the password …/password/reveal answers, and with the one a
// …/password/reset sets; a DELETE drops them, a user's objects going to
// the admin user first (PostgreSQL) so the drop succeeds and the data
// stays.
//
// Privileges: Exoscale documents none for the users its API makes, and
// records no database of a user. The simulator gives each the least that
// lets it use the databases made through the API: all privileges on each
// of them, made before or after the user (PostgreSQL: those on the
// database, to connect and make schemas and temporary tables, and those
// on its public schema, to make tables there; tables other users made
// stay theirs. MySQL: ALL PRIVILEGES on name.*, without GRANT OPTION),
// and nothing else: no role-wide or global right, and none on the
// default database or any other database of the server. The
// authentication field is recorded only.
//
// Writes answer an operation, but the statements run before it is
// answered, so a pending operation never hides a change the server
// refused: when the server fails (a name that another service on a
// shared server, or the server itself, like postgres or root, already
// has), the write is answered 500 with the API's error body, no
// operation is made and the records stay as they were; otherwise the
// records change at once and the operation succeeds after
// Options.OperationDelay, as without a backend. A write whose operation
// a test made fail (FailOperations) runs no statement. On such a service
// the primary user's password cannot be reset and the default database
// cannot be deleted (400): both are the backend's. The users and
// databases made this way are dropped with their service and by Close;
// backups do not carry them (a service forked from a backup has only its
// default database and primary user, as the simulator reports). Without
// such a Backend they live in the simulator only.
//
//	sim, baseURL, err := exoscalesim.Start(exoscalesim.Options{Backend: backend})
//	creds := credentials.NewStaticCredentials(exoscalesim.DefaultAPIKey, exoscalesim.DefaultAPISecret)
//	client, err := v3.NewClient(creds, v3.ClientOptWithEndpoint(v3.Endpoint(baseURL)))
package exoscalesim
