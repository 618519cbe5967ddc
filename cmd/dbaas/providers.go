package main

// Every provider package that exists, imported for its registration.
import (
	_ "github.com/agiledeploy/dbaaskit/providers/aws"
	_ "github.com/agiledeploy/dbaaskit/providers/digitalocean"
	_ "github.com/agiledeploy/dbaaskit/providers/exoscale"
	_ "github.com/agiledeploy/dbaaskit/providers/linode"
	_ "github.com/agiledeploy/dbaaskit/providers/local"
	_ "github.com/agiledeploy/dbaaskit/providers/memory"
	_ "github.com/agiledeploy/dbaaskit/providers/static"
	_ "github.com/agiledeploy/dbaaskit/providers/vultr"
)
