package tunnel_test

import (
	"context"
	"log"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/dbaas/sqlconn"
	"github.com/agiledeploy/dbaaskit/providers/static"
	"github.com/agiledeploy/dbaaskit/tunnel"
)

// The shell toolkit's "autossh -M 0 -fN -L 5432:10.0.0.5:5432 deploy@relay"
// with two relays, host keys checked.
func ExampleOpen() {
	ctx := context.Background()
	t, err := tunnel.Open(ctx, tunnel.Config{
		Relays: []tunnel.Relay{
			{Hop: tunnel.Hop{Host: "relay1.example.com", User: "deploy"}},
			{Hop: tunnel.Hop{Host: "relay2.example.com", User: "deploy"}},
		},
		Policy:            tunnel.Failover,
		Remote:            dbaas.Endpoint{Host: "10.0.0.5", Port: 5432},
		Listen:            "127.0.0.1:5432",
		Auth:              tunnel.Auth{KeyFiles: []string{"/home/deploy/.ssh/id_ed25519"}},
		KeepaliveInterval: 15 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	log.Printf("database at %s, %+v", t.Addr(), t.Stats())
}

// A database made by hand, reached through a jump host: Connection
// returns the local end of the tunnel.
func ExampleNewProvider() {
	ctx := context.Background()
	db, err := static.New(static.Database{Name: "shop", Engine: dbaas.MySQL,
		Endpoint: dbaas.Endpoint{Host: "10.0.0.7"}, User: "shop", Password: dbaas.NewSecret("from-your-vault")})
	if err != nil {
		log.Fatal(err)
	}
	p, err := tunnel.NewProvider(db, tunnel.Config{
		Relays: []tunnel.Relay{{
			Hop:  tunnel.Hop{Host: "db-relay.internal", User: "deploy"},
			Jump: []tunnel.Hop{{Host: "bastion.example.com", User: "deploy"}},
		}},
	}, tunnel.ProviderOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	conn, err := p.Connection(ctx, "shop")
	if err != nil {
		log.Fatal(err)
	}
	dsn, err := sqlconn.MySQLDSN(conn, "shop-tls", dbaas.DSNOptions{})
	if err != nil {
		log.Fatal(err)
	}
	_ = dsn // sql.Open("mysql", dsn)
}
