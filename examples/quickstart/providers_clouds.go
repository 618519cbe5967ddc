//go:build clouds

package main

// With -tags clouds quickstart also opens the cloud adapters, which reach
// a simulator ("dbaas sim") through DBAAS_BASE_URL_<PROVIDER>:
//
//	go run -tags clouds ./examples/quickstart -provider digitalocean …
import (
	_ "github.com/agiledeploy/dbaaskit/providers/aws"
	_ "github.com/agiledeploy/dbaaskit/providers/digitalocean"
	_ "github.com/agiledeploy/dbaaskit/providers/linode"
)
