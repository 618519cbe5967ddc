// Command tunnel reaches a PostgreSQL database that only an SSH relay can
// reach, the way the shell toolkit used "autossh -L" when a cloud had no
// managed database: static describes the existing database,
// tunnel.NewProvider puts an SSH tunnel in front of it, and Connection
// hands out the tunnel's local end. Host keys are checked against
// known_hosts.
//
// Offline, with the machine's own sshd as the relay and PostgreSQL on
// 127.0.0.1:5432:
//
//	go run ./examples/tunnel --relay "$USER@127.0.0.1" --db-host 127.0.0.1 --db-port 5432
//
// To run a tunnel as a service rather than inside a program,
// dbaas-tunnel.service is a systemd unit for "dbaas tunnel" (Type=notify,
// reload with SIGHUP, bounded drain on stop, Prometheus metrics), with
// relays.example as its relay list.
package main
