// Package buildinfo is the version the dbaas command and its provider
// programs report, kept apart from the command's code so that the small
// front program (cmd/dbaas) reports it without linking the rest.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Version is the release, set at link time with
//
//	-ldflags "-X github.com/agiledeploy/dbaaskit/internal/buildinfo.Version=v1.2.3"
//
// (on every program of cmd/); otherwise the module version that
// "go install …@version" records.
var Version = ""

// ModuleVersion is Version, or the module's version from the build
// information, or "(devel)".
func ModuleVersion() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// Platform is GOOS/GOARCH of the running program.
func Platform() string { return runtime.GOOS + "/" + runtime.GOARCH }

// String is the line "dbaas VERSION GO PLATFORM" that "dbaas version"
// prints.
func String() string {
	return "dbaas " + ModuleVersion() + " " + runtime.Version() + " " + Platform()
}
