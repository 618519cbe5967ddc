// Command dbaas-all is the dbaas command line with every provider and the
// cloud simulators (dbaas sim). The dbaas command runs it for commands
// that name more than one cloud, or whose provider it cannot tell before
// running them, and for dbaas sim; it can also be run by itself, with the
// same commands and flags as dbaas.
package main

import (
	"os"

	"github.com/agiledeploy/dbaaskit/internal/cli"
	_ "github.com/agiledeploy/dbaaskit/internal/cli/clouds"
	_ "github.com/agiledeploy/dbaaskit/internal/cli/simulators"
)

func main() { os.Exit(cli.Main()) }
