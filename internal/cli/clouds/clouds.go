// Package clouds registers every cloud provider (AWS, DigitalOcean,
// Exoscale, Linode, Vultr), for dbaas-all, the rendering of the front's
// answers and the command line's tests. The other dbaas programs import
// one cloud each.
package clouds

import (
	_ "github.com/agiledeploy/dbaaskit/providers/aws"
	_ "github.com/agiledeploy/dbaaskit/providers/digitalocean"
	_ "github.com/agiledeploy/dbaaskit/providers/exoscale"
	_ "github.com/agiledeploy/dbaaskit/providers/linode"
	_ "github.com/agiledeploy/dbaaskit/providers/vultr"
)
