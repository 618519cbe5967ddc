package main

// The tests run quickstart on the cloud simulators too, as a build with
// -tags clouds would.
import (
	_ "github.com/agiledeploy/dbaaskit/providers/aws"
	_ "github.com/agiledeploy/dbaaskit/providers/digitalocean"
	_ "github.com/agiledeploy/dbaaskit/providers/linode"
)
