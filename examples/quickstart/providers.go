package main

// The providers quickstart runs by default, each registered in init: the
// local servers and the in-memory fallback. The cloud adapters are built
// in with -tags clouds (providers_clouds.go), so that "go run
// ./examples/quickstart" compiles only what it runs: the AWS SDK alone
// takes minutes to build on a fresh cache.
import (
	_ "github.com/agiledeploy/dbaaskit/providers/local"
	_ "github.com/agiledeploy/dbaaskit/providers/memory"
)
