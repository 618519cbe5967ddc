package sqlconn_test

import (
	"fmt"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
)

func ExampleMySQLConfig() {
	// What Provider.Connection returns for a managed MySQL behind a tunnel:
	// the local end, and the name the certificate must carry.
	conn := &dbaas.ConnectionInfo{Engine: dbaas.MySQL, Endpoint: dbaas.Endpoint{Host: "127.0.0.1", Port: 40123},
		User: "shop", Password: dbaas.NewSecret("s3cret"), Database: "shop",
		TLS: dbaas.TLSVerifyFull, ServerName: "db-mysql-fra1-1234.example.com"}
	cfg, err := sqlconn.MySQLConfig(conn, dbaas.DSNOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Addr, cfg.DBName)
	fmt.Println(cfg.TLS.ServerName)
	// sql.OpenDB(mysql.NewConnector(cfg)), or simply sqlconn.Open(conn, …)
	// Output:
	// 127.0.0.1:40123 shop
	// db-mysql-fra1-1234.example.com
}
