package static_test

import (
	"context"
	"fmt"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/providers/static"
)

// A database made by hand in a web console, opened by name like any
// other provider.
func Example() {
	ctx := context.Background()
	p, err := dbaas.Open(ctx, static.Name, dbaas.Config{Settings: map[string]string{
		"engine":   "mysql",
		"host":     "db-1234.example.net",
		"port":     "25060",
		"user":     "doadmin",
		"password": "example-only",
		"database": "shop",
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	conn, err := p.Connection(ctx, static.DefaultName)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(conn.Endpoint.Host, conn.Endpoint.Port, conn.User, conn.Password, conn.TLS)
	_, err = p.Backup(ctx, static.DefaultName, "nightly")
	fmt.Println(err)
	// Output:
	// db-1234.example.net 25060 doadmin [redacted] require
	// static: backup static: unsupported: this provider cannot backup (see its Capabilities)
}
