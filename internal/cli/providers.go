package cli

// The providers every dbaas program has: they need no cloud SDK. The
// programs under cmd/ add the clouds they serve.
import (
	_ "github.com/agiledeploy/dbaaskit/providers/local"
	_ "github.com/agiledeploy/dbaaskit/providers/memory"
	_ "github.com/agiledeploy/dbaaskit/providers/static"
)
