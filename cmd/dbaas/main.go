package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/agiledeploy/dbaaskit/internal/buildinfo"
)

// clouds are the providers that each run in a program of their own,
// dbaas-<name>; every program also has the core providers (local, memory,
// static). A provider the front does not know goes to dbaas-all, which
// has them all and names them when it refuses one.
var clouds = []string{"aws", "digitalocean", "exoscale", "linode", "vultr"}

var core = []string{"local", "memory", "static"}

func main() {
	args := os.Args[1:]
	if out, ok := answer(args, os.Environ()); ok {
		if _, err := os.Stdout.WriteString(out); err != nil {
			os.Exit(1)
		}
		return
	}
	prog := route(args, os.Getenv)
	path, err := find(prog)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dbaas: %v\n", err)
		os.Exit(1)
	}
	os.Exit(run(path, args))
}

// answer returns what the front prints itself for args, when no DBAAS_
// variable could change it (DBAAS_OUTPUT=json turns version into JSON;
// others change the defaults help shows): the version, and the outputs
// rendered at build time (answers.go).
func answer(args []string, environ []string) (string, bool) {
	for _, kv := range environ {
		if strings.HasPrefix(kv, "DBAAS_") {
			return "", false
		}
	}
	if len(args) == 1 && (args[0] == "version" || args[0] == "--version") {
		return buildinfo.String() + "\n", true
	}
	out, ok := answers[strings.Join(args, " ")]
	return out, ok
}

// globalValueFlags are the global flags that take a value in the next
// argument, so that the command word after them is found.
var globalValueFlags = []string{"--provider", "-p", "--region", "--base-url", "--token-file",
	"--set", "--settings-file", "--output", "-o", "--timeout"}

// route names the program that runs args: dbaas-<cloud> when the command
// names one cloud among its providers (--provider, DBAAS_PROVIDER,
// migrate's --from and --to, dump's --target), dbaas-core when it names
// none, and dbaas-all when it names several, a provider the front does
// not know, or one it cannot see before the command runs (a toolkit line
// names its own cloud), for the simulators (sim), and for what lists
// every provider (providers, version, shell completion).
func route(args []string, getenv func(string) string) string {
	named := []string{}
	provider := getenv("DBAAS_PROVIDER")
	command := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, value, hasValue := strings.Cut(a, "=")
		next := func() string {
			if hasValue {
				return value
			}
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch {
		case name == "--provider" || name == "-p":
			provider = next()
		case strings.HasPrefix(a, "-p") && !strings.HasPrefix(a, "--"):
			provider = strings.TrimPrefix(strings.TrimPrefix(a, "-p"), "=")
		case name == "--from" || name == "--to":
			if p, _, ok := strings.Cut(next(), ":"); ok {
				named = append(named, p)
			}
		case name == "--target":
			named = append(named, next())
		case command == "" && slices.Contains(globalValueFlags, name):
			next()
		case command == "" && strings.HasPrefix(a, "-"):
			// A flag the front does not know before the command word:
			// the word cannot be told, so neither can the program.
			if name != "--quiet" && name != "-q" {
				return "dbaas-all"
			}
		case command == "":
			command = a
		}
	}
	switch command {
	case "sim", "toolkit", "providers", "version", "__complete", "__completeNoDesc":
		// providers, version and shell completion list the providers:
		// all of them.
		return "dbaas-all"
	}
	if provider == "" {
		provider = "local"
	}
	named = append(named, provider)
	cloud := ""
	for _, p := range named {
		switch {
		case slices.Contains(core, p):
		case !slices.Contains(clouds, p):
			return "dbaas-all"
		case cloud != "" && cloud != p:
			return "dbaas-all"
		default:
			cloud = p
		}
	}
	if cloud == "" {
		return "dbaas-core"
	}
	return "dbaas-" + cloud
}

// find looks for prog beside the running program, then on PATH.
func find(prog string) (string, error) {
	self, err := os.Executable()
	if err == nil {
		if s, err := filepath.EvalSymlinks(self); err == nil {
			self = s
		}
		path := filepath.Join(filepath.Dir(self), prog+exeSuffix)
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return path, nil
		}
	}
	if path, err := lookPath(prog); err == nil {
		return path, nil
	}
	where := "on PATH"
	if self != "" {
		where = "beside " + self + " or on PATH"
	}
	return "", fmt.Errorf("this command runs in %s, which is not installed (not %s); install the dbaas programs together: go install github.com/agiledeploy/dbaaskit/cmd/...@latest (or go install ./cmd/... in a clone)", prog, where)
}
