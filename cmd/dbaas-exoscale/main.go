// Command dbaas-exoscale is the dbaas command line with the exoscale
// provider, beside local, memory and static. The dbaas command runs it for
// commands whose providers include exoscale and no other cloud; it can
// also be run by itself, with the same commands and flags as dbaas.
package main

import (
	"os"

	"github.com/agiledeploy/dbaaskit/internal/cli"
	_ "github.com/agiledeploy/dbaaskit/providers/exoscale"
)

func main() { os.Exit(cli.Main()) }
