// Command dbaas-all is the dbaas command line with every provider and the
// cloud simulators (dbaas sim). The dbaas command runs it for commands
// that name more than one cloud, or whose provider it cannot tell before
// running them, and for dbaas sim; it can also be run by itself, with the
// same commands and flags as dbaas.
package main

import (
	"os"

	"github.com/agiledeploy/dbaaskit/internal/cli"
	_ "github.com/agiledeploy/dbaaskit/internal/cli/simulators"
	_ "github.com/agiledeploy/dbaaskit/providers/aws"
	_ "github.com/agiledeploy/dbaaskit/providers/digitalocean"
	_ "github.com/agiledeploy/dbaaskit/providers/exoscale"
	_ "github.com/agiledeploy/dbaaskit/providers/linode"
	_ "github.com/agiledeploy/dbaaskit/providers/vultr"
)

func main() { os.Exit(cli.Main()) }
