// Package local is the dbaas provider that runs real PostgreSQL and MariaDB
// servers on this machine from the installed binaries: the embedded
// default, for people with no cloud account, for toolkit authors' tests and
// behind the cloud simulators (`dbaas sim`).
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
// and connection limits. Clients connect over TCP with scram-sha-256
// (PostgreSQL) or passwords (MariaDB).
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
// backups/<id>.json (mode 0600: they hold passwords; one that others may
// read, or with an impossible port or engine, is refused with an error
// naming the file and the field), servers/<id>/ (data, configuration,
// server.log) and backups/<id>/ (the owner's only). Another process with the
// same state directory finds the instances again. A server that died shows
// as failed ("exited"), one whose data directory was removed as failed
// ("data directory missing"); [Provider.Start] brings back the first, and
// says to restore the second from a backup. The servers keep running after
// the process ends, until Stop or Delete.
//
// # Isolation between instances
//
// One instance's admin user cannot read another instance's files, its
// password or its data. Two things keep them apart:
//
//   - The admin user handed out is no superuser, as on managed clouds.
//     PostgreSQL: LOGIN CREATEDB CREATEROLE, no SUPERUSER and none of
//     pg_read_server_files, pg_write_server_files or
//     pg_execute_server_program, so COPY … FROM PROGRAM, COPY from a file,
//     pg_read_file and lo_import are refused. MariaDB: every privilege but
//     FILE, SUPER and SHUTDOWN, so LOAD_FILE, LOAD DATA INFILE and SELECT …
//     INTO OUTFILE are refused; and whatever a user's privileges, those
//     reach only an empty directory of the instance's own
//     (secure-file-priv), which holds too for a user that gained FILE
//     (MariaDB's CREATE USER privilege, which the admin user needs to make
//     users, may alter any account). The admin user still creates
//     databases and users (dbaas.AppUsersSQL). The provider keeps a
//     superuser of its own (postgres, root) with a password of its own,
//     that logs in through the server's Unix socket only, in a directory
//     only the instance's system user may enter: pg_hba.conf rejects it
//     over TCP, and MariaDB matches root@localhost to the socket alone
//     (skip-name-resolve).
//   - As root, each instance's server runs as a system user of its own,
//     "dbaaskit-" and the hex digits of its id, made with useradd --system
//     at create (a user of that name that exists is refused, never
//     adopted) and removed with userdel at delete. Its server directory is
//     mode 0700 and its files 0600, that user's; the state files are
//     root's (0600), and backups become root's once taken. So even a
//     server made to run a program cannot read another instance's files.
//
// Without root (a developer's machine) every server runs as the current
// user, who owns every instance's files: only the first holds. On
// PostgreSQL 15 and older CREATEROLE may grant the predefined roles
// (pg_execute_server_program among them), so there an admin user can
// still run programs as that user and read the other instances' files;
// PostgreSQL 16 refuses such grants. Run as root to keep instances apart
// on every version. With Options.RunAs (setting run_as) every server runs
// as that one user, as root: the separate users are given up.
//
// Instances made before the provider kept a superuser of its own keep
// theirs (their admin user is the superuser) and run as DefaultRunAs, the
// system user all servers shared, created with useradd --system when
// missing; so do restores of their backups. That user and the instances'
// users must be able to enter the state directory; New says so when they
// cannot. Passwords reach the tools through files only the instance's
// user can read or the environment, never the command line.
//
// Registered as "local"; settings: "state_dir", "run_as" (see
// Options). The registered
// capabilities name both engines; an opened provider's name those
// installed. Spec fields local servers cannot honour (StorageGB,
// PrivateNetwork, Subnet, BackupRetentionDays) are refused with
// dbaas.ErrUnsupported, and an id this provider could not have made is
// not found.
//
//	p, err := dbaas.Open(ctx, "local", dbaas.Config{})
//	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"})
//	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{FirstDelay: 200 * time.Millisecond})
//	conn, err := p.Connection(ctx, inst.ID)
//	url, err := conn.PostgresURL(dbaas.DSNOptions{})
//
// There is no underlying client: As hands out the *Provider (for a
// **Provider target), so that code that opened the provider by name
// reaches DeleteBackup and StateDir.
package local
