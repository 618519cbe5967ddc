package main

// The providers quickstart can open: each registers itself in init. The
// cloud adapters reach a simulator (`dbaas sim`) through
// DBAAS_BASE_URL_<PROVIDER>.
import (
	_ "github.com/agiledeploy/dbaaskit/providers/aws"
	_ "github.com/agiledeploy/dbaaskit/providers/digitalocean"
	_ "github.com/agiledeploy/dbaaskit/providers/linode"
	_ "github.com/agiledeploy/dbaaskit/providers/local"
	_ "github.com/agiledeploy/dbaaskit/providers/memory"
)
