package realdb

import (
	"fmt"
	"net"
	"strconv"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

// AdminConnection returns the admin connection of the server of engine's
// family (PostgreSQL's superuser, MariaDB's user that creates databases
// and users), whatever the instance key, since one server serves every
// instance: for simulators that make a cloud API's databases and users
// real on the server beside the attached ones.
func (b *Backend) AdminConnection(_ string, engine dbaas.Engine) (*dbaas.ConnectionInfo, error) {
	if !engine.MySQLFamily() {
		cfg, err := pgx.ParseConfig(b.pgURL)
		if err != nil {
			return nil, fmt.Errorf("realdb: admin connection: %w", err)
		}
		return &dbaas.ConnectionInfo{Engine: dbaas.Postgres, Endpoint: dbaas.Endpoint{Host: cfg.Host, Port: int(cfg.Port)},
			User: cfg.User, Password: dbaas.NewSecret(cfg.Password), Database: cfg.Database, TLS: dbaas.TLSDisable}, nil
	}
	cfg, err := mysql.ParseDSN(b.myDSN)
	if err != nil {
		return nil, fmt.Errorf("realdb: admin connection: %w", err)
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("realdb: admin connection: %w", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("realdb: admin connection: port %q: %w", port, err)
	}
	return &dbaas.ConnectionInfo{Engine: dbaas.MariaDB, Endpoint: dbaas.Endpoint{Host: host, Port: p},
		User: cfg.User, Password: dbaas.NewSecret(cfg.Passwd), TLS: dbaas.TLSDisable}, nil
}
