package cli

// The tests run the command line in process with every provider, as
// dbaas-all does.
import (
	_ "github.com/agiledeploy/dbaaskit/internal/cli/clouds"
	_ "github.com/agiledeploy/dbaaskit/internal/cli/simulators"
)
