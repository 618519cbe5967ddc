// Command toolkit does what the shell toolkit's DBaaS scripts and cron
// job did: it ensures the database its DATABASE_DBaaS_INSTALLATION_TYPE
// string describes (reusing one of that name, refusing one of another
// engine), waits until it is available, and then every minute makes the
// database's access list exactly the web servers listed in a file (plus
// the sources given with -keep, such as the VPC range), so that a web
// server that starts is let in and one that dies is shut out.
//
// On this machine's local provider:
//
//	echo 10.0.0.5 > webservers
//	go run ./examples/toolkit -name shop -engine postgres -size small -webservers webservers
//
// Against the DigitalOcean simulator started by "dbaas sim":
//
//	go run ./examples/toolkit -provider digitalocean -base-url "$DBAAS_BASE_URL_DIGITALOCEAN" \
//	    -toolkit "Postgres:DBAAS:pg:nyc1:1:db-s-1vcpu-1gb:16:shop:appdb:appuser::" -webservers webservers
//
// A file that cannot be read or holds a malformed address leaves the
// access list as it was and says so: a bad file never locks everyone out,
// and neither does an empty one.
package main
