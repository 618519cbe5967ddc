package cli

// The tests run the command line in process with every provider, as
// dbaas-all does.
import (
	_ "github.com/agiledeploy/dbaaskit/internal/cli/simulators"
	_ "github.com/agiledeploy/dbaaskit/providers/aws"
	_ "github.com/agiledeploy/dbaaskit/providers/digitalocean"
	_ "github.com/agiledeploy/dbaaskit/providers/exoscale"
	_ "github.com/agiledeploy/dbaaskit/providers/linode"
	_ "github.com/agiledeploy/dbaaskit/providers/vultr"
)
