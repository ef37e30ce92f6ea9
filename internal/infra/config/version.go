package config

import "runtime/debug"

// Version is the version invoiced reports; the build may stamp it with
// -ldflags "-X github.com/invoiced/invoiced/internal/infra/config.Version=…".
var Version = ""

// BuildVersion returns Version or, unstamped, the module version of the
// build, or "dev" for a build from a checkout.
func BuildVersion() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
