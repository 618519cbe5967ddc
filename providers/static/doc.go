// Package static is the dbaas provider of databases that already exist
// (made by hand in a web console, or run by someone else): engine,
// endpoint, credentials and CA certificate come from configuration. Get,
// List and Connection answer from it; Create, Delete, access control and
// backups return dbaas.ErrUnsupported, as Capabilities says.
//
// It registers as "static". Its settings, for dbaas.Open:
//
//	engine         postgres, mysql or mariadb (required)
//	host           host name or address, without port (required)
//	port           port; default the engine's (5432, 3306)
//	user           user name (required)
//	password       password (or password_file: a file holding it)
//	database       database name
//	tls            disable, require, verify-ca or verify-full; default require
//	ca_file        PEM file of the server's CA certificate
//	name           instance id and name; default "static"
//	private_host   host of a private endpoint, when there is one
//
// With a tunnel.Provider in front, it is the fallback for a host whose
// cloud has no managed database:
//
//	p, err := dbaas.Open(ctx, "static", dbaas.Config{Settings: map[string]string{
//		"engine": "postgres", "host": "10.0.0.5", "user": "app", "password_file": "/run/secrets/db"}})
//	tp, err := tunnel.NewProvider(p, tunnel.Config{Relays: relays}, tunnel.ProviderOptions{})
//	conn, err := tp.Connection(ctx, "static") // 127.0.0.1:port of the tunnel
package static
