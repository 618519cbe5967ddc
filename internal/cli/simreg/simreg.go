// Package simreg is where the cloud simulators that "dbaas sim" serves
// are registered. It is apart from the simulators themselves so that only
// the program that serves them (dbaas-all) links them: the command line
// (internal/cli) reads the registry, and internal/cli/simulators fills it.
package simreg

import (
	"strings"
	"time"

	"github.com/agiledeploy/dbaaskit/dbaas"
	"github.com/agiledeploy/dbaaskit/internal/simdb"
	"github.com/agiledeploy/dbaaskit/internal/simkit"
)

// Options are what every simulator is started with.
type Options struct {
	ProvisionDelay time.Duration
	Token          string
	Backend        simdb.Backend
}

// Server is a running simulator.
type Server interface {
	Close() error
	// Pace says how long its life cycle takes, for the waits' hint.
	Pace() simkit.Pace
}

// Simulator is one cloud simulator the sim command serves.
type Simulator struct {
	Provider string
	// Env is the environment that points the provider at the simulator.
	Env   func(baseURL, token string) [][2]string
	Start func(Options) (srv Server, baseURL string, err error)
	// Port is the port the cloud serves every database of engine on,
	// which a front door (internal/simdb/frontdoor) gives the local
	// servers behind the simulator, each on an address of its own; nil
	// where the cloud picks a port per database (Linode, Vultr,
	// Exoscale) or the caller does (AWS).
	Port func(dbaas.Engine) int
}

var registered []Simulator

// Register adds simulators, in the order sim starts them.
func Register(s ...Simulator) { registered = append(registered, s...) }

// All returns the registered simulators.
func All() []Simulator { return registered }

// BaseURLEnv is the variable that gives one provider its base URL, so
// that several simulators can be used from one shell.
func BaseURLEnv(provider string) string { return "DBAAS_BASE_URL_" + strings.ToUpper(provider) }
