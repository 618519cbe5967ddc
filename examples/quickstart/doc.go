// Command quickstart walks through the life of a managed database with
// dbaaskit: provision PostgreSQL, wait, connect with pgx and run a query,
// allow a network in, back up, write a row, restore into a new instance,
// show that the restored copy lacks the row written after the backup, and
// delete what it made, printing each step and the time it took. The
// password always prints as [redacted].
//
//	go run ./examples/quickstart
//
// It runs on the local provider by default: real PostgreSQL servers on
// this machine, their state in a temporary directory removed at the end
// (-state-dir names one to keep). Where PostgreSQL is not installed it
// says what to install and runs on the in-memory provider instead, whose
// data store stands in for the table. -engine mariadb runs MariaDB the
// same way, through go-sql-driver/mysql.
//
// -provider names any registered provider: memory, or a cloud adapter
// pointed at a simulator of `dbaas sim` (DBAAS_BASE_URL_<PROVIDER>, as
// `dbaas sim` prints it) with the cloud's own -size. Steps the cloud
// lacks (DigitalOcean has no on-demand backup) are skipped saying why;
// the data steps run where the endpoint answers from here, and are
// skipped, saying why, where it does not.
//
//	go run ./examples/quickstart -provider memory -engine mariadb -allow 10.1.2.0/24
//	DBAAS_REGION=fra1 go run -tags clouds ./examples/quickstart -provider digitalocean -size db-s-1vcpu-1gb
//
// Provider settings come from the environment: DBAAS_SETTINGS holds
// key=value pairs separated by commas (for memory,
// DBAAS_SETTINGS=provision_delay=2s; for aws behind a simulator with a
// local database, DBAAS_SETTINGS=tls=disable), DBAAS_TOKEN, DBAAS_REGION
// and DBAAS_BASE_URL_<PROVIDER> or DBAAS_BASE_URL fill the rest of
// dbaas.Config, and DBAAS_ADMIN_PASSWORD, when set, is the admin password
// of the new database.
//
// Whatever happens, a failed step or Ctrl-C included, quickstart deletes
// what it made (unless -keep) on a fresh context and says what is left.
package main
