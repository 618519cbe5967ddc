// Package local is the dbaas provider that runs real PostgreSQL and MariaDB
// servers on this machine from the installed binaries: the embedded
// default, for people with no cloud account, for toolkit authors' tests and
// behind the cloud simulators (see [NewSimBackend]).
//
// Each instance has its own data directory under a state directory, its own
// port and its own admin user, password and database. PostgreSQL uses
// scram-sha-256; both engines listen on 127.0.0.1 only until an access
// source outside the loopback network is allowed. Access goes through the
// servers' own controls: pg_hba.conf (reloaded) for PostgreSQL, account
// host patterns for MariaDB. Backups are the engines' physical ones
// (pg_basebackup, mariadb-backup); Restore makes a new instance from one.
// State is kept on disk, written atomically, so another process with the
// same state directory finds its instances again; a server that died shows
// as failed and [Provider.Start] brings it back.
//
// When the process runs as root the servers run as an unprivileged system
// user, "dbaaskit" by default (created with useradd when missing), because
// PostgreSQL refuses to run as root. That user must be able to enter the
// state directory; Open says so when it cannot.
//
// Register name "local"; settings: "state_dir", "run_as".
//
//	p, err := dbaas.Open(ctx, "local", dbaas.Config{})
//	inst, err := p.Create(ctx, dbaas.Spec{Name: "shop", Engine: dbaas.Postgres, Size: "small"})
//	inst, err = dbaas.Wait(ctx, p, inst.ID, dbaas.WaitOptions{FirstDelay: 200 * time.Millisecond})
//	conn, err := p.Connection(ctx, inst.ID)
//	url, err := conn.PostgresURL(dbaas.DSNOptions{})
//
// As hands out nothing: there is no underlying client.
package local
