// Command backup-restore takes a native backup of a database, writes
// more, restores the backup into a new instance and shows that the copy
// holds what the backup held and nothing written after it. It runs on the
// local provider (real PostgreSQL or MariaDB servers on this machine),
// the provider here with on-demand backups and databases to connect to:
//
//	go run ./examples/backup-restore
//	go run ./examples/backup-restore -engine mariadb
//
// It removes what it made before it exits.
package main
