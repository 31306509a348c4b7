package main

import (
	"runtime/debug"
)

// version is the release, set at build time with
// -ldflags "-X main.version=v1.2.3".
var version = "dev"

// versionString describes the build: the release, the VCS revision if the
// build recorded one, and the Go version.
func versionString() string {
	v := version
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "parley " + v
	}
	if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version // built by "go install ...@version"
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	s := "parley " + v
	if rev != "" {
		s += " (" + rev[:min(len(rev), 12)] + dirty + ")"
	}
	return s + " " + bi.GoVersion
}
