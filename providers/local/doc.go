// Package local is the dbaas provider that runs real PostgreSQL and MariaDB
// servers on this machine from the installed binaries: the embedded
// default, for people with no cloud account, for toolkit authors' tests and
// behind the cloud simulators (see [NewSimBackend]).
//
// The engines and versions offered are those installed ([Discover]:
// pg_config --bindir, PATH, /usr/lib/postgresql/*/bin; mariadbd and
// mariadb-install-db). Oracle MySQL is not run: ask for engine mariadb,
// which speaks the MySQL protocol. A missing engine is an error that says
// what to install; [CheckInstalled] asks before creating anything.
//
// Each instance has its own data directory under a state directory, its own
// port (the spec's, or a free one chosen under a lock so concurrent
// creates never share one) and its own admin user (default "admin"),
// password (generated with crypto/rand unless given) and database
// (default "app"). Sizes small, medium and large set the servers' memory
// and connection limits. PostgreSQL uses scram-sha-256 and TCP only.
// Both engines listen on 127.0.0.1 until a source outside the loopback
// network is allowed (or PublicAccess is set); the server is then
// restarted to listen on every address, still admitting only the allowed
// sources. Access goes through the servers' own controls: pg_hba.conf
// (rewritten and reloaded) for PostgreSQL, the admin user's account hosts
// for MariaDB (which cannot name IPv6 networks, only IPv6 addresses).
// Loopback is always allowed and not listed by Access.
//
// Each instance has its own CA (ECDSA P-256), made at create and restore,
// and a server certificate it signs for 127.0.0.1, ::1, localhost, the host
// name and the machine's addresses; the CA's key is dropped once it has
// signed. The files (the key mode 0600, owned by the servers' user) lie in
// the instance's server directory, outside its data, so backups never
// carry them and a restore gets a certificate of its own. Connection
// returns TLS required with that CA, as the clouds do. Sources outside
// the loopback network must use TLS: hostssl lines in pg_hba.conf,
// accounts with REQUIRE SSL in MariaDB; loopback may stay plain, which
// the provider's own connections use. Instances made before the servers
// spoke TLS keep plain TCP and report no CA.
//
// Backups are the engines' physical ones: pg_basebackup (plain format,
// with its WAL) and mariadb-backup (prepared). Restore copies one into a
// new instance that keeps the backup's admin user and database. Backups
// outlive their instance. Delete takes a final backup unless told not to.
//
// State lives on disk, written atomically: instances/<id>.json and
// backups/<id>.json (mode 0600: they hold passwords), servers/<id>/ (data,
// configuration, server.log) and backups/<id>/. Another process with the
// same state directory finds the instances again. A server that died shows
// as failed ("exited"), one whose data directory was removed as failed
// ("data directory missing"); [Provider.Start] brings back the first, and
// says to restore the second from a backup. The servers keep running after
// the process ends, until Stop or Delete.
//
// When the process runs as root the servers (and initdb, pg_basebackup,
// mariadb-backup) run as an unprivileged system user, "dbaaskit" by
// default, created with useradd --system when missing, because PostgreSQL
// refuses to run as root. That user must be able to enter the state
// directory; New says so when it cannot. Passwords reach the tools
// through files only that user can read or the environment, never the
// command line.
//
// Registered as "local"; settings: "state_dir", "run_as".
//
//	p, err := dbaas.Open(ctx, "local", dbaas.Config{})
//	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"})
//	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{FirstDelay: 200 * time.Millisecond})
//	conn, err := p.Connection(ctx, inst.ID)
//	url, err := conn.PostgresURL(dbaas.DSNOptions{})
//
// As hands out nothing: there is no underlying client.
package local
