// Command dbaas-core is the dbaas command line with the providers that
// need no cloud SDK (local, memory, static). The dbaas command runs it for
// commands that name no cloud; it can also be run by itself, with the same
// commands and flags as dbaas.
package main

import (
	"os"

	"github.com/agiledeploy/dbaaskit/internal/cli"
)

func main() { os.Exit(cli.Main()) }
