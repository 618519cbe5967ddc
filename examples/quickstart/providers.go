package main

// The providers quickstart can open: each registers itself in init.
import (
	_ "github.com/agiledeploy/dbaaskit/providers/memory"
)
