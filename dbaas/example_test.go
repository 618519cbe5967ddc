package dbaas_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/agiledeploy/dbaaskit/dbaas"
)

func ExampleParseSource() {
	for _, s := range []string{"10.0.0.0/16", "203.0.113.7", "sg:sg-0abc", "tag:web"} {
		src, err := dbaas.ParseSource(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(src)
	}
	_, err := dbaas.ParseSource("10.0.0.5/16")
	fmt.Println(err)
	// Output:
	// cidr:10.0.0.0/16
	// cidr:203.0.113.7/32
	// sg:sg-0abc
	// tag:web
	// source "10.0.0.5/16": host bits set: did you mean 10.0.0.0/16?: invalid argument
}

func ExampleSpec_Validate() {
	spec := dbaas.Spec{
		Name:          "Shop_DB",
		Engine:        dbaas.Postgres,
		Port:          80,
		AdminPassword: dbaas.NewSecret("pa ss"),
		Access:        []dbaas.Source{dbaas.CIDR("0.0.0.0/0")},
	}
	err := spec.Validate()
	fmt.Println(errors.Is(err, dbaas.ErrInvalidArgument))
	if ve, ok := dbaas.AsValidationError(err); ok {
		for _, p := range ve.Problems {
			fmt.Println(p.Field)
		}
	}
	// Output:
	// true
	// name
	// size
	// port
	// admin_password
	// access[0]
}

func ExampleCheckPort() {
	inst := &dbaas.Instance{ID: "db-1", Endpoint: dbaas.Endpoint{Host: "db-1.example.com", Port: 25060}}
	fmt.Println(dbaas.CheckPort(inst, 5432))
	// Output:
	// port mismatch for instance db-1: configured port 5432, but the database listens on 25060: set the configured database port (DB_PORT) to 25060, or recreate the instance with port 5432
}

func ExampleSecret() {
	conn := dbaas.ConnectionInfo{User: "app", Password: dbaas.NewSecret("s3cret")}
	fmt.Printf("%+v\n", conn.Password)
	b, _ := json.Marshal(map[string]any{"user": conn.User, "password": conn.Password})
	fmt.Println(string(b))
	fmt.Println(conn.Password.Reveal())
	// Output:
	// [redacted]
	// {"password":"[redacted]","user":"app"}
	// s3cret
}
